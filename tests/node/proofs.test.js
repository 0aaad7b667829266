// Proofs through the node backend (o1js's withThreadPool) in real
// worker_threads: before, during and after a recycle, and under 20 concurrent
// operations with recycles landing while they run. Every proof must equal the
// native insta snapshot and verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, sleep, within } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node');
const { wasm, withThreadPool, recycleThreadPool, poolHealth } = backend;
// Recycles in these tests are asked for explicitly; the coordinator must not add its own.
backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1 });

test('proofs before, during and after a recycle equal the snapshots and verify', { timeout: 120_000 }, async () => {
  await within(90_000, 'proofs around recycles', withThreadPool(async () => {
    assert.equal(poolHealth().threads, 2, 'the pool started with 2 workers');
    for (const c of PROOF_CASES) {
      const beforeMs = proveAndCheck(wasm, c, 'before');
      const generation = poolHealth().generation;

      // A recycle starts; a proof submitted meanwhile is served, not failed.
      const recycling = recycleThreadPool();
      const seen = [];
      const duringMs = await withThreadPool(async () => {
        seen.push(poolHealth().state);
        return proveAndCheck(wasm, c, 'during');
      });
      const report = await recycling;
      assert.deepEqual(seen, ['recycling'], 'the second proof ran while the pool recycled');
      assert.equal(report.fromGeneration, generation);
      assert.equal(report.toGeneration, generation + 1);
      assert.deepEqual(report.workers, { exited: 2, forced: 0, reclaimed: 0 }, 'old workers left on their own');

      const afterMs = proveAndCheck(wasm, c, 'after');
      assert.equal(poolHealth().generation, generation + 1);
      console.log(
        `k=${c.k}: prove before ${beforeMs.toFixed(0)} ms, during ${duringMs.toFixed(0)} ms, after ${afterMs.toFixed(0)} ms; ` +
          `recycle ${report.totalMs.toFixed(1)} ms (start ${report.startMs.toFixed(1)}, drain ${report.drainMs.toFixed(1)}, ` +
          `exit ${report.exitMs.toFixed(1)})`,
      );
    }
  }));
  assert.equal(withThreadPool.state(), 'none', 'the pool exits after its last user');
  assert.equal(poolHealth().state, 'uninit');
});

test('20 concurrent operations with recycles while they run: all complete, all proofs correct', { timeout: 120_000 }, async () => {
  const OPERATIONS = 20;
  const RECYCLES = 4;
  const recycles = [];
  let running = 0;
  let completed = 0;
  let peakConcurrent = 0;
  // An operation as an o1js app runs one: asynchronous steps around
  // synchronous proofs. All 20 are inside withThreadPool at once; their proofs
  // (k=8, ~260 ms) are spread out so the event loop breathes between them (a
  // recycle's phases need the main thread's event loop). Recycles start as
  // operations complete (after 4, 8, 12, 16), so each one lands while others
  // are still inside; the last operation proves after the last recycle. What
  // is asserted holds however the machine schedules them.
  let recyclerDone;
  const recycler = new Promise((resolve) => (recyclerDone = resolve));
  const operation = (i) =>
    withThreadPool(async () => {
      running++;
      peakConcurrent = Math.max(peakConcurrent, running);
      try {
        await sleep(150 * i);
        if (i === OPERATIONS - 1) await recycler;
        const c = PROOF_CASES[0];
        const generation = poolHealth().generation;
        proveAndCheck(wasm, c, `operation ${i}`);
        completed++;
        return generation;
      } finally {
        running--;
      }
    });

  const all = Promise.all(Array.from({ length: OPERATIONS }, (_, i) => operation(i)));
  const recycling = (async () => {
    for (let r = 1; r <= RECYCLES; r++) {
      while (completed < 4 * r) await sleep(5);
      assert.ok(running > 0, 'operations are still inside withThreadPool when the recycle starts');
      recycles.push(await recycleThreadPool());
    }
    recyclerDone();
  })();
  const generations = await within(100_000, `${OPERATIONS} operations`, all);
  await within(30_000, 'the recycler', recycling);

  assert.equal(generations.length, OPERATIONS);
  assert.equal(recycles.length, RECYCLES, `${RECYCLES} recycles completed while operations ran`);
  const first = generations[0];
  assert.equal(generations.at(-1), first + RECYCLES, 'the last operation ran on the generation of the last recycle');
  for (const generation of generations) {
    assert.ok(generation >= first && generation <= first + RECYCLES, `generation ${generation} is one of the recycles'`);
  }
  const served = new Set(generations);
  assert.equal(withThreadPool.state(), 'none');
  console.log(
    `${OPERATIONS} operations (peak ${peakConcurrent} concurrent) served by ` +
      `generations ${[...served].join(', ')} across ${recycles.length} recycles of ` +
      `${recycles.map((r) => r.totalMs.toFixed(0)).join(', ')} ms`,
  );
});
