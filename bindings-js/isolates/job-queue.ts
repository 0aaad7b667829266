/**
 * The prover pool's queue and its scheduling: run()'s options and arguments,
 * admission at submission, a FIFO queue (bounded by maxQueuedJobs, 64 ×
 * isolates by default), the choice of an isolate for each job, a job's start
 * and its one settlement (with its wait and run times, job-stats.ts), and the
 * failing of queued jobs no isolate will ever take. Deadlines and
 * back-pressure events: job-flow.ts.
 *
 * Invariants kept here:
 *   I1. An isolate runs at most one job: `startJob` takes only an idle
 *       isolate and sets `record.job`; the job ends (isolate-faults.ts
 *       `finishJob`, `lose`, `stopRunning`, or close's cut-off) before
 *       another can start there.
 *   I2. Every job settles exactly once: `settle` ignores a second call, and
 *       every job that reaches an isolate ends by a message from it, its
 *       loss, its abort or deadline (once its isolate is stopped, I10) or
 *       close's cut-off.
 */
import { deferred } from '../lib/proof-system/kernel/deferred.js';
import { resolveRunOptions } from './config.js';
import {
  ProverPoolAbortError,
  ProverPoolAdmissionError,
  ProverPoolArgumentError,
  ProverPoolClosedError,
  ProverPoolConfigError,
  ProverPoolUnknownJobError,
} from './errors.js';
import { armDeadline, checkBackPressure } from './job-flow.js';
import { moveIsolate, moveJob } from './lifecycle.js';
import { anyIsolateAlive, isLive, readingOf, type IsolateRecord, type JobRecord, type PoolCore } from './pool-core.js';
import type { JobOutcome } from './pool-events.js';
import { TO_ISOLATE } from './protocol.js';
import { admitsJob, freshIsolateHeadroom } from './replacement-policy.js';
import { scaleUp } from './scale.js';
import { holdWhileQueued } from './slot-restarts.js';

/**
 * Queues job `name` with a copy of `args`; resolves with its value. Refused
 * at once (bad options or arguments, closed, unknown job, admission) or
 * aborted at once (a signal that already fired) without queueing; never
 * throws.
 */
export function submit(core: PoolCore, name: unknown, args: unknown, options: unknown): Promise<unknown> {
  let run;
  let copy: unknown;
  try {
    run = resolveRunOptions(options, core.config);
    if (typeof name !== 'string' || name.length === 0) throw new ProverPoolConfigError('run.name', name, 'the name of a job of the module (a non-empty string)');
  } catch (error) {
    return Promise.reject(error);
  }
  try {
    copy = structuredClone(args); // what the isolate would get; a caller's later change to `args` does not reach it
  } catch (error) {
    return Promise.reject(new ProverPoolArgumentError(name, error));
  }
  const refused = admission(core, name);
  if (refused !== null) return Promise.reject(refused);
  const { signal, timeoutMs } = run;
  if (signal?.aborted) {
    core.totals.jobsAborted++;
    return Promise.reject(new ProverPoolAbortError('queued', null, signal.reason));
  }
  const job: JobRecord = {
    id: core.nextId.job++,
    name,
    args: copy,
    state: 'queued',
    submittedAtMs: core.platform.now(),
    startedAtMs: null,
    stoppedAtMs: null,
    isolate: null,
    result: deferred<unknown>(),
    signal,
    onAbort: null,
    timeoutMs,
    deadline: null,
  };
  if (signal !== null) {
    job.onAbort = () => abort(core, job);
    signal.addEventListener('abort', job.onAbort, { once: true });
  }
  armDeadline(core, job);
  core.queue.push(job);
  dispatch(core);
  return job.result.promise;
}

/** No isolate is up, starting, restarting or parked: why (`crash-loop` when a slot's breaker opened). */
function noIsolate(core: PoolCore, name: string, detail: string): ProverPoolAdmissionError {
  const crashLoop = core.slots.some((slot) => slot.givenUp?.reason === 'crash-loop');
  return crashLoop
    ? new ProverPoolAdmissionError(
        'crash-loop',
        name,
        `no isolate is up or starting: ${detail}, and slots whose isolates kept crashing (maxCrashes ${core.config.maxCrashes} within ` +
          `crashWindowMs ${core.config.crashWindowMs}) are given up. See the pool's 'crash' and 'slot-given-up' events, then create a new pool.`,
      )
    : new ProverPoolAdmissionError(
        'no-isolate',
        name,
        `no isolate is up or starting: ${detail} (each slot's start failed ${core.config.maxStartFailures} times in a row); expected at least one. ` +
          "See the pool's 'error' and 'slot-given-up' events for why, then create a new pool.",
      );
}

