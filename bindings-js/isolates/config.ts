/**
 * createProverPool's options: all optional except `module`, resolved into a
 * complete, frozen config from frozen defaults.
 *
 * Every field is checked by the kernel's one validator and rules
 * (kernel/options.ts), the same the pool's options are checked by, with its
 * one message shape, `prover pool option <field> is <value>: expected <range>`
 * (a ProverPoolConfigError carrying field, value and expected); `limits`
 * fields are named `limits.<field>`. Unknown fields are refused, so a
 * misspelt option is not silently ignored. The caller's objects are never
 * mutated or kept: the validator copies what it reads (the warm step's `args`
 * are structured-cloned into each isolate anyway).
 */
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  checkOptions,
  isPlainObject,
  rules,
  type FieldRule,
  type FieldRules,
  type RefuseOption,
} from '../lib/proof-system/kernel/options.js';
import { ProverPoolConfigError } from './errors.js';

const MiB = 1024 * 1024;

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
  /**
   * Replace once the RSS it accounts for (its snapshot's `rssShareBytes`:
   * measured for an isolate in its own process, estimated for a thread)
   * reaches this; `null` = off. The limit of a native isolate's memory.
   */
  readonly maxRssBytes: number | null;
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
  /** The smallest change that counts, as a fraction of a threshold (kernel/thresholds.ts). Range [0, 0.5]. */
  readonly hysteresisFraction: number;
  /** No two replacements for limits closer than this, pool-wide (crashes, aborts and headroom are exempt). */
  readonly cooldownMs: number;
  /** Lowers each isolate's thresholds by a random fraction up to this, drawn once per isolate. Range [0, 0.5]. */
  readonly jitterFraction: number;
  /**
   * Replace ahead of the limits: check each threshold against where the
   * isolate will be once a successor is ready (its jobs, age and memory
   * projected over a start's worth of jobs at the rate it has grown), so that
   * the successor is warm by the time the old one reaches the limit and the
   * swap costs no capacity. Off: a successor starts when a limit is reached.
   */
  readonly replaceAhead: boolean;
  /**
   * The pool's whole RSS (Node: this process, plus the isolates' own
   * processes with isolation 'process') that starting a successor must not
   * push past. A replacement whose successor (estimated at the newest
   * isolate's RSS right after its warm step) would cross it stops its
   * predecessor first, then starts the successor (stop-then-start): that
   * slot serves nothing meanwhile, and the `stop-then-start` event and the
   * report's `order` say so. `null` = off (always blue/green). Browsers
   * report no RSS: `null` there.
   */
  readonly rssBudgetBytes: number | null;
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
  /**
   * Refuse a job when this many wait already and no isolate is free; `null`:
   * no bound. Default: 64 × isolates (QUEUED_JOBS_PER_ISOLATE).
   */
  readonly maxQueuedJobs: number | null;
  /** Every job's deadline, from run() (run()'s `timeoutMs` overrides it); `null`: none. */
  readonly jobTimeoutMs: number | null;
  /**
   * Isolates kept when the pool is idle: those above it that stay idle for
   * idleTimeoutMs are stopped (their memory returned) and started again on
   * demand. Default: `isolates` (no scale-down).
   */
  readonly minIsolates: number;
  /** How long an isolate above minIsolates may stay idle before it is stopped. */
  readonly idleTimeoutMs: number;
  /** A slot whose isolates crashed this many times within crashWindowMs is given up (its breaker opens). */
  readonly maxCrashes: number;
  /** The window maxCrashes counts crashes in. */
  readonly crashWindowMs: number;
  /** Spawn → ready (module, o1js and warm step), per isolate. */
  readonly startTimeoutMs: number;
  /** Bound on terminating one isolate's thread. */
  readonly terminateTimeoutMs: number;
  /** Bound on an idle isolate answering a health request. */
  readonly healthTimeoutMs: number;
  /** How often idle isolates are read and checked against the limits (age, memory) while no job ends. */
  readonly idleCheckIntervalMs: number;
  /**
   * A slot whose isolate failed to start this many times in a row is given
   * up (its jobs go to the others); a replacement for limits that failed this
   * many times is given up while its predecessor serves (faults go on trying).
   */
  readonly maxStartFailures: number;
  /** Delay before restarting a slot after a failed start, or after its second crash in a row; doubles each time (at most 30 s). */
  readonly restartDelayMs: number;
}

