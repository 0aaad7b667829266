// Memory pressure on the small-memory build (128 MiB): a long-lived prover
// whose jobs each grow memory. Part of it belongs to the pool generation (a
// recycle gives it back), part the application keeps (no recycle can). The
// coordinator recycles on allocator live bytes before memory runs out, and
// refuses with the typed memory error once even a fresh pool would lack the
// headroom. Nothing traps or hangs; after the pressure is removed a proof
// succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within, MiB, mib } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node-small');
const { wasm, withThreadPool, poolHealth, errors } = backend;

test('recycles before exhaustion, refuses when headroom cannot be restored, proves after relief', { timeout: 120_000 }, async () => {
  const coordinator = backend.configurePoolHealth({
    maxAllocatorLiveBytes: 48 * MiB,
    admissionHeadroomBytes: 40 * MiB,
    cooldownMs: 0,
    // Linear memory never shrinks: on 128 MiB it would fire once and stay disarmed.
    maxLinearMemoryFraction: 1,
  });
  const recycles = [];
  const refusals = [];
  coordinator.on('recycle', (event) => recycles.push(event));
  coordinator.on('refuse', (event) => refusals.push(event));
  const c = PROOF_CASES[0];
  const job = () =>
    withThreadPool(async () => {
      wasm.testGrowGenerationScoped(6 * MiB);
      proveAndCheck(wasm, c, 'under pressure');
    });

  // A long-lived prover: the outer session keeps the pool up between jobs.
  await within(100_000, 'the pressure scenario', withThreadPool(async () => {
    // Phase 1: memory the pool gives back. 24 jobs of 6 MiB = 144 MiB, more than the maximum.
    for (let i = 0; i < 24; i++) await job();
    assert.ok(recycles.length >= 2, `the coordinator recycled (${recycles.length} times)`);
    for (const { decision, report } of recycles) {
      assert.equal(decision.metric, 'allocatorLiveBytes');
      assert.equal(report.cause, 'requested');
    }
    const afterPhase1 = poolHealth().memory;
    assert.equal(afterPhase1.failedAllocations, 0, 'no allocation ever failed');
    assert.ok(afterPhase1.linearBytes < afterPhase1.linearMaxBytes);

    // Phase 2: the application also keeps 4 MiB per job. Recycles cannot help;
    // the coordinator must refuse before any allocation fails.
    let refused = null;
    for (let i = 0; i < 32 && refused === null; i++) {
      wasm.testHoldMemory(4 * MiB);
      refused = await job().then(
        () => null,
        (error) => error,
      );
    }
    assert.ok(refused instanceof errors.PoolMemoryError, `refused with PoolMemoryError, got ${refused}`);
    assert.equal(refused.code, 'POOL_OUT_OF_MEMORY');
    assert.equal(refused.kind, 'admission-refused');
    assert.equal(refused.neededBytes, 40 * MiB);
    assert.ok(refused.availableBytes < refused.neededBytes);
    assert.equal(refused.health.memory.linearMaxBytes, 128 * MiB);
    assert.equal(refusals.length, 1);
    assert.equal(poolHealth().memory.failedAllocations, 0, 'refused before any allocation failed');
    assert.equal(poolHealth().state, 'running');

    // Relief: the application lets go; the next job runs and proves correctly.
    const released = wasm.testReleaseHeldMemory();
    await job();
    const final = poolHealth().memory;
    console.log(
      `${recycles.length} recycles on allocator live bytes (released ${recycles.map((r) => mib(r.report.allocatorBytesReleased)).join(', ')} ` +
        `of worker state each), then refused at ${mib(refused.availableBytes)} headroom < ${mib(refused.neededBytes)}; ` +
        `released ${mib(released)}; final linear memory ${mib(final.linearBytes)} of ${mib(final.linearMaxBytes)}, ` +
        `allocator live ${mib(final.allocatorLiveBytes)}`,
    );
  }));
});