/** The error refusing job `name` at submission, or `null` to take it. */
function admission(core: PoolCore, name: string): Error | null {
  if (core.state !== 'open') return new ProverPoolClosedError('submitted', core.state);
  if (core.jobNames !== null && !core.jobNames.includes(name)) return new ProverPoolUnknownJobError(name, core.jobNames);
  const { limits, maxQueuedJobs } = core.config;
  let refusal: ProverPoolAdmissionError | null = null;
  const fresh = freshIsolateHeadroom(core.fresh.baseline, core.fresh.linearMaxBytes, limits);
  if (!anyIsolateAlive(core)) {
    refusal = noIsolate(core, name, 'every slot is given up');
  } else if (!fresh.enough) {
    refusal = new ProverPoolAdmissionError(
      'memory-headroom',
      name,
      `even a freshly warmed isolate would have ${fresh.availableBytes} bytes of wasm memory left (memory maximum ` +
        `${core.fresh.linearMaxBytes} - post-warm allocator live bytes ${core.fresh.baseline?.allocatorLiveBytes}), ` +
        `expected at least limits.admissionHeadroomBytes ${limits.admissionHeadroomBytes}. Raise ` +
        'limits.memoryMaximumBytes or lower admissionHeadroomBytes.',
      { needed: limits.admissionHeadroomBytes, available: fresh.availableBytes ?? 0 },
    );
  } else if (maxQueuedJobs !== null && core.queue.length >= maxQueuedJobs + parkedSlots(core) && pickIsolate(core) === null) {
    // A parked slot (idle scale-down) starts for a waiting job: its job is not one too many.
    refusal = new ProverPoolAdmissionError(
      'queue-full',
      name,
      `${core.queue.length} jobs are queued and no isolate is free, expected fewer than maxQueuedJobs ${maxQueuedJobs}. ` +
        "Retry later (the pool's 'drain' event says when its queue emptied), or add isolates.",
      { needed: maxQueuedJobs, available: core.queue.length },
    );
  }
  if (refusal !== null) {
    core.totals.jobsRefused++;
    core.events.emit('refuse', { error: refusal });
  }
  return refusal;
}

/**
 * Starts queued jobs on free isolates, in order (FIFO); starts parked slots
 * for what is left; fails what no isolate will take; then the queue's
 * back-pressure, its hold on the process, and a close's drain.
 */
export function dispatch(core: PoolCore): void {
  while (core.queue.length > 0) {
    const isolate = pickIsolate(core);
    if (isolate === null) break;
    startJob(core, isolate, core.queue.shift() as JobRecord);
  }
  scaleUp(core);
  failQueuedIfUnservable(core);
  checkBackPressure(core);
  holdWhileQueued(core);
  core.act.checkDrained();
}

/**
 * An idle isolate with the headroom for a job: isolates not being replaced
 * first (a retiring one still serves while its successor warms), then the
 * one with the fewest jobs, then the oldest. A faulted isolate (its last job
 * ran out of memory or panicked) takes none while its successor warms: a
 * job waits for the fresh instance rather than fail on the suspect one. If
 * the successor fails to start, the faulted one serves again until the next.
 */
function pickIsolate(core: PoolCore): IsolateRecord | null {
  const rank = (r: IsolateRecord) => [r.successor === null ? 0 : 1, r.jobs, r.id] as const;
  let best: IsolateRecord | null = null;
  for (const record of core.isolates.values()) {
    if (record.state !== 'idle' || !admitsJob(readingOf(core, record), core.config.limits)) continue;
    if (record.fault !== null && record.successor !== null) continue;
    if (best === null) {
      best = record;
      continue;
    }
    const [a, b] = [rank(record), rank(best)];
    if (a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2])))) best = record;
  }
  return best;
}

