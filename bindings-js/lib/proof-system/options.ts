/**
 * Every option the pool takes, checked one way: a rule per field (what is
 * expected, for the message, and the check), one error class (PoolConfigError,
 * code POOL_INVALID_CONFIG) with one message shape,
 * `<subject> <field> is <value as written>: expected <range>`,
 * and the caller's object never mutated or kept.
 *
 * Used for the coordinator's options (coordinator-config.ts), the hosts'
 * options (`configureThreadPool`) and `setNumberOfWorkers`. A recycle's
 * options are checked in one place too, by the wasm's `recycleThreadPool`
 * (js_args.rs), with the same message shape and code.
 */
import { PoolConfigError } from './errors.js';

/** What a field accepts: `expected` names the range in messages. */
export interface FieldRule {
  readonly expected: string;
  readonly accepts: (value: unknown) => boolean;
}

export type FieldRules<Options> = { readonly [K in keyof Options]-?: FieldRule };

/** The largest delay timers take: past 2^31 - 1 ms, `setTimeout` fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Rules shared by the option sets. */
export const rules = {
  fraction: (low: number, high: number, lowOpen = false): FieldRule => ({
    expected: `a number in ${lowOpen ? '(' : '['}${low}, ${high}]`,
    accepts: (v) => isFiniteNumber(v) && (lowOpen ? v > low : v >= low) && v <= high,
  }),
  /** A delay or bound for a timer: 1 ms (or 0) to 2^31 - 1 ms, whole (as the wasm's timers). */
  milliseconds: (min: 0 | 1): FieldRule => ({
    expected: `a whole number of milliseconds from ${min} to ${MAX_TIMER_MS} (2^31 - 1)`,
    accepts: (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= MAX_TIMER_MS,
  }),
  bytes: (min: 0 | 1): FieldRule => ({
    expected: `a whole number of bytes from ${min} to 2^53 - 1`,
    accepts: (v) => Number.isSafeInteger(v) && (v as number) >= min,
  }),
  wholeNumber: (min: number, max: number): FieldRule => ({
    expected: `a whole number from ${min} to ${max}`,
    accepts: (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max,
  }),
  oneOf: (...choices: readonly string[]): FieldRule => ({
    expected: `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`,
    accepts: (v) => typeof v === 'string' && choices.includes(v),
  }),
  orNull: (rule: FieldRule): FieldRule => ({
    expected: `${rule.expected}, or null (off)`,
    accepts: (v) => v === null || rule.accepts(v),
  }),
  nonEmptyString: (what: string): FieldRule => ({
    expected: `a non-empty string (${what})`,
    accepts: (v) => typeof v === 'string' && v.length > 0,
  }),
} as const;

/** A plain object: made by a literal or `Object.create(null)`, not an array, a class instance or a function. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === null || prototype === Object.prototype;
}

/**
 * Checks `options` against `fieldRules`: a plain object (or undefined, which
 * is none) whose keys are all known and whose values all pass. Throws the
 * first failure as a PoolConfigError; returns a copy of what was given.
 */
export function checkOptions<Options extends object>(
  subject: string,
  options: unknown,
  fieldRules: FieldRules<Options>,
): Partial<Options> {
  if (options === undefined) return {};
  if (!isPlainObject(options)) {
    throw new PoolConfigError('options', options, `undefined or an object with any of ${Object.keys(fieldRules).join(', ')}`, subject);
  }
  const known = Object.keys(fieldRules);
  const checked: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(options)) {
    if (!known.includes(field)) throw new PoolConfigError(field, value, `one of the known options: ${known.join(', ')}`, subject);
    // An explicit `undefined` is the same as leaving the field out.
    if (value === undefined) continue;
    const rule = (fieldRules as Record<string, FieldRule>)[field]!;
    if (!rule.accepts(value)) throw new PoolConfigError(field, value, rule.expected, subject);
    checked[field] = value;
  }
  return checked as Partial<Options>;
}

/** `defaults` with `options` checked and applied over them; frozen. */
export function resolveOptions<Options extends object>(
  subject: string,
  options: unknown,
  fieldRules: FieldRules<Options>,
  defaults: Options,
): Readonly<Options> {
  return Object.freeze({ ...defaults, ...checkOptions(subject, options, fieldRules) });
}
