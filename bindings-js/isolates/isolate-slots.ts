/**
 * The prover pool's isolates' starts and what they say: spawning an isolate
 * for a slot, hearing its private channel, and its becoming ready. A failed
 * start, and the restarts of a slot, are slot-restarts.ts's.
 *
 * Invariants kept here:
 *   I3. Blue/green: a replacement is spawned while its predecessor keeps
 *       serving; the predecessor stops taking jobs only once the successor is
 *       ready (`onReady` → replacement.ts `retire`).
 *   I5. Every wait is bounded: a start by startTimeoutMs (the others:
 *       isolate-stop.ts, pool-health-report.ts, pool-close.ts).
 *   I6. Messages from an isolate that is stopping or stopped are ignored:
 *       once the pool decided to stop it, nothing it says can settle a job.
 *   I7. Only the isolate's private channel is heard, and only what passes
 *       protocol-check.ts (its namespaced type, its token, its shape, and a
 *       type the isolate may send in its state): anything else on it is that
 *       isolate's crash (`protocol`), never an exception in the pool.
 *       Messages on the thread's public port are strays, counted and ignored.
 *   I11. A pool serves one module: an isolate whose module file changed on
 *       disk, or that exports other jobs, fails to start (`module-changed`),
 *       and its predecessor keeps serving.
 */
import { fromPlainError } from '../lib/proof-system/kernel/errors.js';
import { deferred } from '../lib/proof-system/kernel/deferred.js';
import { ProverPoolStartError } from './errors.js';
import { moveIsolate } from './lifecycle.js';
import { takeSnapshot, unref, type IsolateRecord, type PoolCore } from './pool-core.js';
import type { StartCause } from './pool-events.js';
import { checkFromIsolate } from './protocol-check.js';
import { FROM_ISOLATE, TO_ISOLATE, newToken, type FromIsolate, type ReadyMessage } from './protocol.js';
import { initialIsolatePolicyState, type MemoryBaseline } from './replacement-policy.js';
import { settleStopThenStart } from './replacement.js';

/** Starts an isolate for `slot` (a replacement: `predecessor` keeps serving until it is ready). */
export function spawn(core: PoolCore, slot: number, cause: StartCause, predecessor: IsolateRecord | null): IsolateRecord {
  const { config, platform } = core;
  const id = core.nextId.isolate++;
  const now = platform.now();
  const record: IsolateRecord = {
    id,
    slot,
    token: newToken(),
    state: 'starting',
    fault: null,
    cause,
    spawnedAtMs: now,
    channel: null,
    readyAtMs: null,
    loadMs: null,
    warmMs: null,
    job: null,
    jobs: 0,
    lastActiveMs: now,
    snapshot: null,
    snapshotAtMs: null,
    policy: initialIsolatePolicyState(config.limits.jitterFraction > 0 ? platform.random() : 0),
    lastKeepReason: null,
    successor: null,
    predecessor,
    replacement: null,
    stoppedPredecessor: null,
    // Awaited only by the pool's start; a failed start is an event.
    started: deferred<void>({ rejectionHandled: true }),
    startTimer: null,
    healthRequests: new Map(),
    stopped: null,
  };
  if (predecessor !== null) predecessor.successor = record;
  core.isolates.set(id, record);
  core.totals.isolatesStarted++;
  core.events.emit('isolate-start', { isolateId: id, slot, cause, predecessorId: predecessor?.id ?? null });
  try {
    record.channel = platform.spawn(id, {
      message: (message) => onMessage(core, record, message),
      stray: () => core.totals.strayMessages++,
      exit: (exit) => {
        const detail = exit.error !== null ? `${exit.error.name}: ${exit.error.message}` : `its thread ended with exit code ${exit.exitCode}`;
        core.act.fail(record, exit.kind, detail, exit.error ? fromPlainError(exit.error) : undefined, exit.exitCode);
      },
    });
    record.channel.keepAlive(true);
    const late = () => core.act.startFailed(record, new ProverPoolStartError('timeout', id, `not ready within startTimeoutMs ${config.startTimeoutMs}`));
    record.startTimer = unref(setTimeout(late, config.startTimeoutMs)); // I5
    record.channel.post({
      type: TO_ISOLATE.init,
      token: record.token,
      isolateId: id,
      module: config.module,
      moduleHash: core.moduleHash,
      threads: config.threadsPerIsolate,
      memoryMaximumBytes: config.limits.memoryMaximumBytes,
      warm: config.warm,
    });
  } catch (error) {
    core.act.startFailed(record, new ProverPoolStartError('spawn', id, error instanceof Error ? error.message : String(error), error));
  }
  return record;
}

