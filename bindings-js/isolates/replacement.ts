/**
 * The prover pool's blue/green replacement: checking an idle isolate against
 * the limits (replacement-policy.ts), starting its successor, retiring it
 * once the successor serves, `replaceIsolate()`, and the report once the old
 * isolate is terminated.
 *
 * Invariants kept here:
 *   I3. Blue/green (with isolate-slots.ts): an isolate stops taking jobs only
 *       once its successor is ready (`retire`), and is terminated only once
 *       its job ended (a busy one drains first). So no job fails or waits
 *       because of a replacement.
 *   I4. Each slot has at most one successor warming for it (`evaluate` skips
 *       an isolate that has one), and the pool at most one replacement for
 *       limits or for replaceIsolate() warming at a time (memory for two
 *       instances of one slot, not of all of them): one asked for meanwhile
 *       waits its turn (`startWaitingReplacement`, when the warming one is
 *       ready or failed). Faults and a lack of headroom are exempt, and so
 *       are refills after a crash, an abort or a deadline (slot-restarts.ts),
 *       which fill an empty slot.
 *   I12. The pool never crosses limits.rssBudgetBytes by starting a
 *       successor: every successor starts through `startSuccessor`, which
 *       stops its predecessor first when the budget forbids two instances
 *       (stop-then-start; rss-budget.ts), and says so.
 */
import { deferred } from '../lib/proof-system/kernel/deferred.js';
import { ProverPoolClosedError, ProverPoolConfigError, ProverPoolReplacementError } from './errors.js';
import { moveIsolate } from './lifecycle.js';
import { readingOf, type IsolateRecord, type PendingReplacement, type PoolCore, type StoppedPredecessor } from './pool-core.js';
import type { ReplacementReport, StopReason } from './pool-events.js';
import { decideReplacement, type ReplacementLead, type ReplacementMetric } from './replacement-policy.js';
import { budgetForbidsSuccessor } from './rss-budget.js';

/** Metrics that replace at once, outside the one-at-a-time rule (I4). */
const URGENT_METRICS: readonly ReplacementMetric[] = ['headroomBytes', 'outOfMemory', 'wasmPanic'];

/** Checks an idle isolate against the limits and starts its replacement when one is reached; on an isolate being replaced, reports its last job's fault. */
export function evaluate(core: PoolCore, record: IsolateRecord): void {
  if (core.state !== 'open') return;
  if (record.successor !== null || record.state === 'draining') return reportFaultUnderWay(core, record);
  if (record.state !== 'idle') return;
  const now = core.platform.now();
  const slot = core.slots[record.slot]!;
  if (now < slot.retryAtMs) return; // a successor failed to start: the backoff first
  const result = decideReplacement(readingOf(core, record), core.config.limits, record.policy, core.policy, now, leadFor(core, record));
  const { decision } = result;
  const urgent = decision.kind === 'replace' && URGENT_METRICS.includes(decision.metric);
  if (record.replacement !== null && !urgent) return; // waiting for its turn (I4)
  // I4: one replacement for limits warming at a time; none after the slot's replacements were given up.
  if (decision.kind === 'replace' && !urgent && (replacementWarming(core) || slot.replacementGivenUp)) return;
  record.policy = result.isolate;
  core.policy = result.pool;
  if (decision.kind === 'keep') {
    // Reported on its edges: a reason that repeats is not news.
    if (decision.reason !== null && decision.reason !== record.lastKeepReason) core.events.emit('decision', { isolateId: record.id, decision });
    record.lastKeepReason = decision.reason;
    return;
  }
  core.events.emit('decision', { isolateId: record.id, decision });
  if (record.replacement !== null) startSuccessor(core, record); // a fault does not wait its turn
  else replace(core, record, decision.metric, decision.reason);
}

/**
 * A job fault on an isolate whose replacement is already under way (its
 * successor warms or serves, or it drains to stop) changes nothing: it takes
 * no job meanwhile (job-queue.ts) and the replacement under way ends it. It is
 * still the decision a fault makes, so it is reported as one, once (the
 * crossing latches), for whoever counts faults by their decisions.
 */
function reportFaultUnderWay(core: PoolCore, record: IsolateRecord): void {
  if (record.fault === null || record.policy.latched[record.fault] !== undefined) return;
  const result = decideReplacement(readingOf(core, record), core.config.limits, record.policy, core.policy, core.platform.now(), leadFor(core, record));
  if (result.decision.kind !== 'replace' || result.decision.metric !== record.fault) return;
  record.policy = result.isolate;
  core.events.emit('decision', { isolateId: record.id, decision: result.decision });
}

