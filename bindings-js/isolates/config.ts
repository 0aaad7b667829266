/**
 * createProverPool's options: all optional except `module`, resolved into a
 * complete, frozen config from frozen defaults.
 *
 * Every field is validated with the same message shape,
 * `prover pool option <field> is <value>: expected <range>` (a
 * ProverPoolConfigError carrying field, value and expected); `limits` fields
 * are named `limits.<field>`. Unknown fields are refused, so a misspelt option
 * is not silently ignored. The caller's objects are never mutated or kept:
 * resolveProverPoolConfig copies what it reads (the warm step's `args` are
 * structured-cloned into each isolate anyway).
 */
import { ProverPoolConfigError } from './errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const WASM_PAGE_BYTES = 65_536;

/** When an isolate is replaced (replacement-policy.ts applies them), and its memory ceiling. */
export interface ReplacementLimits {
  /**
   * Maximum of each isolate's wasm memory: the ceiling that isolate can never
   * pass (iOS allows 1 GiB). `null`: the platform's (Node: 4 GiB; browsers:
   * o1js's choice, 4 GiB, 1 GiB on iOS).
   */
  readonly memoryMaximumBytes: number | null;
  /** Replace an isolate once its wasm linear memory reaches this; `null` = off. */
  readonly maxLinearBytes: number | null;
  /** Replace once its allocator's live bytes reach this; `null` = off. */
  readonly maxAllocatorLiveBytes: number | null;
  /** Replace after this many jobs; `null` = off. */
  readonly maxJobs: number | null;
  /** Replace once it is this old (checked after jobs and by the idle timer); `null` = off. */
  readonly maxAgeMs: number | null;
  /**
   * An isolate takes a job only while linearMaxBytes - allocatorLiveBytes is
   * at least this; one below it is replaced. A job is refused when even a
   * freshly warmed isolate would be below it.
   */
  readonly admissionHeadroomBytes: number;
  /** Band, as a fraction of a threshold, for the memory thresholds (replacement-policy.ts). Range [0, 0.5]. */
  readonly hysteresisFraction: number;
  /** No two replacements for limits closer than this, pool-wide (crashes, aborts and headroom are exempt). */
  readonly cooldownMs: number;
  /** Lowers each isolate's thresholds by a random fraction up to this, drawn once per isolate. Range [0, 0.5]. */
  readonly jitterFraction: number;
}

/** A job of the module run once in each new isolate before it takes jobs (e.g. compile() with o1js's Cache). */
export interface WarmStep {
  readonly name: string;
  readonly args: unknown;
}

/** The resolved, complete config. */
export interface ProverPoolConfig {
  /**
   * URL of the proving module (adapters resolve paths and relative URLs);
   * `null` when each isolate's script brings its own module (web: a `worker`
   * factory whose script calls serveProverIsolate).
   */
  readonly module: string | null;
  /** Isolates serving at once (slots). */
  readonly isolates: number;
  /** Rayon threads of each isolate's o1js (o1js's setNumberOfWorkers); `null`: o1js's default. */
  readonly threadsPerIsolate: number | null;
  readonly warm: WarmStep | null;
  readonly limits: ReplacementLimits;
  /** Refuse a job when this many wait already; `null`: no bound. */
  readonly maxQueuedJobs: number | null;
  /** Spawn → ready (module, o1js and warm step), per isolate. */
  readonly startTimeoutMs: number;
  /** Bound on terminating one isolate's thread. */
  readonly terminateTimeoutMs: number;
  /** Bound on an idle isolate answering a health request. */
  readonly healthTimeoutMs: number;
  /** How often idle isolates are read and checked against the limits (age, memory) while no job ends. */
  readonly idleCheckIntervalMs: number;
  /** A slot whose isolate failed to start this many times in a row is given up (its jobs go to the others). */
  readonly maxStartFailures: number;
  /** Delay before restarting a slot after a failed start; doubles per failure (at most 30 s). */
  readonly restartDelayMs: number;
}

export type ReplacementLimitsOptions = { readonly [K in keyof ReplacementLimits]?: ReplacementLimits[K] };

/** What a caller passes: `module` and any other fields. */
export type ProverPoolOptions = {
  readonly module: string | null;
  readonly warm?: { readonly name: string; readonly args?: unknown } | null;
  readonly limits?: ReplacementLimitsOptions;
} & { readonly [K in Exclude<keyof ProverPoolConfig, 'module' | 'warm' | 'limits'>]?: ProverPoolConfig[K] };