function startJob(core: PoolCore, record: IsolateRecord, job: JobRecord): void {
  const now = core.platform.now();
  moveJob(job, 'running');
  job.isolate = record;
  job.startedAtMs = now;
  moveIsolate(record, 'busy');
  record.job = job; // I1
  record.lastActiveMs = now;
  record.channel?.keepAlive(true);
  try {
    record.channel?.post({ type: TO_ISOLATE.run, token: record.token, jobId: job.id, name: job.name, args: job.args });
  } catch (error) {
    // The arguments could not be sent (they were cloned at run(): this is rare): the job fails, the isolate never saw it.
    record.job = null;
    moveIsolate(record, 'idle');
    record.channel?.keepAlive(false);
    core.totals.jobsFailed++;
    settle(core, job, 'failed', new ProverPoolArgumentError(job.name, error));
    return;
  }
  core.stats.wait.record(now - job.submittedAtMs);
  core.events.emit('job-start', { jobId: job.id, name: job.name, isolateId: record.id, waitMs: now - job.submittedAtMs });
}

/** Settles a job once (I2) and reports it. */
export function settle(core: PoolCore, job: JobRecord, outcome: JobOutcome, valueOrError: unknown): void {
  if (job.state === 'settled') return;
  moveJob(job, 'settled');
  if (job.onAbort !== null) job.signal?.removeEventListener('abort', job.onAbort);
  if (job.deadline !== null) clearTimeout(job.deadline);
  job.deadline = null;
  if (outcome === 'completed') job.result.resolve(valueOrError);
  else job.result.reject(valueOrError);
  const now = core.platform.now();
  if (job.startedAtMs !== null) {
    if (job.stoppedAtMs === null) core.stats.busyMs += now - job.startedAtMs; // else counted when it stopped (isolate-faults.ts)
    if (outcome === 'completed' || outcome === 'failed') core.stats.run.record(now - job.startedAtMs);
  }
  if (core.state === 'closing' && (outcome === 'completed' || outcome === 'failed')) core.closeCounts.drained++;
  core.events.emit('job-end', {
    jobId: job.id,
    name: job.name,
    isolateId: job.isolate?.id ?? null,
    outcome,
    waitMs: (job.startedAtMs ?? now) - job.submittedAtMs,
    runMs: job.startedAtMs === null ? null : now - job.startedAtMs,
  });
}

/** The caller's signal fired: a queued job leaves the queue; a running one's isolate is stopped (isolate-faults.ts). */
function abort(core: PoolCore, job: JobRecord): void {
  if (job.state === 'queued') {
    core.queue.splice(core.queue.indexOf(job), 1);
    core.totals.jobsAborted++;
    settle(core, job, 'aborted', new ProverPoolAbortError('queued', null, job.signal?.reason));
    dispatch(core);
    return;
  }
  // Still on its isolate (not already stopped for its deadline).
  if (job.state === 'running' && job.isolate !== null && job.isolate.job === job) {
    core.act.stopRunning(job, 'aborted', new ProverPoolAbortError('running', job.isolate.id, job.signal?.reason));
  }
}

/**
 * Queued jobs no isolate will ever take are failed rather than left to wait:
 * no isolate is alive, starting or restarting (open: ADMISSION_REFUSED
 * 'no-isolate', or 'crash-loop' when a slot's breaker opened; closing: CLOSED), or every live isolate is idle, without headroom and
 * without a successor coming (ADMISSION_REFUSED 'memory-headroom').
 */
function failQueuedIfUnservable(core: PoolCore): void {
  if (core.queue.length === 0) return;
  const live = [...core.isolates.values()].filter(isLive);
  const stuck = live.every((r) => r.state === 'idle' && r.successor === null && !admitsJob(readingOf(core, r), core.config.limits));
  const restarting = core.slots.some((slot) => slot.restartTimer !== null);
  if (!stuck || (live.length === 0 && restarting && core.state === 'open')) return;
  for (const job of core.queue.splice(0)) {
    let error: Error;
    if (core.state !== 'open') {
      error = new ProverPoolClosedError('queued', 'no isolate was left to run it');
      core.closeCounts.rejectedQueued++;
    } else if (live.length === 0) {
      error = noIsolate(core, job.name, 'every slot was given up while it waited');
    } else {
      error = new ProverPoolAdmissionError(
        'memory-headroom',
        job.name,
        `no isolate has limits.admissionHeadroomBytes ${core.config.limits.admissionHeadroomBytes} of wasm memory left and none is being replaced`,
      );
    }
    if (error instanceof ProverPoolAdmissionError) {
      core.totals.jobsRefused++;
      core.events.emit('refuse', { error });
    }
    settle(core, job, error instanceof ProverPoolAdmissionError ? 'refused' : 'closed', error);
  }
}

/** Slots stopped by the idle scale-down, which a waiting job starts again (scale.ts). */
function parkedSlots(core: PoolCore): number {
  return core.slots.filter((slot) => slot.parked && slot.givenUp === null).length;
}
