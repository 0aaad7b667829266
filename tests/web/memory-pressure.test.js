// Memory pressure in the browser, on a shared memory capped at 192 MiB by the
// backend's override (the module itself declares 4 GiB): a workload that grows
// memory per job (blocks owned by the pool generation, freed once it is
// retired) is recycled before it exhausts memory; memory the
// application holds (which no recycle frees) leads to the typed refusal; once
// it is released, a proof succeeds and equals the native snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';
import { PROOF_CASES, expectedProof } from '../node/snapshots.js';

const MiB = 2 ** 20;
const MAXIMUM = 192 * MiB;

test('memory pressure: recycle before exhaustion, typed refusal, then a proof succeeds', { timeout: 150_000 }, async () => {
  const harness = await openHarness({ threads: 2, memoryMaximumBytes: MAXIMUM });
  try {
    const c = PROOF_CASES[0];
    const result = await harness.run(
      'the memory-pressure scenario',
      async (h, { growBytes, jobs, liveLimitBytes, headroomBytes, holdStepBytes, k, seed }) => {
        const { backend, errors, toHex } = h;
        // Live bytes are what this workload grows and a recycle frees; linear
        // memory never shrinks, so its fraction only guards the ceiling.
        const coordinator = backend.configurePoolHealth({
          maxAllocatorLiveBytes: liveLimitBytes,
          maxLinearMemoryFraction: 0.9,
          admissionHeadroomBytes: headroomBytes,
          cooldownMs: 0,
        });
        const recycles = [];
        coordinator.on('recycle', ({ decision, report }) =>
          recycles.push({ kind: decision.kind, metric: decision.metric, value: decision.value, to: report.toGeneration, totalMs: report.totalMs }),
        );
        return backend.withThreadPool(async () => {
          // Phase 1: each job keeps growBytes for its generation; in all they
          // ask for more than the memory holds.
          const linearBytes = [];
          for (let i = 0; i < jobs; i++) {
            await backend.withThreadPool(() => backend.callInWorker('testGrowGenerationScoped', growBytes));
            linearBytes.push((await backend.poolHealth()).memory.linearBytes);
          }
          const afterGrowth = await backend.poolHealth();

          // Phase 2: the application holds memory until the headroom is gone.
          let health = afterGrowth;
          while (health.memory.linearMaxBytes - health.memory.allocatorLiveBytes >= headroomBytes) {
            await backend.callInWorker('testHoldMemory', holdStepBytes);
            health = await backend.poolHealth();
          }
          let refusal = null;
          try {
            await backend.withThreadPool(() => backend.callInWorker('fixtureProve', k, seed));
          } catch (error) {
            refusal = {
              isPoolMemoryError: error instanceof errors.PoolMemoryError,
              code: error.code,
              kind: error.kind,
              neededBytes: error.neededBytes,
              availableBytes: error.availableBytes,
              linearMaxBytes: error.health?.memory.linearMaxBytes,
              message: error.message,
            };
          }

          // Phase 3: the application lets go; the next proof goes through.
          const released = await backend.callInWorker('testReleaseHeldMemory');
          const proof = await backend.withThreadPool(() => backend.callInWorker('fixtureProve', k, seed));
          const verified = await backend.callInWorker('fixtureVerify', k, proof);
          const end = await backend.poolHealth();
          return { recycles, linearBytes, afterGrowth, refusal, released, proofHex: toHex(proof), verified, end };
        });
      },
      { growBytes: 16 * MiB, jobs: 20, liveLimitBytes: 80 * MiB, headroomBytes: 48 * MiB, holdStepBytes: 8 * MiB, ...c },
      120_000,
    );

    // Phase 1: 20 × 16 MiB = 320 MiB were asked for in a 192 MiB memory.
    const memoryRecycles = result.recycles.filter((r) => r.metric === 'allocatorLiveBytes');
    assert.ok(memoryRecycles.length >= 2, `the coordinator recycled on live bytes (${JSON.stringify(result.recycles)})`);
    assert.equal(result.afterGrowth.jobsFailed, 0, 'no job failed');
    assert.equal(result.afterGrowth.memory.failedAllocations, 0, 'no allocation failed: recycled before exhaustion');
    assert.equal(result.afterGrowth.memory.linearMaxBytes, MAXIMUM, "health reports the memory's real maximum");
    assert.ok(Math.max(...result.linearBytes) < MAXIMUM);

    // Phase 2: the typed refusal.
    assert.ok(result.refusal !== null, 'the job was refused');
    assert.equal(result.refusal.isPoolMemoryError, true, result.refusal.message);
    assert.equal(result.refusal.code, 'POOL_OUT_OF_MEMORY');
    assert.equal(result.refusal.kind, 'admission-refused');
    assert.equal(result.refusal.neededBytes, 48 * MiB);
    assert.ok(result.refusal.availableBytes < result.refusal.neededBytes);
    assert.equal(result.refusal.linearMaxBytes, MAXIMUM);

    // Phase 3: released, and proving works.
    assert.ok(result.released > 0);
    assert.equal(result.proofHex, expectedProof(c).toString('hex'), 'the proof after the pressure equals the native snapshot');
    assert.equal(result.verified, true);
    assert.equal(result.end.jobsFailed, 0);
    console.log(
      `browser memory pressure (${MAXIMUM / MiB} MiB): ${result.recycles.length} recycles ` +
        `(${result.recycles.map((r) => `${r.metric ?? r.kind} at ${(r.value / MiB).toFixed(1)} MiB`).join(', ')}), ` +
        `linear memory after each job (MiB) ${result.linearBytes.map((b) => (b / MiB).toFixed(0)).join(" ")}; refused with ` +
        `${(result.refusal.availableBytes / MiB).toFixed(2)} MiB of headroom < ${result.refusal.neededBytes / MiB} MiB`,
    );
  } finally {
    await harness.close();
  }
});
