// The pool's lifetime as o1js >= 2.15 has it: started by the first operation,
// then up for the life of the process (no start per operation), recycled
// rather than restarted, and shut down only when asked (exitThreadPool).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node', { lifetime: 'process' });
const { wasm, withThreadPool, recycleThreadPool, exitThreadPool, poolHealth } = backend;
backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1 });

test('one pool for the process: operations share it, recycles and health work between them, exit shuts it down', { timeout: 60_000 }, async () => {
  assert.equal(poolHealth().state, 'uninit', 'no pool before the first operation');
  await assert.rejects(recycleThreadPool(), (error) => error.code === 'POOL_NOT_INITIALIZED', 'nothing to recycle yet');

  await within(30_000, 'the first operation', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'first')));
  assert.equal(withThreadPool.state(), 'running', 'the pool stays up after the operation');
  const generation = poolHealth().generation;
  assert.equal(poolHealth().state, 'running');

  await within(30_000, 'the second operation', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'second')));
  assert.equal(poolHealth().generation, generation, 'the second operation used the same pool: no start per operation');

  const report = await within(30_000, 'a recycle outside any operation', recycleThreadPool());
  assert.equal(report.fromGeneration, generation);
  assert.equal(poolHealth().generation, generation + 1);
  assert.equal(withThreadPool.state(), 'running');
  await within(30_000, 'an operation after the recycle', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[1], 'after')));

  // An exit asked for while an operation runs waits for it, then shuts down.
  let finished = false;
  const operation = withThreadPool(async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    finished = true;
  });
  await within(30_000, 'exit', exitThreadPool());
  assert.ok(finished, 'the exit waited for the operation inside');
  await operation;
  assert.equal(withThreadPool.state(), 'none');
  assert.equal(poolHealth().state, 'uninit');
  await exitThreadPool(); // a second exit is a no-op

  await within(30_000, 'an operation after the exit', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'restarted')));
  assert.equal(withThreadPool.state(), 'running');
  await exitThreadPool();
});
