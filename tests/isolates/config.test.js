// createProverPool's options (bindings-js/isolates/config.ts): defaults, one
// uniform message per invalid field, unknown fields refused, the caller's
// objects untouched; timers are whole milliseconds within setTimeout's range;
// close()'s options checked the same way. The rules and the message are the
// kernel's (lib/proof-system/kernel/options.ts), the same the pool's own
// options are checked by: bytes are whole bytes, counts whole numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MiB, load } from './lib.js';

const { resolveProverPoolConfig, resolveCloseOptions, resolveRunOptions, DEFAULT_CONFIG, DEFAULT_LIMITS } = await load('config.js');
const { ProverPoolConfigError } = await load('errors.js');
const OPTS = { timeout: 5_000 };
const M = 'file:///app/prover.js';

function assertRejects(options, message) {
  assert.throws(
    () => resolveProverPoolConfig(options),
    (error) => {
      assert.ok(error instanceof ProverPoolConfigError);
      assert.equal(error.code, 'PROVER_POOL_INVALID_CONFIG');
      assert.equal(error.message, message);
      return true;
    },
  );
}

test('only a module resolves to the documented defaults', OPTS, () => {
  assert.deepEqual(resolveProverPoolConfig({ module: M }), {
    module: M,
    isolates: 1,
    threadsPerIsolate: null,
    warm: null,
    limits: {
      memoryMaximumBytes: null,
      maxLinearBytes: null,
      maxAllocatorLiveBytes: null,
      maxRssBytes: null,
      maxJobs: null,
      maxAgeMs: null,
      admissionHeadroomBytes: 64 * MiB,
      hysteresisFraction: 0.05,
      cooldownMs: 30_000,
      jitterFraction: 0,
      replaceAhead: false,
      rssBudgetBytes: null,
    },
    maxQueuedJobs: 64,
    jobTimeoutMs: null,
    minIsolates: 1,
    idleTimeoutMs: 60_000,
    maxCrashes: 5,
    crashWindowMs: 600_000,
    startTimeoutMs: 180_000,
    terminateTimeoutMs: 10_000,
    healthTimeoutMs: 5_000,
    idleCheckIntervalMs: 5_000,
    maxStartFailures: 3,
    restartDelayMs: 1_000,
  });
  assert.ok(Object.isFrozen(DEFAULT_CONFIG) && Object.isFrozen(DEFAULT_LIMITS));
  assert.ok(Object.isFrozen(resolveProverPoolConfig({ module: M, limits: { maxJobs: 3 } }).limits));
});

test('the queue is bounded by default (64 × isolates; null lifts the bound); minIsolates follows isolates and may not pass it', OPTS, () => {
  assert.equal(resolveProverPoolConfig({ module: M, isolates: 3 }).maxQueuedJobs, 192);
  assert.equal(resolveProverPoolConfig({ module: M, isolates: 3, maxQueuedJobs: null }).maxQueuedJobs, null);
  assert.equal(resolveProverPoolConfig({ module: M, isolates: 3, maxQueuedJobs: 5 }).maxQueuedJobs, 5);
  assert.equal(resolveProverPoolConfig({ module: M, isolates: 3 }).minIsolates, 3);
  assert.equal(resolveProverPoolConfig({ module: M, isolates: 3, minIsolates: 0 }).minIsolates, 0);
  assertRejects({ module: M, isolates: 2, minIsolates: 3 }, 'prover pool option minIsolates is 3: expected a whole number from 0 to isolates (2)');
  assertRejects({ module: M, jobTimeoutMs: 0 }, "prover pool option jobTimeoutMs is 0: expected a whole number of milliseconds from 1 to 2147483647 (2^31 - 1), or null (no deadline)");
  assertRejects({ module: M, maxCrashes: 0 }, 'prover pool option maxCrashes is 0: expected a whole number from 1 to 2^53 - 1');
  assertRejects({ module: M, crashWindowMs: 0 }, 'prover pool option crashWindowMs is 0: expected a whole number of milliseconds from 1 to 2^53 - 1');
  assertRejects({ module: M, idleTimeoutMs: 2 ** 31 }, 'prover pool option idleTimeoutMs is 2147483648: expected a whole number of milliseconds from 1 to 2147483647 (2^31 - 1)');
});