/** The default bound of the queue, per isolate: `maxQueuedJobs` = 64 × isolates. */
export const QUEUED_JOBS_PER_ISOLATE = 64;

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
  maxRssBytes: null,
  maxJobs: null,
  maxAgeMs: null,
  admissionHeadroomBytes: 64 * MiB,
  hysteresisFraction: 0.05,
  cooldownMs: 30_000,
  jitterFraction: 0,
  replaceAhead: false,
  rssBudgetBytes: null,
});

/** The defaults; `maxQueuedJobs` (64 × isolates) and `minIsolates` (isolates) follow `isolates`. */
export const DEFAULT_CONFIG: Omit<ProverPoolConfig, 'module' | 'maxQueuedJobs' | 'minIsolates'> = Object.freeze({
  isolates: 1,
  threadsPerIsolate: null,
  warm: null,
  limits: DEFAULT_LIMITS,
  jobTimeoutMs: null,
  idleTimeoutMs: 60_000,
  maxCrashes: 5,
  crashWindowMs: 600_000,
  startTimeoutMs: 180_000,
  terminateTimeoutMs: 10_000,
  healthTimeoutMs: 5_000,
  idleCheckIntervalMs: 5_000,
  maxStartFailures: 3,
  restartDelayMs: 1_000,
});

const LIMIT_RULES: FieldRules<ReplacementLimits> = {
  memoryMaximumBytes: rules.orNull(rules.memoryMaximum(), "the platform's default"),
  maxLinearBytes: rules.orNull(rules.bytes(1)),
  maxAllocatorLiveBytes: rules.orNull(rules.bytes(1)),
  maxRssBytes: rules.orNull(rules.bytes(1)),
  maxJobs: rules.orNull(rules.wholeNumber(1, Number.MAX_SAFE_INTEGER)),
  maxAgeMs: rules.orNull(rules.ageMs()),
  admissionHeadroomBytes: rules.bytes(0),
  hysteresisFraction: rules.fraction(0, 0.5),
  cooldownMs: rules.timerMs(0),
  jitterFraction: rules.fraction(0, 0.5),
  replaceAhead: rules.flag(),
  rssBudgetBytes: rules.orNull(rules.bytes(1), 'no budget'),
};

type ScalarField = Exclude<keyof ProverPoolConfig, 'module' | 'warm' | 'limits'>;

const FIELD_RULES: FieldRules<Pick<ProverPoolConfig, ScalarField>> = {
  isolates: rules.wholeNumber(1, 64),
  threadsPerIsolate: rules.orNull(rules.wholeNumber(1, 256), "o1js's default"),
  maxQueuedJobs: rules.orNull(rules.wholeNumber(0, Number.MAX_SAFE_INTEGER), 'no bound'),
  jobTimeoutMs: rules.orNull(rules.timerMs(1), 'no deadline'),
  minIsolates: rules.wholeNumber(0, 64),
  idleTimeoutMs: rules.timerMs(1),
  maxCrashes: rules.wholeNumber(1, Number.MAX_SAFE_INTEGER),
  crashWindowMs: rules.ageMs(),
  startTimeoutMs: rules.timerMs(1),
  terminateTimeoutMs: rules.timerMs(1),
  healthTimeoutMs: rules.timerMs(1),
  idleCheckIntervalMs: rules.timerMs(1),
  maxStartFailures: rules.wholeNumber(1, Number.MAX_SAFE_INTEGER),
  restartDelayMs: rules.timerMs(0),
};

/** The options as a whole (`module`, `warm` and `limits` are checked by their own rules, below). */
const TOP_RULES: FieldRules<ProverPoolConfig> = {
  // `null`: the isolate's script brings its own module (the web's `worker` option); required either way.
  module: { expected: 'the URL or path of the proving module (a non-empty string)', accepts: (v) => v === null || (typeof v === 'string' && v.length > 0) },
  warm: { expected: 'null, or { name, args? }: the name of a job of the module and its arguments', accepts: () => true },
  limits: { expected: 'an object of limits, or undefined', accepts: () => true },
  ...FIELD_RULES,
};

