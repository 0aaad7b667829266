// Upstream's run_in_pool (kimchi-wasm HEAD) runs the work on the calling
// thread when there is no pool: before initThreadPool, after exitThreadPool.
// Ours does too, in real threaded wasm: the glue's exports called with no pool
// (as o1js calls a binding outside withThreadPool) prove inline, and the proof
// equals the snapshot; a panic and an out of memory in an inline job are the
// same typed errors as in a pool job; poolHealth().inlineJobs counts them;
// none of it starts a pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within, MiB } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node', { logLevel: 'error' });
const { wasm, withThreadPool, poolHealth } = backend;
const c = PROOF_CASES[0];

test('with no pool, before init and after exit, jobs run inline on the calling thread: proofs, typed failures, counted', { timeout: 120_000 }, async () => {
  const before = poolHealth();
  assert.equal(before.state, 'uninit');
  assert.equal(before.inlineJobs, 0);

  // Keys (a job), the proof (a job), the verification (a job).
  proveAndCheck(wasm, c, 'inline, before any pool');
  assert.equal(poolHealth().inlineJobs, 3);

  assert.throws(
    () => wasm.testPanicOnWorker('an inline panic'),
    (error) => error.code === 'POOL_JOB_PANICKED' && /an inline panic/.test(error.message),
    'a panic in an inline job is the typed job error',
  );
  wasm.setAllocatorSoftLimit(poolHealth().memory.allocatorLiveBytes + 16 * MiB);
  try {
    assert.throws(
      () => wasm.testAllocateInJob(64 * MiB),
      (error) => /OUT_OF_MEMORY/.test(error.code) && /a request for 67108864 bytes/.test(error.message),
      'an out of memory in an inline job is the typed memory error',
    );
  } finally {
    wasm.setAllocatorSoftLimit(0);
  }
  const afterFailures = poolHealth();
  assert.equal(afterFailures.inlineJobs, 5);
  assert.equal(afterFailures.jobsCompleted, 0, 'inline jobs are counted apart');
  assert.equal(afterFailures.jobsFailed, 0);
  assert.equal(afterFailures.state, 'uninit', 'no inline job started a pool');
  assert.deepEqual(afterFailures.workers, []);

  // With a pool (lifetime 'operation': up for this operation only), jobs run on it.
  await within(60_000, 'a pooled proof', withThreadPool(async () => proveAndCheck(wasm, c, 'pooled')));
  const afterPool = poolHealth();
  assert.equal(afterPool.inlineJobs, 5, 'pool jobs are not inline');
  assert.equal(afterPool.jobsCompleted, 2);
  assert.equal(afterPool.state, 'uninit', 'the operation exited the pool');

  // After the exit, inline again; the instance still works.
  proveAndCheck(wasm, c, 'inline, after exit');
  assert.equal(poolHealth().inlineJobs, 7);
  await within(60_000, 'a pooled proof after it', withThreadPool(async () => proveAndCheck(wasm, c, 'pooled again')));
  assert.equal(poolHealth().jobsCompleted, 4);
});
