/**
 * The prover pool, the same on every platform: isolates (each a thread with
 * its own o1js, wasm memory and Rayon pool, behind an IsolateChannel from
 * platform.ts), a FIFO job queue, blue/green replacement, faults,
 * cancellation, admission and close. node.ts and web.ts give it a platform.
 *
 * This class is the facade: it validates, holds the pool's state
 * (pool-core.ts) and wires the modules that do the work, one job each:
 *   job-queue.ts           the queue, admission and scheduling   (I1, I2)
 *   job-flow.ts            deadlines, back-pressure events       (I10)
 *   job-stats.ts           wait/run histograms, utilization
 *   isolate-slots.ts       spawning isolates, their messages     (I3, I5, I6, I7, I11)
 *   protocol-check.ts      the shape of every message            (I7)
 *   slot-restarts.ts       failed starts, refills, give-up       (I9)
 *   slot-policy.ts         backoff and crash-rate breaker        (I9)
 *   isolate-faults.ts      a job's end, crashes, aborts          (I1, I10)
 *   replacement.ts         limits, blue/green replacement        (I3, I4)
 *   scale.ts               idle scale-down, start on demand
 *   isolate-stop.ts        terminating an isolate, bounded       (I5, I6)
 *   pool-health-report.ts  health() and the idle check           (I5)
 *   pool-close.ts          close()                               (I5)
 *   pool-events.ts         the events and their payloads
 *   metrics.ts             health() as Prometheus text
 * and, inside each isolate, isolate-runtime.ts                   (I8)
 *
 * Invariants, each stated again next to the code that keeps it:
 *   I1. An isolate runs at most one job: `record.job` is set exactly while it
 *       is busy or draining.
 *   I2. Every job settles exactly once, and every job that reaches an isolate
 *       ends by a message from it, its loss, its abort or close's cut-off.
 *   I3. Blue/green: a replacement is spawned while its predecessor keeps
 *       serving; the predecessor stops taking jobs only once the successor is
 *       ready, and is terminated only once its job ended. So no job fails or
 *       waits because of a replacement.
 *   I4. Each slot has at most one successor warming for it, and the pool at
 *       most one replacement for limits warming at a time (memory for two
 *       instances of one slot, not of all of them). Replacements after a
 *       crash or an abort fill an empty slot and are not limited.
 *   I5. Every wait is bounded: start (startTimeoutMs), terminate
 *       (terminateTimeoutMs), health (healthTimeoutMs), close (timeoutMs).
 *   I6. Messages from an isolate that is stopping or stopped are ignored: once
 *       the pool decided to stop it, nothing it says can settle a job.
 *   I7. The pool hears an isolate only on its private channel, and only
 *       messages that pass the protocol check (namespaced type, the
 *       isolate's token, shape, a type allowed in its state); anything else
 *       there is that isolate's crash (`protocol`), never an exception in
 *       the pool. Messages on the thread's public port are ignored (counted).
 *   I8. An isolate's message loop never stops: each message is handled in
 *       its own try/catch, and a reply that cannot be posted becomes a plain
 *       typed failure (what still goes unanswered is bounded by a deadline).
 *   I9. No endless respawn: restarts back off (capped at 30 s); a slot whose
 *       isolates crash maxCrashes times in crashWindowMs, or whose starts
 *       fail maxStartFailures times, is given up, with an event and in the
 *       health; jobs no isolate is left for are refused, typed.
 *   I10. An aborted or timed-out running job is rejected only once its
 *       isolate is stopped.
 *   I11. A pool serves one module: a successor whose module changed on disk
 *       (content hash) or exports other jobs does not start.
 *   I12. The pool's timers never keep a Node process alive by themselves,
 *       except a slot's restart while jobs wait for it; an isolate does only
 *       while it starts, runs a job or answers health().
 */
import { ProverPoolConfigError } from './errors.js';
import { resolveProverPoolConfig, type ProverPoolConfig } from './config.js';
import type { ProverPoolHealth, ProverPoolState } from './health.js';
import { fail, finishJob, stopRunning } from './isolate-faults.js';
import { spawn } from './isolate-slots.js';
import { stop } from './isolate-stop.js';
import { dispatch, settle, submit } from './job-queue.js';
import type { JobName, JobResult, ProverJobs, RunArguments, UntypedJobs } from './jobs.js';
import { metricsText } from './metrics.js';
import type { IsolatePlatform } from './platform.js';
import { checkDrained, close, type CloseOptions, type CloseReport } from './pool-close.js';
import { createPoolCore, unref, type PoolActions, type PoolCore } from './pool-core.js';
import { createPoolEvents, type ProverPoolEvents, type ReplacementReport } from './pool-events.js';
import { health, idleCheck } from './pool-health-report.js';
import { evaluate, replaceIsolate, retire, startWaitingReplacement } from './replacement.js';
import { refill, startFailed } from './slot-restarts.js';

export type { CloseOptions, CloseReport } from './pool-close.js';
export type { JobOutcome, ProverPoolEvents, ReplacementReport, SlotGiveUp, StartCause, StopReason } from './pool-events.js';

/**
 * A pool of prover isolates. Create it with `createProverPool` from node.ts or
 * web.ts (`ProverPool.start(platform, options)` underneath). `Jobs` is the
 * proving module's `jobs` (`typeof jobs`): it types `run()`.
 */
export class ProverPool<Jobs extends ProverJobs = UntypedJobs> {
  readonly config: ProverPoolConfig;
  readonly #core: PoolCore;

