/**
 * When to replace an isolate, as pure functions: `decideReplacement(reading,
 * limits, isolateState, poolState, nowMs)` and the admission checks.
 *
 * No clocks, no randomness, no I/O: everything is an argument, so the policy
 * is tested from plain objects (tests/isolates/replacement-policy.test.js).
 * The pool holds the states between calls and acts on the decision. The
 * thresholds are decided by the kernel's one engine (kernel/thresholds.ts:
 * jitter, hysteresis, cooldown), as the Rayon coordinator's are.
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
 *   2. thresholds, in order linear memory, allocator live bytes, RSS, age, jobs
 *      → replace, unless within cooldownMs of the last replacement (then keep,
 *      with the reason, and the crossing stays latched).
 *   3. otherwise keep.
 *
 * Replacing ahead (`limits.replaceAhead`): step 2 checks where the isolate
 * will be once a successor started now is ready, not where it is: `lead`
 * says how long a start takes and how long a job runs (as the pool measured
 * them), so the start covers `aheadJobs = ceil(startMs / jobMs)` jobs. Jobs
 * are projected by `aheadJobs`, age by `startMs`, and memory by `aheadJobs`
 * times the isolate's own growth per job since its warm step; the projection
 * never reaches further ahead than the jobs it was measured over. Without a
 * lead (nothing measured yet) the check is on the values as they are.
 *
 * The unit of the thresholds is an isolate: its jitter is drawn once, and its
 * baseline for the memory thresholds is its own post-warm memory (what a
 * replacement gives back to); age and jobs start at zero.
 */
import { checkThresholds, freshUnit, type Crossing, type ThresholdReading, type UnitThresholds } from '../lib/proof-system/kernel/thresholds.js';
import type { ReplacementLimits } from './config.js';

/** What can make an isolate be replaced. */
/** A fault of the last job that the instance survived, but that calls for a fresh one. */
export type JobFault = 'outOfMemory' | 'wasmPanic';

export type ReplacementMetric = JobFault | 'headroomBytes' | 'linearBytes' | 'allocatorLiveBytes' | 'rssBytes' | 'ageMs' | 'jobs';

/** The numbers the policy reads about one isolate (its latest snapshot, its counters). */
export interface IsolateReading {
  readonly linearBytes: number | null;
  readonly linearMaxBytes: number | null;
  readonly allocatorLiveBytes: number | null;
  /** The RSS it accounts for (its snapshot's rssShareBytes). */
  readonly rssBytes: number | null;
  readonly jobs: number;
  readonly ageMs: number;
  /** The fault its last job hit, if any (the instance survived it). */
  readonly fault: JobFault | null;
}

/** Memory right after the warm step: what a fresh isolate starts with. */
export interface MemoryBaseline {
  readonly linearBytes: number | null;
  readonly allocatorLiveBytes: number | null;
  readonly rssBytes: number | null;
}

/** Kept per isolate, between calls: its jitter draw, its latched crossings, and its post-warm memory. */
export interface IsolatePolicyState extends UnitThresholds<ReplacementMetric> {
  /** The isolate's own post-warm memory; `null` until it is ready. */
  readonly baseline: MemoryBaseline | null;
}

/** How far ahead a replacement must start, as the pool has measured it; `null`: not known yet. */
export interface ReplacementLead {
  /** A successor's start, spawn to ready (module, o1js, warm step). */
  readonly startMs: number | null;
  /** A job's run time. */
  readonly jobMs: number | null;
}

export const NO_LEAD: ReplacementLead = Object.freeze({ startMs: null, jobMs: null });

/** Kept per pool, between calls. */
export interface PoolPolicyState {
  /** When the last replacement was decided (epoch ms), `null` before the first. */
  readonly lastReplacementMs: number | null;
}

export type ReplacementDecision =
  | { readonly kind: 'keep'; readonly reason: string | null }
  /** `metric`'s `value` reached `threshold` (after jitter; 1 of 1 for a fault); `reason` says so with the numbers. */
  | ({ readonly kind: 'replace' } & Crossing<ReplacementMetric>);

export interface ReplacementResult {
  readonly decision: ReplacementDecision;
  readonly isolate: IsolatePolicyState;
  readonly pool: PoolPolicyState;
}

export const INITIAL_POOL_POLICY_STATE: PoolPolicyState = Object.freeze({ lastReplacementMs: null });