/**
 * How far ahead a successor must start (limits.replaceAhead): this isolate's
 * own start, spawn to ready (its successor loads the same module and runs the
 * same warm step), and the pool's mean job run time. None when the RSS budget
 * forbids the successor beside it: a stop-then-start successor cannot warm
 * ahead, so the isolate serves up to the limit itself.
 */
function leadFor(core: PoolCore, record: IsolateRecord): ReplacementLead {
  if (core.config.limits.replaceAhead && budgetForbidsSuccessor(core, record) !== null) return { startMs: null, jobMs: null };
  const run = core.stats.run.summary();
  return {
    startMs: record.readyAtMs === null ? null : record.readyAtMs - record.spawnedAtMs,
    jobMs: run.count === 0 ? null : run.sumMs / run.count,
  };
}

function replacementWarming(core: PoolCore): boolean {
  for (const record of core.isolates.values()) if (record.state === 'starting' && record.cause === 'replacement') return true;
  return false;
}

/** Decides `record`'s replacement; its successor starts now, or (I4) once the one warming is done. `record` keeps serving (I3). */
function replace(core: PoolCore, record: IsolateRecord, metric: ReplacementMetric | 'requested', reason: string): PendingReplacement {
  const pending: PendingReplacement = { metric, reason, decidedAtMs: core.platform.now(), successorReadyAtMs: null, waiters: [], order: 'blue-green' };
  const urgent = metric !== 'requested' && URGENT_METRICS.includes(metric);
  const waits = !urgent && replacementWarming(core);
  record.replacement = pending;
  if (!waits) startSuccessor(core, record);
  return pending;
}

/**
 * Starts `record`'s successor (I12): blue/green, or, when limits.rssBudgetBytes
 * forbids two instances, `record` stops taking jobs now (after its running
 * job) and its successor is spawned once it is stopped (`settleReplacement`).
 */
function startSuccessor(core: PoolCore, record: IsolateRecord): void {
  const pending = record.replacement as PendingReplacement;
  const forbidden = budgetForbidsSuccessor(core, record);
  if (forbidden === null) {
    core.act.spawn(record.slot, 'replacement', record);
    return;
  }
  pending.order = 'stop-then-start';
  core.events.emit('stop-then-start', { isolateId: record.id, slot: record.slot, ...forbidden });
  retire(core, record, core.platform.now());
}

/** The oldest replacement waiting for its turn starts, once none warms (I4). */
export function startWaitingReplacement(core: PoolCore): void {
  if (core.state !== 'open' || replacementWarming(core)) return;
  let next: IsolateRecord | null = null;
  for (const record of core.isolates.values()) {
    const pending = record.replacement;
    if (pending === null || record.successor !== null || (record.state !== 'idle' && record.state !== 'busy')) continue;
    if (next === null || pending.decidedAtMs < (next.replacement as PendingReplacement).decidedAtMs) next = record;
  }
  if (next !== null) startSuccessor(core, next);
}

/**
 * Replaces an isolate now (blue/green, as for a limit); `isolateId` defaults
 * to the oldest serving isolate. Resolves with the report once the old
 * isolate is terminated; joins a replacement already under way.
 */
export function replaceIsolate(core: PoolCore, isolateId?: unknown): Promise<ReplacementReport> {
  if (isolateId !== undefined && !(Number.isSafeInteger(isolateId) && (isolateId as number) >= 1)) {
    return Promise.reject(new ProverPoolConfigError('replaceIsolate.isolateId', isolateId, "an isolate's id (a whole number from 1), or undefined for the oldest serving isolate"));
  }
  if (core.state !== 'open') return Promise.reject(new ProverPoolClosedError('submitted', core.state));
  let target: IsolateRecord | null = null;
  for (const record of core.isolates.values()) {
    const serving = record.state === 'idle' || record.state === 'busy';
    if (!serving || (isolateId !== undefined && record.id !== isolateId)) continue;
    if (target === null || record.spawnedAtMs < target.spawnedAtMs) target = record;
  }
  if (target === null) {
    return Promise.reject(new RangeError(`no serving isolate${isolateId === undefined ? '' : ` with id ${isolateId}`}: expected an idle or busy one`));
  }
  const pending = target.replacement ?? replace(core, target, 'requested', 'replaceIsolate() was called');
  core.policy = { lastReplacementMs: pending.decidedAtMs };
  const waiter = deferred<ReplacementReport>();
  pending.waiters.push(waiter);
  return waiter.promise;
}

