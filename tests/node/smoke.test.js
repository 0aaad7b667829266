// Smoke test: real threaded wasm in real worker_threads. Two workers prove the
// fixture, the pool recycles, the same proof comes out again, and both equal
// the native snapshot bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { installWorkerHost, workerScript } from '../../bindings-js/node/pool-workers.js';
import { PROOF_CASES, expectedProof } from './snapshots.js';

const gluePath = fileURLToPath(new URL('../../pkg/node/plonk_wasm.js', import.meta.url));

test('two workers prove, recycle, and prove the same snapshot bytes again', { timeout: 120_000 }, async () => {
  const { glue } = installWorkerHost({ gluePath });
  glue.setPoolLogLevel('warn');
  const started = await glue.initThreadPool(2, workerScript);
  assert.equal(started.threads, 2);
  assert.equal(glue.poolHealth().state, 'running');

  for (const c of PROOF_CASES) {
    const expected = expectedProof(c);
    const t0 = performance.now();
    const before = Buffer.from(glue.fixtureProve(c.k, c.seed));
    const proveMs = performance.now() - t0;
    assert.ok(glue.fixtureVerify(c.k, before), `k=${c.k} proof verifies`);
    assert.deepEqual(before, expected, `k=${c.k} seed=${c.seed}: wasm proof equals the native snapshot`);

    const report = await glue.recycleThreadPool();
    assert.equal(report.toGeneration, report.fromGeneration + 1);
    assert.equal(report.workers.exited, 2, 'both old workers exited on their own');
    assert.equal(report.workers.forced, 0);

    const t1 = performance.now();
    const after = Buffer.from(glue.fixtureProve(c.k, c.seed));
    const proveAgainMs = performance.now() - t1;
    assert.ok(glue.fixtureVerify(c.k, after));
    assert.deepEqual(after, expected, `k=${c.k}: the proof after a recycle equals the snapshot`);
    console.log(
      `wasm k=${c.k}: prove ${proveMs.toFixed(0)} ms (first, incl. keygen), ${proveAgainMs.toFixed(0)} ms after recycle; ` +
        `recycle total ${report.totalMs.toFixed(1)} ms (start ${report.startMs.toFixed(1)}, drain ${report.drainMs.toFixed(1)}, exit ${report.exitMs.toFixed(1)}), ` +
        `allocator released ${report.allocatorBytesReleased} bytes`,
    );
  }

  const health = glue.poolHealth();
  assert.equal(health.recycles, PROOF_CASES.length);
  assert.equal(health.inFlight, 0);
  assert.ok(health.memory.linearBytes > 0 && health.memory.linearMaxBytes === 4 * 2 ** 30);
  assert.deepEqual(health.workers.map((w) => [w.generation, w.state]), [
    [health.generation, 'running'],
    [health.generation, 'running'],
  ]);

  const exit = await glue.exitThreadPool();
  assert.equal(exit.retirement.workers.exited, 2);
  assert.equal(glue.poolHealth().state, 'uninit');
});
