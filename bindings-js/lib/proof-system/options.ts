/**
 * The pool's options (the coordinator's, the hosts' `configureThreadPool`,
 * `workerHost.kill`'s), checked by the kernel's one validator with its rules
 * and message shape (kernel/options.ts) and refused with PoolConfigError
 * (code POOL_INVALID_CONFIG). A recycle's options are checked in one place
 * too, by the wasm's `recycleThreadPool` (js_args.rs), with the same message
 * shape and code.
 */
import { PoolConfigError } from './errors.js';
import { checkOptions, resolveOptions, type FieldRules, type RefuseOption } from './kernel/options.js';

export { MAX_TIMER_MS, isPlainObject, rules, type FieldRule, type FieldRules } from './kernel/options.js';

/** Refuses a field of `who`'s options with PoolConfigError. */
export function refusePoolOption(who: string): RefuseOption {
  return (field, value, expected) => new PoolConfigError(field, value, expected, who);
}

/** `options` checked against `fieldRules` (see kernel/options.ts `checkOptions`); throws PoolConfigError. */
export function checkPoolOptions<Options extends object>(who: string, options: unknown, fieldRules: FieldRules<Options>): Partial<Options> {
  return checkOptions(options, fieldRules, refusePoolOption(who));
}

/** `defaults` with `options` checked and applied over them; frozen. Throws PoolConfigError. */
export function resolvePoolOptions<Options extends object>(who: string, options: unknown, fieldRules: FieldRules<Options>, defaults: Options): Readonly<Options> {
  return resolveOptions(options, fieldRules, defaults, refusePoolOption(who));
}
