/**
 * Every option of the pool and of the prover isolates is checked here, one
 * way: a rule per field (what it accepts, and the range named in messages),
 * one validator, and one message shape,
 *
 *   `<who> option <field> is <value as written>: expected <range>`
 *
 * e.g. `coordinator option cooldownMs is -5: expected a whole number of
 * milliseconds from 0 to 2147483647 (2^31 - 1)`. The caller's object is never
 * mutated or kept: the validator copies what it reads.
 *
 * The ranges are one set for everyone: bytes are whole bytes, a delay handed
 * to a timer is whole milliseconds up to 2^31 - 1 (past it `setTimeout` fires
 * at once), an age limit is whole milliseconds. The error class is the
 * caller's (`refuse`): the pool throws PoolConfigError, the prover pool
 * ProverPoolConfigError.
 *
 * `describeValue` writes a value as the caller wrote it; the wasm's js_args.rs
 * writes values the same way, and tests/inputs/table.js uses this one.
 *
 * No imports: this module is also loaded by the browser test page (through
 * tests/inputs/table.js).
 */

/** What a field accepts: `expected` names the range in messages. */
export interface FieldRule {
  readonly expected: string;
  readonly accepts: (value: unknown) => boolean;
}

export type FieldRules<Options> = { readonly [K in keyof Options]-?: FieldRule };

/** Builds the error for a refused field: the caller's class, with this module's message (`optionMessage`). */
export type RefuseOption = (field: string, value: unknown, expected: string) => Error;

/** The largest delay timers take: past 2^31 - 1 ms, `setTimeout` fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How long a recycle waits for the old generation's jobs before it abandons
 * the generation to them, and how long the prover pool's `close()` lets jobs
 * drain: 60 s. The wasm's `recycleThreadPool` applies the same default itself
 * (its ABI keeps its own copy); on the JS side this is the one place it is written.
 */
export const DEFAULT_DRAIN_TIMEOUT_MS = 60_000;

const MiB = 2 ** 20;
const WASM_PAGE_BYTES = 65_536;

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isWholeFrom = (value: unknown, min: number, max: number): boolean =>
  Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

/** The rules every option set is built from. */
export const rules = {
  fraction: (low: number, high: number, lowOpen = false): FieldRule => ({
    expected: `a number in ${lowOpen ? '(' : '['}${low}, ${high}]`,
    accepts: (v) => isFiniteNumber(v) && (lowOpen ? v > low : v >= low) && v <= high,
  }),
  /** A delay or bound handed to a timer: whole milliseconds from `min` to 2^31 - 1. */
  timerMs: (min: 0 | 1): FieldRule => ({
    expected: `a whole number of milliseconds from ${min} to ${MAX_TIMER_MS} (2^31 - 1)`,
    accepts: (v) => isWholeFrom(v, min, MAX_TIMER_MS),
  }),
  /** An age limit, compared with a clock and never handed to a timer. */
  ageMs: (): FieldRule => ({
    expected: 'a whole number of milliseconds from 1 to 2^53 - 1',
    accepts: (v) => isWholeFrom(v, 1, Number.MAX_SAFE_INTEGER),
  }),
  bytes: (min: 0 | 1): FieldRule => ({
    expected: `a whole number of bytes from ${min} to 2^53 - 1`,
    accepts: (v) => isWholeFrom(v, min, Number.MAX_SAFE_INTEGER),
  }),
  /** A wasm memory's maximum: whole pages, from 16 MiB to the 4 GiB a 32-bit memory can address. */
  memoryMaximum: (): FieldRule => ({
    expected: 'a multiple of 65536 bytes from 16 MiB to 4 GiB',
    accepts: (v) => isWholeFrom(v, 16 * MiB, 4096 * MiB) && (v as number) % WASM_PAGE_BYTES === 0,
  }),
  wholeNumber: (min: number, max: number): FieldRule => ({
    expected: `a whole number from ${min} to ${max === Number.MAX_SAFE_INTEGER ? '2^53 - 1' : max}`,
    accepts: (v) => isWholeFrom(v, min, max),
  }),
  oneOf: (...choices: readonly string[]): FieldRule => ({
    expected: `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`,
    accepts: (v) => typeof v === 'string' && choices.includes(v),
  }),
  flag: (): FieldRule => ({ expected: 'true or false', accepts: (v) => typeof v === 'boolean' }),
  /** `rule`, or null meaning `meaning` (off, a default, no bound). */
  orNull: (rule: FieldRule, meaning = 'off'): FieldRule => ({
    expected: `${rule.expected}, or null (${meaning})`,
    accepts: (v) => v === null || rule.accepts(v),
  }),
  nonEmptyString: (what: string): FieldRule => ({
    expected: `a non-empty string (${what})`,
    accepts: (v) => typeof v === 'string' && v.length > 0,
  }),
} as const;

/**
 * A value as the caller wrote it, for messages, without running its code:
 * strings quoted, BigInts with `n`, numbers as JS prints them, symbols with
 * their description, functions, arrays and other objects by kind.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return `Symbol(${value.description ?? ''})`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** The one message for a refused option (or argument: `kind`). */
export function optionMessage(who: string, field: string, value: unknown, expected: string, kind: 'option' | 'argument' = 'option'): string {
  return `${who} ${kind} ${field} is ${describeValue(value)}: expected ${expected}`;
}

/** A plain object: made by a literal or `Object.create(null)`, not an array, a class instance or a function. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === null || prototype === Object.prototype;
}

/**
 * Checks `options` against `fieldRules`: a plain object (or undefined, which
 * is none) whose keys are all known and whose values all pass; an explicit
 * `undefined` is the same as leaving the field out. Throws the first failure
 * (built by `refuse`); returns a copy of what was given.
 */
export function checkOptions<Options extends object>(options: unknown, fieldRules: FieldRules<Options>, refuse: RefuseOption): Partial<Options> {
  const known = Object.keys(fieldRules);
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw refuse('options', options, `undefined or an object with any of ${known.join(', ')}`);
  const checked: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(options)) {
    // A misspelt option is named, not ignored.
    if (!known.includes(field)) throw refuse(field, value, `one of the known options: ${known.join(', ')}`);
    if (value === undefined) continue;
    const rule = (fieldRules as Record<string, FieldRule>)[field]!;
    if (!rule.accepts(value)) throw refuse(field, value, rule.expected);
    checked[field] = value;
  }
  return checked as Partial<Options>;
}

/** `defaults` with `options` checked and applied over them; frozen. */
export function resolveOptions<Options extends object>(
  options: unknown,
  fieldRules: FieldRules<Options>,
  defaults: Options,
  refuse: RefuseOption,
): Readonly<Options> {
  return Object.freeze({ ...defaults, ...checkOptions(options, fieldRules, refuse) });
}
