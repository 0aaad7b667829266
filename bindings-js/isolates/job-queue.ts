/**
 * The prover pool's queue and its scheduling: admission at submission, a FIFO
 * queue, the choice of an isolate for each job, a job's start and its one
 * settlement, and the failing of queued jobs no isolate will ever take.
 *
 * Invariants kept here:
 *   I1. An isolate runs at most one job: `startJob` takes only an idle
 *       isolate and sets `record.job`; the job ends (isolate-faults.ts
 *       `finishJob`, `lose`, `abortRunning`, or close's cut-off) before
 *       another can start there.
 *   I2. Every job settles exactly once: `settle` ignores a second call, and
 *       every job that reaches an isolate ends by a message from it, its
 *       loss, its abort or close's cut-off.
 */
import { deferred } from '../lib/proof-system/kernel/deferred.js';
import {
  ProverPoolAbortError,
  ProverPoolAdmissionError,
  ProverPoolClosedError,
  ProverPoolUnknownJobError,
} from './errors.js';
import { moveIsolate, moveJob } from './lifecycle.js';
import { anyIsolateAlive, isLive, readingOf, type IsolateRecord, type JobRecord, type PoolCore } from './pool-core.js';
import type { JobOutcome } from './pool-events.js';
import { admitsJob, freshIsolateHeadroom } from './replacement-policy.js';

/**
 * Queues job `name` with `args`; resolves with its value. Refused at once
 * (closed, unknown job, admission) or aborted at once (a signal that already
 * fired) without queueing.
 */
export function submit(core: PoolCore, name: string, args: unknown, signal: AbortSignal | null): Promise<unknown> {
  const refused = admission(core, name);
  if (refused !== null) return Promise.reject(refused);
  if (signal?.aborted) {
    core.totals.jobsAborted++;
    return Promise.reject(new ProverPoolAbortError('queued', null, signal.reason));
  }
  const job: JobRecord = {
    id: core.nextId.job++,
    name,
    args,
    state: 'queued',
    submittedAtMs: core.platform.now(),
    startedAtMs: null,
    isolate: null,
    result: deferred<unknown>(),
    signal,
    onAbort: null,
  };
  if (signal !== null) {
    job.onAbort = () => abort(core, job);
    signal.addEventListener('abort', job.onAbort, { once: true });
  }
  core.queue.push(job);
  dispatch(core);
  return job.result.promise;
}

/** The error refusing job `name` at submission, or `null` to take it. */
function admission(core: PoolCore, name: string): Error | null {
  if (core.state !== 'open') return new ProverPoolClosedError('submitted', core.state);
  if (core.jobNames !== null && !core.jobNames.includes(name)) return new ProverPoolUnknownJobError(name, core.jobNames);
  const { limits, maxQueuedJobs, maxStartFailures } = core.config;
  let refusal: ProverPoolAdmissionError | null = null;
  const fresh = freshIsolateHeadroom(core.fresh.baseline, core.fresh.linearMaxBytes, limits);
  if (!anyIsolateAlive(core)) {
    refusal = new ProverPoolAdmissionError(
      'no-isolate',
      name,
      `no isolate is up or starting (each slot's start failed ${maxStartFailures} times in a row): expected at least one. ` +
        "See the pool's 'error' events for why, then create a new pool.",
    );
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
  } else if (maxQueuedJobs !== null && core.queue.length >= maxQueuedJobs && pickIsolate(core) === null) {
    refusal = new ProverPoolAdmissionError(
      'queue-full',
      name,
      `${core.queue.length} jobs are queued and no isolate is free, expected fewer than maxQueuedJobs ${maxQueuedJobs}. ` +
        'Retry later, or add isolates.',
      { needed: maxQueuedJobs, available: core.queue.length },
    );
  }
  if (refusal !== null) {
    core.totals.jobsRefused++;
    core.events.emit('refuse', { error: refusal });
  }
  return refusal;
}

/** Starts queued jobs on free isolates, in order; then fails what no isolate will take, and checks a close's drain. */
export function dispatch(core: PoolCore): void {
  while (core.queue.length > 0) {
    const isolate = pickIsolate(core);
    if (isolate === null) break;
    startJob(core, isolate, core.queue.shift() as JobRecord);
  }
  failQueuedIfUnservable(core);
  core.act.checkDrained();
}

/**
 * An idle isolate with the headroom for a job: isolates not being replaced
 * first (a retiring one still serves while its successor warms), then the
 * one with the fewest jobs, then the oldest.
 */
function pickIsolate(core: PoolCore): IsolateRecord | null {
  const rank = (r: IsolateRecord) => [r.successor === null ? 0 : 1, r.jobs, r.id] as const;
  let best: IsolateRecord | null = null;
  for (const record of core.isolates.values()) {
    if (record.state !== 'idle' || !admitsJob(readingOf(core, record), core.config.limits)) continue;
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
  record.channel?.keepAlive(true);
  try {
    record.channel?.post({ type: 'run', jobId: job.id, name: job.name, args: job.args });
  } catch (error) {
    // The arguments could not be cloned: the job fails, the isolate never saw it.
    record.job = null;
    moveIsolate(record, 'idle');
    record.channel?.keepAlive(false);
    core.totals.jobsFailed++;
    settle(core, job, 'failed', error);
    return;
  }
  core.events.emit('job-start', { jobId: job.id, name: job.name, isolateId: record.id, waitMs: now - job.submittedAtMs });
}

/** Settles a job once (I2) and reports it. */
export function settle(core: PoolCore, job: JobRecord, outcome: JobOutcome, valueOrError: unknown): void {
  if (job.state === 'settled') return;
  moveJob(job, 'settled');
  if (job.onAbort !== null) job.signal?.removeEventListener('abort', job.onAbort);
  if (outcome === 'completed') job.result.resolve(valueOrError);
  else job.result.reject(valueOrError);
  const now = core.platform.now();
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
    core.act.checkDrained();
    return;
  }
  if (job.state === 'running' && job.isolate !== null) core.act.abortRunning(job);
}

/**
 * Queued jobs no isolate will ever take are failed rather than left to wait:
 * no isolate is alive or starting (open: ADMISSION_REFUSED 'no-isolate';
 * closing: CLOSED), or every live isolate is idle, without headroom and
 * without a successor coming (ADMISSION_REFUSED 'memory-headroom').
 */
function failQueuedIfUnservable(core: PoolCore): void {
  if (core.queue.length === 0) return;
  const live = [...core.isolates.values()].filter(isLive);
  const stuck = live.every((r) => r.state === 'idle' && r.successor === null && !admitsJob(readingOf(core, r), core.config.limits));
  if (!stuck || (live.length === 0 && core.slots.retryTimers.size > 0 && core.state === 'open')) return;
  for (const job of core.queue.splice(0)) {
    let error: Error;
    if (core.state !== 'open') {
      error = new ProverPoolClosedError('queued', 'no isolate was left to run it');
      core.closeCounts.rejectedQueued++;
    } else if (live.length === 0) {
      error = new ProverPoolAdmissionError('no-isolate', job.name, 'no isolate is up or starting any more (their starts kept failing)');
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
