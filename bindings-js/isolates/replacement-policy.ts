/**
 * When to replace an isolate, as pure functions: `decideReplacement(reading,
 * limits, isolateState, poolState, nowMs)` and the admission checks.
 *
 * No clocks, no randomness, no I/O: everything is an argument, so the policy
 * is tested from plain objects (tests/isolates/replacement-policy.test.js).
 * The pool (prover-pool.ts) holds the states between calls and acts on the
 * decision. Same style as the Rayon coordinator's `decide()`
 * (coordinator-policy.ts): thresholds, jitter, hysteresis, cooldown.
 *
 * Order of the checks (the first that applies wins):
 *   0. the isolate's last job hit a fault the instance survived → replace at
 *      once (no cooldown): out of wasm memory (its linear memory has grown to
 *      its maximum and never shrinks), or a Rust panic that left the wasm as
 *      a WebAssembly.Exception (state inside the instance may be
 *      inconsistent). Only a fresh instance is clean.
 *   1. headroom: linearMaxBytes - allocatorLiveBytes < admissionHeadroomBytes
 *      → replace at once (no cooldown: an isolate without headroom takes no
 *      jobs), unless a freshly warmed isolate would be below it too (then
 *      keep: replacing cannot help, and admission refuses jobs instead).
 *   2. thresholds, in order linear memory, allocator live bytes, age, jobs
 *      → replace, unless within cooldownMs of the last replacement (then keep,
 *      with the reason, and the metric stays latched).
 *   3. otherwise keep.
 *
 * Jitter: each threshold is lowered by jitterFraction × jitterUnit of itself,
 * jitterUnit in [0, 1) drawn once per isolate by the pool. Lowered, never
 * raised: isolates started together are not all replaced together, and none
 * later than the limit the user set.
 *
 * Hysteresis, with margin = hysteresisFraction × threshold:
 *   - Latch (a Schmitt trigger): a threshold crossed while the cooldown holds
 *     stays pending until the value falls below threshold - margin. Allocator
 *     live bytes go up and down between jobs; a crossing is not forgotten
 *     because the next reading dips just under the line.
 *   - Baseline guard (memory thresholds only): a replacement gives an
 *     isolate's post-warm memory (its baseline), not zero. A memory threshold
 *     fires only once the isolate grew at least the margin past its baseline;
 *     with a threshold below what the warm step alone takes, isolates would
 *     otherwise be replaced forever. Age and jobs restart at zero.
 */
import type { ReplacementLimits } from './config.js';

/** What can make an isolate be replaced. */
/** A fault of the last job that the instance survived, but that calls for a fresh one. */
export type JobFault = 'outOfMemory' | 'wasmPanic';

export type ReplacementMetric = JobFault | 'headroomBytes' | 'linearBytes' | 'allocatorLiveBytes' | 'ageMs' | 'jobs';

/** The numbers the policy reads about one isolate (its latest snapshot, its counters). */
export interface IsolateReading {
  readonly linearBytes: number | null;
  readonly linearMaxBytes: number | null;
  readonly allocatorLiveBytes: number | null;
  readonly jobs: number;
  readonly ageMs: number;
  /** The fault its last job hit, if any (the instance survived it). */
  readonly fault: JobFault | null;
}

/** Memory right after the warm step: what a fresh isolate starts with. */
export interface MemoryBaseline {
  readonly linearBytes: number | null;
  readonly allocatorLiveBytes: number | null;
}

/** Kept per isolate, between calls. */
export interface IsolatePolicyState {
  /** In [0, 1): this isolate's jitter draw. 0 means no jitter. */
  readonly jitterUnit: number;
  /** The isolate's own post-warm memory; `null` until it is ready. */
  readonly baseline: MemoryBaseline | null;
  /** Thresholds crossed and still pending, with the value at the crossing. Absent = not latched. */
  readonly latched: { readonly [M in ReplacementMetric]?: number };
}

/** Kept per pool, between calls. */
export interface PoolPolicyState {
  /** When the last replacement was decided (epoch ms), `null` before the first. */
  readonly lastReplacementMs: number | null;
}

