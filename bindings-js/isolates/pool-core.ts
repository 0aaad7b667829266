/**
 * The prover pool's shared state: its records (jobs, isolates, pending
 * replacements), its counters, and the actions its modules ask of each other.
 *
 * The pool is split by job, one module each: the queue and its scheduling
 * (job-queue.ts), isolates' spawning and messages (isolate-slots.ts), faults
 * and crashes (isolate-faults.ts), replacement (replacement.ts), stopping an
 * isolate (isolate-stop.ts), health (pool-health-report.ts) and close
 * (pool-close.ts). Each works on this one `PoolCore`; what one needs of
 * another goes through `core.act`, which the facade (prover-pool.ts) wires,
 * so the modules do not import each other in a circle.
 */
import type { Deferred } from '../lib/proof-system/kernel/deferred.js';
import type { TypedEmitter } from '../lib/proof-system/typed-emitter.js';
import type { ProverPoolConfig } from './config.js';
import type { IsolateCrashKind, ProverPoolStartError } from './errors.js';
import type { IsolateSnapshot, IsolateState, ProverPoolState, ProverPoolTotals } from './health.js';
import type { JobState } from './lifecycle.js';
import type { IsolateChannel, IsolatePlatform } from './platform.js';
import type { CloseReport } from './pool-close.js';
import type { JobOutcome, ProverPoolEvents, ReplacementReport, StartCause, StopReason } from './pool-events.js';
import type { FailedMessage, ResultMessage } from './protocol.js';
import type { IsolatePolicyState, IsolateReading, JobFault, MemoryBaseline, PoolPolicyState, ReplacementMetric } from './replacement-policy.js';

export type Timer = ReturnType<typeof setTimeout>;

/** Timers of the pool never keep a Node process alive (no-op in browsers). */
export function unref<T extends Timer | ReturnType<typeof setInterval>>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

export interface JobRecord {
  readonly id: number;
  readonly name: string;
  readonly args: unknown;
  state: JobState;
  readonly submittedAtMs: number;
  startedAtMs: number | null;
  isolate: IsolateRecord | null;
  readonly result: Deferred<unknown>;
  readonly signal: AbortSignal | null;
  onAbort: (() => void) | null;
}

export interface PendingReplacement {
  readonly metric: ReplacementMetric | 'requested';
  readonly reason: string;
  readonly decidedAtMs: number;
  /** When the successor became ready (drain starts). */
  successorReadyAtMs: number | null;
  readonly waiters: Deferred<ReplacementReport>[];
}

export interface IsolateRecord {
  readonly id: number;
  readonly slot: number;
  state: IsolateState;
  /** The fault its last job hit (it is replaced at once), or `null`. */
  fault: JobFault | null;
  readonly cause: StartCause;
  readonly spawnedAtMs: number;
  channel: IsolateChannel | null;
  readyAtMs: number | null;
  loadMs: number | null;
  warmMs: number | null;
  /** The one job it runs (I1): set exactly while it is busy or draining. */
  job: JobRecord | null;
  jobs: number;
  snapshot: IsolateSnapshot | null;
  snapshotAtMs: number | null;
  policy: IsolatePolicyState;
  lastKeepReason: string | null;
  successor: IsolateRecord | null;
  predecessor: IsolateRecord | null;
  replacement: PendingReplacement | null;
  /** Settles once: ready, or the start failed. */
  readonly started: Deferred<void>;
  startTimer: Timer | null;
  readonly healthRequests: Map<number, () => void>;
  /** Set once stopping: resolves when it is stopped. */
  stopped: Promise<void> | null;
}

/** What the pool's modules ask of each other (wired by prover-pool.ts). */
export interface PoolActions {
  /** job-queue.ts: starts queued jobs on free isolates. */
  dispatch(): void;
  /** job-queue.ts: settles a job once (I2). */
  settle(job: JobRecord, outcome: JobOutcome, valueOrError: unknown): void;
  /** isolate-slots.ts: starts an isolate for `slot`. */
  spawn(slot: number, cause: StartCause, predecessor: IsolateRecord | null): IsolateRecord;
  /** isolate-slots.ts: an isolate did not become ready. */
  startFailed(record: IsolateRecord, error: ProverPoolStartError): void;
  /** isolate-faults.ts: a job's result or failure arrived. */
  finishJob(record: IsolateRecord, message: ResultMessage | FailedMessage): void;
  /** isolate-faults.ts: the isolate failed by itself. */
  fail(record: IsolateRecord, kind: IsolateCrashKind, detail: string, cause: unknown, exitCode: number | null): void;
  /** isolate-faults.ts: a running job's signal fired. */
  abortRunning(job: JobRecord): void;
  /** replacement.ts: checks an idle isolate against the limits. */
  evaluate(record: IsolateRecord): void;
  /** replacement.ts: its successor serves; it stops taking jobs. */
  retire(record: IsolateRecord, successorReadyAtMs: number): void;
  /** isolate-stop.ts: terminates an isolate (bounded) and reports it. */
  stop(record: IsolateRecord, reason: StopReason): Promise<void>;
  /** pool-close.ts: resolves a close's drain once no job is left. */
  checkDrained(): void;
}

