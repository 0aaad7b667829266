/**
 * The prover pool's faults and crashes: a job's end as its isolate reports
 * it (a result, a failure, a trap), an isolate that fails by itself, a running
 * job whose caller aborts it, and the refilling of a slot that lost its
 * isolate. Only the faulting isolate's job fails; other isolates and the
 * queue are untouched.
 *
 * A trap is the isolate's loss, not the job's failure, and is taken only on
 * the isolate's evidence (`instanceDead`: o1js/pool's POOL_INSTANCE_TERMINATED,
 * or a failed health read after the job; isolate-runtime.ts), never on an
 * error's name.
 *
 * Invariant kept here: I1 (with job-queue.ts): `record.job` is cleared when
 * its job ends, is lost with its isolate, or is aborted.
 */
import { fromPlainError } from '../lib/proof-system/kernel/errors.js';
import { ProverPoolAbortError, ProverPoolCrashError, ProverPoolJobError, ProverPoolStartError, type IsolateCrashKind } from './errors.js';
import { moveIsolate } from './lifecycle.js';
import { rejectReplacementWaiters, takeSnapshot, type IsolateRecord, type JobRecord, type PoolCore } from './pool-core.js';
import type { FailedMessage, ResultMessage } from './protocol.js';

/** A job's result or failure, as its isolate reported it. */
export function finishJob(core: PoolCore, record: IsolateRecord, message: ResultMessage | FailedMessage): void {
  const job = record.job as JobRecord;
  if (message.snapshot !== null) takeSnapshot(core, record, message.snapshot);
  if (message.type === 'failed' && message.instanceDead) {
    // The isolate's evidence of a trap: the instance is dead, so this is the isolate's loss, not the job's bug.
    lose(core, record, 'instance-terminated', `${message.error.name}: ${message.error.message}`, fromPlainError(message.error), null);
    return;
  }
  record.job = null; // I1
  record.jobs++;
  if (message.type === 'result') {
    core.totals.jobsCompleted++;
    core.act.settle(job, 'completed', message.value);
  } else {
    core.totals.jobsFailed++;
    if (message.fault !== null) record.fault = message.fault; // sticky: the instance stays suspect
    core.act.settle(job, 'failed', new ProverPoolJobError(job.name, record.id, message.error));
  }
  if (record.state === 'draining') {
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
    core.act.startFailed(record, new ProverPoolStartError('exit', record.id, `${kind}: ${detail}`, cause));
  } else if (record.state === 'idle' || record.state === 'busy' || record.state === 'draining') {
    lose(core, record, kind, detail, cause, exitCode);
  }
}

/** The isolate died or its instance trapped: only its job fails; the slot is refilled. */
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
  rejectReplacementWaiters(record, error);
  const wasDraining = record.state === 'draining';
  void core.act.stop(record, kind === 'instance-terminated' ? 'instance-terminated' : 'crashed');
  if (!wasDraining) refill(core, record, 'crash'); // a draining one's successor already serves
  core.act.dispatch();
}

/** A running job's signal fired: terminating its isolate is the only way to stop a running proof. */
export function abortRunning(core: PoolCore, job: JobRecord): void {
  const record = job.isolate as IsolateRecord;
  record.job = null; // I1
  core.totals.jobsAborted++;
  const error = new ProverPoolAbortError('running', record.id, job.signal?.reason);
  core.act.settle(job, 'aborted', error);
  rejectReplacementWaiters(record, error);
  const wasDraining = record.state === 'draining';
  void core.act.stop(record, 'aborted');
  if (!wasDraining) refill(core, record, 'abort');
  core.act.dispatch();
}

/** A slot lost its serving isolate: its warming successor takes over, or a new one starts. */
function refill(core: PoolCore, record: IsolateRecord, cause: 'crash' | 'abort'): void {
  if (core.state !== 'open') return;
  const successor = record.successor;
  if (successor !== null && successor.state === 'starting') return; // it serves once ready; stopping `record` unlinked it
  core.act.spawn(record.slot, cause, null);
}
