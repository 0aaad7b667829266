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
 *   2. starting / exiting    → wait (WithThreadPool owns starts and exits)
 *   3. admission             → refuse when linearMaxBytes - allocatorLiveBytes
 *                              < admissionHeadroomBytes. A recycle would not
 *                              help: it cannot free memory held for live data
 *                              and linear memory never shrinks.
 *   4. thresholds (kernel/thresholds.ts: jitter, hysteresis, cooldown), in
 *      order linear memory fraction, allocator live bytes, generation age,
 *      jobs per generation → recycle, or proceed with the reason when the
 *      cooldown holds it back.
 *   5. otherwise             → proceed.
 *
 * A pool already recycling is decided like a running one: a recycle decided
 * then is asked of WithThreadPool, which alone decides that it joins the one
 * in progress (workers.ts).
 *
 * The unit of the thresholds is a generation: `state.generation` follows the
 * serving generation, and when it changes the latches are dropped and the
 * memory readings of the new generation's first check become its baseline
 * (a recycle frees no live data and linear memory never shrinks, so a memory
 * threshold fires again only once the new generation grew by the margin).
 * Memory thresholds are deprecated here for that reason: they belong to
 * prover isolates, whose replacement does give memory back (docs/internals.md,
 * "Which limits belong where"). Age and jobs restart with each generation.
 */
import type { CoordinatorConfig } from './coordinator-config.js';
import { checkThresholds, freshUnit, type Crossing, type ThresholdReading, type UnitThresholds } from './kernel/thresholds.js';
import type { PoolHealth } from './pool-health.js';

/** Metrics that can trigger a recycle. */
export type RecycleMetric = 'linearMemoryFraction' | 'allocatorLiveBytes' | 'generationAgeMs' | 'generationJobs';

/** The memory metrics: a recycle cannot bring them down (deprecated as recycle triggers). */
type MemoryMetric = Extract<RecycleMetric, 'linearMemoryFraction' | 'allocatorLiveBytes'>;

export type Decision =
  | { readonly kind: 'proceed'; readonly reason: string | null }
  /** `metric`'s `value` reached `threshold` (after jitter); `reason` says so with the numbers. */
  | ({ readonly kind: 'recycle' } & Crossing<RecycleMetric>)
  | { readonly kind: 'rebuild'; readonly reason: string }
  | { readonly kind: 'refuse'; readonly reason: string; readonly neededBytes: number; readonly availableBytes: number }
  | { readonly kind: 'wait'; readonly reason: string };

export type DecisionKind = Decision['kind'];

export interface PolicyState extends UnitThresholds<RecycleMetric> {
  /** When the last recycle or rebuild was decided (epoch ms), `null` before the first. */
  readonly lastRecycleMs: number | null;
  /** The generation the thresholds are for: `null` before the first check. */
  readonly generation: number | null;
  /** The memory readings the generation started with; `null` for the pool's first generation. */
  readonly baseline: { readonly [M in MemoryMetric]: number | null } | null;
}

export const INITIAL_POLICY_STATE: PolicyState = Object.freeze({ ...freshUnit<RecycleMetric>(0), lastRecycleMs: null, generation: null, baseline: null });

export interface DecideResult {
  readonly decision: Decision;
  readonly state: PolicyState;
}

const DEPRECATED_MEMORY_TRIGGER =
  'a recycle gives back worker stacks only, not this memory (deprecated: set memory limits on prover isolates, o1js/isolates)';

/** The state for this health's generation: a new generation drops the latches and takes its memory as the baseline. */
function forGeneration(health: PoolHealth, state: PolicyState): PolicyState {
  if (health.generation === null || health.generation === state.generation) return state;
  const renewed = state.generation !== null;
  return {
    ...state,
    generation: health.generation,
    latched: renewed ? {} : state.latched,
    baseline: renewed ? { linearMemoryFraction: linearFraction(health), allocatorLiveBytes: health.memory.allocatorLiveBytes } : null,
  };
}

function linearFraction(health: PoolHealth): number | null {
  const { linearBytes, linearMaxBytes } = health.memory;
  return linearBytes !== null && linearMaxBytes !== null && linearMaxBytes > 0 ? linearBytes / linearMaxBytes : null;
}

/** The readings whose limit is configured and whose value is known, in check order. */
function readings(health: PoolHealth, config: CoordinatorConfig, state: PolicyState): ThresholdReading<RecycleMetric>[] {
  const list: ThresholdReading<RecycleMetric>[] = [];
  const baselineLabel = 'what this generation started with';
  const fraction = linearFraction(health);
  if (config.maxLinearMemoryFraction !== null && fraction !== null) {
    const { linearBytes, linearMaxBytes } = health.memory;
    const baseline = state.baseline?.linearMemoryFraction ?? null;
    list.push({ metric: 'linearMemoryFraction', value: fraction, limit: config.maxLinearMemoryFraction, baseline, baselineLabel, label: `linear memory ${linearBytes} of ${linearMaxBytes} bytes` });
  }
  if (config.maxAllocatorLiveBytes !== null) {
    const baseline = state.baseline?.allocatorLiveBytes ?? null;
    list.push({ metric: 'allocatorLiveBytes', value: health.memory.allocatorLiveBytes, limit: config.maxAllocatorLiveBytes, baseline, baselineLabel, label: 'allocator live bytes' });
  }
  if (config.maxGenerationAgeMs !== null) {
    list.push({ metric: 'generationAgeMs', value: health.generationAgeMs, limit: config.maxGenerationAgeMs, baseline: null, label: `generation ${health.generation} age (ms)` });
  }
  if (config.maxJobsPerGeneration !== null) {
    list.push({ metric: 'generationJobs', value: health.generationJobs, limit: config.maxJobsPerGeneration, count: true, baseline: null, label: `jobs on generation ${health.generation}` });
  }
  return list;
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
  if (health.state === 'starting' || health.state === 'exiting') {
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

  const current = forGeneration(health, state);
  const { verdict, unit } = checkThresholds(readings(health, config, current), config, current, { lastActionMs: current.lastRecycleMs, actionName: 'recycle' }, nowMs);
  const next: PolicyState = { ...current, latched: unit.latched };
  // Nothing crossed, or held back by the cooldown: the job goes ahead (with the reason, if any).
  if (verdict.kind !== 'act') return { decision: { kind: 'proceed', reason: verdict.reason }, state: next };
  const { metric, value, threshold } = verdict.crossing;
  const memory = metric === 'linearMemoryFraction' || metric === 'allocatorLiveBytes';
  const reason = memory ? `${verdict.crossing.reason}; ${DEPRECATED_MEMORY_TRIGGER}` : verdict.crossing.reason;
  return { decision: { kind: 'recycle', reason, metric, value, threshold }, state: { ...next, lastRecycleMs: nowMs } };
}
