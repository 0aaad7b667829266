/**
 * A slot's restarts: an isolate that did not start, and a slot that lost its
 * serving isolate (a crash, an abort, a deadline). slot-policy.ts decides the
 * delays and the breaker; this module keeps the timers and says what it did.
 *
 *   - A replacement that fails to start leaves its predecessor serving; the
 *     policy tries again after the backoff. After maxStartFailures in a row,
 *     replacements for limits stop for that slot (`slot-given-up`, reason
 *     `replacement-start-failures`, and the slot's health); a fault's
 *     replacement (out of memory, a panic, no headroom) keeps trying, at most
 *     every 30 s, since the instance it would replace is suspect.
 *   - A slot left without an isolate restarts after the backoff, and is given
 *     up after maxStartFailures failed starts (`start-failures`).
 *   - A crash refills the slot at once the first time within crashWindowMs,
 *     then after the backoff; at maxCrashes the breaker opens (`crash-loop`).
 *   Jobs no isolate is left for are then refused, typed (job-queue.ts).
 *
 * Invariant kept here: I9. No endless respawn (slot-policy.ts), and every
 * give-up is an event and in the health. And timers: a restart's timer keeps
 * a Node process alive only while jobs are queued (`holdWhileQueued`).
 */
import { rejectReplacementWaiters, type IsolateRecord, type PoolCore } from './pool-core.js';
import { ProverPoolCrashError, type ProverPoolError, type ProverPoolStartError } from './errors.js';
import type { StartCause } from './pool-events.js';
import { failStopThenStart } from './replacement.js';
import { afterCrash, backoffMs, type SlotGiveUpReason } from './slot-policy.js';

/** Replacement metrics that go on trying past maxStartFailures: the instance they replace is suspect. */
const FAULT_METRICS: readonly string[] = ['headroomBytes', 'outOfMemory', 'wasmPanic'];

/** An isolate did not become ready (it is stopped; its slot restarts or its predecessor serves on). */
export function startFailed(core: PoolCore, record: IsolateRecord, error: ProverPoolStartError): void {
  if (record.state !== 'starting') return;
  core.totals.startFailures++;
  record.started.reject(error);
  failStopThenStart(record, error);
  const predecessor = record.predecessor;
  record.predecessor = null;
  const predecessorServes = predecessor !== null && (predecessor.state === 'idle' || predecessor.state === 'busy');
  const metric = predecessor?.replacement?.metric ?? null;
  if (predecessor !== null) {
    predecessor.successor = null;
    rejectReplacementWaiters(predecessor, error);
  }
  void core.act.stop(record, 'start-failed');
  core.act.startWaitingReplacement();
  if (core.state !== 'open' || record.cause === 'initial') return;
  core.events.emit('error', { error, context: `isolate ${record.id} (slot ${record.slot}, ${record.cause}) did not start` });
  const slot = core.slots[record.slot]!;
  const failures = ++slot.startFailures;
  const delayMs = backoffMs(core.config.restartDelayMs, failures);
  slot.retryAtMs = core.platform.now() + delayMs;
  if (predecessorServes) {
    const isFault = metric !== null && FAULT_METRICS.includes(metric);
    if (failures >= core.config.maxStartFailures && !isFault && !slot.replacementGivenUp) {
      slot.replacementGivenUp = true;
      core.events.emit('slot-given-up', { slot: record.slot, reason: 'replacement-start-failures', count: failures, error, servingIsolateId: predecessor.id });
    }
    core.act.dispatch(); // a faulted predecessor takes jobs again until the next successor (job-queue.ts pickIsolate)
    return;
  }
  if (failures >= core.config.maxStartFailures) {
    giveUp(core, record.slot, 'start-failures', failures, error);
    return;
  }
  scheduleRestart(core, record.slot, delayMs, 'retry');
}

/** A slot lost its serving isolate: its warming successor takes over, or a new one starts (crashes: backoff, breaker). */
export function refill(core: PoolCore, record: IsolateRecord, cause: 'crash' | 'abort' | 'timeout', error: ProverPoolError): void {
  if (core.state !== 'open') return;
  const slot = core.slots[record.slot]!;
  let delayMs = 0;
  let breakerOpen = false;
  if (cause === 'crash') {
    const { timesMs, verdict } = afterCrash(slot.crashTimesMs, core.platform.now(), core.config);
    slot.crashTimesMs = timesMs;
    if (verdict.kind === 'give-up') breakerOpen = true;
    else delayMs = verdict.delayMs;
  }
  const successor = record.successor;
  if (successor !== null && successor.state === 'starting') return; // it serves once ready; stopping `record` unlinked it
  if (breakerOpen && error instanceof ProverPoolCrashError) giveUp(core, record.slot, 'crash-loop', slot.crashTimesMs.length, error);
  else if (delayMs > 0) scheduleRestart(core, record.slot, delayMs, cause);
  else core.act.spawn(record.slot, cause, null);
}

/** Starts the slot again after `delayMs` (one pending restart per slot). */
function scheduleRestart(core: PoolCore, slotIndex: number, delayMs: number, cause: StartCause): void {
  const slot = core.slots[slotIndex]!;
  if (slot.restartTimer !== null) return;
  slot.retryAtMs = Math.max(slot.retryAtMs, core.platform.now() + delayMs); // health: when the slot starts again
  slot.restartTimer = setTimeout(() => {
    slot.restartTimer = null;
    if (core.state === 'open') core.act.spawn(slotIndex, cause, null);
  }, delayMs);
  holdWhileQueued(core);
}

/** The slot stays empty: said by an event and in the health; jobs go to the other isolates, or are refused. */
function giveUp(core: PoolCore, slotIndex: number, reason: SlotGiveUpReason, count: number, error: ProverPoolStartError | ProverPoolCrashError): void {
  const slot = core.slots[slotIndex]!;
  slot.givenUp = { reason, atMs: core.platform.now() };
  const what = reason === 'crash-loop' ? `its isolates crashed ${count} times within crashWindowMs ${core.config.crashWindowMs}` : `it failed to start ${count} times in a row`;
  core.events.emit('slot-given-up', { slot: slotIndex, reason, count, error, servingIsolateId: null });
  core.events.emit('error', { error, context: `slot ${slotIndex}: ${what}: given up; its jobs go to the other isolates` });
  core.act.dispatch();
}

/** A pending restart keeps a Node process alive only while jobs wait for it; otherwise the pool's timers never do. */
export function holdWhileQueued(core: PoolCore): void {
  const hold = core.queue.length > 0;
  for (const { restartTimer } of core.slots) {
    const timer = restartTimer as { ref?: () => void; unref?: () => void } | null;
    if (hold) timer?.ref?.();
    else timer?.unref?.();
  }
}