test("run()'s options: signal an AbortSignal, timeoutMs whole milliseconds, nothing else", OPTS, () => {
  const config = resolveProverPoolConfig({ module: M, jobTimeoutMs: 5_000 });
  const signal = new AbortController().signal;
  assert.deepEqual(resolveRunOptions(undefined, config), { signal: null, timeoutMs: 5_000 });
  assert.deepEqual(resolveRunOptions({ signal, timeoutMs: 10 }, config), { signal, timeoutMs: 10 });
  const refused = (options, message) => assert.throws(() => resolveRunOptions(options, config), (e) => e instanceof ProverPoolConfigError && e.message === message);
  refused(null, 'prover pool option run is null: expected an object { signal?, timeoutMs? }, or undefined');
  refused({ signal: 'stop' }, 'prover pool option run.signal is "stop": expected an AbortSignal');
  refused({ timeoutMs: 1.5 }, "prover pool option run.timeoutMs is 1.5: expected a whole number of milliseconds from 1 to 2147483647 (2^31 - 1), or null (the pool's jobTimeoutMs)");
  refused({ timeout: 5 }, 'prover pool option run.timeout is 5: expected one of the known options: signal, timeoutMs');
});

test('every invalid field is refused with the same message shape', OPTS, () => {
  assertRejects(null, 'prover pool option options is null: expected an object of prover pool options');
  assertRejects({}, 'prover pool option module is undefined: expected the URL or path of the proving module (a non-empty string)');
  assertRejects({ module: M, isolates: 0 }, 'prover pool option isolates is 0: expected a whole number from 1 to 64');
  assertRejects({ module: M, isolates: 1.5 }, 'prover pool option isolates is 1.5: expected a whole number from 1 to 64');
  assertRejects({ module: M, threadsPerIsolate: '2' }, 'prover pool option threadsPerIsolate is "2": expected a whole number from 1 to 256, or null (o1js\'s default)');
  assertRejects({ module: M, maxQueuedJobs: -1 }, 'prover pool option maxQueuedJobs is -1: expected a whole number from 0 to 2^53 - 1, or null (no bound)');
  assertRejects({ module: M, startTimeoutMs: 0 }, 'prover pool option startTimeoutMs is 0: expected a whole number of milliseconds from 1 to 2147483647 (2^31 - 1)');
  assertRejects({ module: M, warm: 'compile' }, 'prover pool option warm is "compile": expected null, or { name, args? }: the name of a job of the module and its arguments');
  assertRejects({ module: M, warm: { name: 'compile', cache: true } }, 'prover pool option warm.cache is true: expected one of the known options: name, args');
  assertRejects({ module: M, limits: { memoryMaximumBytes: 2 ** 30 + 1 } }, 'prover pool option limits.memoryMaximumBytes is 1073741825: expected a multiple of 65536 bytes from 16 MiB to 4 GiB, or null (the platform\'s default)');
  assertRejects({ module: M, limits: { memoryMaximumBytes: 8 * 2 ** 30 } }, 'prover pool option limits.memoryMaximumBytes is 8589934592: expected a multiple of 65536 bytes from 16 MiB to 4 GiB, or null (the platform\'s default)');
  assertRejects({ module: M, limits: { maxJobs: 0 } }, 'prover pool option limits.maxJobs is 0: expected a whole number from 1 to 2^53 - 1, or null (off)');
  assertRejects({ module: M, limits: { jitterFraction: 0.6 } }, 'prover pool option limits.jitterFraction is 0.6: expected a number in [0, 0.5]');
  assertRejects({ module: M, limits: { hysteresisFraction: -0.1 } }, 'prover pool option limits.hysteresisFraction is -0.1: expected a number in [0, 0.5]');
  assertRejects({ module: M, limits: { cooldownMs: NaN } }, 'prover pool option limits.cooldownMs is NaN: expected a whole number of milliseconds from 0 to 2147483647 (2^31 - 1)');
});

test('memory limits are whole bytes, as the pool coordinator\'s are (one rule: kernel/options.ts)', OPTS, () => {
  for (const field of ['maxLinearBytes', 'maxAllocatorLiveBytes']) {
    assertRejects({ module: M, limits: { [field]: 1.5 } }, `prover pool option limits.${field} is 1.5: expected a whole number of bytes from 1 to 2^53 - 1, or null (off)`);
    assertRejects({ module: M, limits: { [field]: 0 } }, `prover pool option limits.${field} is 0: expected a whole number of bytes from 1 to 2^53 - 1, or null (off)`);
    assert.equal(resolveProverPoolConfig({ module: M, limits: { [field]: 2 ** 31 } }).limits[field], 2 ** 31);
  }
  assertRejects({ module: M, limits: { admissionHeadroomBytes: 0.5 } }, 'prover pool option limits.admissionHeadroomBytes is 0.5: expected a whole number of bytes from 0 to 2^53 - 1');
  assertRejects({ module: M, limits: { maxAllocatorLiveBytes: 5n } }, 'prover pool option limits.maxAllocatorLiveBytes is 5n: expected a whole number of bytes from 1 to 2^53 - 1, or null (off)');
});

