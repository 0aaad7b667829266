// Starting the pool: invalid configuration is refused with a clear error
// before anything starts; an init that fails (bad worker script, bad thread
// count) fails with a clear error, and once the cause is fixed the next call
// succeeds (upstream caches the rejection forever).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node', { logLevel: 'error' });
const { wasm, withThreadPool, poolHealth, workerHost, configurePoolHealth, configureThreadPool, setNumberOfWorkers, errors } = backend;

test('invalid coordinator and host options: clear errors, nothing started, nothing changed', async () => {
  const coordinatorBefore = backend.poolHealthCoordinator;
  const cases = [
    [{ maxLinearMemoryFraction: 1.5 }, 'maxLinearMemoryFraction', /is 1\.5: expected/],
    [{ maxLinearMemoryFraction: 0 }, 'maxLinearMemoryFraction', /is 0: expected/],
    [{ maxAllocatorLiveBytes: -1 }, 'maxAllocatorLiveBytes', /is -1: expected/],
    [{ maxGenerationAgeMs: 'soon' }, 'maxGenerationAgeMs', /is "soon": expected/],
    [{ maxJobsPerGeneration: 2.5 }, 'maxJobsPerGeneration', /is 2\.5: expected/],
    [{ jitterFraction: 0.9 }, 'jitterFraction', /is 0\.9: expected/],
    [{ hysteresisFraction: Number.NaN }, 'hysteresisFraction', /is NaN: expected/],
    [{ cooldownMs: -5 }, 'cooldownMs', /is -5: expected/],
    [{ admissionHeadroomBytes: Infinity }, 'admissionHeadroomBytes', /is Infinity: expected/],
    [{ idleCheckIntervalMs: 0 }, 'idleCheckIntervalMs', /is 0: expected/],
    [{ recycleTimeoutMs: null }, 'recycleTimeoutMs', /is null: expected/],
    [{ maxJobs: 3 }, 'maxJobs', /is 3: expected one of the known options/],
  ];
  for (const [options, field, message] of cases) {
    assert.throws(
      () => configurePoolHealth(options),
      (error) => {
        assert.ok(error instanceof errors.PoolConfigError, `${JSON.stringify(options)}: got ${error}`);
        assert.equal(error.code, 'POOL_INVALID_CONFIG');
        assert.equal(error.field, field);
        assert.match(error.message, new RegExp(`^coordinator option ${field} `));
        assert.match(error.message, message);
        return true;
      },
    );
  }
  for (const [options, message] of [
    [{ startTimeoutMs: -1 }, /^configureThreadPool option startTimeoutMs is -1: expected a whole number of milliseconds from 1 to 2147483647/],
    [{ startTimeoutMs: 3e9 }, /^configureThreadPool option startTimeoutMs is 3000000000: expected a whole number of milliseconds from 1 to 2147483647/],
    [{ teardown: 'explode' }, /^configureThreadPool option teardown is "explode": expected one of "destroy", "terminate"/],
    [{ workerScript: '' }, /^configureThreadPool option workerScript is "": expected a non-empty string/],
    [{ threads: 4 }, /^configureThreadPool option threads is 4: expected one of the known options: /],
  ]) {
    assert.throws(
      () => configureThreadPool(options),
      (error) => error instanceof errors.PoolConfigError && error.code === 'POOL_INVALID_CONFIG' && message.test(error.message),
    );
  }
  // Nothing started, nothing replaced.
  assert.equal(backend.poolHealthCoordinator, coordinatorBefore, 'the coordinator was not replaced');
  assert.equal(backend.poolHealthCoordinator.state, 'stopped');
  assert.equal(withThreadPool.state(), 'none');
  assert.equal(poolHealth().state, 'uninit');
  assert.deepEqual(await workerHost.list(), [], 'no worker thread exists');
});

test('a bad worker script path: clear error; after the fix the next call succeeds', { timeout: 60_000 }, async () => {
  const good = configureThreadPool({}).workerScript;
  const missing = `${good}.missing.js`;
  configureThreadPool({ workerScript: missing, startTimeoutMs: 10_000 });
  await assert.rejects(
    within(20_000, 'the failed init', withThreadPool(async () => assert.fail('must not run without a pool'))),
    (error) => {
      assert.ok(error instanceof errors.PoolError, `got ${error?.stack}`);
      assert.equal(error.code, 'POOL_START_FAILED');
      assert.ok(error.message.includes(missing), `names the script: ${error.message}`);
      return true;
    },
  );
  assert.equal(withThreadPool.state(), 'none', 'a failed init returns to none');
  assert.equal(poolHealth().state, 'uninit');
  assert.deepEqual((await workerHost.list()).filter((w) => w.state !== 'stopped'), [], 'no worker of the failed start lingers');

  configureThreadPool({ workerScript: good });
  await within(30_000, 'the retried init', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'after the fixed script')));
});

test('a bad thread count: clear error, nothing changes; the next call proves', { timeout: 60_000 }, async () => {
  setNumberOfWorkers(2);
  for (const threads of [0, -2, 1.5]) {
    assert.throws(
      () => setNumberOfWorkers(threads),
      (error) => {
        assert.ok(error instanceof errors.PoolError, `got ${error?.stack}`);
        assert.equal(error.code, 'POOL_INVALID_THREAD_COUNT');
        assert.ok(error.message.includes(`is ${threads}:`), `names the value ${threads}: ${error.message}`);
        return true;
      },
    );
    assert.equal(withThreadPool.state(), 'none');
  }
  setNumberOfWorkers(2);
  await within(30_000, 'the retried init', withThreadPool(async () => {
    assert.equal(poolHealth().threads, 2);
    proveAndCheck(wasm, PROOF_CASES[0], 'after the fixed thread count');
  }));
});