export const DEFAULT_LIMITS: ReplacementLimits = Object.freeze({
  memoryMaximumBytes: null,
  maxLinearBytes: null,
  maxAllocatorLiveBytes: null,
  maxJobs: null,
  maxAgeMs: null,
  admissionHeadroomBytes: 64 * MiB,
  hysteresisFraction: 0.05,
  cooldownMs: 30_000,
  jitterFraction: 0,
});

export const DEFAULT_CONFIG: Omit<ProverPoolConfig, 'module'> = Object.freeze({
  isolates: 1,
  threadsPerIsolate: null,
  warm: null,
  limits: DEFAULT_LIMITS,
  maxQueuedJobs: null,
  startTimeoutMs: 180_000,
  terminateTimeoutMs: 10_000,
  healthTimeoutMs: 5_000,
  idleCheckIntervalMs: 5_000,
  maxStartFailures: 3,
  restartDelayMs: 1_000,
});

/** One rule per field: `accepts` the value; `expected` names the range. */
interface FieldRule {
  readonly expected: string;
  readonly accepts: (value: unknown) => boolean;
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const positive = (value: unknown) => isFiniteNumber(value) && value > 0;
const nonNegative = (value: unknown) => isFiniteNumber(value) && value >= 0;
const positiveInteger = (value: unknown) => Number.isSafeInteger(value) && (value as number) > 0;
const nonNegativeInteger = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const orNull = (accepts: (value: unknown) => boolean) => (value: unknown) => value === null || accepts(value);
const fraction = (value: unknown) => isFiniteNumber(value) && value >= 0 && value <= 0.5;
/** setTimeout's largest delay: a longer one fires after 1 ms in Node and in browsers. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A delay handed to setTimeout/setInterval: whole milliseconds from `min` to MAX_TIMER_MS. */
const timerMs = (min: number): FieldRule => ({
  expected: `a whole number of milliseconds from ${min} to ${MAX_TIMER_MS} (2^31 - 1)`,
  accepts: (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= MAX_TIMER_MS,
});

const LIMIT_RULES: { readonly [K in keyof ReplacementLimits]: FieldRule } = {
  memoryMaximumBytes: {
    expected: 'null, or bytes: a multiple of 65536 from 16 MiB to 4 GiB',
    accepts: orNull((v) => Number.isSafeInteger(v) && (v as number) % WASM_PAGE_BYTES === 0 && (v as number) >= 16 * MiB && (v as number) <= 4 * GiB),
  },
  maxLinearBytes: { expected: 'a positive number of bytes, or null (off)', accepts: orNull(positive) },
  maxAllocatorLiveBytes: { expected: 'a positive number of bytes, or null (off)', accepts: orNull(positive) },
  maxJobs: { expected: 'a positive integer, or null (off)', accepts: orNull(positiveInteger) },
  maxAgeMs: { expected: 'a positive whole number of milliseconds, or null (off)', accepts: orNull(positiveInteger) },
  admissionHeadroomBytes: { expected: 'a number of bytes >= 0', accepts: nonNegative },
  hysteresisFraction: { expected: 'a number in [0, 0.5]', accepts: fraction },
  cooldownMs: { expected: 'a whole number of milliseconds >= 0', accepts: nonNegativeInteger },
  jitterFraction: { expected: 'a number in [0, 0.5]', accepts: fraction },
};

type ScalarField = Exclude<keyof ProverPoolConfig, 'module' | 'warm' | 'limits'>;

const FIELD_RULES: { readonly [K in ScalarField]: FieldRule } = {
  isolates: { expected: 'an integer from 1 to 64', accepts: (v) => positiveInteger(v) && (v as number) <= 64 },
  threadsPerIsolate: { expected: 'an integer from 1 to 256, or null (o1js default)', accepts: orNull((v) => positiveInteger(v) && (v as number) <= 256) },
  maxQueuedJobs: { expected: 'an integer >= 0, or null (no bound)', accepts: orNull(nonNegativeInteger) },
  startTimeoutMs: timerMs(1),
  terminateTimeoutMs: timerMs(1),
  healthTimeoutMs: timerMs(1),
  idleCheckIntervalMs: timerMs(1),
  maxStartFailures: { expected: 'a positive integer', accepts: positiveInteger },
  restartDelayMs: timerMs(0),
};

const SCALAR_FIELDS = Object.keys(FIELD_RULES) as ScalarField[];
const LIMIT_FIELDS = Object.keys(LIMIT_RULES) as (keyof ReplacementLimits)[];
const KNOWN_FIELDS = ['module', 'warm', 'limits', ...SCALAR_FIELDS];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuseUnknown(given: Record<string, unknown>, known: readonly string[], prefix: string): void {
  for (const field of Object.keys(given)) {
    if (!known.includes(field)) {
      throw new ProverPoolConfigError(`${prefix}${field}`, given[field], `one of the known options (${known.join(', ')})`);
    }
  }
}

function resolveLimits(given: unknown): ReplacementLimits {
  if (given === undefined) return DEFAULT_LIMITS;
  if (!isPlainObject(given)) throw new ProverPoolConfigError('limits', given, 'an object of limits, or undefined');
  refuseUnknown(given, LIMIT_FIELDS, 'limits.');
  const resolved: Record<string, unknown> = {};
  for (const field of LIMIT_FIELDS) {
    const value = given[field] === undefined ? DEFAULT_LIMITS[field] : given[field];
    if (!LIMIT_RULES[field].accepts(value)) throw new ProverPoolConfigError(`limits.${field}`, value, LIMIT_RULES[field].expected);
    resolved[field] = value;
  }
  return Object.freeze(resolved as unknown as ReplacementLimits);
}

function resolveWarm(given: unknown): WarmStep | null {
  if (given === undefined || given === null) return null;
  if (!isPlainObject(given) || typeof given.name !== 'string' || given.name.length === 0) {
    throw new ProverPoolConfigError('warm', given, "null, or { name, args? }: the name of a job of the module and its arguments");
  }
  refuseUnknown(given, ['name', 'args'], 'warm.');
  return Object.freeze({ name: given.name, args: given.args });
}

/** close()'s options, resolved: drain (default true) and its bound (default 60000 ms). */
export interface ResolvedCloseOptions {
  readonly drain: boolean;
  readonly timeoutMs: number;
}

const CLOSE_TIMEOUT_RULE = timerMs(0);

/** Checks close()'s options (`close.drain`, `close.timeoutMs`, no others); throws ProverPoolConfigError. */
export function resolveCloseOptions(options: unknown): ResolvedCloseOptions {
  if (options === undefined) return { drain: true, timeoutMs: 60_000 };
  if (!isPlainObject(options)) throw new ProverPoolConfigError('close', options, 'an object { drain?, timeoutMs? }, or undefined');
  refuseUnknown(options, ['drain', 'timeoutMs'], 'close.');
  const drain = options.drain ?? true;
  if (typeof drain !== 'boolean') throw new ProverPoolConfigError('close.drain', drain, 'true or false (default true)');
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!CLOSE_TIMEOUT_RULE.accepts(timeoutMs)) throw new ProverPoolConfigError('close.timeoutMs', timeoutMs, CLOSE_TIMEOUT_RULE.expected);
  return { drain, timeoutMs: timeoutMs as number };
}

/**
 * Fills `options` from the defaults and validates every field; throws
 * ProverPoolConfigError for the first invalid or unknown one. `module` must
 * already be a URL string (the adapters resolve paths), or `null` when the
 * adapter's isolates bring their own module.
 */
export function resolveProverPoolConfig(options: unknown): ProverPoolConfig {
  if (!isPlainObject(options)) throw new ProverPoolConfigError('options', options, 'an object of prover pool options');
  refuseUnknown(options, KNOWN_FIELDS, '');
  const module = options.module;
  if (module !== null && (typeof module !== 'string' || module.length === 0)) {
    throw new ProverPoolConfigError('module', module, 'the URL or path of the proving module (a non-empty string)');
  }
  const resolved: Record<string, unknown> = { module, warm: resolveWarm(options.warm), limits: resolveLimits(options.limits) };
  for (const field of SCALAR_FIELDS) {
    const value = options[field] === undefined ? DEFAULT_CONFIG[field] : options[field];
    if (!FIELD_RULES[field].accepts(value)) throw new ProverPoolConfigError(field, value, FIELD_RULES[field].expected);
    resolved[field] = value;
  }
  return Object.freeze(resolved as unknown as ProverPoolConfig);
}
