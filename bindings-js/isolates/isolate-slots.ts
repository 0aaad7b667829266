/**
 * The prover pool's slots and their isolates' starts: spawning an isolate
 * for a slot, routing what it says, its becoming ready, and a failed start
 * (restarted with a doubling delay, the slot given up after
 * `maxStartFailures` in a row).
 *
 * Invariants kept here:
 *   I3. Blue/green: a replacement is spawned while its predecessor keeps
 *       serving; the predecessor stops taking jobs only once the successor is
 *       ready (`onReady` → replacement.ts `retire`).
 *   I5. Every wait is bounded: a start by startTimeoutMs (the others:
 *       isolate-stop.ts, pool-health-report.ts, pool-close.ts).
 *   I6. Messages from an isolate that is stopping or stopped are ignored:
 *       once the pool decided to stop it, nothing it says can settle a job.
 */
import { fromPlainError } from '../lib/proof-system/kernel/errors.js';
import { deferred } from '../lib/proof-system/kernel/deferred.js';
import { ProverPoolStartError } from './errors.js';
import { moveIsolate } from './lifecycle.js';
import { rejectReplacementWaiters, takeSnapshot, unref, type IsolateRecord, type PoolCore } from './pool-core.js';
import type { StartCause } from './pool-events.js';
import { isFromIsolate, type FromIsolate, type ReadyMessage } from './protocol.js';
import { initialIsolatePolicyState, type MemoryBaseline } from './replacement-policy.js';

const MAX_RESTART_DELAY_MS = 30_000;

/** Starts an isolate for `slot` (a replacement: `predecessor` keeps serving until it is ready). */
export function spawn(core: PoolCore, slot: number, cause: StartCause, predecessor: IsolateRecord | null): IsolateRecord {
  const { config, platform } = core;
  const id = core.nextId.isolate++;
  const record: IsolateRecord = {
    id,
    slot,
    state: 'starting',
    fault: null,
    cause,
    spawnedAtMs: platform.now(),
    channel: null,
    readyAtMs: null,
    loadMs: null,
    warmMs: null,
    job: null,
    jobs: 0,
    snapshot: null,
    snapshotAtMs: null,
    policy: initialIsolatePolicyState(config.limits.jitterFraction > 0 ? platform.random() : 0),
    lastKeepReason: null,
    successor: null,
    predecessor,
    replacement: null,
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
      exit: (exit) => {
        const detail = exit.error !== null ? `${exit.error.name}: ${exit.error.message}` : `its thread ended with exit code ${exit.exitCode}`;
        core.act.fail(record, exit.kind, detail, exit.error ? fromPlainError(exit.error) : undefined, exit.exitCode);
      },
    });
    record.channel.keepAlive(true);
    const late = () => startFailed(core, record, new ProverPoolStartError('timeout', id, `not ready within startTimeoutMs ${config.startTimeoutMs}`));
    record.startTimer = unref(setTimeout(late, config.startTimeoutMs)); // I5
    record.channel.post({
      type: 'init',
      isolateId: id,
      module: config.module,
      threads: config.threadsPerIsolate,
      memoryMaximumBytes: config.limits.memoryMaximumBytes,
      warm: config.warm,
    });
  } catch (error) {
    startFailed(core, record, new ProverPoolStartError('spawn', id, error instanceof Error ? error.message : String(error), error));
  }
  return record;
}

function onMessage(core: PoolCore, record: IsolateRecord, message: unknown): void {
  if (record.state === 'stopping' || record.state === 'stopped') return; // I6
  if (!isFromIsolate(message)) {
    core.act.fail(record, 'messageerror', `it posted a message the pool does not know: ${describeMessage(message)}`, undefined, null);
    return;
  }
  if (!handle(core, record, message)) {
    const running = record.job ? ` running job ${record.job.id}` : '';
    core.act.fail(record, 'messageerror', `it posted '${message.type}' while ${record.state}${running}`, undefined, null);
  }
}

