// The page is cross-origin isolated (the loopback server's COOP/COEP headers),
// the backend starts on a shared memory with upstream's maximum, and the pool
// starts with 2 rayon workers owned by the supervisor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';

test('the page is cross-origin isolated and the pool starts with 2 workers', { timeout: 120_000 }, async () => {
  const started = performance.now();
  const harness = await openHarness({ threads: 2 });
  const openMs = performance.now() - started;
  try {
    const result = await harness.run('starting the pool', async (h) => {
      const { backend } = h;
      const t0 = performance.now();
      const inside = await backend.withThreadPool(async () => ({
        initMs: performance.now() - t0,
        health: await backend.poolHealth(),
        workers: await backend.workerHost.list(),
        state: backend.withThreadPool.state(),
      }));
      return {
        ...inside,
        crossOriginIsolated,
        sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
        standInRan: globalThis.o1jsWebBindingsStandIn === true,
        after: await backend.poolHealth(),
        stateAfter: backend.withThreadPool.state(),
        maximums: {
          desktop: backend.wasmMemoryMaximumBytes('Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36'),
          iPhone: backend.wasmMemoryMaximumBytes('Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1'),
          iPadAsMac: backend.wasmMemoryMaximumBytes('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15', 5),
          mac: backend.wasmMemoryMaximumBytes('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15', 0),
        },
      };
    });

    assert.equal(result.crossOriginIsolated, true, 'crossOriginIsolated');
    assert.equal(result.sharedArrayBuffer, true);
    assert.equal(result.standInRan, true, "initializeBindings ran o1js's compiled bindings (stand-in)");
    assert.equal(result.state, 'running');
    assert.equal(result.health.state, 'running');
    assert.equal(result.health.threads, 2);
    // A worker enters Rayon's loop a moment after the pool is built: either state is right.
    assert.equal(result.health.workers.length, 2);
    for (const worker of result.health.workers) {
      assert.equal(worker.generation, result.health.generation);
      assert.ok(['starting', 'running'].includes(worker.state), `worker state ${worker.state}`);
    }
    assert.deepEqual(result.workers, [
      { generation: result.health.generation, index: 0, state: 'running' },
      { generation: result.health.generation, index: 1, state: 'running' },
    ]);
    assert.equal(result.health.memory.linearMaxBytes, 4 * 2 ** 30, 'upstream maximum on a desktop user agent');
    assert.deepEqual(result.maximums, { desktop: 4 * 2 ** 30, iPhone: 2 ** 30, iPadAsMac: 2 ** 30, mac: 4 * 2 ** 30 });
    // The last user left: the pool exited, and its workers with it.
    assert.equal(result.stateAfter, 'none');
    assert.equal(result.after.state, 'uninit');
    console.log(
      `browser: page + backend ready in ${openMs.toFixed(0)} ms; pool of 2 up in ${result.initMs.toFixed(1)} ms`,
    );
  } finally {
    await harness.close();
  }
});
