// A rayon worker killed from outside while a proof runs: the supervisor sees
// it, signals the loss through shared memory and poisons the generation; the
// proof fails with the typed error (or completes) within a bound, and the
// next job gets a rebuilt pool that proves the snapshot bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';
import { PROOF_CASES, expectedProof } from '../node/snapshots.js';

test('a rayon worker killed during a proof: typed error, then a rebuilt pool proves', { timeout: 120_000 }, async () => {
  const harness = await openHarness({ threads: 2 }, { expectedConsoleErrors: [/^plonk-wasm ERROR plonk_wasm::pool: (worker lost|job lost with a worker)/] });
  try {
    const c = PROOF_CASES[1];
    const result = await harness.run(
      'a worker loss during a proof',
      async (h, { k, seed }) => {
        const { backend, errors, toHex } = h;
        const events = [];
        backend.workerHost.on((event) => events.push(event));
        const rebuilds = [];
        backend.poolHealthCoordinator.on('recycle', ({ decision, report }) => rebuilds.push({ kind: decision.kind, cause: report.cause }));
        return backend.withThreadPool(async () => {
          await backend.callInWorker('fixtureProve', k, seed); // keys, so the next proof is all proving
          const { generation } = await backend.poolHealth();
          await backend.workerHost.kill(generation, 1, { afterMs: 250 });
          const t0 = performance.now();
          let outcome;
          try {
            outcome = { proofHex: toHex(await backend.callInWorker('fixtureProve', k, seed)) };
          } catch (error) {
            outcome = { code: error.code, isWorkerLost: error instanceof errors.PoolWorkerLostError, message: error.message };
          }
          outcome.settledMs = performance.now() - t0;
          const poisoned = await backend.poolHealth();
          const proof = await backend.withThreadPool(() => backend.callInWorker('fixtureProve', k, seed));
          const rebuilt = await backend.poolHealth();
          return { generation, outcome, poisoned, rebuilt, proofHex: toHex(proof), events, rebuilds };
        });
      },
      c,
      90_000,
    );

    const lost = result.events.filter((e) => e.type === 'worker-lost');
    assert.equal(lost.length, 1, `one loss reported (${JSON.stringify(result.events)})`);
    assert.equal(lost[0].generation, result.generation);
    assert.match(lost[0].reason, /terminated from outside/);
    if (result.outcome.proofHex === undefined) {
      assert.equal(result.outcome.code, 'POOL_WORKER_LOST', result.outcome.message);
      assert.equal(result.outcome.isWorkerLost, true);
    } else {
      assert.equal(result.outcome.proofHex, expectedProof(c).toString('hex'), 'a proof that completed is still correct');
    }
    assert.ok(result.outcome.settledMs < 30_000, `the proof in flight settled in ${result.outcome.settledMs.toFixed(0)} ms`);
    assert.equal(result.poisoned.state, 'poisoned');
    assert.equal(result.poisoned.poisoned.generation, result.generation);
    assert.deepEqual(result.rebuilds, [{ kind: 'rebuild', cause: 'poisoned' }]);
    assert.equal(result.rebuilt.state, 'running');
    assert.ok(result.rebuilt.generation > result.generation);
    assert.equal(result.proofHex, expectedProof(c).toString('hex'), 'the rebuilt pool proves the snapshot bytes');
    console.log(
      `browser worker loss: the proof in flight ${result.outcome.code ?? 'completed'} after ${result.outcome.settledMs.toFixed(0)} ms; ` +
        `generation ${result.generation} → ${result.rebuilt.generation} rebuilt before the next job`,
    );
  } finally {
    await harness.close();
  }
});
