/**
 * The prover pool's health: `pool.health()` (health.ts has the shapes) and
 * the idle timer, which reads idle isolates and checks them against the
 * limits while no job ends. A busy isolate cannot answer (a proof blocks its
 * thread): it is reported with the snapshot from the end of its last job.
 *
 * Invariant kept here: I5 (every wait is bounded): an isolate's answer to a
 * health request is awaited at most healthTimeoutMs.
 */
import type { IsolateHealth, ProverPoolHealth } from './health.js';
import type { IsolateRecord, PoolCore } from './pool-core.js';

/** The pool's health: each isolate with its latest snapshot (idle ones asked for a fresh one), queue, totals, process RSS. */
export async function health(core: PoolCore): Promise<ProverPoolHealth> {
  await Promise.all([...core.isolates.values()].filter((r) => r.state === 'idle').map((r) => refreshSnapshot(core, r)));
  const now = core.platform.now();
  const isolates: IsolateHealth[] = [...core.isolates.values()].map((r) => ({
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
  return {
    state: core.state,
    queued: core.queue.length,
    running: isolates.filter((i) => i.job !== null).length,
    isolates,
    processRssBytes: core.platform.processRssBytes(),
    totals: { ...core.totals },
    timestampMs: now,
  };
}

/** Asks an idle isolate for a snapshot; resolves when it answered or healthTimeoutMs passed (I5). */
function refreshSnapshot(core: PoolCore, record: IsolateRecord): Promise<void> {
  return new Promise<void>((resolve) => {
    const requestId = core.nextId.request++;
    const timer = setTimeout(() => answer(), core.config.healthTimeoutMs);
    const answer = () => {
      clearTimeout(timer);
      record.healthRequests.delete(requestId);
      resolve();
    };
    record.healthRequests.set(requestId, answer);
    try {
      record.channel?.post({ type: 'health', requestId });
    } catch {
      answer();
    }
  });
}

/** The idle timer's tick: fresh snapshots of idle isolates without a successor, each checked against the limits. */
export async function idleCheck(core: PoolCore): Promise<void> {
  if (core.idleCheckRunning || core.state !== 'open') return;
  core.idleCheckRunning = true;
  try {
    const idle = [...core.isolates.values()].filter((r) => r.state === 'idle' && r.successor === null);
    await Promise.all(idle.map((r) => refreshSnapshot(core, r)));
    for (const record of idle) core.act.evaluate(record);
  } finally {
    core.idleCheckRunning = false;
  }
}
