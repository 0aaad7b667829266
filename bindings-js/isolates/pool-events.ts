/**
 * What the prover pool reports: the names and payloads of its events, and the
 * emitter they go through, on which a listener that throws becomes an `error`
 * event (reported once, not recursively) instead of breaking the pool.
 */
import { TypedEmitter } from '../lib/proof-system/typed-emitter.js';
import type { ProverPoolAdmissionError, ProverPoolCrashError, ProverPoolStartError } from './errors.js';
import type { IsolateSnapshot } from './health.js';
import type { ReplacementDecision, ReplacementMetric } from './replacement-policy.js';
import type { BudgetVerdict, ReplacementOrder } from './rss-budget.js';

/** Why an isolate was spawned (`timeout`: a job's deadline stopped its predecessor; `demand`: a parked slot, for queued jobs). */
export type StartCause = 'initial' | 'replacement' | 'crash' | 'abort' | 'timeout' | 'retry' | 'demand';

/** Why an isolate was stopped (`idle`: the idle scale-down). */
export type StopReason = 'replaced' | 'crashed' | 'instance-terminated' | 'aborted' | 'timed-out' | 'start-failed' | 'idle' | 'closed';

export type JobOutcome = 'completed' | 'failed' | 'crashed' | 'aborted' | 'timed-out' | 'refused' | 'closed';

/**
 * Why a slot was given up: its starts kept failing with no isolate to serve
 * (`start-failures`) or its isolates kept crashing (`crash-loop`): the slot
 * stays empty; or its replacements for limits kept failing while its isolate
 * serves on (`replacement-start-failures`: no more replacements for limits in
 * that slot until one succeeds; faults still try).
 */
export type SlotGiveUp = 'start-failures' | 'crash-loop' | 'replacement-start-failures';

/**
 * What a completed replacement did, with its times. Blue/green: the successor
 * served before the old isolate stopped. Stop-then-start (limits.rssBudgetBytes
 * forbade two instances): the old isolate stopped first, and its slot served
 * nothing from the decision until the successor was ready (`totalMs`).
 */
export interface ReplacementReport {
  readonly slot: number;
  readonly oldIsolateId: number;
  readonly newIsolateId: number;
  /** `requested` (replaceIsolate()) or the limit that was reached. */
  readonly metric: ReplacementMetric | 'requested';
  readonly reason: string;
  readonly order: ReplacementOrder;
  /** Spawn → ready of the new isolate (module, o1js, warm step). */
  readonly newStartMs: number;
  readonly newLoadMs: number;
  readonly newWarmMs: number;
  /** New isolate ready (stop-then-start: the decision) → the old one's last job ended (0 when it was idle). */
  readonly drainMs: number;
  /** terminate() of the old isolate. */
  readonly terminateMs: number;
  /** Decision → old isolate terminated (stop-then-start: → new isolate ready). */
  readonly totalMs: number;
  readonly old: { readonly jobs: number; readonly ageMs: number; readonly snapshot: IsolateSnapshot | null };
  readonly new: { readonly snapshot: IsolateSnapshot | null };
  /** Node: process RSS right before and right after the old isolate's terminate(); `null` in browsers. */
  readonly processRssBytes: { readonly beforeTerminate: number; readonly afterTerminate: number } | null;
}

export interface ProverPoolEvents {
  'isolate-start': { readonly isolateId: number; readonly slot: number; readonly cause: StartCause; readonly predecessorId: number | null };
  'isolate-ready': {
    readonly isolateId: number;
    readonly slot: number;
    readonly cause: StartCause;
    readonly startMs: number;
    readonly loadMs: number;
    readonly warmMs: number;
    readonly snapshot: IsolateSnapshot;
  };
  'isolate-exit': {
    readonly isolateId: number;
    readonly slot: number;
    readonly reason: StopReason;
    readonly jobs: number;
    readonly ageMs: number;
    readonly snapshot: IsolateSnapshot | null;
    readonly terminateMs: number;
  };
  /** A limit was reached (replace), or reached but not acted on (keep, with the reason). */
  decision: { readonly isolateId: number; readonly decision: ReplacementDecision };
  replacement: ReplacementReport;
  /**
   * A replacement stops its isolate before starting the successor: the pool's
   * RSS plus a successor's would cross limits.rssBudgetBytes (figures `null`
   * when unknown). The slot serves nothing until the successor is ready.
   */
  'stop-then-start': { readonly isolateId: number; readonly slot: number } & BudgetVerdict;
  crash: { readonly isolateId: number; readonly slot: number; readonly error: ProverPoolCrashError };
  'job-start': { readonly jobId: number; readonly name: string; readonly isolateId: number; readonly waitMs: number };
  'job-end': {
    readonly jobId: number;
    readonly name: string;
    readonly isolateId: number | null;
    readonly outcome: JobOutcome;
    readonly waitMs: number;
    readonly runMs: number | null;
  };
  refuse: { readonly error: ProverPoolAdmissionError };
  /** A slot's restarts or replacements stopped (slot-restarts.ts); `count`: failed starts in a row, or crashes in the window. */
  'slot-given-up': {
    readonly slot: number;
    readonly reason: SlotGiveUp;
    readonly count: number;
    /** The last failed start, or the last crash. */
    readonly error: ProverPoolStartError | ProverPoolCrashError;
    /** The isolate that serves on in that slot (`replacement-start-failures`), or `null`: the slot is empty. */
    readonly servingIsolateId: number | null;
  };
  /** The queue reached maxQueuedJobs: the next job that finds no isolate free is refused. Once per edge. */
  'needs-drain': { readonly queued: number; readonly maxQueuedJobs: number };
  /** The queue emptied after a `needs-drain`. */
  drain: { readonly queued: number };
  /** Something went wrong outside any job: a replacement failed to start, a terminate() timed out, a listener threw. */
  error: { readonly error: unknown; readonly context: string };
}

/** The pool's emitter: a listener that throws is reported as an `error` event (once: not for `error` listeners). */
export function createPoolEvents(): TypedEmitter<ProverPoolEvents> {
  const events: TypedEmitter<ProverPoolEvents> = new TypedEmitter<ProverPoolEvents>((error, event) => {
    if (event !== 'error') events.emit('error', { error, context: `a listener of '${String(event)}' threw` });
  });
  return events;
}