export function initialIsolatePolicyState(jitterUnit: number): IsolatePolicyState {
  return Object.freeze({ ...freshUnit<ReplacementMetric>(jitterUnit), baseline: null });
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

type ThresholdMetric = Exclude<ReplacementMetric, 'headroomBytes' | JobFault>;

/** How many jobs and how many ms a successor's start covers; zero when not replacing ahead or nothing is measured yet. */
export function leadOf(limits: ReplacementLimits, lead: ReplacementLead): { readonly jobs: number; readonly ms: number } {
  if (!limits.replaceAhead || lead.startMs === null) return { jobs: 0, ms: 0 };
  const jobs = lead.jobMs === null || lead.jobMs <= 0 ? 0 : Math.ceil(lead.startMs / lead.jobMs);
  return { jobs, ms: lead.startMs };
}

/** The configured limits whose value is known, in check order; projected over the lead when replacing ahead. */
function readings(reading: IsolateReading, limits: ReplacementLimits, state: IsolatePolicyState, lead: ReplacementLead): ThresholdReading<ThresholdMetric>[] {
  const list: ThresholdReading<ThresholdMetric>[] = [];
  const baselineLabel = 'its post-warm value';
  const ahead = leadOf(limits, lead);
  // Memory grows per job as it has since the warm step, projected no further than it was measured over.
  const aheadJobs = Math.min(ahead.jobs, reading.jobs);
  const projected = (value: number, baseline: number | null) =>
    baseline === null || reading.jobs === 0 ? value : value + (Math.max(0, value - baseline) / reading.jobs) * aheadJobs;
  const projectedLabel = (label: string, by: string) => (ahead.jobs === 0 && ahead.ms === 0 ? label : `${label}, projected ${by} ahead`);
  const jobsAhead = `${aheadJobs} job${aheadJobs === 1 ? '' : 's'}`;
  if (limits.maxLinearBytes !== null && reading.linearBytes !== null) {
    const baseline = state.baseline?.linearBytes ?? null;
    const value = Math.round(projected(reading.linearBytes, baseline));
    list.push({ metric: 'linearBytes', value, limit: limits.maxLinearBytes, baseline, baselineLabel, label: projectedLabel('linear memory bytes', jobsAhead) });
  }
  if (limits.maxAllocatorLiveBytes !== null && reading.allocatorLiveBytes !== null) {
    const baseline = state.baseline?.allocatorLiveBytes ?? null;
    const value = Math.round(projected(reading.allocatorLiveBytes, baseline));
    list.push({ metric: 'allocatorLiveBytes', value, limit: limits.maxAllocatorLiveBytes, baseline, baselineLabel, label: projectedLabel('allocator live bytes', jobsAhead) });
  }
  if (limits.maxRssBytes !== null && reading.rssBytes !== null) {
    const baseline = state.baseline?.rssBytes ?? null;
    const value = Math.round(projected(reading.rssBytes, baseline));
    list.push({ metric: 'rssBytes', value, limit: limits.maxRssBytes, baseline, baselineLabel, label: projectedLabel('RSS bytes', jobsAhead) });
  }
  if (limits.maxAgeMs !== null) {
    list.push({ metric: 'ageMs', value: reading.ageMs + ahead.ms, limit: limits.maxAgeMs, baseline: null, label: projectedLabel('age (ms)', `${Math.round(ahead.ms)} ms`) });
  }
  if (limits.maxJobs !== null) {
    const label = projectedLabel('jobs', `${ahead.jobs} job${ahead.jobs === 1 ? '' : 's'}`);
    list.push({ metric: 'jobs', value: reading.jobs + ahead.jobs, limit: limits.maxJobs, count: true, baseline: null, label });
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
  lead: ReplacementLead = NO_LEAD,
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

  // 2. Thresholds.
  const cooldown = { lastActionMs: pool.lastReplacementMs, actionName: 'replacement' };
  const { verdict, unit } = checkThresholds(readings(reading, limits, isolate, lead), limits, isolate, cooldown, nowMs);
  if (verdict.kind !== 'act') return { decision: { kind: 'keep', reason: verdict.reason }, isolate: { ...isolate, latched: unit.latched }, pool };
  const { metric, value, threshold, reason } = verdict.crossing;
  return replace(metric, value, threshold, reason, unit.latched);
}
