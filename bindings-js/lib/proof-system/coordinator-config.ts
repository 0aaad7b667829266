/**
 * The pool health coordinator's options: all optional for the caller,
 * resolved into a complete, frozen config from frozen defaults.
 *
 * Every field is validated with the same message shape,
 * `coordinator option <field> is <value>: expected <range>` (a PoolConfigError
 * carrying field, value and expected). The caller's object is never mutated or
 * kept: resolveConfig copies what it reads.
 */
import { PoolConfigError } from './errors.js';

const MiB = 1024 * 1024;

/** The resolved, complete coordinator config. Units are in the names. */
export interface CoordinatorConfig {
  /** Recycle when linearBytes / linearMaxBytes reaches this. Range (0, 1]. */
  readonly maxLinearMemoryFraction: number;
  /** Recycle when the allocator's live bytes reach this; `null` = off. */
  readonly maxAllocatorLiveBytes: number | null;
  /** Recycle when the serving generation is this old; `null` = off. */
  readonly maxGenerationAgeMs: number | null;
  /** Recycle after this many jobs on the serving generation; `null` = off. */
  readonly maxJobsPerGeneration: number | null;
  /**
   * Spread thresholds downwards by up to this fraction, one random draw per
   * generation (gunicorn's max_requests_jitter): provers started together do
   * not all recycle at the same moment. Range [0, 0.5].
   */
  readonly jitterFraction: number;
  /** Margin, as a fraction of the threshold, before a fired metric fires again. Range [0, 0.5]. */
  readonly hysteresisFraction: number;
  /** No two recycles closer than this (a rebuild of a poisoned pool is exempt). */
  readonly cooldownMs: number;
  /** Refuse a job when linearMaxBytes - allocatorLiveBytes is below this. */
  readonly admissionHeadroomBytes: number;
  /** How often the idle timer reads the health while no job asks. */
  readonly idleCheckIntervalMs: number;
  /** Bound on one recycle, as seen by the coordinator. */
  readonly recycleTimeoutMs: number;
}

/** What a caller passes: every field optional. */
export type CoordinatorOptions = { readonly [K in keyof CoordinatorConfig]?: CoordinatorConfig[K] };

export const DEFAULT_COORDINATOR_CONFIG: CoordinatorConfig = Object.freeze({
  maxLinearMemoryFraction: 0.75,
  maxAllocatorLiveBytes: null,
  maxGenerationAgeMs: null,
  maxJobsPerGeneration: null,
  jitterFraction: 0,
  hysteresisFraction: 0.05,
  cooldownMs: 30_000,
  admissionHeadroomBytes: 64 * MiB,
  idleCheckIntervalMs: 5_000,
  recycleTimeoutMs: 120_000,
});

/** One validator per field: returns true when the value is acceptable; `expected` names the range. */
interface FieldRule {
  readonly expected: string;
  readonly accepts: (value: unknown) => boolean;
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const positive = (value: unknown) => isFiniteNumber(value) && value > 0;
const nonNegative = (value: unknown) => isFiniteNumber(value) && value >= 0;
const positiveInteger = (value: unknown) => Number.isSafeInteger(value) && (value as number) > 0;
const orNull = (accepts: (value: unknown) => boolean) => (value: unknown) => value === null || accepts(value);

const FIELD_RULES: { readonly [K in keyof CoordinatorConfig]: FieldRule } = {
  maxLinearMemoryFraction: {
    expected: 'a number in (0, 1]',
    accepts: (v) => isFiniteNumber(v) && v > 0 && v <= 1,
  },
  maxAllocatorLiveBytes: { expected: 'a positive number of bytes, or null (off)', accepts: orNull(positive) },
  maxGenerationAgeMs: { expected: 'a positive number of milliseconds, or null (off)', accepts: orNull(positive) },
  maxJobsPerGeneration: { expected: 'a positive integer, or null (off)', accepts: orNull(positiveInteger) },
  jitterFraction: { expected: 'a number in [0, 0.5]', accepts: (v) => isFiniteNumber(v) && v >= 0 && v <= 0.5 },
  hysteresisFraction: {
    expected: 'a number in [0, 0.5]',
    accepts: (v) => isFiniteNumber(v) && v >= 0 && v <= 0.5,
  },
  cooldownMs: { expected: 'a number of milliseconds >= 0', accepts: nonNegative },
  admissionHeadroomBytes: { expected: 'a number of bytes >= 0', accepts: nonNegative },
  idleCheckIntervalMs: { expected: 'a positive number of milliseconds', accepts: positive },
  recycleTimeoutMs: { expected: 'a positive number of milliseconds', accepts: positive },
};

const KNOWN_FIELDS = Object.keys(FIELD_RULES) as (keyof CoordinatorConfig)[];

/**
 * Fills `options` from the defaults and validates every field.
 * Throws PoolConfigError for the first invalid or unknown field (unknown
 * fields are refused so a misspelt option is not silently ignored).
 */
export function resolveConfig(options: CoordinatorOptions | undefined = {}): CoordinatorConfig {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new PoolConfigError('options', options, 'an object of coordinator options, or undefined');
  }
  for (const field of Object.keys(options)) {
    if (!(KNOWN_FIELDS as string[]).includes(field)) {
      throw new PoolConfigError(field, (options as Record<string, unknown>)[field], `one of the known options (${KNOWN_FIELDS.join(', ')})`);
    }
  }
  const resolved: Record<string, unknown> = {};
  for (const field of KNOWN_FIELDS) {
    // An explicit `undefined` means "use the default", like an absent field.
    const given = options[field];
    const value = given === undefined ? DEFAULT_COORDINATOR_CONFIG[field] : given;
    const rule = FIELD_RULES[field];
    if (!rule.accepts(value)) throw new PoolConfigError(field, value, rule.expected);
    resolved[field] = value;
  }
  return Object.freeze(resolved as unknown as CoordinatorConfig);
}
