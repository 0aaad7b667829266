/**
 * Stopping an isolate, for every end it can have (replaced, lost, aborted,
 * failed to start, closed): terminate its thread, which gives all its memory
 * back, within terminateTimeoutMs (I5), then report it and let the queue move.
 *
 * Invariant kept here: I6 (with isolate-slots.ts): the isolate is `stopping`
 * before anything else happens, so nothing it says from then on is heard.
 */
import { settlesWithin } from '../lib/proof-system/kernel/deferred.js';
import { moveIsolate } from './lifecycle.js';
import type { IsolateRecord, PoolCore } from './pool-core.js';
import type { StopReason } from './pool-events.js';
import { settleReplacement } from './replacement.js';

/** Stops `record` once; every caller gets the same promise, which resolves when it is stopped. */
export function stop(core: PoolCore, record: IsolateRecord, reason: StopReason): Promise<void> {
  if (record.stopped !== null) return record.stopped;
  moveIsolate(record, 'stopping'); // I6
  if (record.startTimer !== null) clearTimeout(record.startTimer);
  record.startTimer = null;
  for (const answer of record.healthRequests.values()) answer();
  const successor = record.successor;
  if (successor !== null && successor.predecessor === record) successor.predecessor = null;
  record.stopped = terminate(core, record, reason);
  return record.stopped;
}

async function terminate(core: PoolCore, record: IsolateRecord, reason: StopReason): Promise<void> {
  const { platform, config } = core;
  const rssBefore = platform.processRssBytes();
  const startedMs = platform.now();
  if (record.channel !== null) {
    const terminated = record.channel.terminate().catch(() => undefined);
    if (!(await settlesWithin(config.terminateTimeoutMs, terminated))) {
      core.events.emit('error', {
        error: new Error(`isolate ${record.id}: terminate() did not settle within terminateTimeoutMs ${config.terminateTimeoutMs}`),
        context: 'terminate',
      });
    }
  }
  const endedMs = platform.now();
  const rssAfter = platform.processRssBytes();
  moveIsolate(record, 'stopped');
  core.isolates.delete(record.id);
  if (core.state !== 'open') core.closeCounts.isolatesStopped++;
  core.events.emit('isolate-exit', {
    isolateId: record.id,
    slot: record.slot,
    reason,
    jobs: record.jobs,
    ageMs: endedMs - record.spawnedAtMs,
    snapshot: record.snapshot,
    terminateMs: endedMs - startedMs,
  });
  settleReplacement(core, record, reason, { startedMs, endedMs, rssBefore, rssAfter });
  core.act.dispatch();
}
