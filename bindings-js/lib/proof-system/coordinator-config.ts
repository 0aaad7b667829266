/**
 * The pool health coordinator's options: all optional for the caller,
 * resolved into a complete, frozen config from frozen defaults.
 *
 * Every field is checked by options.ts, with its message shape,
 * `coordinator option <field> is <value>: expected <range>` (a PoolConfigError
 * carrying field, value and expected). The caller's object is never mutated or
 * kept: resolveConfig copies what it reads.
 */
import { resolveOptions, rules, type FieldRules } from './options.js';

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

const FIELD_RULES: FieldRules<CoordinatorConfig> = {
  maxLinearMemoryFraction: rules.fraction(0, 1, true),
  maxAllocatorLiveBytes: rules.orNull(rules.bytes(1)),
  maxGenerationAgeMs: rules.orNull({
    expected: 'a positive number of milliseconds',
    accepts: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0,
  }),
  maxJobsPerGeneration: rules.orNull(rules.wholeNumber(1, Number.MAX_SAFE_INTEGER)),
  jitterFraction: rules.fraction(0, 0.5),
  hysteresisFraction: rules.fraction(0, 0.5),
  cooldownMs: rules.milliseconds(0),
  admissionHeadroomBytes: rules.bytes(0),
  idleCheckIntervalMs: rules.milliseconds(1),
  recycleTimeoutMs: rules.milliseconds(1),
};

/**
 * Fills `options` from the defaults and validates every field (options.ts).
 * Throws PoolConfigError for the first invalid or unknown field (unknown
 * fields are refused so a misspelt option is not silently ignored).
 */
export function resolveConfig(options?: CoordinatorOptions): CoordinatorConfig {
  return resolveOptions('coordinator option', options, FIELD_RULES, DEFAULT_COORDINATOR_CONFIG);
}
