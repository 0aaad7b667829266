// Node only: 20 concurrent operations through the node backend (o1js's
// withThreadPool) with recycles landing while they run, which needs the main
// thread's event loop between synchronous proofs. Every proof must equal the
// native insta snapshot and verify. (Proofs before, during and after a
// recycle, on both backends: tests/conformance/cases.js.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, sleep, within } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node');
const { wasm, withThreadPool, recycleThreadPool, poolHealth } = backend;
// Recycles in these tests are asked for explicitly; the coordinator must not add its own.
backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1 });

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
  // The recycles are this test's own, one after the other, so their count is
  // not up to the machine; the last operation waits for them, and is let go
  // even if one fails (that error then fails the test, not a timeout).
  const recycling = (async () => {
    try {
      for (let r = 1; r <= RECYCLES; r++) {
        while (completed < 4 * r) await sleep(5);
        assert.ok(running > 0, 'operations are still inside withThreadPool when the recycle starts');
        recycles.push(await recycleThreadPool());
      }
    } finally {
      recyclerDone();
    }
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