/** Its successor is serving (I3): an idle isolate stops now, a busy one after its job (draining). */
export function retire(core: PoolCore, record: IsolateRecord, successorReadyAtMs: number): void {
  if (record.replacement !== null) record.replacement.successorReadyAtMs = successorReadyAtMs;
  if (record.state === 'idle') void core.act.stop(record, 'replaced');
  else if (record.state === 'busy') moveIsolate(record, 'draining');
  // stopping / stopped: it was lost or aborted meanwhile; nothing left to retire.
}

/** The times of an old isolate's terminate, for its replacement's report. */
export interface TerminateTimes {
  readonly startedMs: number;
  readonly endedMs: number;
  readonly rssBefore: number | null;
  readonly rssAfter: number | null;
}

/**
 * `record` is terminated: its replacement, if one was pending, is reported
 * (blue/green: its successor serves), its successor is spawned
 * (stop-then-start: reported once ready), or its waiters are told it will not
 * complete.
 */
export function settleReplacement(core: PoolCore, record: IsolateRecord, reason: StopReason, times: TerminateTimes): void {
  const pending = record.replacement;
  record.replacement = null;
  if (pending === null) return;
  const stopped: StoppedPredecessor = { pending, id: record.id, jobs: record.jobs, ageMs: times.endedMs - record.spawnedAtMs, snapshot: record.snapshot, times };
  const successor = record.successor;
  if (reason === 'replaced' && successor !== null) {
    reportReplacement(core, record.slot, stopped, successor);
    return;
  }
  if (reason === 'replaced' && pending.order === 'stop-then-start' && core.state === 'open') {
    core.act.spawn(record.slot, 'replacement', null).stoppedPredecessor = stopped;
    return;
  }
  // Crashes, aborts and deadlines told the waiters already (isolate-faults.ts): here, idle scale-down or a close.
  const error = reason === 'closed' || core.state !== 'open' ? new ProverPoolClosedError('submitted', core.state) : new ProverPoolReplacementError(record.id, reason);
  for (const waiter of pending.waiters) waiter.reject(error);
}

/** A stop-then-start successor is ready: its replacement is complete. */
export function settleStopThenStart(core: PoolCore, successor: IsolateRecord): void {
  const stopped = successor.stoppedPredecessor;
  successor.stoppedPredecessor = null;
  if (stopped !== null) reportReplacement(core, successor.slot, stopped, successor);
}

/** A stop-then-start successor did not start: its predecessor is gone, so the replacement did not complete. */
export function failStopThenStart(successor: IsolateRecord, error: unknown): void {
  const stopped = successor.stoppedPredecessor;
  successor.stoppedPredecessor = null;
  for (const waiter of stopped?.pending.waiters ?? []) waiter.reject(new ProverPoolReplacementError(stopped!.id, 'start-failed', error));
}

/** The replacement is complete (its predecessor stopped and its successor ready): counted, emitted, and its replaceIsolate() callers resolved. */
function reportReplacement(core: PoolCore, slot: number, old: StoppedPredecessor, successor: IsolateRecord): void {
  const { pending, times } = old;
  const { startedMs, endedMs, rssBefore, rssAfter } = times;
  const blueGreen = pending.order === 'blue-green';
  const newReadyMs = successor.readyAtMs ?? endedMs;
  const report: ReplacementReport = {
    slot,
    oldIsolateId: old.id,
    newIsolateId: successor.id,
    metric: pending.metric,
    reason: pending.reason,
    order: pending.order,
    newStartMs: newReadyMs - successor.spawnedAtMs,
    newLoadMs: successor.loadMs ?? 0,
    newWarmMs: successor.warmMs ?? 0,
    drainMs: startedMs - (pending.successorReadyAtMs ?? startedMs),
    terminateMs: endedMs - startedMs,
    totalMs: (blueGreen ? endedMs : newReadyMs) - pending.decidedAtMs,
    old: { jobs: old.jobs, ageMs: old.ageMs, snapshot: old.snapshot },
    new: { snapshot: successor.snapshot },
    processRssBytes: rssBefore === null || rssAfter === null ? null : { beforeTerminate: rssBefore, afterTerminate: rssAfter },
  };
  core.totals.replacements++;
  core.events.emit('replacement', report);
  for (const waiter of pending.waiters) waiter.resolve(report);
}