/** A ProverPoolConfigError for a field, named under `prefix` (`limits.`, `warm.`, `close.`, `run.`). */
export function refuseWith(prefix = ''): RefuseOption {
  return (field, value, expected) => new ProverPoolConfigError(`${prefix}${field}`, value, expected);
}

function resolveLimits(given: unknown): ReplacementLimits {
  if (given !== undefined && !isPlainObject(given)) throw refuseWith()('limits', given, TOP_RULES.limits.expected);
  return Object.freeze({ ...DEFAULT_LIMITS, ...checkOptions(given, LIMIT_RULES, refuseWith('limits.')) });
}

function resolveWarm(given: unknown): WarmStep | null {
  if (given === undefined || given === null) return null;
  if (!isPlainObject(given) || typeof given.name !== 'string' || given.name.length === 0) throw refuseWith()('warm', given, TOP_RULES.warm.expected);
  const { name, args } = checkOptions(given, { name: rules.nonEmptyString('a job of the module'), args: { expected: 'any value', accepts: () => true } }, refuseWith('warm.'));
  return Object.freeze({ name: name as string, args });
}

/** close()'s options, resolved: drain (default true) and its bound (default 60000 ms). */
export interface ResolvedCloseOptions {
  readonly drain: boolean;
  readonly timeoutMs: number;
}

const CLOSE_RULES: FieldRules<ResolvedCloseOptions> = { drain: rules.flag(), timeoutMs: rules.timerMs(0) };

/** Checks close()'s options (`close.drain`, `close.timeoutMs`, no others); throws ProverPoolConfigError. */
export function resolveCloseOptions(options: unknown): ResolvedCloseOptions {
  if (options !== undefined && !isPlainObject(options)) throw refuseWith()('close', options, 'an object { drain?, timeoutMs? }, or undefined');
  return { drain: true, timeoutMs: DEFAULT_DRAIN_TIMEOUT_MS, ...checkOptions(options, CLOSE_RULES, refuseWith('close.')) };
}

/**
 * Fills `options` from the defaults and validates every field; throws
 * ProverPoolConfigError for the first invalid or unknown one. `module` must
 * already be a URL string (the adapters resolve paths), or `null` when the
 * adapter's isolates bring their own module.
 */
export function resolveProverPoolConfig(options: unknown): ProverPoolConfig {
  if (!isPlainObject(options)) throw refuseWith()('options', options, 'an object of prover pool options');
  const given = checkOptions(options, TOP_RULES, refuseWith());
  if (given.module === undefined) throw refuseWith()('module', undefined, TOP_RULES.module.expected);
  const isolates = given.isolates ?? DEFAULT_CONFIG.isolates;
  const minIsolates = given.minIsolates ?? isolates;
  if (minIsolates > isolates) throw refuseWith()('minIsolates', minIsolates, `a whole number from 0 to isolates (${isolates})`);
  return Object.freeze({
    ...DEFAULT_CONFIG,
    maxQueuedJobs: QUEUED_JOBS_PER_ISOLATE * isolates,
    ...given,
    minIsolates,
    module: given.module as string | null,
    warm: resolveWarm(options.warm),
    limits: resolveLimits(options.limits),
  });
}

/** run()'s options, resolved. */
export interface ResolvedRunOptions {
  readonly signal: AbortSignal | null;
  readonly timeoutMs: number | null;
}

const SIGNAL_RULE: FieldRule = {
  expected: 'an AbortSignal',
  accepts: (v) => {
    const signal = v as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown } | null;
    return typeof signal === 'object' && signal !== null && typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function' && typeof signal.removeEventListener === 'function';
  },
};

const RUN_RULES: FieldRules<ResolvedRunOptions> = { signal: SIGNAL_RULE, timeoutMs: rules.orNull(rules.timerMs(1), "the pool's jobTimeoutMs") };

/** Checks run()'s options (`run.signal`, `run.timeoutMs`, no others); throws ProverPoolConfigError. */
export function resolveRunOptions(options: unknown, config: ProverPoolConfig): ResolvedRunOptions {
  if (options !== undefined && !isPlainObject(options)) throw refuseWith()('run', options, 'an object { signal?, timeoutMs? }, or undefined');
  const given = checkOptions(options, RUN_RULES, refuseWith('run.'));
  return { signal: given.signal ?? null, timeoutMs: given.timeoutMs ?? config.jobTimeoutMs };
}
