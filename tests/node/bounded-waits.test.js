// Issue 12, defect 10: exitThreadPool() waits for the operations still inside
// withThreadPool, but never past exitTimeoutMs: then it fails with
// PoolTimeoutError, the pool stays up for them, and a later exit succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, within } from './backend.js';

const backend = await loadBackend('node', { threads: 2, lifetime: 'process' });
const { withThreadPool, exitThreadPool, configureThreadPool, poolHealth, errors } = backend;

test('exitThreadPool() is bounded by exitTimeoutMs while an operation holds the pool', { timeout: 60_000 }, async () => {
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const operation = withThreadPool(() => held);
  await within(20_000, 'the pool to start', (async () => {
    while (poolHealth().state !== 'running') await new Promise((r) => setTimeout(r, 10));
  })());
  configureThreadPool({ exitTimeoutMs: 300 });
  const started = performance.now();
  await assert.rejects(exitThreadPool(), (error) => {
    assert.ok(error instanceof errors.PoolTimeoutError, `${error?.name}: ${error?.message}`);
    assert.equal(error.code, 'POOL_TIMEOUT');
    assert.match(error.message, /exitThreadPool\(\)/);
    return true;
  });
  const waitedMs = performance.now() - started;
  assert.ok(waitedMs < 5_000, `bounded (${waitedMs.toFixed(0)} ms for a 300 ms bound)`);
  assert.equal(poolHealth().state, 'running', 'the pool stays up for the operation');
  release();
  await within(10_000, 'the operation', operation);
  configureThreadPool({ exitTimeoutMs: 30_000 });
  await within(30_000, 'the exit', exitThreadPool());
  assert.equal(poolHealth().state, 'uninit');
});
