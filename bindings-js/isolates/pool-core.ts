/**
 * The prover pool's shared state: its records (jobs, isolates, pending
 * replacements), its counters, and the actions its modules ask of each other.
 *
 * The pool is split by job, one module each: the queue and its scheduling
 * (job-queue.ts), deadlines and back-pressure (job-flow.ts), isolates'
 * spawning and messages (isolate-slots.ts), restarts, backoff and give-up
 * (slot-restarts.ts), faults and crashes (isolate-faults.ts), replacement
 * (replacement.ts), idle scale-down (scale.ts), stopping an isolate
 * (isolate-stop.ts), health (pool-health-report.ts) and close (pool-close.ts). Each works on this one `PoolCore`; what one needs of
 * another goes through `core.act`, which the facade (prover-pool.ts) wires,
 * so the modules do not import each other in a circle.
 */
import type { Deferred } from '../lib/proof-system/kernel/deferred.js';
import { createJobStats, type JobStats } from './job-stats.js';
import type { TypedEmitter } from '../lib/proof-system/typed-emitter.js';
import type { ProverPoolConfig } from './config.js';
import type { IsolateCrashKind, ProverPoolAbortError, ProverPoolError, ProverPoolStartError, ProverPoolTimeoutError } from './errors.js';
import type { IsolateSnapshot, IsolateState, ProverPoolState, ProverPoolTotals } from './health.js';
import type { JobState } from './lifecycle.js';
import type { IsolateChannel, IsolatePlatform } from './platform.js';
import type { CloseReport } from './pool-close.js';
import type { JobOutcome, ProverPoolEvents, ReplacementReport, StartCause, StopReason } from './pool-events.js';
import type { FailedMessage, ResultMessage } from './protocol.js';
import type { IsolatePolicyState, IsolateReading, JobFault, MemoryBaseline, PoolPolicyState, ReplacementMetric } from './replacement-policy.js';
import type { TerminateTimes } from './replacement.js';
import type { ReplacementOrder } from './rss-budget.js';
import type { SlotGiveUpReason } from './slot-policy.js';

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
  /** When it left its isolate without an answer (aborted, timed out): its busy time is counted then, not when it settles. */
  stoppedAtMs: number | null;
  isolate: IsolateRecord | null;
  readonly result: Deferred<unknown>;
  readonly signal: AbortSignal | null;
  onAbort: (() => void) | null;
  /** Its deadline from submission (ms), or `null`; the timer that enforces it. */
  readonly timeoutMs: number | null;
  deadline: Timer | null;
}

export interface PendingReplacement {
  readonly metric: ReplacementMetric | 'requested';
  readonly reason: string;
  readonly decidedAtMs: number;
  /** When the successor became ready (drain starts); stop-then-start: when the predecessor stopped taking jobs. */
  successorReadyAtMs: number | null;
  readonly waiters: Deferred<ReplacementReport>[];
  /** Blue/green, unless limits.rssBudgetBytes forbids two instances at once (rss-budget.ts). */
  order: ReplacementOrder;
}

/** A stop-then-start successor's predecessor, stopped before the successor was spawned: reported once it is ready. */
export interface StoppedPredecessor {
  readonly pending: PendingReplacement;
  readonly id: number;
  readonly jobs: number;
  readonly ageMs: number;
  readonly snapshot: IsolateSnapshot | null;
  readonly times: TerminateTimes;
}

