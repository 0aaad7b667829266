import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_COORDINATOR_CONFIG, resolveConfig } from '../../bindings-js/lib/proof-system/coordinator-config.js';
import { PoolConfigError } from '../../bindings-js/lib/proof-system/errors.js';

const OPTS = { timeout: 5_000 };

function assertRejects(options: unknown, message: string): void {
  assert.throws(
    () => resolveConfig(options as never),
    (error: unknown) => {
      assert.ok(error instanceof PoolConfigError);
      assert.equal(error.code, 'POOL_INVALID_CONFIG');
      assert.equal(error.message, message);
      return true;
    },
  );
}

test('no options resolve to the documented defaults', OPTS, () => {
  assert.deepEqual(resolveConfig(), {
    maxLinearMemoryFraction: null,
    maxAllocatorLiveBytes: null,
    maxGenerationAgeMs: null,
    maxJobsPerGeneration: null,
    jitterFraction: 0,
    hysteresisFraction: 0.05,
    cooldownMs: 30_000,
    admissionHeadroomBytes: 64 * 1024 * 1024,
    idleCheckIntervalMs: 5_000,
    recycleTimeoutMs: 120_000,
  });
});

test('the defaults and the resolved config are frozen', OPTS, () => {
  assert.ok(Object.isFrozen(DEFAULT_COORDINATOR_CONFIG));
  assert.ok(Object.isFrozen(resolveConfig({ cooldownMs: 5 })));
  assert.throws(() => {
    (DEFAULT_COORDINATOR_CONFIG as { cooldownMs: number }).cooldownMs = 1;
  }, TypeError);
});

test("the caller's options object is not mutated or kept", OPTS, () => {
  const options = { maxJobsPerGeneration: 10 };
  const config = resolveConfig(options);
  assert.deepEqual(options, { maxJobsPerGeneration: 10 });
  assert.ok(!Object.isFrozen(options));
  options.maxJobsPerGeneration = 20;
  assert.equal(config.maxJobsPerGeneration, 10);
});

test('given options override defaults and undefined means the default', OPTS, () => {
  const config = resolveConfig({ maxAllocatorLiveBytes: 1e9, cooldownMs: 0, jitterFraction: undefined } as never);
  assert.equal(config.maxAllocatorLiveBytes, 1e9);
  assert.equal(config.cooldownMs, 0);
  assert.equal(config.jitterFraction, 0);
});

test('maxLinearMemoryFraction outside (0, 1] is refused; null (the default now) turns it off', OPTS, () => {
  assertRejects({ maxLinearMemoryFraction: 0 }, 'coordinator option maxLinearMemoryFraction is 0: expected a number in (0, 1], or null (off)');
  assertRejects({ maxLinearMemoryFraction: 1.5 }, 'coordinator option maxLinearMemoryFraction is 1.5: expected a number in (0, 1], or null (off)');
  assert.equal(resolveConfig({ maxLinearMemoryFraction: 1 }).maxLinearMemoryFraction, 1);
  assert.equal(resolveConfig({ maxLinearMemoryFraction: null }).maxLinearMemoryFraction, null);
});

test('maxAllocatorLiveBytes must be positive or null', OPTS, () => {
  assertRejects({ maxAllocatorLiveBytes: -5 }, 'coordinator option maxAllocatorLiveBytes is -5: expected a whole number of bytes from 1 to 2^53 - 1, or null (off)');
});

test('maxGenerationAgeMs must be whole milliseconds from 1, or null (the one rule for age limits, as limits.maxAgeMs)', OPTS, () => {
  assertRejects({ maxGenerationAgeMs: '60s' }, 'coordinator option maxGenerationAgeMs is "60s": expected a whole number of milliseconds from 1 to 2^53 - 1, or null (off)');
  assertRejects({ maxGenerationAgeMs: 0.5 }, 'coordinator option maxGenerationAgeMs is 0.5: expected a whole number of milliseconds from 1 to 2^53 - 1, or null (off)');
  assert.equal(resolveConfig({ maxGenerationAgeMs: 3e9 }).maxGenerationAgeMs, 3e9, 'an age is compared, not handed to a timer: past 2^31 - 1 is fine');
});

