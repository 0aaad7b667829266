// Issue 12, defect 10: every wait is bounded. A forwarded o1js binding makes
// the page spin until the main worker answers (the page may not block); a
// main worker that is busy or dead used to keep it spinning forever. Now the
// spin ends at `callTimeoutMs` with PoolTimeoutError, and later forwarded
// calls fail at once the same way (the main worker may still answer the
// abandoned call into the shared control block). The backend's asynchronous
// calls, matched by id, keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';

test('a forwarded binding spins at most callTimeoutMs, then fails typed; the backend keeps working', { timeout: 120_000 }, async () => {
  const harness = await openHarness({ threads: 2, lifetime: 'process' });
  try {
    const result = await harness.run('a forwarded call while the main worker is busy', async (h) => {
      const { backend, fromHex } = h;
      const proof = await backend.withThreadPool(() => backend.callInWorker('fixtureProve', 8, 1));
      backend.configureThreadPool({ callTimeoutMs: 300 });
      // Keeps the main worker busy for seconds; the forwarded call below cannot be answered meanwhile.
      const busy = backend.withThreadPool(() => backend.callInWorker('fixtureProve', 11, 2));
      await h.sleep(200);
      const outcomes = [];
      for (let i = 0; i < 2; i++) {
        const started = performance.now();
        try {
          backend.wasm.fixtureVerify(8, proof);
          outcomes.push({ ok: true, ms: performance.now() - started });
        } catch (error) {
          outcomes.push({ ok: false, code: error.code, name: error.name, message: error.message, ms: performance.now() - started });
        }
      }
      const after = {};
      try {
        await busy;
        after.busy = 'ok';
      } catch (error) {
        after.busy = `${error.name}: ${error.message}`;
      }
      try {
        await backend.exitThreadPool();
        after.exit = 'ok';
      } catch (error) {
        after.exit = `${error.name}: ${error.message}`;
      }
      return { outcomes, after };
    });
    const [first, second] = result.outcomes;
    assert.equal(first.ok, false, 'the spin ended without an answer');
    assert.equal(first.code, 'POOL_TIMEOUT', `${first.name}: ${first.message}`);
    assert.match(first.message, /300 ms/);
    assert.ok(first.ms < 5_000, `the spin ended near its bound (${first.ms.toFixed(0)} ms)`);
    assert.equal(second.code, 'POOL_TIMEOUT', 'later forwarded calls fail at once the same way');
    assert.ok(second.ms < 1_000, `at once (${second.ms.toFixed(0)} ms)`);
    assert.deepEqual(result.after, { busy: 'ok', exit: 'ok' }, 'the backend\'s asynchronous calls keep working');
    console.log(`forwarded call against a busy main worker: PoolTimeoutError after ${first.ms.toFixed(0)} ms (bound 300 ms); the next in ${second.ms.toFixed(0)} ms`);
  } finally {
    await harness.close();
  }
});
