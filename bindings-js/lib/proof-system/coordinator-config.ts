/**
 * The pool health coordinator's options: all optional for the caller,
 * resolved into a complete, frozen config from frozen defaults.
 *
 * Every field is checked by the kernel's validator (kernel/options.ts), with
 * its message shape, `coordinator option <field> is <value>: expected <range>`
 * (a PoolConfigError carrying field, value and expected). The caller's object is never mutated or
 * kept: resolveConfig copies what it reads.
 */
import { resolvePoolOptions, rules, type FieldRules } from './options.js';

const MiB = 1024 * 1024;

/** The resolved, complete coordinator config. Units are in the names. */
export interface CoordinatorConfig {
  /**
   * Recycle when linearBytes / linearMaxBytes reaches this. Range (0, 1];
   * `null` = off (the default).
   * @deprecated A recycle never shrinks linear memory: set `limits.maxLinearBytes`
   * on prover isolates (o1js/isolates), whose replacement gives it back
   * (docs/internals.md, "Which limits belong where").
   */
  readonly maxLinearMemoryFraction: number | null;
  /**
   * Recycle when the allocator's live bytes reach this; `null` = off (the default).
   * @deprecated A recycle frees worker stacks only, not live data: set
   * `limits.maxAllocatorLiveBytes` on prover isolates (o1js/isolates) instead.
   */
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
  /** The smallest change that counts, as a fraction of a threshold (kernel/thresholds.ts). Range [0, 0.5]. */
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
  maxLinearMemoryFraction: null,
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
  maxLinearMemoryFraction: rules.orNull(rules.fraction(0, 1, true)),
  maxAllocatorLiveBytes: rules.orNull(rules.bytes(1)),
  maxGenerationAgeMs: rules.orNull(rules.ageMs()),
  maxJobsPerGeneration: rules.orNull(rules.wholeNumber(1, Number.MAX_SAFE_INTEGER)),
  jitterFraction: rules.fraction(0, 0.5),
  hysteresisFraction: rules.fraction(0, 0.5),
  cooldownMs: rules.timerMs(0),
  admissionHeadroomBytes: rules.bytes(0),
  idleCheckIntervalMs: rules.timerMs(1),
  recycleTimeoutMs: rules.timerMs(1),
};

/**
 * Fills `options` from the defaults and validates every field (options.ts).
 * Throws PoolConfigError for the first invalid or unknown field (unknown
 * fields are refused so a misspelt option is not silently ignored).
 */
export function resolveConfig(options?: CoordinatorOptions): CoordinatorConfig {
  return resolvePoolOptions('coordinator', options, FIELD_RULES, DEFAULT_COORDINATOR_CONFIG);
}
