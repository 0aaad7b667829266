// The standby generation on real worker_threads (configureThreadPool({ standby: true })):
// workers started ahead and parked, which a recycle swaps in instead of
// starting workers; the next standby is started after it; a standby that
// lost a worker is retired, never swapped in; turning it off retires it.
// Proofs are checked against the native snapshots before and after each step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node', { lifetime: 'process' });
const { wasm, withThreadPool, recycleThreadPool, exitThreadPool, poolHealth, workerHost, configureThreadPool } = backend;
backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1 });

/** Waits (bounded) until the pool has a ready standby other than `previous`; returns its generation. */
async function readyStandby(previous = null) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { standby } = poolHealth();
    if (standby !== null && standby.phase === 'ready' && standby.generation !== previous) return standby.generation;
    assert.ok(Date.now() < deadline, `no ready standby after 30 s (standby: ${JSON.stringify(standby)})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The generations the supervisor has live workers of, each with its count. */
async function liveWorkers() {
  const counts = {};
  for (const w of await within(10_000, 'the worker list', workerHost.list())) {
    if (w.state !== 'exited') counts[w.generation] = (counts[w.generation] ?? 0) + 1;
  }
  return counts;
}

const prove = (label, c = PROOF_CASES[0]) => within(60_000, label, withThreadPool(async () => proveAndCheck(wasm, c, label)));

test('a recycle swaps in the standby, a new one follows, a broken one is retired, and turning it off retires it', { timeout: 240_000 }, async () => {
  assert.equal(configureThreadPool({ standby: true }).standby, true);
  await prove('first proof');
  const serving = poolHealth().generation;
  const standby = await readyStandby();
  assert.ok(standby > serving);
  assert.deepEqual(await liveWorkers(), { [serving]: 2, [standby]: 2 }, 'the standby\'s workers are up beside the serving ones');
  await prove('a proof beside the standby', PROOF_CASES[1]);
  assert.equal(poolHealth().generation, serving, 'the standby took no job');

  const swap = await within(30_000, 'a recycle', recycleThreadPool());
  assert.equal(swap.standby, true, `the recycle only swapped: ${JSON.stringify(swap)}`);
  assert.deepEqual([swap.fromGeneration, swap.toGeneration, swap.threads, swap.workers.forced], [serving, standby, 2, 0]);
  assert.equal(poolHealth().generation, standby);
  await prove('a proof on the swapped-in generation');

  // A standby that loses a worker is never swapped in: the next recycle starts its own generation.
  const next = await readyStandby(standby);
  const lost = new Promise((resolve) => {
    const off = workerHost.on((event) => {
      if (event.type === 'worker-lost' && event.generation === next) resolve(off());
    });
  });
  await workerHost.kill(next, 0);
  await within(30_000, 'the standby\'s worker loss to be reported', lost);
  assert.equal(poolHealth().state, 'running', 'the serving generation is not touched');
  await prove('a proof after the standby lost a worker', PROOF_CASES[1]);
  const fresh = await within(30_000, 'a recycle past the broken standby', recycleThreadPool({ exitTimeoutMs: 1_000 }));
  assert.equal(fresh.standby, false, 'the broken standby was retired, not swapped in');
  assert.ok(fresh.toGeneration > next);
  assert.equal(poolHealth().generation, fresh.toGeneration);
  await prove('a proof after the recycle past it');
  const afterFresh = await readyStandby(next);
  assert.equal((await liveWorkers())[next], undefined, 'the broken standby\'s workers are gone');

  // Off: the standby is retired at once and recycles start their generation again.
  configureThreadPool({ standby: false });
  const deadline = Date.now() + 30_000;
  while (poolHealth().standby !== null) {
    assert.ok(Date.now() < deadline, 'the standby was not retired within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal((await liveWorkers())[afterFresh], undefined, 'its workers left');
  const plain = await within(30_000, 'a recycle with the standby off', recycleThreadPool());
  assert.equal(plain.standby, false);
  await prove('a proof after a plain recycle', PROOF_CASES[1]);
  assert.equal(poolHealth().standby, null, 'no standby is started with it off');
  await within(30_000, 'exit', exitThreadPool());
  assert.deepEqual(await liveWorkers(), {}, 'no worker of any generation is left after the exit');
});