test('unknown fields are refused: a misspelt option or limit is named in the error', OPTS, () => {
  assert.throws(() => resolveProverPoolConfig({ module: M, isolate: 2 }), (e) => e.field === 'isolate' && /^prover pool option isolate is 2: expected one of the known options: module, warm, limits, isolates,/.test(e.message));
  assert.throws(() => resolveProverPoolConfig({ module: M, limits: { maxJob: 2 } }), (e) => e.field === 'limits.maxJob' && /expected one of the known options: memoryMaximumBytes, /.test(e.message));
});

test("the caller's objects are not mutated or kept; undefined means the default", OPTS, () => {
  const limits = { maxJobs: 10, cooldownMs: undefined };
  const options = { module: M, limits, warm: { name: 'compile', args: { dir: '/c' } } };
  const config = resolveProverPoolConfig(options);
  assert.deepEqual(options, { module: M, limits: { maxJobs: 10, cooldownMs: undefined }, warm: { name: 'compile', args: { dir: '/c' } } });
  assert.ok(!Object.isFrozen(limits));
  limits.maxJobs = 20;
  assert.equal(config.limits.maxJobs, 10);
  assert.equal(config.limits.cooldownMs, 30_000);
});

test("timers are whole milliseconds within setTimeout's range (a longer delay would fire after 1 ms)", OPTS, () => {
  const timer = (min) => `a whole number of milliseconds from ${min} to 2147483647 (2^31 - 1)`;
  for (const field of ['startTimeoutMs', 'terminateTimeoutMs', 'healthTimeoutMs', 'idleCheckIntervalMs']) {
    assertRejects({ module: M, [field]: 2 ** 31 }, `prover pool option ${field} is 2147483648: expected ${timer(1)}`);
    assertRejects({ module: M, [field]: 1.5 }, `prover pool option ${field} is 1.5: expected ${timer(1)}`);
    assert.equal(resolveProverPoolConfig({ module: M, [field]: 2 ** 31 - 1 })[field], 2 ** 31 - 1);
  }
  assertRejects({ module: M, restartDelayMs: -1 }, `prover pool option restartDelayMs is -1: expected ${timer(0)}`);
  assert.equal(resolveProverPoolConfig({ module: M, restartDelayMs: 0 }).restartDelayMs, 0);
  assertRejects({ module: M, limits: { maxAgeMs: 0.5 } }, 'prover pool option limits.maxAgeMs is 0.5: expected a whole number of milliseconds from 1 to 2^53 - 1, or null (off)');
  assertRejects({ module: M, limits: { cooldownMs: 1.5 } }, 'prover pool option limits.cooldownMs is 1.5: expected a whole number of milliseconds from 0 to 2147483647 (2^31 - 1)');
});

test("close()'s options: drain a boolean, timeoutMs whole milliseconds from 0 to 2^31 - 1, nothing else", OPTS, () => {
  assert.deepEqual(resolveCloseOptions(undefined), { drain: true, timeoutMs: 60_000 });
  assert.deepEqual(resolveCloseOptions({ drain: false }), { drain: false, timeoutMs: 60_000 });
  assert.deepEqual(resolveCloseOptions({ timeoutMs: 0 }), { drain: true, timeoutMs: 0 });
  const refused = (options, message) =>
    assert.throws(() => resolveCloseOptions(options), (e) => e instanceof ProverPoolConfigError && e.message === message);
  refused({ timeoutMs: 2 ** 31 }, 'prover pool option close.timeoutMs is 2147483648: expected a whole number of milliseconds from 0 to 2147483647 (2^31 - 1)');
  refused({ timeoutMs: NaN }, 'prover pool option close.timeoutMs is NaN: expected a whole number of milliseconds from 0 to 2147483647 (2^31 - 1)');
  refused({ drain: 'yes' }, 'prover pool option close.drain is "yes": expected true or false');
  refused({ drian: false }, 'prover pool option close.drian is false: expected one of the known options: drain, timeoutMs');
  refused(null, 'prover pool option close is null: expected an object { drain?, timeoutMs? }, or undefined');
});
