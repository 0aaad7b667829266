/**
 * The prover pool's faults and crashes: a job's end as its isolate reports
 * it (a result, a failure, a trap), an isolate that fails by itself, and a
 * running job whose caller aborts it or whose deadline passes. Only the
 * faulting isolate's job fails; other isolates and the queue are untouched.
 * A slot that lost its isolate is refilled by slot-restarts.ts (with its
 * backoff and crash-rate breaker).
 *
 * A trap is the isolate's loss, not the job's failure, and is taken only on
 * the isolate's evidence (`instanceDead`: o1js/pool's POOL_INSTANCE_TERMINATED,
 * or a failed health read after the job; isolate-runtime.ts), never on an
 * error's name.
 *
 * Invariants kept here:
 *   I1 (with job-queue.ts): `record.job` is cleared when its job ends, is
 *       lost with its isolate, or is aborted or timed out.
 *   I10. An aborted or timed-out running job is rejected only once its
 *       isolate is stopped (`stopRunning`): when the caller hears of it, the
 *       proof is no longer running (bounded by terminateTimeoutMs).
 */
import { fromPlainError } from '../lib/proof-system/kernel/errors.js';
import { ProverPoolCrashError, ProverPoolJobError, ProverPoolReplacementError, ProverPoolStartError, type IsolateCrashKind, type ProverPoolAbortError, type ProverPoolTimeoutError } from './errors.js';
import { moveIsolate } from './lifecycle.js';
import { rejectReplacementWaiters, successorServes, takeSnapshot, type IsolateRecord, type JobRecord, type PoolCore } from './pool-core.js';
import { FROM_ISOLATE, type FailedMessage, type ResultMessage } from './protocol.js';

/** A job's result or failure, as its isolate reported it. */
export function finishJob(core: PoolCore, record: IsolateRecord, message: ResultMessage | FailedMessage): void {
  const job = record.job as JobRecord;
  if (message.snapshot !== null) takeSnapshot(core, record, message.snapshot);
  if (message.type === FROM_ISOLATE.failed && message.instanceDead) {
    // The isolate's evidence of a trap: the instance is dead, so this is the isolate's loss, not the job's bug.
    lose(core, record, 'instance-terminated', `${message.error.name}: ${message.error.message}`, fromPlainError(message.error), null);
    return;
  }
  record.job = null; // I1
  record.jobs++;
  record.lastActiveMs = core.platform.now();
  if (message.type === FROM_ISOLATE.result) {
    core.totals.jobsCompleted++;
    core.act.settle(job, 'completed', message.value);
  } else {
    core.totals.jobsFailed++;
    if (message.fault !== null) record.fault = message.fault; // sticky: the instance stays suspect
    core.act.settle(job, 'failed', new ProverPoolJobError(job.name, record.id, message.error));
  }
  if (record.state === 'draining') {
    core.act.evaluate(record); // reports a fault of its last job: its replacement is under way
    void core.act.stop(record, 'replaced');
  } else {
    moveIsolate(record, 'idle');
    record.channel?.keepAlive(false);
    core.act.evaluate(record);
  }
  core.act.dispatch();
}

/** The isolate failed by itself: a failed start while starting, a loss (crash) once serving. */
export function fail(core: PoolCore, record: IsolateRecord, kind: IsolateCrashKind, detail: string, cause: unknown, exitCode: number | null): void {
  if (record.state === 'starting') {
    core.act.startFailed(record, new ProverPoolStartError(kind === 'protocol' ? 'protocol' : 'exit', record.id, `${kind}: ${detail}`, cause));
  } else if (record.state === 'idle' || record.state === 'busy' || record.state === 'draining') {
    lose(core, record, kind, detail, cause, exitCode);
  }
}

/** The isolate died, its instance trapped, or it broke the protocol: only its job fails; the slot is refilled. */
function lose(core: PoolCore, record: IsolateRecord, kind: IsolateCrashKind, detail: string, cause: unknown, exitCode: number | null): void {
  const job = record.job;
  record.job = null; // I1
  const error = new ProverPoolCrashError(kind, { isolateId: record.id, jobName: job?.name ?? null, exitCode, lastSnapshot: record.snapshot, detail, cause });
  core.totals.crashes++;
  if (job !== null) {
    core.totals.jobsCrashed++;
    core.act.settle(job, 'crashed', error);
  }
  core.events.emit('crash', { isolateId: record.id, slot: record.slot, error });
  rejectReplacementWaiters(record, new ProverPoolReplacementError(record.id, kind === 'instance-terminated' ? 'instance-terminated' : 'crashed', error));
  const refill = !successorServes(record);
  void core.act.stop(record, kind === 'instance-terminated' ? 'instance-terminated' : 'crashed');
  if (refill) core.act.refill(record, 'crash', error);
  core.act.dispatch();
}

/**
 * A running job's signal fired or its deadline passed: terminating its
 * isolate is the only way to stop a running proof (or to get past an isolate
 * that went silent). The job is rejected once the isolate is stopped (I10).
 */
export function stopRunning(core: PoolCore, job: JobRecord, reason: 'aborted' | 'timed-out', error: ProverPoolAbortError | ProverPoolTimeoutError): void {
  const record = job.isolate as IsolateRecord;
  record.job = null; // I1
  // It no longer runs (health shows no job on its isolate), so its busy time is counted now: busyMs never goes down.
  job.stoppedAtMs = core.platform.now();
  core.stats.busyMs += job.stoppedAtMs - (job.startedAtMs ?? job.stoppedAtMs);
  if (reason === 'aborted') core.totals.jobsAborted++;
  else core.totals.jobsTimedOut++;
  // Its replaceIsolate() callers hear why it went, not this job's error (another caller's).
  rejectReplacementWaiters(record, new ProverPoolReplacementError(record.id, reason, error));
  const refill = !successorServes(record);
  const stopped = core.act.stop(record, reason);
  if (refill) core.act.refill(record, reason === 'aborted' ? 'abort' : 'timeout', error);
  core.act.dispatch();
  void stopped.then(() => core.act.settle(job, reason, error)); // I10
}
