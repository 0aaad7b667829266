// A start that fails in full memory must leave nothing behind that blocks the
// next one (issue 12, defect 1). wasm-bindgen allocates a new thread's stack
// while it holds a lock in shared memory; a failed allocation there traps with
// the lock held, and every later thread start waited on it forever (each start
// then timed out after 30 s). The pool now sets the stacks aside before it
// starts any worker, so a start in full memory fails at once, typed, and the
// next start after memory is freed succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within, MiB } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node-small', { threads: 2 });
const { wasm, withThreadPool, recycleThreadPool, poolHealth, errors } = backend;

/** Holds memory in 4 MiB blocks until an allocation fails; returns the bytes held. */
function fillMemory() {
  let held = 0;
  for (;;) {
    try {
      wasm.testHoldMemory(4 * MiB);
      held += 4 * MiB;
    } catch {
      return held;
    }
  }
}

test('a start that fails in full memory fails at once and blocks nothing: later recycles and inits succeed', { timeout: 120_000 }, async () => {
  const c = PROOF_CASES[0];
  await within(90_000, 'the scenario', withThreadPool(async () => {
    const held = fillMemory();
    assert.ok(held > 64 * MiB, `memory was filled (${held / MiB} MiB held)`);

    const started = performance.now();
    await assert.rejects(recycleThreadPool({ threads: 4 }), (error) => {
      assert.ok(error instanceof errors.PoolOperationError, `${error?.name}: ${error?.message}`);
      assert.equal(error.code, 'POOL_START_FAILED');
      assert.match(error.message, /not enough free memory for the stacks of 4 workers/);
      return true;
    });
    const failedMs = performance.now() - started;
    assert.ok(failedMs < 10_000, `the failed start ended at once (${failedMs.toFixed(0)} ms), not after the start timeout`);
    assert.equal(poolHealth().state, 'running', 'the old generation keeps serving');

    wasm.testReleaseHeldMemory();
    for (let i = 0; i < 3; i++) {
      const report = await within(10_000, `recycle ${i + 1} after the failed start`, recycleThreadPool());
      assert.equal(report.workers.forced, 0, 'the old workers left on their own (none waited on a held lock)');
    }
    const fourThreads = await within(10_000, 'the recycle to 4 threads', recycleThreadPool({ threads: 4 }));
    assert.equal(fourThreads.threads, 4);
    proveAndCheck(wasm, c, 'after the failed start');
  }));
  await within(10_000, 'exit', backend.exitThreadPool());
  // A fresh init after the exit starts too.
  await within(30_000, 'a proof on a fresh pool', withThreadPool(async () => proveAndCheck(wasm, c, 'fresh pool')));
});
