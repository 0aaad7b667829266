/**
 * The prover pool's core, the same on every platform: isolates (each a thread
 * with its own o1js, wasm memory and Rayon pool, behind an IsolateChannel from
 * platform.ts), a FIFO job queue, blue/green replacement, faults,
 * cancellation, admission and close. node.ts and web.ts give it a platform.
 *
 * Invariants (kept where noted):
 *   I1. An isolate runs at most one job: `record.job` is set exactly while it
 *       is busy or draining (#startJob sets it, #finishJob/#lose/#abortRunning
 *       clear it).
 *   I2. Every job settles exactly once (#settle ignores a second call), and
 *       every job that reaches an isolate ends by a message from it, its
 *       loss, its abort or close's cut-off.
 *   I3. Blue/green: a replacement is spawned while its predecessor keeps
 *       serving; the predecessor stops taking jobs only once the successor is
 *       ready (#onReady → #retire), and is terminated only once its job ended.
 *       So no job fails or waits because of a replacement.
 *   I4. Each slot has at most one successor warming for it, and the pool at
 *       most one replacement for limits warming at a time (memory for two
 *       instances of one slot, not of all of them). Replacements after a
 *       crash or an abort fill an empty slot and are not limited.
 *   I5. Every wait is bounded: start (startTimeoutMs), terminate
 *       (terminateTimeoutMs), health (healthTimeoutMs), close (timeoutMs).
 *   I6. Messages from an isolate that is stopping or stopped are ignored: once
 *       the pool decided to stop it, nothing it says can settle a job.
 */
import { TypedEmitter } from '../lib/proof-system/typed-emitter.js';
import { resolveCloseOptions, resolveProverPoolConfig, type ProverPoolConfig } from './config.js';
import {
  ProverPoolAbortError,
  ProverPoolAdmissionError,
  ProverPoolClosedError,
  ProverPoolCrashError,
  ProverPoolJobError,
  ProverPoolStartError,
  ProverPoolUnknownJobError,
  fromRemoteError,
  type IsolateCrashKind,
} from './errors.js';
import type { IsolateHealth, IsolateSnapshot, IsolateState, ProverPoolHealth, ProverPoolState, ProverPoolTotals } from './health.js';
import { ISOLATE_TRANSITIONS, JOB_TRANSITIONS, transition, type JobState } from './lifecycle.js';
import type { JobName, JobResult, ProverJobs, RunArguments, RunOptions, UntypedJobs } from './jobs.js';
import type { IsolateChannel, IsolateExit, IsolatePlatform } from './platform.js';
import { isFromIsolate, type FailedMessage, type FromIsolate, type ReadyMessage, type ResultMessage } from './protocol.js';
import {
  INITIAL_POOL_POLICY_STATE,
  admitsJob,
  decideReplacement,
  freshIsolateHeadroom,
  initialIsolatePolicyState,
  type IsolatePolicyState,
  type IsolateReading,
  type JobFault,
  type MemoryBaseline,
  type PoolPolicyState,
  type ReplacementDecision,
  type ReplacementMetric,
} from './replacement-policy.js';

/** Why an isolate was spawned. */
export type StartCause = 'initial' | 'replacement' | 'crash' | 'abort' | 'retry';

/** Why an isolate was stopped. */
export type StopReason = 'replaced' | 'crashed' | 'instance-terminated' | 'aborted' | 'start-failed' | 'closed';

/** What a completed blue/green replacement did, with its times. */
export interface ReplacementReport {
  readonly slot: number;
  readonly oldIsolateId: number;
  readonly newIsolateId: number;
  /** `requested` (replaceIsolate()) or the limit that was reached. */
  readonly metric: ReplacementMetric | 'requested';
  readonly reason: string;
  /** Spawn → ready of the new isolate (module, o1js, warm step). */
  readonly newStartMs: number;
  readonly newLoadMs: number;
  readonly newWarmMs: number;
  /** New isolate ready → the old one's last job ended (0 when it was idle). */
  readonly drainMs: number;
  /** terminate() of the old isolate. */
  readonly terminateMs: number;
  /** Decision → old isolate terminated. */
  readonly totalMs: number;
  readonly old: { readonly jobs: number; readonly ageMs: number; readonly snapshot: IsolateSnapshot | null };
  readonly new: { readonly snapshot: IsolateSnapshot | null };
  /** Node: process RSS right before and right after the old isolate's terminate(); `null` in browsers. */
  readonly processRssBytes: { readonly beforeTerminate: number; readonly afterTerminate: number } | null;
}

export interface CloseOptions {
  /** Run queued and running jobs to the end first (default true); false: cut them off at once. */
  readonly drain?: boolean;
  /** Bound on the drain (default 60000 ms); past it, queued and running jobs are cut off. */
  readonly timeoutMs?: number;
}

export interface CloseReport {
  /** Jobs that ended normally (result or job error) during the close. */
  readonly drained: number;
  /** Queued jobs rejected with PROVER_POOL_CLOSED. */
  readonly rejectedQueued: number;
  /** Running jobs cut off (their isolates terminated), rejected with PROVER_POOL_CLOSED. */
  readonly cutOffRunning: number;
  readonly isolatesStopped: number;
  /** The drain bound passed. */
  readonly timedOut: boolean;
  readonly totalMs: number;
}

export type JobOutcome = 'completed' | 'failed' | 'crashed' | 'aborted' | 'refused' | 'closed';

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
  /** Something went wrong outside any job: a replacement failed to start, a terminate() timed out, a listener threw. */
  error: { readonly error: unknown; readonly context: string };
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Timer = ReturnType<typeof setTimeout>;