test('maxJobsPerGeneration must be a positive integer or null', OPTS, () => {
  assertRejects({ maxJobsPerGeneration: 2.5 }, 'coordinator option maxJobsPerGeneration is 2.5: expected a whole number from 1 to 2^53 - 1, or null (off)');
});

test('jitterFraction outside [0, 0.5] is refused', OPTS, () => {
  assertRejects({ jitterFraction: 0.6 }, 'coordinator option jitterFraction is 0.6: expected a number in [0, 0.5]');
});

test('hysteresisFraction outside [0, 0.5] is refused', OPTS, () => {
  assertRejects({ hysteresisFraction: -0.1 }, 'coordinator option hysteresisFraction is -0.1: expected a number in [0, 0.5]');
});

test('cooldownMs must be a number >= 0', OPTS, () => {
  assertRejects({ cooldownMs: NaN }, 'coordinator option cooldownMs is NaN: expected a whole number of milliseconds from 0 to 2147483647 (2^31 - 1)');
});

test('admissionHeadroomBytes must be a number >= 0', OPTS, () => {
  assertRejects({ admissionHeadroomBytes: null }, 'coordinator option admissionHeadroomBytes is null: expected a whole number of bytes from 0 to 2^53 - 1');
});

test('idleCheckIntervalMs must be positive', OPTS, () => {
  assertRejects({ idleCheckIntervalMs: 0 }, 'coordinator option idleCheckIntervalMs is 0: expected a whole number of milliseconds from 1 to 2147483647 (2^31 - 1)');
});

test('recycleTimeoutMs must be positive and finite', OPTS, () => {
  assertRejects({ recycleTimeoutMs: Infinity }, 'coordinator option recycleTimeoutMs is Infinity: expected a whole number of milliseconds from 1 to 2147483647 (2^31 - 1)');
});

test('timers past 2^31 - 1 ms are refused (setTimeout would fire at once)', OPTS, () => {
  for (const field of ['cooldownMs', 'idleCheckIntervalMs', 'recycleTimeoutMs'] as const) {
    assertRejects({ [field]: 3e9 }, `coordinator option ${field} is 3000000000: expected a whole number of milliseconds from ${field === 'cooldownMs' ? 0 : 1} to 2147483647 (2^31 - 1)`);
  }
  assert.equal(resolveConfig({ recycleTimeoutMs: 2 ** 31 - 1 }).recycleTimeoutMs, 2 ** 31 - 1);
});

test('values are named as the caller wrote them: BigInt, Symbol, arrays, objects', OPTS, () => {
  assertRejects({ cooldownMs: 5n } as never, 'coordinator option cooldownMs is 5n: expected a whole number of milliseconds from 0 to 2147483647 (2^31 - 1)');
  assertRejects({ cooldownMs: Symbol('soon') } as never, 'coordinator option cooldownMs is Symbol(soon): expected a whole number of milliseconds from 0 to 2147483647 (2^31 - 1)');
  assertRejects({ cooldownMs: [5] } as never, 'coordinator option cooldownMs is an array: expected a whole number of milliseconds from 0 to 2147483647 (2^31 - 1)');
  assertRejects([] as never, 'coordinator option options is an array: expected undefined or an object with any of maxLinearMemoryFraction, maxAllocatorLiveBytes, maxGenerationAgeMs, maxJobsPerGeneration, jitterFraction, hysteresisFraction, cooldownMs, admissionHeadroomBytes, idleCheckIntervalMs, recycleTimeoutMs');
});

test('an unknown option is refused so a typo is not ignored', OPTS, () => {
  assert.throws(() => resolveConfig({ cooldown: 5 } as never), /coordinator option cooldown is 5: expected one of the known options: maxLinearMemoryFraction, /);
});

test('options that are not an object are refused', OPTS, () => {
  assertRejects(null, 'coordinator option options is null: expected undefined or an object with any of maxLinearMemoryFraction, maxAllocatorLiveBytes, maxGenerationAgeMs, maxJobsPerGeneration, jitterFraction, hysteresisFraction, cooldownMs, admissionHeadroomBytes, idleCheckIntervalMs, recycleTimeoutMs');
});