export interface PoolCore {
  readonly config: ProverPoolConfig;
  readonly platform: IsolatePlatform;
  readonly events: TypedEmitter<ProverPoolEvents>;
  readonly act: PoolActions;
  state: ProverPoolState;
  readonly isolates: Map<number, IsolateRecord>;
  readonly queue: JobRecord[];
  readonly nextId: { isolate: number; job: number; request: number };
  policy: PoolPolicyState;
  /** The latest post-warm memory of any isolate: what a fresh isolate starts with, and its maximum. */
  fresh: { baseline: MemoryBaseline | null; linearMaxBytes: number | null };
  jobNames: readonly string[] | null;
  /** Per slot: starts failed in a row, and when a restart may be tried again; pending restarts. */
  readonly slots: { readonly failures: number[]; readonly retryAtMs: number[]; readonly retryTimers: Set<Timer> };
  idleTimer: ReturnType<typeof setInterval> | null;
  idleCheckRunning: boolean;
  closing: Promise<CloseReport> | null;
  drained: Deferred<void> | null;
  readonly closeCounts: { drained: number; rejectedQueued: number; cutOffRunning: number; isolatesStopped: number };
  readonly totals: { -readonly [K in keyof ProverPoolTotals]: ProverPoolTotals[K] };
}

export function createPoolCore(
  config: ProverPoolConfig,
  platform: IsolatePlatform,
  events: TypedEmitter<ProverPoolEvents>,
  act: PoolActions,
): PoolCore {
  return {
    config,
    platform,
    events,
    act,
    state: 'open',
    isolates: new Map(),
    queue: [],
    nextId: { isolate: 1, job: 1, request: 1 },
    policy: { lastReplacementMs: null },
    fresh: { baseline: null, linearMaxBytes: null },
    jobNames: null,
    slots: { failures: new Array<number>(config.isolates).fill(0), retryAtMs: new Array<number>(config.isolates).fill(0), retryTimers: new Set() },
    idleTimer: null,
    idleCheckRunning: false,
    closing: null,
    drained: null,
    closeCounts: { drained: 0, rejectedQueued: 0, cutOffRunning: 0, isolatesStopped: 0 },
    totals: {
      jobsCompleted: 0,
      jobsFailed: 0,
      jobsCrashed: 0,
      jobsAborted: 0,
      jobsRefused: 0,
      isolatesStarted: 0,
      replacements: 0,
      crashes: 0,
      startFailures: 0,
    },
  };
}

/** Not stopping or stopped: it serves, starts, or drains. */
export function isLive(record: IsolateRecord): boolean {
  return record.state !== 'stopping' && record.state !== 'stopped';
}

/** An isolate is up or starting, or a slot's restart is pending. */
export function anyIsolateAlive(core: PoolCore): boolean {
  for (const record of core.isolates.values()) if (isLive(record)) return true;
  return core.slots.retryTimers.size > 0;
}

/** What the replacement policy reads about an isolate. */
export function readingOf(core: PoolCore, record: IsolateRecord): IsolateReading {
  const memory = record.snapshot?.memory ?? null;
  return {
    linearBytes: memory?.linearBytes ?? null,
    linearMaxBytes: memory?.linearMaxBytes ?? null,
    allocatorLiveBytes: memory?.allocatorLiveBytes ?? null,
    jobs: record.jobs,
    ageMs: core.platform.now() - record.spawnedAtMs,
    fault: record.fault,
  };
}

export function takeSnapshot(core: PoolCore, record: IsolateRecord, snapshot: IsolateSnapshot): void {
  record.snapshot = snapshot;
  record.snapshotAtMs = core.platform.now();
}

/** Rejects whoever waits for `record`'s pending replacement (replaceIsolate()), which will not complete. */
export function rejectReplacementWaiters(record: IsolateRecord, error: unknown): void {
  const pending = record.replacement;
  if (pending === null) return;
  record.replacement = null;
  for (const waiter of pending.waiters) waiter.reject(error);
}