/** Everything the isolate posts on its private channel (I6, I7). */
function onMessage(core: PoolCore, record: IsolateRecord, message: unknown): void {
  if (record.state === 'stopping' || record.state === 'stopped') return; // I6
  const checked = checkFromIsolate(message, record.token);
  if (!checked.ok) {
    core.act.fail(record, 'protocol', `it posted ${checked.problem}`, undefined, null);
    return;
  }
  try {
    if (!handle(core, record, checked.message)) {
      const running = record.job ? ` running job ${record.job.id}` : '';
      core.act.fail(record, 'protocol', `it posted '${checked.message.type}' while ${record.state}${running}`, undefined, null);
    }
  } catch (error) {
    // A bug of the pool's own: reported, and the isolate it concerns is given up rather than the host.
    core.events.emit('error', { error, context: `handling a message of isolate ${record.id}` });
    core.act.fail(record, 'protocol', `the pool could not handle its '${checked.message.type}' message`, error, null);
  }
}

/** Acts on a message the isolate may send in its state; false for one it may not. */
function handle(core: PoolCore, record: IsolateRecord, message: FromIsolate): boolean {
  switch (message.type) {
    case FROM_ISOLATE.ready:
      if (record.state !== 'starting') return false;
      onReady(core, record, message);
      return true;
    case FROM_ISOLATE.startFailed:
      if (record.state !== 'starting') return false;
      core.act.startFailed(record, new ProverPoolStartError(message.stage, record.id, message.error.message, fromPlainError(message.error)));
      return true;
    case FROM_ISOLATE.result:
    case FROM_ISOLATE.failed:
      if ((record.state !== 'busy' && record.state !== 'draining') || record.job?.id !== message.jobId) return false;
      core.act.finishJob(record, message);
      return true;
    case FROM_ISOLATE.health:
      if (record.state === 'starting') return false;
      if (message.snapshot !== null) takeSnapshot(core, record, message.snapshot);
      record.healthRequests.get(message.requestId)?.(); // a late answer (past healthTimeoutMs) finds none
      return true;
  }
}

/** Why `message` is not the module the pool serves (I11), or `null`. */
function moduleChange(core: PoolCore, message: ReadyMessage): string | null {
  const names = core.jobNames;
  if (names !== null && (names.length !== message.jobNames.length || names.some((name, i) => name !== message.jobNames[i]))) {
    return `its module exports the jobs ${message.jobNames.join(', ')}, not the pool's ${names.join(', ')}`;
  }
  if (core.moduleHash !== null && message.moduleHash !== null && message.moduleHash !== core.moduleHash) {
    return `its module file hashes to ${message.moduleHash.slice(0, 12)}…, not the pool's ${core.moduleHash.slice(0, 12)}…`;
  }
  return null;
}

function onReady(core: PoolCore, record: IsolateRecord, message: ReadyMessage): void {
  const changed = moduleChange(core, message);
  if (changed !== null) {
    core.act.startFailed(record, new ProverPoolStartError('module-changed', record.id, `${changed}: the proving module changed since the pool started`));
    return;
  }
  const now = core.platform.now();
  if (record.startTimer !== null) clearTimeout(record.startTimer);
  record.startTimer = null;
  record.readyAtMs = now;
  record.lastActiveMs = now;
  record.loadMs = message.loadMs;
  record.warmMs = message.warmMs;
  takeSnapshot(core, record, message.snapshot);
  const { memory } = message.snapshot;
  const baseline: MemoryBaseline = { linearBytes: memory.linearBytes, allocatorLiveBytes: memory.allocatorLiveBytes, rssBytes: memory.rssShareBytes };
  record.policy = { ...record.policy, baseline };
  core.fresh = { baseline, linearMaxBytes: memory.linearMaxBytes };
  core.jobNames ??= Object.freeze([...message.jobNames]);
  core.moduleHash ??= message.moduleHash;
  const slot = core.slots[record.slot]!;
  slot.startFailures = 0;
  slot.replacementGivenUp = false;
  moveIsolate(record, 'idle');
  record.channel?.keepAlive(false);
  core.events.emit('isolate-ready', {
    isolateId: record.id,
    slot: record.slot,
    cause: record.cause,
    startMs: now - record.spawnedAtMs,
    loadMs: message.loadMs,
    warmMs: message.warmMs,
    snapshot: message.snapshot,
  });
  record.started.resolve();
  settleStopThenStart(core, record);
  // I3: the successor serves first; only then does its predecessor retire.
  const predecessor = record.predecessor;
  record.predecessor = null;
  if (predecessor !== null) core.act.retire(predecessor, now);
  core.act.startWaitingReplacement();
  core.act.dispatch();
  // Isolates held back while this replacement warmed (I4) are checked again.
  for (const other of core.isolates.values()) if (other.state === 'idle') core.act.evaluate(other);
}
