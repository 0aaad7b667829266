/**
 * Closing the prover pool, as docs/isolates.md ("The pool's methods") and
 * tokio's shutdown docs put it: at once, new jobs are refused, isolates still
 * warming are terminated and no replacement starts any more. With `drain`,
 * queued and running jobs run to their end on the isolates there are, for at
 * most `timeoutMs` (I5); past it, or at once without `drain`, queued jobs are
 * rejected and running ones cut off (their isolates terminated), all with
 * PROVER_POOL_CLOSED. Last, every isolate is terminated and its memory
 * released.
 */
import { deferred } from '../lib/proof-system/kernel/deferred.js';
import { resolveCloseOptions } from './config.js';
import { ProverPoolClosedError } from './errors.js';
import { rejectReplacementWaiters, unref, type PoolCore } from './pool-core.js';

export interface CloseOptions {
  /** Run queued and running jobs to the end first (default true); false: cut them off at once. */
  readonly drain?: boolean;
  /** Bound on the drain (default 60000 ms, kernel/options.ts DEFAULT_DRAIN_TIMEOUT_MS); past it, queued and running jobs are cut off. */
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

/**
 * Closes the pool once: a second call returns the first call's promise.
 * Invalid options reject with PROVER_POOL_INVALID_CONFIG and close nothing.
 */
export function close(core: PoolCore, options: unknown): Promise<CloseReport> {
  if (core.closing === null) {
    let resolved;
    try {
      resolved = resolveCloseOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    core.closing = closePool(core, resolved.drain, resolved.timeoutMs);
  }
  return core.closing;
}

async function closePool(core: PoolCore, drain: boolean, timeoutMs: number): Promise<CloseReport> {
  const started = core.platform.now();
  core.state = 'closing';
  if (core.idleTimer !== null) clearInterval(core.idleTimer);
  for (const slot of core.slots) {
    if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
  }
  for (const record of [...core.isolates.values()]) {
    if (record.state !== 'starting') continue;
    const error = new ProverPoolClosedError('submitted', 'closing');
    record.started.reject(error);
    if (record.predecessor !== null) {
      record.predecessor.successor = null;
      rejectReplacementWaiters(record.predecessor, error);
      record.predecessor = null;
    }
    void core.act.stop(record, 'closed');
  }
  let timedOut = false;
  core.drained = deferred<void>();
  if (!drain) cutOff(core, 'close() without drain');
  // Never keeps the process alive by itself: the isolates running jobs do, while they run.
  const timer = unref(
    setTimeout(() => {
      timedOut = true;
      cutOff(core, `close() drain bound timeoutMs ${timeoutMs} passed`);
    }, timeoutMs),
  );
  core.act.dispatch();
  await core.drained.promise;
  clearTimeout(timer);
  for (const record of [...core.isolates.values()]) void core.act.stop(record, 'closed');
  await Promise.all([...core.isolates.values()].map((r) => r.stopped));
  core.state = 'closed';
  return { ...core.closeCounts, timedOut, totalMs: core.platform.now() - started };
}

/** Resolves a close's drain once no job is queued or running. */
export function checkDrained(core: PoolCore): void {
  if (core.drained === null || core.queue.length > 0) return;
  for (const record of core.isolates.values()) if (record.job !== null) return;
  core.drained.resolve();
}

/** Rejects every queued and running job with PROVER_POOL_CLOSED, terminating the running jobs' isolates. */
function cutOff(core: PoolCore, detail: string): void {
  for (const job of core.queue.splice(0)) {
    core.closeCounts.rejectedQueued++;
    core.act.settle(job, 'closed', new ProverPoolClosedError('queued', detail));
  }
  for (const record of [...core.isolates.values()]) {
    const job = record.job;
    if (job === null) continue;
    record.job = null; // I1
    core.closeCounts.cutOffRunning++;
    core.act.settle(job, 'closed', new ProverPoolClosedError('running', detail));
    void core.act.stop(record, 'closed');
  }
  core.act.dispatch();
}
