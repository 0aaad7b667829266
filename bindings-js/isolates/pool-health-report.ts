/**
 * The prover pool's health: `pool.health()` (health.ts has the shapes) and
 * the idle timer, which reads idle isolates, checks them against the limits
 * and scales idle isolates down (scale.ts) while no job ends. A busy isolate
 * cannot answer (a proof blocks its thread): it is reported with the snapshot
 * from the end of its last job.
 *
 * Invariant kept here: I5 (every wait is bounded): an isolate's answer to a
 * health request is awaited at most healthTimeoutMs. The timer of that wait
 * never keeps a Node process alive; a request from `pool.health()` holds the
 * isolate (its thread keeps the process alive until it answers), one from the
 * idle timer does not.
 */
import type { IsolateHealth, ProverPoolHealth, SlotHealth } from './health.js';
import { utilization } from './job-stats.js';
import { unref, type IsolateRecord, type PoolCore } from './pool-core.js';
import { TO_ISOLATE } from './protocol.js';
import { scaleDown } from './scale.js';
import { crashesInWindow } from './slot-policy.js';

/** The pool's health: each isolate with its latest snapshot (idle ones asked for a fresh one), slots, queue, service figures, totals, RSS. */
export async function health(core: PoolCore): Promise<ProverPoolHealth> {
  await Promise.all([...core.isolates.values()].filter((r) => r.state === 'idle').map((r) => refreshSnapshot(core, r, true)));
  const now = core.platform.now();
  const records = [...core.isolates.values()];
  const isolates: IsolateHealth[] = records.map((r) => ({
    id: r.id,
    slot: r.slot,
    state: r.state,
    role: r.state === 'starting' ? 'warming' : r.state === 'draining' || r.state === 'stopping' ? 'retiring' : 'serving',
    jobs: r.jobs,
    ageMs: now - r.spawnedAtMs,
    startMs: r.readyAtMs === null ? null : r.readyAtMs - r.spawnedAtMs,
    loadMs: r.loadMs,
    warmMs: r.warmMs,
    job: r.job === null ? null : { id: r.job.id, name: r.job.name, runningMs: now - (r.job.startedAtMs ?? now) },
    snapshot: r.snapshot,
    snapshotAgeMs: r.snapshotAtMs === null ? null : now - r.snapshotAtMs,
    successorId: r.successor?.id ?? null,
    predecessorId: r.predecessor?.id ?? null,
  }));
  const runningMs = isolates.reduce((sum, i) => sum + (i.job?.runningMs ?? 0), 0);
  return {
    state: core.state,
    queued: core.queue.length,
    running: isolates.filter((i) => i.job !== null).length,
    maxQueuedJobs: core.config.maxQueuedJobs,
    needsDrain: core.needsDrain,
    isolates,
    slots: core.slots.map((_, slot) => slotHealth(core, slot, records, now)),
    processRssBytes: core.platform.processRssBytes(),
    totals: { ...core.totals },
    uptimeMs: now - core.stats.startedAtMs,
    busyMs: core.stats.busyMs + runningMs,
    utilization: utilization(core.stats, now, core.config.isolates, runningMs),
    waitTimeMs: core.stats.wait.summary(),
    runTimeMs: core.stats.run.summary(),
    timestampMs: now,
  };
}

function slotHealth(core: PoolCore, index: number, records: readonly IsolateRecord[], now: number): SlotHealth {
  const slot = core.slots[index]!;
  const mine = records.filter((r) => r.slot === index && r.state !== 'stopping' && r.state !== 'stopped');
  const serving = mine.find((r) => r.state === 'idle' || r.state === 'busy' || r.state === 'draining') ?? null;
  const starting = mine.find((r) => r.state === 'starting') ?? null;
  const state: SlotHealth['state'] =
    slot.givenUp !== null ? 'given-up' : serving !== null ? 'serving' : starting !== null ? 'starting' : slot.parked ? 'parked' : 'restarting';
  return {
    slot: index,
    state,
    isolateId: (serving ?? starting)?.id ?? null,
    startFailures: slot.startFailures,
    crashesInWindow: crashesInWindow(slot.crashTimesMs, now, core.config.crashWindowMs),
    retryAtMs: slot.retryAtMs > now ? slot.retryAtMs : null,
    givenUp: slot.givenUp?.reason ?? null,
    replacementGivenUp: slot.replacementGivenUp,
  };
}

/**
 * Asks an idle isolate for a snapshot; resolves when it answered or
 * healthTimeoutMs passed (I5). `hold`: the isolate keeps the process alive
 * meanwhile (someone awaits the answer).
 */
function refreshSnapshot(core: PoolCore, record: IsolateRecord, hold: boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const requestId = core.nextId.request++;
    const timer = unref(setTimeout(() => answer(), core.config.healthTimeoutMs));
    const answer = () => {
      clearTimeout(timer);
      record.healthRequests.delete(requestId);
      if (hold && record.state === 'idle') record.channel?.keepAlive(false);
      resolve();
    };
    record.healthRequests.set(requestId, answer);
    try {
      if (hold) record.channel?.keepAlive(true);
      record.channel?.post({ type: TO_ISOLATE.health, token: record.token, requestId });
    } catch {
      answer();
    }
  });
}

/** The idle timer's tick: fresh snapshots of idle isolates without a successor, each checked against the limits; then the scale-down. */
export async function idleCheck(core: PoolCore): Promise<void> {
  if (core.idleCheckRunning || core.state !== 'open') return;
  core.idleCheckRunning = true;
  try {
    const idle = [...core.isolates.values()].filter((r) => r.state === 'idle' && r.successor === null);
    await Promise.all(idle.map((r) => refreshSnapshot(core, r, false)));
    for (const record of idle) core.act.evaluate(record);
    scaleDown(core);
  } finally {
    core.idleCheckRunning = false;
  }
}