/** Acts on a message the isolate may send in its state; false for one it may not. */
function handle(core: PoolCore, record: IsolateRecord, message: FromIsolate): boolean {
  switch (message.type) {
    case 'ready':
      if (record.state !== 'starting') return false;
      onReady(core, record, message);
      return true;
    case 'start-failed':
      if (record.state !== 'starting') return false;
      startFailed(core, record, new ProverPoolStartError(message.stage, record.id, message.error.message, fromPlainError(message.error)));
      return true;
    case 'result':
    case 'failed':
      if ((record.state !== 'busy' && record.state !== 'draining') || record.job?.id !== message.jobId) return false;
      core.act.finishJob(record, message);
      return true;
    case 'health':
      takeSnapshot(core, record, message.snapshot);
      record.healthRequests.get(message.requestId)?.();
      return true;
  }
}

function onReady(core: PoolCore, record: IsolateRecord, message: ReadyMessage): void {
  const now = core.platform.now();
  if (record.startTimer !== null) clearTimeout(record.startTimer);
  record.startTimer = null;
  record.readyAtMs = now;
  record.loadMs = message.loadMs;
  record.warmMs = message.warmMs;
  takeSnapshot(core, record, message.snapshot);
  const { memory } = message.snapshot;
  const baseline: MemoryBaseline = { linearBytes: memory.linearBytes, allocatorLiveBytes: memory.allocatorLiveBytes };
  record.policy = { ...record.policy, baseline };
  core.fresh = { baseline, linearMaxBytes: memory.linearMaxBytes };
  core.jobNames ??= Object.freeze([...message.jobNames]);
  core.slots.failures[record.slot] = 0;
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
  // I3: the successor serves first; only then does its predecessor retire.
  const predecessor = record.predecessor;
  record.predecessor = null;
  if (predecessor !== null) core.act.retire(predecessor, now);
  core.act.dispatch();
  // Isolates held back while this replacement warmed (I4) are checked again.
  for (const other of core.isolates.values()) if (other.state === 'idle') core.act.evaluate(other);
}

/**
 * An isolate did not become ready. A replacement's predecessor keeps
 * serving (the policy tries again after the delay); a slot left without an
 * isolate restarts after `restartDelayMs`, doubling per failure in a row,
 * and is given up after `maxStartFailures` of them.
 */
export function startFailed(core: PoolCore, record: IsolateRecord, error: ProverPoolStartError): void {
  if (record.state !== 'starting') return;
  core.totals.startFailures++;
  record.started.reject(error);
  const predecessor = record.predecessor;
  record.predecessor = null;
  const predecessorServes = predecessor !== null && (predecessor.state === 'idle' || predecessor.state === 'busy');
  if (predecessor !== null) {
    predecessor.successor = null;
    rejectReplacementWaiters(predecessor, error);
  }
  void core.act.stop(record, 'start-failed');
  if (core.state !== 'open' || record.cause === 'initial') return;
  core.events.emit('error', { error, context: `isolate ${record.id} (slot ${record.slot}, ${record.cause}) did not start` });
  const failures = ++core.slots.failures[record.slot];
  const delayMs = Math.min(core.config.restartDelayMs * 2 ** (failures - 1), MAX_RESTART_DELAY_MS);
  core.slots.retryAtMs[record.slot] = core.platform.now() + delayMs;
  if (predecessorServes) return;
  if (failures >= core.config.maxStartFailures) {
    core.events.emit('error', {
      error,
      context: `slot ${record.slot} failed to start ${failures} times in a row: given up; its jobs go to the other isolates`,
    });
    core.act.dispatch();
    return;
  }
  // Not unref'd: jobs may be waiting for this slot (the wait is bounded: at most maxStartFailures restarts).
  const timer = setTimeout(() => {
    core.slots.retryTimers.delete(timer);
    if (core.state === 'open') spawn(core, record.slot, 'retry', null);
  }, delayMs);
  core.slots.retryTimers.add(timer);
}

function describeMessage(message: unknown): string {
  try {
    return JSON.stringify(message)?.slice(0, 200) ?? String(message);
  } catch {
    return String(message);
  }
}