export type ReplacementDecision =
  | { readonly kind: 'keep'; readonly reason: string | null }
  | {
      readonly kind: 'replace';
      readonly reason: string;
      readonly metric: ReplacementMetric;
      readonly value: number;
      /** The effective threshold (after jitter) that was reached. */
      readonly threshold: number;
    };

export interface ReplacementResult {
  readonly decision: ReplacementDecision;
  readonly isolate: IsolatePolicyState;
  readonly pool: PoolPolicyState;
}

export const INITIAL_POOL_POLICY_STATE: PoolPolicyState = Object.freeze({ lastReplacementMs: null });

export function initialIsolatePolicyState(jitterUnit: number): IsolatePolicyState {
  return Object.freeze({ jitterUnit, baseline: null, latched: Object.freeze({}) });
}

/** linearMaxBytes - allocatorLiveBytes, or `null` when either is unknown. */
export function headroomBytes(linearMaxBytes: number | null, allocatorLiveBytes: number | null): number | null {
  return linearMaxBytes === null || allocatorLiveBytes === null ? null : linearMaxBytes - allocatorLiveBytes;
}

/** Whether an isolate may take a job: its headroom is unknown or at least admissionHeadroomBytes. */
export function admitsJob(reading: IsolateReading, limits: ReplacementLimits): boolean {
  const headroom = headroomBytes(reading.linearMaxBytes, reading.allocatorLiveBytes);
  return headroom === null || headroom >= limits.admissionHeadroomBytes;
}

/**
 * The headroom a freshly warmed isolate would have (`linearMaxBytes` minus a
 * fresh isolate's post-warm allocator live bytes), and whether it is enough.
 * Unknown (no isolate warmed yet, or no figures) counts as enough.
 */
export function freshIsolateHeadroom(
  baseline: MemoryBaseline | null,
  linearMaxBytes: number | null,
  limits: ReplacementLimits,
): { readonly enough: boolean; readonly availableBytes: number | null } {
  const availableBytes = headroomBytes(linearMaxBytes, baseline?.allocatorLiveBytes ?? null);
  return { enough: availableBytes === null || availableBytes >= limits.admissionHeadroomBytes, availableBytes };
}

interface Threshold {
  readonly metric: Exclude<ReplacementMetric, 'headroomBytes' | JobFault>;
  readonly value: number;
  readonly threshold: number;
  readonly baselineValue: number | null;
  readonly label: string;
}

/** The configured thresholds whose value is known, in check order. */
function thresholds(reading: IsolateReading, limits: ReplacementLimits, state: IsolatePolicyState): Threshold[] {
  const lowered = (limit: number) => limit * (1 - limits.jitterFraction * state.jitterUnit);
  const list: Threshold[] = [];
  if (limits.maxLinearBytes !== null && reading.linearBytes !== null) {
    list.push({
      metric: 'linearBytes',
      value: reading.linearBytes,
      threshold: lowered(limits.maxLinearBytes),
      baselineValue: state.baseline?.linearBytes ?? null,
      label: 'linear memory bytes',
    });
  }
  if (limits.maxAllocatorLiveBytes !== null && reading.allocatorLiveBytes !== null) {
    list.push({
      metric: 'allocatorLiveBytes',
      value: reading.allocatorLiveBytes,
      threshold: lowered(limits.maxAllocatorLiveBytes),
      baselineValue: state.baseline?.allocatorLiveBytes ?? null,
      label: 'allocator live bytes',
    });
  }
  if (limits.maxAgeMs !== null) {
    list.push({ metric: 'ageMs', value: reading.ageMs, threshold: lowered(limits.maxAgeMs), baselineValue: null, label: 'age (ms)' });
  }
  if (limits.maxJobs !== null) {
    // Jobs are whole: a lowered threshold of 7.6 means "at the 8th job".
    list.push({ metric: 'jobs', value: reading.jobs, threshold: Math.ceil(lowered(limits.maxJobs)), baselineValue: null, label: 'jobs' });
  }
  return list;
}

