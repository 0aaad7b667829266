/**
 * What bounds the flow of jobs, besides admission (job-queue.ts): each job's
 * deadline, and the queue's back-pressure events.
 *
 * Deadline: `run()`'s `timeoutMs` (or the pool's `jobTimeoutMs`), counted
 * from `run()`. A job still queued then leaves the queue; a running one's
 * isolate is terminated and refilled (isolate-faults.ts `stopRunning`, I10),
 * which also gets past an isolate that went silent. Either way the job is
 * rejected with PROVER_POOL_JOB_TIMEOUT. The timer never keeps a Node process
 * alive by itself (a running job's isolate does).
 *
 * Back-pressure, as piscina's `needsDrain` / `drain`, on edges only: the
 * queue reaching maxQueuedJobs emits `needs-drain` (the next job that finds
 * no free isolate is refused); the queue emptying after that emits `drain`.
 */
import { ProverPoolTimeoutError } from './errors.js';
import { unref, type JobRecord, type PoolCore } from './pool-core.js';

/** Starts `job`'s deadline, if it has one. */
export function armDeadline(core: PoolCore, job: JobRecord): void {
  if (job.timeoutMs === null) return;
  job.deadline = unref(setTimeout(() => expire(core, job), job.timeoutMs));
}

function expire(core: PoolCore, job: JobRecord): void {
  job.deadline = null;
  const timeoutMs = job.timeoutMs as number;
  if (job.state === 'queued') {
    core.queue.splice(core.queue.indexOf(job), 1);
    core.totals.jobsTimedOut++;
    core.act.settle(job, 'timed-out', new ProverPoolTimeoutError('queued', job.name, timeoutMs, null));
    core.act.dispatch();
  } else if (job.state === 'running' && job.isolate !== null && job.isolate.job === job) {
    core.act.stopRunning(job, 'timed-out', new ProverPoolTimeoutError('running', job.name, timeoutMs, job.isolate.id));
  }
}

/** Emits `needs-drain` when the queue becomes full and `drain` when it empties after that. */
export function checkBackPressure(core: PoolCore): void {
  const max = core.config.maxQueuedJobs;
  const queued = core.queue.length;
  if (!core.needsDrain && max !== null && max > 0 && queued >= max) {
    core.needsDrain = true;
    core.events.emit('needs-drain', { queued, maxQueuedJobs: max });
  } else if (core.needsDrain && queued === 0) {
    core.needsDrain = false;
    core.events.emit('drain', { queued });
  }
}
