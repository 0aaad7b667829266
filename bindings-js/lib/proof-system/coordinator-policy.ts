/**
 * The coordinator's policy as one pure function:
 * `decide(health, config, state, nowMs) → { decision, state }`.
 *
 * No clocks, no randomness, no I/O: everything it needs is an argument, so it
 * is tested from plain objects. The coordinator class holds the state between
 * calls and acts on the decision.
 *
 * Order of the checks (the first that applies wins):
 *   1. poisoned              → rebuild (never delayed by the cooldown: a
 *                              poisoned generation takes no jobs)
 *   2. starting / recycling / exiting → wait (the pool is changing; no new recycle)
 *   3. admission             → refuse when linearMaxBytes - allocatorLiveBytes
 *                              < admissionHeadroomBytes. A recycle would not
 *                              help: it cannot free memory held for live data
 *                              and linear memory never shrinks.
 *   4. thresholds, in order linear memory fraction, allocator live bytes,
 *      generation age, jobs per generation → recycle, unless within
 *      cooldownMs of the last recycle (then proceed, with the reason).
 *   5. otherwise             → proceed.
 *
 * Jitter: each threshold is lowered by `jitterFraction × jitterUnit` of itself,
 * where `jitterUnit` in [0, 1) is drawn once per generation by the caller and
 * kept in the state. Lowered, never raised: jitter only makes a recycle come
 * earlier than configured, never later than the limit the user set.
 *
 * Hysteresis (the choice made here): when a metric fires at value v, it is
 * disarmed. It fires again only if either
 *   - it keeps growing: value ≥ v + margin (margin = hysteresisFraction ×
 *     threshold). Linear memory never shrinks, so a fraction that fired once
 *     stays above the threshold after the recycle; re-arming only "below the
 *     threshold" would switch it off for good, and firing at any value above
 *     the threshold would recycle forever. Growing by a margin means new
 *     memory was taken since the last recycle, which is worth reclaiming.
 *   - or it came back below threshold - margin (it is re-armed and fires at the
 *     threshold again). Age and jobs reset with the new generation, so they
 *     re-arm this way at once.
 */
import type { CoordinatorConfig } from './coordinator-config.js';
import type { PoolHealth } from './pool-health.js';

/** Metrics that can trigger a recycle. */
export type RecycleMetric = 'linearMemoryFraction' | 'allocatorLiveBytes' | 'generationAgeMs' | 'generationJobs';

export type Decision =
  | { readonly kind: 'proceed'; readonly reason: string | null }
  | {
      readonly kind: 'recycle';
      readonly reason: string;
      readonly metric: RecycleMetric;
      readonly value: number;
      /** The effective threshold (after jitter) that was reached. */
      readonly threshold: number;
    }
  | { readonly kind: 'rebuild'; readonly reason: string }
  | { readonly kind: 'refuse'; readonly reason: string; readonly neededBytes: number; readonly availableBytes: number }
  | { readonly kind: 'wait'; readonly reason: string };

export type DecisionKind = Decision['kind'];

export interface PolicyState {
  /** When the last recycle or rebuild was decided (epoch ms), `null` before the first. */
  readonly lastRecycleMs: number | null;
  /** In [0, 1): this generation's jitter draw. 0 means no jitter. */
  readonly jitterUnit: number;
  /** Disarmed metrics, with the value each fired at. Absent = armed. */
  readonly firedAt: { readonly [M in RecycleMetric]?: number };
}

export const INITIAL_POLICY_STATE: PolicyState = Object.freeze({ lastRecycleMs: null, jitterUnit: 0, firedAt: Object.freeze({}) });

export interface DecideResult {
  readonly decision: Decision;
  readonly state: PolicyState;
}

interface MetricReading {
  readonly metric: RecycleMetric;
  readonly value: number;
  readonly threshold: number;
  readonly label: string;
}