/** Decides, after a job or on an idle check, whether to replace one isolate. Pure. */
export function decideReplacement(
  reading: IsolateReading,
  limits: ReplacementLimits,
  isolate: IsolatePolicyState,
  pool: PoolPolicyState,
  nowMs: number,
): ReplacementResult {
  const replace = (metric: ReplacementMetric, value: number, threshold: number, reason: string, latched = isolate.latched): ReplacementResult => ({
    decision: { kind: 'replace', reason, metric, value, threshold },
    isolate: { ...isolate, latched: { ...latched, [metric]: value } },
    pool: { lastReplacementMs: nowMs },
  });

  // 0. A fault of the last job.
  if (reading.fault === 'outOfMemory') {
    return replace('outOfMemory', 1, 1, `its last job ran out of wasm memory (linear memory ${reading.linearBytes} of ${reading.linearMaxBytes} bytes)`);
  }
  if (reading.fault === 'wasmPanic') {
    return replace('wasmPanic', 1, 1, 'a Rust panic left the wasm in its last job (WebAssembly.Exception): its instance may be inconsistent');
  }

  // 1. Headroom.
  const headroom = headroomBytes(reading.linearMaxBytes, reading.allocatorLiveBytes);
  if (headroom !== null && headroom < limits.admissionHeadroomBytes) {
    const fresh = freshIsolateHeadroom(isolate.baseline, reading.linearMaxBytes, limits);
    const numbers = `headroom ${headroom} bytes (linearMaxBytes ${reading.linearMaxBytes} - allocatorLiveBytes ${reading.allocatorLiveBytes}) < admissionHeadroomBytes ${limits.admissionHeadroomBytes}`;
    if (!fresh.enough) {
      return {
        decision: { kind: 'keep', reason: `${numbers}, but a fresh isolate would have only ${fresh.availableBytes} bytes: replacing cannot help` },
        isolate,
        pool,
      };
    }
    return replace('headroomBytes', headroom, limits.admissionHeadroomBytes, numbers);
  }

  // 2. Thresholds: update the latches, find the first that fires.
  const latched: { [M in ReplacementMetric]?: number } = { ...isolate.latched };
  let trigger: Threshold | null = null;
  let guarded: string | null = null;
  for (const t of thresholds(reading, limits, isolate)) {
    const margin = limits.hysteresisFraction * t.threshold;
    if (latched[t.metric] !== undefined && t.value < t.threshold - margin) delete latched[t.metric]; // left the band
    const crossed = t.value >= t.threshold || latched[t.metric] !== undefined;
    if (!crossed) continue;
    if (t.baselineValue !== null && t.value - t.baselineValue < margin) {
      guarded ??=
        `${t.label} ${fmt(t.value)} >= threshold ${fmt(t.threshold)}, but within the hysteresis margin ${fmt(margin)} of its ` +
        `post-warm value ${fmt(t.baselineValue)}: a fresh isolate would start there (raise the limit above what the warm step takes)`;
      continue;
    }
    trigger ??= t;
  }
  const kept: IsolatePolicyState = { ...isolate, latched };
  if (trigger === null) return { decision: { kind: 'keep', reason: guarded }, isolate: kept, pool };

  const crossing = `${trigger.label} ${fmt(trigger.value)} >= threshold ${fmt(trigger.threshold)}`;
  if (pool.lastReplacementMs !== null && nowMs - pool.lastReplacementMs < limits.cooldownMs) {
    const sinceMs = nowMs - pool.lastReplacementMs;
    return {
      decision: { kind: 'keep', reason: `${crossing}, but the last replacement was ${sinceMs} ms ago (cooldownMs ${limits.cooldownMs})` },
      isolate: { ...kept, latched: { ...latched, [trigger.metric]: latched[trigger.metric] ?? trigger.value } },
      pool,
    };
  }
  return replace(trigger.metric, trigger.value, trigger.threshold, crossing, latched);
}

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