/** Timers of the pool never keep a Node process alive (no-op in browsers). */
function unref(timer: Timer): Timer {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

interface JobRecord {
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

interface PendingReplacement {
  readonly metric: ReplacementMetric | 'requested';
  readonly reason: string;
  readonly decidedAtMs: number;
  /** When the successor became ready (drain starts). */
  successorReadyAtMs: number | null;
  readonly waiters: Deferred<ReplacementReport>[];
}

interface IsolateRecord {
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

const MAX_RESTART_DELAY_MS = 30_000;

/**
 * A pool of prover isolates. Create it with `createProverPool` from node.ts or
 * web.ts (`ProverPool.start(platform, options)` underneath). `Jobs` is the
 * proving module's `jobs` (`typeof jobs`): it types `run()`.
 */
export class ProverPool<Jobs extends ProverJobs = UntypedJobs> {
  readonly config: ProverPoolConfig;
  readonly #platform: IsolatePlatform;
  readonly #events: TypedEmitter<ProverPoolEvents>;
  #state: ProverPoolState = 'open';
  readonly #isolates = new Map<number, IsolateRecord>();
  readonly #queue: JobRecord[] = [];
  #nextIsolateId = 1;
  #nextJobId = 1;
  #nextRequestId = 1;
  #policy: PoolPolicyState = INITIAL_POOL_POLICY_STATE;
  /** The latest post-warm memory of any isolate: what a fresh isolate starts with. */
  #freshBaseline: MemoryBaseline | null = null;
  #freshLinearMaxBytes: number | null = null;
  #jobNames: readonly string[] | null = null;
  /** Per slot: starts failed in a row, and when a restart may be tried again. */
  readonly #slotFailures: number[];
  readonly #slotRetryAtMs: number[];
  readonly #retryTimers = new Set<Timer>();
  #idleTimer: ReturnType<typeof setInterval> | null = null;
  #idleCheckRunning = false;
  #closing: Promise<CloseReport> | null = null;
  #drained: Deferred<void> | null = null;
  #closeCounts = { drained: 0, rejectedQueued: 0, cutOffRunning: 0, isolatesStopped: 0 };
  readonly #totals = {
    jobsCompleted: 0,
    jobsFailed: 0,
    jobsCrashed: 0,
    jobsAborted: 0,
    jobsRefused: 0,
    isolatesStarted: 0,
    replacements: 0,
    crashes: 0,
    startFailures: 0,
  };

  private constructor(platform: IsolatePlatform, config: ProverPoolConfig) {
    this.#platform = platform;
    this.config = config;
    this.#events = new TypedEmitter<ProverPoolEvents>((error, event) => {
      // A listener that throws must not break the pool; its error is reported once, not recursively.
      if (event !== 'error') this.#events.emit('error', { error, context: `a listener of '${String(event)}' threw` });
    });
    this.#slotFailures = new Array<number>(config.isolates).fill(0);
    this.#slotRetryAtMs = new Array<number>(config.isolates).fill(0);
  }

  /**
   * Validates `options`, starts `isolates` isolates one after another (so the
   * first warm step fills an on-disk cache the others read) and resolves once
   * all are warm. Rejects with ProverPoolConfigError, or ProverPoolStartError
   * (after stopping what it started) when an isolate does not start.
   */
  static async start<Jobs extends ProverJobs = UntypedJobs>(platform: IsolatePlatform, options: unknown): Promise<ProverPool<Jobs>> {
    const pool = new ProverPool<Jobs>(platform, resolveProverPoolConfig(options));
    try {
      for (let slot = 0; slot < pool.config.isolates; slot++) await pool.#spawn(slot, 'initial', null).started.promise;
    } catch (error) {
      await pool.close({ drain: false });
      throw error;
    }
    pool.#idleTimer = setInterval(() => void pool.#idleCheck(), pool.config.idleCheckIntervalMs);
    unref(pool.#idleTimer);
    return pool;
  }

  get state(): ProverPoolState {
    return this.#state;
  }

  /** The job names the module exports. */
  get jobNames(): readonly string[] {
    return this.#jobNames ?? [];
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<Name extends keyof ProverPoolEvents>(event: Name, listener: (payload: ProverPoolEvents[Name]) => void): () => void {
    return this.#events.on(event, listener);
  }

  // ------------------------------------------------------------------ jobs

  /**
   * Runs job `name` of the module with `args` (structured-cloned into the
   * isolate) on the first isolate free, in submission order; resolves with
   * its return value (e.g. a proof as JSON). Rejects with a ProverPoolError:
   * CLOSED, ADMISSION_REFUSED, UNKNOWN_JOB (at once); JOB_ABORTED (signal);
   * JOB_FAILED (the job threw; the isolate keeps serving); ISOLATE_CRASHED
   * (the isolate died or trapped under it; a replacement starts).
   */
  run<Name extends JobName<Jobs>>(name: Name, ...rest: RunArguments<Jobs[Name]>): Promise<JobResult<Jobs[Name]>> {
    const [args, options = {}] = rest as [unknown, RunOptions?];
    const signal = options.signal ?? null;
    const refused = this.#admission(name);
    if (refused !== null) return Promise.reject(refused);
    if (signal?.aborted) {
      this.#totals.jobsAborted++;
      return Promise.reject(new ProverPoolAbortError('queued', null, signal.reason));
    }
    const job: JobRecord = {
      id: this.#nextJobId++,
      name,
      args,
      state: 'queued',
      submittedAtMs: this.#platform.now(),
      startedAtMs: null,
      isolate: null,
      result: deferred<unknown>(),
      signal,
      onAbort: null,
    };
    if (signal !== null) {
      job.onAbort = () => this.#abort(job);
      signal.addEventListener('abort', job.onAbort, { once: true });
    }
    this.#queue.push(job);
    this.#dispatch();
    return job.result.promise as Promise<JobResult<Jobs[Name]>>;
  }

  /** The error refusing job `name` at submission, or `null` to take it. */
  #admission(name: string): Error | null {
    if (this.#state !== 'open') return new ProverPoolClosedError('submitted', this.#state);
    if (this.#jobNames !== null && !this.#jobNames.includes(name)) return new ProverPoolUnknownJobError(name, this.#jobNames);
    let refusal: ProverPoolAdmissionError | null = null;
    if (!this.#anyIsolateAlive()) {
      refusal = new ProverPoolAdmissionError(
        'no-isolate',
        name,
        `no isolate is up or starting (each slot's start failed ${this.config.maxStartFailures} times in a row): expected at least one. ` +
          "See the pool's 'error' events for why, then create a new pool.",
      );
    } else {
      const fresh = freshIsolateHeadroom(this.#freshBaseline, this.#freshLinearMaxBytes, this.config.limits);
      if (!fresh.enough) {
        refusal = new ProverPoolAdmissionError(
          'memory-headroom',
          name,
          `even a freshly warmed isolate would have ${fresh.availableBytes} bytes of wasm memory left (memory maximum ` +
            `${this.#freshLinearMaxBytes} - post-warm allocator live bytes ${this.#freshBaseline?.allocatorLiveBytes}), ` +
            `expected at least limits.admissionHeadroomBytes ${this.config.limits.admissionHeadroomBytes}. Raise ` +
            'limits.memoryMaximumBytes or lower admissionHeadroomBytes.',
          { needed: this.config.limits.admissionHeadroomBytes, available: fresh.availableBytes ?? 0 },
        );
      } else if (this.config.maxQueuedJobs !== null && this.#queue.length >= this.config.maxQueuedJobs && this.#pickIsolate() === null) {
        refusal = new ProverPoolAdmissionError(
          'queue-full',
          name,
          `${this.#queue.length} jobs are queued and no isolate is free, expected fewer than maxQueuedJobs ${this.config.maxQueuedJobs}. ` +
            'Retry later, or add isolates.',
          { needed: this.config.maxQueuedJobs, available: this.#queue.length },
        );
      }
    }
    if (refusal !== null) {
      this.#totals.jobsRefused++;
      this.#events.emit('refuse', { error: refusal });
    }
    return refusal;
  }

  /** Starts queued jobs on free isolates, in order. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      const isolate = this.#pickIsolate();
      if (isolate === null) break;
      this.#startJob(isolate, this.#queue.shift() as JobRecord);
    }
    this.#failQueuedIfUnservable();
    this.#checkDrained();
  }

  /**
   * An idle isolate with the headroom for a job: isolates not being replaced
   * first (a retiring one still serves while its successor warms), then the
   * one with the fewest jobs.
   */
  #pickIsolate(): IsolateRecord | null {
    let best: IsolateRecord | null = null;
    for (const record of this.#isolates.values()) {
      if (record.state !== 'idle' || !admitsJob(this.#reading(record), this.config.limits)) continue;
      if (best === null) best = record;
      else {
        const rank = (r: IsolateRecord) => [r.successor === null ? 0 : 1, r.jobs, r.id];
        const [a, b] = [rank(record), rank(best)];
        if (a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2])))) best = record;
      }
    }
    return best;
  }

  #startJob(record: IsolateRecord, job: JobRecord): void {
    const now = this.#platform.now();
    transition(job, 'running', JOB_TRANSITIONS, 'job');
    job.isolate = record;
    job.startedAtMs = now;
    transition(record, 'busy', ISOLATE_TRANSITIONS, 'isolate');
    record.job = job; // I1
    record.channel?.keepAlive(true);
    try {
      record.channel?.post({ type: 'run', jobId: job.id, name: job.name, args: job.args });
    } catch (error) {
      // The arguments could not be cloned: the job fails, the isolate never saw it.
      record.job = null;
      transition(record, 'idle', ISOLATE_TRANSITIONS, 'isolate');
      record.channel?.keepAlive(false);
      this.#totals.jobsFailed++;
      this.#settle(job, 'failed', error);
      return;
    }
    this.#events.emit('job-start', { jobId: job.id, name: job.name, isolateId: record.id, waitMs: now - job.submittedAtMs });
  }

  /** Settles a job once (I2) and reports it. */
  #settle(job: JobRecord, outcome: JobOutcome, valueOrError: unknown): void {
    if (job.state === 'settled') return;
    transition(job, 'settled', JOB_TRANSITIONS, 'job');
    if (job.onAbort !== null) job.signal?.removeEventListener('abort', job.onAbort);
    if (outcome === 'completed') job.result.resolve(valueOrError);
    else job.result.reject(valueOrError);
    const now = this.#platform.now();
    if (this.#state === 'closing' && (outcome === 'completed' || outcome === 'failed')) this.#closeCounts.drained++;
    this.#events.emit('job-end', {
      jobId: job.id,
      name: job.name,
      isolateId: job.isolate?.id ?? null,
      outcome,
      waitMs: (job.startedAtMs ?? now) - job.submittedAtMs,
      runMs: job.startedAtMs === null ? null : now - job.startedAtMs,
    });
  }

  /** The caller's signal fired. */
  #abort(job: JobRecord): void {
    const reason = job.signal?.reason;
    if (job.state === 'queued') {
      this.#queue.splice(this.#queue.indexOf(job), 1);
      this.#totals.jobsAborted++;
      this.#settle(job, 'aborted', new ProverPoolAbortError('queued', null, reason));
      this.#checkDrained();
      return;
    }
    if (job.state !== 'running' || job.isolate === null) return;
    // The only way to stop a running proof: terminate its isolate.
    const record = job.isolate;
    record.job = null;
    this.#totals.jobsAborted++;
    const error = new ProverPoolAbortError('running', record.id, reason);
    this.#settle(job, 'aborted', error);
    this.#rejectReplacementWaiters(record, error);
    const wasDraining = record.state === 'draining';
    void this.#stop(record, 'aborted');
    if (!wasDraining) this.#refill(record, 'abort');
    this.#dispatch();
  }

  // -------------------------------------------------------------- isolates

  #spawn(slot: number, cause: StartCause, predecessor: IsolateRecord | null): IsolateRecord {
    const id = this.#nextIsolateId++;
    const record: IsolateRecord = {
      id,
      slot,
      state: 'starting',
      fault: null,
      cause,
      spawnedAtMs: this.#platform.now(),
      channel: null,
      readyAtMs: null,
      loadMs: null,
      warmMs: null,
      job: null,
      jobs: 0,
      snapshot: null,
      snapshotAtMs: null,
      policy: initialIsolatePolicyState(this.config.limits.jitterFraction > 0 ? this.#platform.random() : 0),
      lastKeepReason: null,
      successor: null,
      predecessor,
      replacement: null,
      started: deferred<void>(),
      startTimer: null,
      healthRequests: new Map(),
      stopped: null,
    };
    record.started.promise.catch(() => undefined); // awaited only by start(); failures are events
    if (predecessor !== null) predecessor.successor = record;
    this.#isolates.set(id, record);
    this.#totals.isolatesStarted++;
    this.#events.emit('isolate-start', { isolateId: id, slot, cause, predecessorId: predecessor?.id ?? null });
    try {
      record.channel = this.#platform.spawn(id, {
        message: (message) => this.#onMessage(record, message),
        exit: (exit) => this.#onExit(record, exit),
      });
      record.channel.keepAlive(true);
      record.startTimer = unref(
        setTimeout(
          () => this.#startFailed(record, new ProverPoolStartError('timeout', id, `not ready within startTimeoutMs ${this.config.startTimeoutMs}`)),
          this.config.startTimeoutMs,
        ),
      );
      record.channel.post({
        type: 'init',
        isolateId: id,
        module: this.config.module,
        threads: this.config.threadsPerIsolate,
        memoryMaximumBytes: this.config.limits.memoryMaximumBytes,
        warm: this.config.warm,
      });
    } catch (error) {
      this.#startFailed(record, new ProverPoolStartError('spawn', id, error instanceof Error ? error.message : String(error), error));
    }
    return record;
  }

  #onMessage(record: IsolateRecord, message: unknown): void {
    if (record.state === 'stopping' || record.state === 'stopped') return; // I6
    if (!isFromIsolate(message)) {
      this.#fail(record, 'messageerror', `it posted a message the pool does not know: ${describeMessage(message)}`, undefined, null);
      return;
    }
    this.#handle(record, message);
  }

  /** The isolate failed by itself: a failed start while starting, a loss (crash) once serving. */
  #fail(record: IsolateRecord, kind: IsolateCrashKind, detail: string, cause: unknown, exitCode: number | null): void {
    if (record.state === 'starting') {
      this.#startFailed(record, new ProverPoolStartError('exit', record.id, `${kind}: ${detail}`, cause));
    } else if (record.state === 'idle' || record.state === 'busy' || record.state === 'draining') {
      this.#lose(record, kind, detail, cause, exitCode);
    }
  }

  #handle(record: IsolateRecord, message: FromIsolate): void {
    switch (message.type) {
      case 'ready':
        if (record.state === 'starting') return this.#onReady(record, message);
        break;
      case 'start-failed':
        if (record.state === 'starting') {
          return this.#startFailed(record, new ProverPoolStartError(message.stage, record.id, message.error.message, fromRemoteError(message.error)));
        }
        break;
      case 'result':
      case 'failed':
        if ((record.state === 'busy' || record.state === 'draining') && record.job?.id === message.jobId) return this.#finishJob(record, message);
        break;
      case 'health':
        this.#takeSnapshot(record, message.snapshot);
        record.healthRequests.get(message.requestId)?.();
        return;
    }
    this.#fail(record, 'messageerror', `it posted '${message.type}' while ${record.state}${record.job ? ` running job ${record.job.id}` : ''}`, undefined, null);
  }

  #takeSnapshot(record: IsolateRecord, snapshot: IsolateSnapshot): void {
    record.snapshot = snapshot;
    record.snapshotAtMs = this.#platform.now();
  }

  #onReady(record: IsolateRecord, message: ReadyMessage): void {
    const now = this.#platform.now();
    if (record.startTimer !== null) clearTimeout(record.startTimer);
    record.startTimer = null;
    record.readyAtMs = now;
    record.loadMs = message.loadMs;
    record.warmMs = message.warmMs;
    this.#takeSnapshot(record, message.snapshot);
    const baseline: MemoryBaseline = {
      linearBytes: message.snapshot.memory.linearBytes,
      allocatorLiveBytes: message.snapshot.memory.allocatorLiveBytes,
    };
    record.policy = { ...record.policy, baseline };
    this.#freshBaseline = baseline;
    this.#freshLinearMaxBytes = message.snapshot.memory.linearMaxBytes;
    this.#jobNames ??= Object.freeze([...message.jobNames]);
    this.#slotFailures[record.slot] = 0;
    transition(record, 'idle', ISOLATE_TRANSITIONS, 'isolate');
    record.channel?.keepAlive(false);
    this.#events.emit('isolate-ready', {
      isolateId: record.id,
      slot: record.slot,
      cause: record.cause,
      startMs: now - record.spawnedAtMs,
      loadMs: message.loadMs,
      warmMs: message.warmMs,
      snapshot: message.snapshot,
    });
    record.started.resolve();
    // I3: the successor serves first; only then does its predecessor retire.
    const predecessor = record.predecessor;
    record.predecessor = null;
    if (predecessor !== null) this.#retire(predecessor, now);
    this.#dispatch();
    // Isolates held back while this replacement warmed (I4) are checked again.
    for (const other of this.#isolates.values()) if (other.state === 'idle') this.#evaluate(other);
  }

  /** Its successor is serving: an idle isolate stops now, a busy one after its job (draining). */
  #retire(record: IsolateRecord, successorReadyAtMs: number): void {
    if (record.replacement !== null) record.replacement.successorReadyAtMs = successorReadyAtMs;
    if (record.state === 'idle') void this.#stop(record, 'replaced');
    else if (record.state === 'busy') transition(record, 'draining', ISOLATE_TRANSITIONS, 'isolate');
    // stopping / stopped: it was lost or aborted meanwhile; nothing left to retire.
  }

  #finishJob(record: IsolateRecord, message: ResultMessage | FailedMessage): void {
    const job = record.job as JobRecord;
    if (message.snapshot !== null) this.#takeSnapshot(record, message.snapshot);
    if (message.type === 'failed' && message.instanceDead) {
      // A trap: the instance is dead, so this is the isolate's loss, not the job's bug.
      this.#lose(record, 'instance-terminated', `${message.error.name}: ${message.error.message}`, fromRemoteError(message.error), null);
      return;
    }
    record.job = null; // I1
    record.jobs++;
    if (message.type === 'result') {
      this.#totals.jobsCompleted++;
      this.#settle(job, 'completed', message.value);
    } else {
      this.#totals.jobsFailed++;
      if (message.fault !== null) record.fault = message.fault; // sticky: the instance stays suspect
      this.#settle(job, 'failed', new ProverPoolJobError(job.name, record.id, message.error));
    }
    if (record.state === 'draining') {
      void this.#stop(record, 'replaced');
    } else {
      transition(record, 'idle', ISOLATE_TRANSITIONS, 'isolate');
      record.channel?.keepAlive(false);
      this.#evaluate(record);
    }
    this.#dispatch();
  }

  #onExit(record: IsolateRecord, exit: IsolateExit): void {
    const detail = exit.error !== null ? `${exit.error.name}: ${exit.error.message}` : `its thread ended with exit code ${exit.exitCode}`;
    this.#fail(record, exit.kind, detail, exit.error ? fromRemoteError(exit.error) : undefined, exit.exitCode);
  }

  /** The isolate died or its instance trapped: only its job fails; the slot is refilled. */
  #lose(record: IsolateRecord, kind: IsolateCrashKind, detail: string, cause: unknown, exitCode: number | null): void {
    const job = record.job;
    record.job = null;
    const error = new ProverPoolCrashError(kind, {
      isolateId: record.id,
      jobName: job?.name ?? null,
      exitCode,
      lastSnapshot: record.snapshot,
      detail,
      cause,
    });
    this.#totals.crashes++;
    if (job !== null) {
      this.#totals.jobsCrashed++;
      this.#settle(job, 'crashed', error);
    }
    this.#events.emit('crash', { isolateId: record.id, slot: record.slot, error });
    this.#rejectReplacementWaiters(record, error);
    const wasDraining = record.state === 'draining';
    void this.#stop(record, kind === 'instance-terminated' ? 'instance-terminated' : 'crashed');
    if (!wasDraining) this.#refill(record, 'crash'); // a draining one's successor already serves
    this.#dispatch();
  }

  /** A slot lost its serving isolate: its warming successor takes over, or a new one starts. */
  #refill(record: IsolateRecord, cause: 'crash' | 'abort'): void {
    if (this.#state !== 'open') return;
    const successor = record.successor;
    if (successor !== null && successor.state === 'starting') return; // it serves once ready; #stop unlinked it
    this.#spawn(record.slot, cause, null);
  }

  #startFailed(record: IsolateRecord, error: ProverPoolStartError): void {
    if (record.state !== 'starting') return;
    this.#totals.startFailures++;
    record.started.reject(error);
    const predecessor = record.predecessor;
    record.predecessor = null;
    const predecessorServes = predecessor !== null && (predecessor.state === 'idle' || predecessor.state === 'busy');
    if (predecessor !== null) {
      predecessor.successor = null;
      this.#rejectReplacementWaiters(predecessor, error);
    }
    void this.#stop(record, 'start-failed');
    if (this.#state !== 'open' || record.cause === 'initial') return;
    this.#events.emit('error', { error, context: `isolate ${record.id} (slot ${record.slot}, ${record.cause}) did not start` });
    const failures = ++this.#slotFailures[record.slot];
    const delayMs = Math.min(this.config.restartDelayMs * 2 ** (failures - 1), MAX_RESTART_DELAY_MS);
    this.#slotRetryAtMs[record.slot] = this.#platform.now() + delayMs;
    if (predecessorServes) return; // it keeps serving; the policy may try again after the delay
    if (failures >= this.config.maxStartFailures) {
      this.#events.emit('error', {
        error,
        context: `slot ${record.slot} failed to start ${failures} times in a row: given up; its jobs go to the other isolates`,
      });
      this.#dispatch();
      return;
    }
    // Not unref'd: jobs may be waiting for this slot (the wait is bounded: at most maxStartFailures restarts).
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      if (this.#state === 'open') this.#spawn(record.slot, 'retry', null);
    }, delayMs);
    this.#retryTimers.add(timer);
  }

  /**
   * Stops an isolate (terminate() its thread, bounded) and reports it. Used
   * for every end: replaced, lost, aborted, failed to start, closed.
   */
  #stop(record: IsolateRecord, reason: StopReason): Promise<void> {
    if (record.stopped !== null) return record.stopped;
    transition(record, 'stopping', ISOLATE_TRANSITIONS, 'isolate');
    if (record.startTimer !== null) clearTimeout(record.startTimer);
    record.startTimer = null;
    for (const answer of record.healthRequests.values()) answer();
    const successor = record.successor;
    if (successor !== null && successor.predecessor === record) successor.predecessor = null;
    record.stopped = this.#terminate(record, reason);
    return record.stopped;
  }

  async #terminate(record: IsolateRecord, reason: StopReason): Promise<void> {
    const rssBefore = this.#platform.processRssBytes();
    const started = this.#platform.now();
    if (record.channel !== null) {
      const bound = deferred<'late'>();
      const timer = setTimeout(() => bound.resolve('late'), this.config.terminateTimeoutMs);
      const outcome = await Promise.race([record.channel.terminate().then(() => 'done' as const, () => 'done' as const), bound.promise]);
      clearTimeout(timer);
      if (outcome === 'late') {
        this.#events.emit('error', {
          error: new Error(`isolate ${record.id}: terminate() did not settle within terminateTimeoutMs ${this.config.terminateTimeoutMs}`),
          context: 'terminate',
        });
      }
    }
    const now = this.#platform.now();
    const terminateMs = now - started;
    const rssAfter = this.#platform.processRssBytes();
    transition(record, 'stopped', ISOLATE_TRANSITIONS, 'isolate');
    this.#isolates.delete(record.id);
    if (this.#state !== 'open') this.#closeCounts.isolatesStopped++;
    this.#events.emit('isolate-exit', {
      isolateId: record.id,
      slot: record.slot,
      reason,
      jobs: record.jobs,
      ageMs: now - record.spawnedAtMs,
      snapshot: record.snapshot,
      terminateMs,
    });
    const pending = record.replacement;
    record.replacement = null;
    if (reason === 'replaced' && pending !== null && record.successor !== null) {
      const successor = record.successor;
      const report: ReplacementReport = {
        slot: record.slot,
        oldIsolateId: record.id,
        newIsolateId: successor.id,
        metric: pending.metric,
        reason: pending.reason,
        newStartMs: (successor.readyAtMs ?? now) - successor.spawnedAtMs,
        newLoadMs: successor.loadMs ?? 0,
        newWarmMs: successor.warmMs ?? 0,
        drainMs: started - (pending.successorReadyAtMs ?? started),
        terminateMs,
        totalMs: now - pending.decidedAtMs,
        old: { jobs: record.jobs, ageMs: now - record.spawnedAtMs, snapshot: record.snapshot },
        new: { snapshot: successor.snapshot },
        processRssBytes: rssBefore === null || rssAfter === null ? null : { beforeTerminate: rssBefore, afterTerminate: rssAfter },
      };
      this.#totals.replacements++;
      this.#events.emit('replacement', report);
      for (const waiter of pending.waiters) waiter.resolve(report);
    } else if (pending !== null) {
      for (const waiter of pending.waiters) waiter.reject(new ProverPoolClosedError('submitted', `stopping isolate ${record.id} (${reason})`));
    }
    this.#dispatch();
  }

  #rejectReplacementWaiters(record: IsolateRecord, error: unknown): void {
    const pending = record.replacement;
    if (pending === null) return;
    record.replacement = null;
    for (const waiter of pending.waiters) waiter.reject(error);
  }

  // ------------------------------------------------------------ replacement

  #reading(record: IsolateRecord): IsolateReading {
    const memory = record.snapshot?.memory ?? null;
    return {
      linearBytes: memory?.linearBytes ?? null,
      linearMaxBytes: memory?.linearMaxBytes ?? null,
      allocatorLiveBytes: memory?.allocatorLiveBytes ?? null,
      jobs: record.jobs,
      ageMs: this.#platform.now() - record.spawnedAtMs,
      fault: record.fault,
    };
  }

  /** Checks an idle isolate against the limits; starts its replacement when one is reached. */
  #evaluate(record: IsolateRecord): void {
    if (this.#state !== 'open' || record.state !== 'idle' || record.successor !== null) return;
    const now = this.#platform.now();
    if (this.#slotFailures[record.slot] >= this.config.maxStartFailures || now < this.#slotRetryAtMs[record.slot]) return;
    const result = decideReplacement(this.#reading(record), this.config.limits, record.policy, this.#policy, now);
    const { decision } = result;
    const exempt = decision.kind === 'replace' && ['headroomBytes', 'outOfMemory', 'wasmPanic'].includes(decision.metric);
    // I4: one replacement for limits warming at a time (faults and a lack of headroom are exempt).
    if (decision.kind === 'replace' && !exempt && this.#replacementWarming()) return;
    record.policy = result.isolate;
    this.#policy = result.pool;
    if (decision.kind === 'keep') {
      if (decision.reason !== null && decision.reason !== record.lastKeepReason) this.#events.emit('decision', { isolateId: record.id, decision });
      record.lastKeepReason = decision.reason;
      return;
    }
    this.#events.emit('decision', { isolateId: record.id, decision });
    this.#replace(record, decision.metric, decision.reason);
  }

  #replacementWarming(): boolean {
    for (const record of this.#isolates.values()) if (record.state === 'starting' && record.cause === 'replacement') return true;
    return false;
  }

  #replace(record: IsolateRecord, metric: ReplacementMetric | 'requested', reason: string): PendingReplacement {
    const pending: PendingReplacement = { metric, reason, decidedAtMs: this.#platform.now(), successorReadyAtMs: null, waiters: [] };
    record.replacement = pending;
    this.#spawn(record.slot, 'replacement', record);
    return pending;
  }

  /**
   * Replaces an isolate now (blue/green, as for a limit): its successor warms
   * while it keeps serving, then takes its jobs; then it drains and is
   * terminated. `isolateId` defaults to the oldest serving isolate. Resolves
   * with the report once the old isolate is terminated; joins a replacement
   * already under way. Rejects if the old isolate is lost first, the
   * successor does not start, or the pool closes.
   */
  replaceIsolate(isolateId?: number): Promise<ReplacementReport> {
    if (this.#state !== 'open') return Promise.reject(new ProverPoolClosedError('submitted', this.#state));
    let target: IsolateRecord | null = null;
    for (const record of this.#isolates.values()) {
      const serving = record.state === 'idle' || record.state === 'busy';
      if (!serving || (isolateId !== undefined && record.id !== isolateId)) continue;
      if (target === null || record.spawnedAtMs < target.spawnedAtMs) target = record;
    }
    if (target === null) {
      return Promise.reject(new RangeError(`no serving isolate${isolateId === undefined ? '' : ` with id ${isolateId}`}: expected an idle or busy one`));
    }
    const pending = target.replacement ?? this.#replace(target, 'requested', 'replaceIsolate() was called');
    this.#policy = { lastReplacementMs: pending.decidedAtMs };
    const waiter = deferred<ReplacementReport>();
    pending.waiters.push(waiter);
    return waiter.promise;
  }

  // ------------------------------------------------------------------ health

  /**
   * The pool's health (health.ts): each isolate with its latest snapshot
   * (idle ones are asked for a fresh one, within healthTimeoutMs; a busy one
   * cannot answer until its job ends), queue, totals and process RSS.
   */
  async health(): Promise<ProverPoolHealth> {
    await Promise.all([...this.#isolates.values()].filter((r) => r.state === 'idle').map((r) => this.#refreshSnapshot(r)));
    const now = this.#platform.now();
    const isolates: IsolateHealth[] = [...this.#isolates.values()].map((r) => ({
      id: r.id,
      slot: r.slot,
      state: r.state,
      role: r.state === 'starting' ? 'warming' : r.state === 'draining' || r.state === 'stopping' ? 'retiring' : 'serving',
      jobs: r.jobs,
      ageMs: now - r.spawnedAtMs,
      startMs: r.readyAtMs === null ? null : r.readyAtMs - r.spawnedAtMs,
      loadMs: r.loadMs,
      warmMs: r.warmMs,
      job: r.job === null ? null : { id: r.job.id, name: r.job.name, runningMs: now - (r.job.startedAtMs ?? now) },
      snapshot: r.snapshot,
      snapshotAgeMs: r.snapshotAtMs === null ? null : now - r.snapshotAtMs,
      successorId: r.successor?.id ?? null,
      predecessorId: r.predecessor?.id ?? null,
    }));
    return {
      state: this.#state,
      queued: this.#queue.length,
      running: isolates.filter((i) => i.job !== null).length,
      isolates,
      processRssBytes: this.#platform.processRssBytes(),
      totals: { ...this.#totals } as ProverPoolTotals,
      timestampMs: now,
    };
  }

  /** Asks an idle isolate for a snapshot; resolves when it answered or healthTimeoutMs passed. */
  #refreshSnapshot(record: IsolateRecord): Promise<void> {
    return new Promise<void>((resolve) => {
      const requestId = this.#nextRequestId++;
      const timer = setTimeout(() => answer(), this.config.healthTimeoutMs);
      const answer = () => {
        clearTimeout(timer);
        record.healthRequests.delete(requestId);
        resolve();
      };
      record.healthRequests.set(requestId, answer);
      try {
        record.channel?.post({ type: 'health', requestId });
      } catch {
        answer();
      }
    });
  }

  async #idleCheck(): Promise<void> {
    if (this.#idleCheckRunning || this.#state !== 'open') return;
    this.#idleCheckRunning = true;
    try {
      const idle = [...this.#isolates.values()].filter((r) => r.state === 'idle' && r.successor === null);
      await Promise.all(idle.map((r) => this.#refreshSnapshot(r)));
      for (const record of idle) this.#evaluate(record);
    } finally {
      this.#idleCheckRunning = false;
    }
  }

  // ------------------------------------------------------------------- close

  #anyIsolateAlive(): boolean {
    for (const record of this.#isolates.values()) if (record.state !== 'stopping' && record.state !== 'stopped') return true;
    return this.#retryTimers.size > 0;
  }

  /**
   * Queued jobs no isolate will ever take are failed rather than left to wait:
   * no isolate is alive or starting (open: ADMISSION_REFUSED 'no-isolate';
   * closing: CLOSED), or every live isolate is idle, without headroom and
   * without a successor coming (ADMISSION_REFUSED 'memory-headroom').
   */
  #failQueuedIfUnservable(): void {
    if (this.#queue.length === 0) return;
    const live = [...this.#isolates.values()].filter((r) => r.state !== 'stopping' && r.state !== 'stopped');
    const stuck = live.every((r) => r.state === 'idle' && r.successor === null && !admitsJob(this.#reading(r), this.config.limits));
    if (!stuck || (live.length === 0 && this.#retryTimers.size > 0 && this.#state === 'open')) return;
    for (const job of this.#queue.splice(0)) {
      let error: Error;
      if (this.#state !== 'open') {
        error = new ProverPoolClosedError('queued', 'no isolate was left to run it');
        this.#closeCounts.rejectedQueued++;
      } else if (live.length === 0) {
        error = new ProverPoolAdmissionError('no-isolate', job.name, 'no isolate is up or starting any more (their starts kept failing)');
      } else {
        error = new ProverPoolAdmissionError(
          'memory-headroom',
          job.name,
          `no isolate has limits.admissionHeadroomBytes ${this.config.limits.admissionHeadroomBytes} of wasm memory left and none is being replaced`,
        );
      }
      if (error instanceof ProverPoolAdmissionError) {
        this.#totals.jobsRefused++;
        this.#events.emit('refuse', { error });
      }
      this.#settle(job, error instanceof ProverPoolAdmissionError ? 'refused' : 'closed', error);
    }
  }

  #checkDrained(): void {
    if (this.#drained === null || this.#queue.length > 0) return;
    for (const record of this.#isolates.values()) if (record.job !== null) return;
    this.#drained.resolve();
  }

  /** Rejects every queued and running job with PROVER_POOL_CLOSED, terminating the running jobs' isolates. */
  #cutOff(detail: string): void {
    for (const job of this.#queue.splice(0)) {
      this.#closeCounts.rejectedQueued++;
      this.#settle(job, 'closed', new ProverPoolClosedError('queued', detail));
    }
    for (const record of [...this.#isolates.values()]) {
      const job = record.job;
      if (job === null) continue;
      record.job = null;
      this.#closeCounts.cutOffRunning++;
      this.#settle(job, 'closed', new ProverPoolClosedError('running', detail));
      void this.#stop(record, 'closed');
    }
    this.#checkDrained();
  }

  /** `await using pool = await createProverPool(…)`: closes the pool (draining, as `close()`) when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Closes the pool. At once: new jobs are refused (PROVER_POOL_CLOSED),
   * isolates still warming are terminated, no replacement starts any more.
   * Then, with `drain` (default): queued and running jobs run to their end on
   * the isolates there are, for at most `timeoutMs` (default 60000); an
   * isolate lost meanwhile is not replaced, and jobs no isolate is left for
   * are rejected. Past the bound, or at once without `drain`: queued jobs are
   * rejected and running ones cut off (their isolates terminated), all with
   * PROVER_POOL_CLOSED. Last, every isolate is terminated, and its memory
   * released. Resolves with the report; a second call returns the same promise.
   * Invalid options (`timeoutMs` not whole milliseconds from 0 to 2^31 - 1,
   * `drain` not a boolean) reject with PROVER_POOL_INVALID_CONFIG and close nothing.
   */
  close(options?: CloseOptions): Promise<CloseReport> {
    if (this.#closing === null) {
      let resolved;
      try {
        resolved = resolveCloseOptions(options);
      } catch (error) {
        return Promise.reject(error);
      }
      this.#closing = this.#close(resolved.drain, resolved.timeoutMs);
    }
    return this.#closing;
  }

  async #close(drain: boolean, timeoutMs: number): Promise<CloseReport> {
    const started = this.#platform.now();
    this.#state = 'closing';
    if (this.#idleTimer !== null) clearInterval(this.#idleTimer);
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#retryTimers.clear();
    for (const record of [...this.#isolates.values()]) {
      if (record.state !== 'starting') continue;
      const error = new ProverPoolClosedError('submitted', 'closing');
      record.started.reject(error);
      if (record.predecessor !== null) {
        record.predecessor.successor = null;
        this.#rejectReplacementWaiters(record.predecessor, error);
        record.predecessor = null;
      }
      void this.#stop(record, 'closed');
    }
    let timedOut = false;
    this.#drained = deferred<void>();
    if (!drain) this.#cutOff('close() without drain');
    const timer = setTimeout(() => {
      timedOut = true;
      this.#cutOff(`close() drain bound timeoutMs ${timeoutMs} passed`);
    }, timeoutMs);
    this.#dispatch();
    await this.#drained.promise;
    clearTimeout(timer);
    for (const record of [...this.#isolates.values()]) void this.#stop(record, 'closed');
    await Promise.all([...this.#isolates.values()].map((r) => r.stopped));
    this.#state = 'closed';
    return { ...this.#closeCounts, timedOut, totalMs: this.#platform.now() - started };
  }
}

function describeMessage(message: unknown): string {
  try {
    return JSON.stringify(message)?.slice(0, 200) ?? String(message);
  } catch {
    return String(message);
  }
}