/** The readings whose threshold is configured and whose value is known, in check order. */
function metricReadings(health: PoolHealth, config: CoordinatorConfig, jitterUnit: number): MetricReading[] {
  const lowered = (threshold: number) => threshold * (1 - config.jitterFraction * jitterUnit);
  const readings: MetricReading[] = [];
  const { linearBytes, linearMaxBytes, allocatorLiveBytes } = health.memory;
  if (linearBytes !== null && linearMaxBytes !== null && linearMaxBytes > 0) {
    readings.push({
      metric: 'linearMemoryFraction',
      value: linearBytes / linearMaxBytes,
      threshold: lowered(config.maxLinearMemoryFraction),
      label: `linear memory ${linearBytes} of ${linearMaxBytes} bytes`,
    });
  }
  if (config.maxAllocatorLiveBytes !== null) {
    readings.push({
      metric: 'allocatorLiveBytes',
      value: allocatorLiveBytes,
      threshold: lowered(config.maxAllocatorLiveBytes),
      label: 'allocator live bytes',
    });
  }
  if (config.maxGenerationAgeMs !== null) {
    readings.push({
      metric: 'generationAgeMs',
      value: health.generationAgeMs,
      threshold: lowered(config.maxGenerationAgeMs),
      label: `generation ${health.generation} age (ms)`,
    });
  }
  if (config.maxJobsPerGeneration !== null) {
    readings.push({
      metric: 'generationJobs',
      value: health.generationJobs,
      // Jobs are whole: a lowered threshold of 7.6 means "at the 8th job".
      threshold: Math.ceil(lowered(config.maxJobsPerGeneration)),
      label: `jobs on generation ${health.generation}`,
    });
  }
  return readings;
}

/** Decides what to do before a job or on an idle check. Pure. */
export function decide(health: PoolHealth, config: CoordinatorConfig, state: PolicyState, nowMs: number): DecideResult {
  if (health.state === 'poisoned') {
    const poisoning = health.poisoned;
    const reason = poisoning
      ? `generation ${poisoning.generation} is poisoned (${poisoning.reason}): rebuild it`
      : 'the pool is poisoned: rebuild it';
    return { decision: { kind: 'rebuild', reason }, state: { ...state, lastRecycleMs: nowMs } };
  }
  if (health.state === 'starting' || health.state === 'recycling' || health.state === 'exiting') {
    return { decision: { kind: 'wait', reason: `the pool is ${health.state}` }, state };
  }

  const { linearMaxBytes, allocatorLiveBytes } = health.memory;
  if (linearMaxBytes !== null) {
    const availableBytes = linearMaxBytes - allocatorLiveBytes;
    if (availableBytes < config.admissionHeadroomBytes) {
      return {
        decision: {
          kind: 'refuse',
          reason:
            `headroom ${availableBytes} bytes (linearMaxBytes ${linearMaxBytes} - allocatorLiveBytes ` +
            `${allocatorLiveBytes}) < admissionHeadroomBytes ${config.admissionHeadroomBytes}`,
          neededBytes: config.admissionHeadroomBytes,
          availableBytes,
        },
        state,
      };
    }
  }

  const readings = metricReadings(health, config, state.jitterUnit);
  const firedAt: { [M in RecycleMetric]?: number } = { ...state.firedAt };
  let trigger: MetricReading | null = null;
  for (const reading of readings) {
    const margin = config.hysteresisFraction * reading.threshold;
    const firedValue = firedAt[reading.metric];
    if (firedValue !== undefined && reading.value < reading.threshold - margin) {
      delete firedAt[reading.metric]; // cleared below the band: re-armed
    }
    const armed = firedAt[reading.metric] === undefined;
    const crossed = armed ? reading.value >= reading.threshold : reading.value >= (firedValue as number) + margin;
    if (crossed && trigger === null) trigger = reading;
  }
  const rearmedState: PolicyState = { ...state, firedAt };

  if (trigger === null) return { decision: { kind: 'proceed', reason: null }, state: rearmedState };

  const crossing = `${trigger.label} ${formatNumber(trigger.value)} >= threshold ${formatNumber(trigger.threshold)}`;
  if (state.lastRecycleMs !== null && nowMs - state.lastRecycleMs < config.cooldownMs) {
    const sinceMs = nowMs - state.lastRecycleMs;
    return {
      decision: {
        kind: 'proceed',
        reason: `${crossing}, but the last recycle was ${sinceMs} ms ago (cooldownMs ${config.cooldownMs})`,
      },
      state: rearmedState,
    };
  }
  return {
    decision: {
      kind: 'recycle',
      reason: crossing,
      metric: trigger.metric,
      value: trigger.value,
      threshold: trigger.threshold,
    },
    state: { ...rearmedState, lastRecycleMs: nowMs, firedAt: { ...firedAt, [trigger.metric]: trigger.value } },
  };
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}