  private constructor(platform: IsolatePlatform, config: ProverPoolConfig) {
    this.config = config;
    const act: PoolActions = {
      dispatch: () => dispatch(core),
      settle: (job, outcome, valueOrError) => settle(core, job, outcome, valueOrError),
      spawn: (slot, cause, predecessor) => spawn(core, slot, cause, predecessor),
      startFailed: (record, error) => startFailed(core, record, error),
      refill: (record, cause, error) => refill(core, record, cause, error),
      finishJob: (record, message) => finishJob(core, record, message),
      fail: (record, kind, detail, cause, exitCode) => fail(core, record, kind, detail, cause, exitCode),
      stopRunning: (job, reason, error) => stopRunning(core, job, reason, error),
      evaluate: (record) => evaluate(core, record),
      retire: (record, successorReadyAtMs) => retire(core, record, successorReadyAtMs),
      startWaitingReplacement: () => startWaitingReplacement(core),
      stop: (record, reason) => stop(core, record, reason),
      checkDrained: () => checkDrained(core),
    };
    const core = createPoolCore(config, platform, createPoolEvents(), act);
    this.#core = core;
  }

  /**
   * Validates `options`, starts `isolates` isolates one after another (so the
   * first warm step fills an on-disk cache the others read) and resolves once
   * all are warm. Rejects with ProverPoolConfigError, or ProverPoolStartError
   * (after stopping what it started) when an isolate does not start.
   */
  static async start<Jobs extends ProverJobs = UntypedJobs>(platform: IsolatePlatform, options: unknown): Promise<ProverPool<Jobs>> {
    const config = resolveProverPoolConfig(options);
    const budget = config.limits.rssBudgetBytes;
    if (budget !== null && platform.processRssBytes() === null) {
      throw new ProverPoolConfigError('limits.rssBudgetBytes', budget, `null on a platform that reports no RSS (${platform.name})`);
    }
    const pool = new ProverPool<Jobs>(platform, config);
    const core = pool.#core;
    try {
      for (let slot = 0; slot < pool.config.isolates; slot++) await spawn(core, slot, 'initial', null).started.promise;
    } catch (error) {
      await pool.close({ drain: false });
      throw error;
    }
    core.idleTimer = unref(setInterval(() => void idleCheck(core), pool.config.idleCheckIntervalMs));
    return pool;
  }

  get state(): ProverPoolState {
    return this.#core.state;
  }

  /** The job names the module exports. */
  get jobNames(): readonly string[] {
    return this.#core.jobNames ?? [];
  }

  /** The queue reached maxQueuedJobs (`needs-drain` was emitted) and has not emptied since (`drain`). */
  get needsDrain(): boolean {
    return this.#core.needsDrain;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<Name extends keyof ProverPoolEvents>(event: Name, listener: (payload: ProverPoolEvents[Name]) => void): () => void {
    return this.#core.events.on(event, listener);
  }

  /**
   * Runs job `name` of the module with a copy of `args` (structured-cloned at
   * this call) on the first isolate free, in submission order; resolves with
   * its return value (e.g. a proof as JSON). `options`: `signal` (abort it),
   * `timeoutMs` (its deadline from now; default the pool's jobTimeoutMs).
   * Never throws; rejects with a ProverPoolError: INVALID_CONFIG (bad
   * options), INVALID_ARGUMENT (args not cloneable), CLOSED,
   * ADMISSION_REFUSED, UNKNOWN_JOB (at once); JOB_ABORTED (signal);
   * JOB_TIMEOUT (deadline); JOB_FAILED (the job threw; the isolate keeps
   * serving); ISOLATE_CRASHED (the isolate died or trapped under it; its slot
   * is refilled).
   */
  run<Name extends JobName<Jobs>>(name: Name, ...rest: RunArguments<Jobs[Name]>): Promise<JobResult<Jobs[Name]>> {
    const [args, options] = rest as unknown[];
    return submit(this.#core, name, args, options) as Promise<JobResult<Jobs[Name]>>;
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
    // One replacement for limits or requests warms at a time (I4): a second waits its turn.
    return replaceIsolate(this.#core, isolateId);
  }

  /**
   * The pool's health (health.ts): each isolate with its latest snapshot
   * (idle ones are asked for a fresh one, within healthTimeoutMs; a busy one
   * cannot answer until its job ends), queue, totals and process RSS.
   */
  health(): Promise<ProverPoolHealth> {
    return health(this.#core);
  }

  /**
   * The pool's health in the Prometheus text format (metrics.ts): queue,
   * jobs, wait and run histograms, utilization, slots, each isolate's memory
   * and its Rayon pool. Serve it on your metrics endpoint.
   */
  async metrics(): Promise<string> {
    return metricsText(await this.health());
  }

  /**
   * Closes the pool (pool-close.ts). At once: new jobs are refused
   * (PROVER_POOL_CLOSED), isolates still warming are terminated, no
   * replacement starts any more. Then, with `drain` (default): queued and
   * running jobs run to their end on the isolates there are, for at most
   * `timeoutMs` (default 60000); an isolate lost meanwhile is not replaced,
   * and jobs no isolate is left for are rejected. Past the bound, or at once
   * without `drain`: queued jobs are rejected and running ones cut off (their
   * isolates terminated), all with PROVER_POOL_CLOSED. Last, every isolate is
   * terminated, and its memory released. Resolves with the report; a second
   * call returns the same promise. Invalid options (`timeoutMs` not whole
   * milliseconds from 0 to 2^31 - 1, `drain` not a boolean) reject with
   * PROVER_POOL_INVALID_CONFIG and close nothing.
   */
  close(options?: CloseOptions): Promise<CloseReport> {
    return close(this.#core, options);
  }

  /** `await using pool = await createProverPool(…)`: closes the pool (draining, as `close()`) when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