export interface IsolateRecord {
  readonly id: number;
  readonly slot: number;
  /** Random, sent in `init`: every message of this isolate carries it (I7). */
  readonly token: string;
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
  /** When it was last ready or last ended a job: idle scale-down counts from here. */
  lastActiveMs: number;
  snapshot: IsolateSnapshot | null;
  snapshotAtMs: number | null;
  policy: IsolatePolicyState;
  lastKeepReason: string | null;
  successor: IsolateRecord | null;
  predecessor: IsolateRecord | null;
  replacement: PendingReplacement | null;
  /** Stop-then-start: the predecessor it replaces, already stopped; `null` otherwise. */
  stoppedPredecessor: StoppedPredecessor | null;
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
  /** slot-restarts.ts: an isolate did not become ready. */
  startFailed(record: IsolateRecord, error: ProverPoolStartError): void;
  /** slot-restarts.ts: a slot lost its serving isolate; its successor takes over, or a new one starts (after a backoff; not past the breaker). */
  refill(record: IsolateRecord, cause: 'crash' | 'abort' | 'timeout', error: ProverPoolError): void;
  /** isolate-faults.ts: a job's result or failure arrived. */
  finishJob(record: IsolateRecord, message: ResultMessage | FailedMessage): void;
  /** isolate-faults.ts: the isolate failed by itself. */
  fail(record: IsolateRecord, kind: IsolateCrashKind, detail: string, cause: unknown, exitCode: number | null): void;
  /** isolate-faults.ts: a running job's signal fired, or its deadline passed: its isolate is stopped, then it is rejected. */
  stopRunning(job: JobRecord, reason: 'aborted' | 'timed-out', error: ProverPoolAbortError | ProverPoolTimeoutError): void;
  /** replacement.ts: checks an idle isolate against the limits. */
  evaluate(record: IsolateRecord): void;
  /** replacement.ts: its successor serves; it stops taking jobs. */
  retire(record: IsolateRecord, successorReadyAtMs: number): void;
  /** replacement.ts: starts a replacement that waited for another to finish warming (I4). */
  startWaitingReplacement(): void;
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
  /** The module the pool serves, pinned by its first ready isolate: its jobs and its file's hash. */
  jobNames: readonly string[] | null;
  moduleHash: string | null;
  readonly slots: readonly SlotState[];
  readonly stats: JobStats;
  /** The queue is full (`needs-drain` was emitted, `drain` not yet). */
  needsDrain: boolean;
  idleTimer: ReturnType<typeof setInterval> | null;
  idleCheckRunning: boolean;
  closing: Promise<CloseReport> | null;
  drained: Deferred<void> | null;
  readonly closeCounts: { drained: number; rejectedQueued: number; cutOffRunning: number; isolatesStopped: number };
  readonly totals: { -readonly [K in keyof ProverPoolTotals]: ProverPoolTotals[K] };
}

/** One slot (0 … isolates−1): what its restarts and give-ups have been (slot-policy.ts decides). */
export interface SlotState {
  /** Starts failed in a row (reset when an isolate of the slot becomes ready). */
  startFailures: number;
  /** No replacement is tried for this slot before this time (epoch ms). */
  retryAtMs: number;
  /** When its serving isolates crashed, within crashWindowMs. */
  crashTimesMs: readonly number[];
  /** The slot is empty and stays so. */
  givenUp: { readonly reason: SlotGiveUpReason; readonly atMs: number } | null;
  /** Replacements for limits failed maxStartFailures times: none is tried while its isolate serves (faults still are). */
  replacementGivenUp: boolean;
  /** Stopped by the idle scale-down: started again on demand. */
  parked: boolean;
  /** A pending restart of the slot. */
  restartTimer: Timer | null;
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
    moduleHash: null,
    slots: Array.from({ length: config.isolates }, () => ({
      startFailures: 0,
      retryAtMs: 0,
      crashTimesMs: [],
      givenUp: null,
      replacementGivenUp: false,
      parked: false,
      restartTimer: null,
    })),
    stats: createJobStats(platform.now()),
    needsDrain: false,
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
      jobsTimedOut: 0,
      jobsRefused: 0,
      isolatesStarted: 0,
      replacements: 0,
      crashes: 0,
      startFailures: 0,
      idleStops: 0,
      strayMessages: 0,
    },
  };
}

/** It serves, starts or drains, or it stops to make room for its successor (stop-then-start). */
export function isLive(record: IsolateRecord): boolean {
  if (record.state === 'stopping') return record.replacement?.order === 'stop-then-start'; // its successor starts once it stopped
  return record.state !== 'stopped';
}

/** It drains while its successor already serves its slot (a stop-then-start isolate drains with none): its end needs no refill. */
export function successorServes(record: IsolateRecord): boolean {
  return record.state === 'draining' && record.successor !== null;
}

/** An isolate is up or starting, or a slot's restart is pending, or a parked slot can be started on demand. */
export function anyIsolateAlive(core: PoolCore): boolean {
  for (const record of core.isolates.values()) if (isLive(record)) return true;
  return core.slots.some((slot) => slot.restartTimer !== null || slot.parked);
}

/** What the replacement policy reads about an isolate. */
export function readingOf(core: PoolCore, record: IsolateRecord): IsolateReading {
  const memory = record.snapshot?.memory ?? null;
  return {
    linearBytes: memory?.linearBytes ?? null,
    linearMaxBytes: memory?.linearMaxBytes ?? null,
    allocatorLiveBytes: memory?.allocatorLiveBytes ?? null,
    rssBytes: memory?.rssShareBytes ?? null,
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
