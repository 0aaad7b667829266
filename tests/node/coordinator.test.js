// The pool health coordinator inside the node backend, against real threaded
// wasm: it recycles on a jobs-per-generation threshold before jobs, on a pool
// age threshold from its idle timer (no job asking), and refuses with the
// typed memory error carrying the real health. Every proof equals the snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within, sleep } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node');
const { wasm, withThreadPool, poolHealth, configurePoolHealth, errors } = backend;

function record(coordinator) {
  const events = { recycle: [], refuse: [], decision: [], error: [] };
  for (const name of Object.keys(events)) coordinator.on(name, (event) => events[name].push(event));
  return events;
}

// A proof and its verification are two pool jobs.
test('recycles every 4 pool jobs, before the operation that would exceed it', { timeout: 120_000 }, async () => {
  const events = record(configurePoolHealth({ maxJobsPerGeneration: 4, cooldownMs: 0, maxLinearMemoryFraction: 1 }));
  await within(100_000, 'ten jobs', withThreadPool(async () => {
    const first = poolHealth().generation;
    for (let i = 0; i < 10; i++) {
      await withThreadPool(async () => {
        assert.ok(poolHealth().generationJobs < 4, `job ${i} runs on a generation with fewer than 4 jobs`);
        proveAndCheck(wasm, PROOF_CASES[0], `job ${i}`);
      });
    }
    assert.equal(events.recycle.length, 4, 'recycled before operations 3, 5, 7 and 9 (2 pool jobs each)');
    for (const { decision, report } of events.recycle) {
      assert.equal(decision.kind, 'recycle');
      assert.equal(decision.metric, 'generationJobs');
      assert.match(decision.reason, /jobs on generation \d+ \d+ >= threshold 4/);
      assert.ok(report.toGeneration > first);
    }
    assert.equal(events.error.length, 0);
  }));
});

test('the idle timer recycles an old pool while no job asks', { timeout: 60_000 }, async () => {
  const events = record(
    configurePoolHealth({ maxGenerationAgeMs: 400, idleCheckIntervalMs: 100, cooldownMs: 0, maxLinearMemoryFraction: 1 }),
  );
  await within(30_000, 'an idle recycle', withThreadPool(async () => {
    const generation = poolHealth().generation;
    while (events.recycle.length === 0) await sleep(50);
    const [{ decision, report }] = events.recycle;
    assert.equal(decision.metric, 'generationAgeMs');
    assert.equal(report.fromGeneration, generation);
    assert.ok(events.decision.some((d) => d.trigger === 'idle' && d.decision.kind === 'recycle'), 'decided by the idle timer');
    proveAndCheck(wasm, PROOF_CASES[1], 'after the idle recycle');
  }));
});

test('admission control refuses with the typed memory error and the real health; the pool keeps working', { timeout: 60_000 }, async () => {
  configurePoolHealth({ maxLinearMemoryFraction: 1 });
  await within(30_000, 'a refused job', withThreadPool(async () => {
    configurePoolHealth({ admissionHeadroomBytes: 8 * 2 ** 30, maxLinearMemoryFraction: 1 });
    await assert.rejects(withThreadPool(async () => assert.fail('a refused job must not run')), (error) => {
      assert.ok(error instanceof errors.PoolMemoryError, `got ${error}`);
      assert.equal(error.code, 'POOL_OUT_OF_MEMORY');
      assert.equal(error.kind, 'admission-refused');
      assert.equal(error.neededBytes, 8 * 2 ** 30);
      assert.equal(error.health.memory.linearMaxBytes, 4 * 2 ** 30);
      assert.ok(error.availableBytes < error.neededBytes);
      return true;
    });
    configurePoolHealth({ maxLinearMemoryFraction: 1 });
    await withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[1], 'after a refusal'));
  }));
});
