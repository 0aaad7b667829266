// The page reads the pool's health while the main worker is blocked in a
// k=10 proof: the supervisor answers, the page's event loop keeps turning,
// and the snapshots show the job in flight on the serving generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';

const K = 10;
const SEED = 3;

test('health is readable from the page while a proof runs in the main worker', { timeout: 120_000 }, async () => {
  const harness = await openHarness({ threads: 2 });
  try {
    const result = await harness.run(
      'health reads during a proof',
      async (h, { k, seed }) => {
        const { backend, sleep } = h;
        return backend.withThreadPool(async () => {
          // Keys for k are made on the first proof; time the second.
          const t0 = performance.now();
          await backend.callInWorker('fixtureProve', k, seed);
          const firstMs = performance.now() - t0;

          let settled = false;
          const t1 = performance.now();
          const proving = backend.callInWorker('fixtureProve', k, seed).finally(() => (settled = true));
          const samples = [];
          let lastTurn = performance.now();
          let longestGapMs = 0;
          while (!settled) {
            const asked = performance.now();
            const health = await backend.poolHealth();
            samples.push({ answeredInMs: performance.now() - asked, generation: health.generation, inFlight: health.inFlight, jobs: health.workers.map((w) => w.jobs) });
            await sleep(10);
            const now = performance.now();
            longestGapMs = Math.max(longestGapMs, now - lastTurn);
            lastTurn = now;
          }
          const proof = await proving;
          const proveMs = performance.now() - t1;
          return { firstMs, proveMs, samples, longestGapMs, verified: await backend.callInWorker('fixtureVerify', k, proof) };
        });
      },
      { k: K, seed: SEED },
      90_000,
    );

    const { samples } = result;
    const busy = samples.filter((s) => s.inFlight >= 1);
    assert.ok(samples.length >= 10, `read health ${samples.length} times during the proof: expected at least 10`);
    assert.ok(busy.length >= samples.length / 2, `${busy.length} of ${samples.length} snapshots showed the proof in flight`);
    assert.ok(busy.every((s) => s.generation !== null && s.generation >= 1), 'the serving generation is known during the proof');
    assert.ok(result.longestGapMs < 500, `the page kept turning: longest gap between health reads ${result.longestGapMs.toFixed(0)} ms`);
    assert.equal(result.verified, true);
    const answered = samples.map((s) => s.answeredInMs).sort((a, b) => a - b);
    console.log(
      `browser k=${K}: prove ${result.firstMs.toFixed(0)} ms (first, incl. keygen), ${result.proveMs.toFixed(0)} ms (keys cached); ` +
        `${samples.length} health reads during it (${busy.length} with the job in flight), median answer ` +
        `${answered[Math.floor(answered.length / 2)].toFixed(1)} ms, longest page gap ${result.longestGapMs.toFixed(0)} ms`,
    );
  } finally {
    await harness.close();
  }
});
