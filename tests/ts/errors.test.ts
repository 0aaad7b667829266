import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PoolConfigError,
  PoolError,
  PoolMemoryError,
  PoolOperationError,
  PoolPoisonedError,
  PoolRecycleTimeoutError,
  fromWasmError,
} from '../../bindings-js/lib/proof-system/errors.js';
import { healthWith } from './health-fixture.js';

const OPTS = { timeout: 5_000 };

/** What wasm-bindgen throws for a Rust panic that crossed to JS. */
class PanicError extends Error {
  override name = 'PanicError';
}

function wasmError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test('an out-of-memory PanicError maps to PoolMemoryError with the original as cause', OPTS, () => {
  const original = new PanicError('plonk-wasm [OUT_OF_MEMORY] out of memory: request of 1048576 bytes failed');
  const health = healthWith();
  const mapped = fromWasmError(original, { health });
  assert.ok(mapped instanceof PoolMemoryError);
  assert.ok(mapped instanceof PoolError);
  assert.equal(mapped.code, 'POOL_OUT_OF_MEMORY');
  assert.equal(mapped.kind, 'job-out-of-memory');
  assert.equal(mapped.cause, original);
  assert.equal(mapped.health, health);
  assert.equal(mapped.name, 'PoolMemoryError');
  assert.match(mapped.message, /out of memory: request of 1048576 bytes failed/);
  assert.doesNotMatch(mapped.message, /\[OUT_OF_MEMORY\]/);
});

test("an out-of-memory message names the memory's real maximum (the host's health), not the 4 GiB the module declares", OPTS, () => {
  const original = new PanicError(
    'plonk-wasm [OUT_OF_MEMORY] out of memory: a request for 4194304 bytes (4.0 MiB) failed; allocator live 500.0 MiB, peak 510.0 MiB, linear memory 512.0 MiB of 4096.0 MiB',
  );
  const page = fromWasmError(original, { health: healthWith({ memory: { linearMaxBytes: 512 * 2 ** 20 } }) });
  assert.ok(page instanceof PoolMemoryError);
  assert.match(page.message, /linear memory 512\.0 MiB of 512\.0 MiB/);
  const unknown = fromWasmError(original, {});
  assert.match((unknown as Error).message, /linear memory 512\.0 MiB of 4096\.0 MiB/, 'no health: the message is left as the wasm wrote it');
});

test('a poisoned PanicError maps to PoolPoisonedError with generation and reason from the health', OPTS, () => {
  const original = new PanicError('plonk-wasm [POOL_POISONED] thread pool generation 3 is poisoned: worker 1 exited');
  const health = healthWith({ state: 'poisoned', poisoned: { generation: 3, reason: 'worker 1 exited' } });
  const mapped = fromWasmError(original, { health });
  assert.ok(mapped instanceof PoolPoisonedError);
  assert.equal(mapped.code, 'POOL_POISONED');
  assert.equal(mapped.generation, 3);
  assert.equal(mapped.reason, 'worker 1 exited');
  assert.equal(mapped.cause, original);
  assert.match(mapped.message, /recycleThreadPool\(\)/);
});

test('a JS Error with code POOL_POISONED maps to PoolPoisonedError', OPTS, () => {
  const original = wasmError('POOL_POISONED', 'initThreadPool: generation 1 is poisoned');
  const mapped = fromWasmError(original);
  assert.ok(mapped instanceof PoolPoisonedError);
  assert.equal(mapped.generation, null);
  assert.equal(mapped.cause, original);
});

test('other wasm codes keep their code on a PoolOperationError', OPTS, () => {
  for (const code of ['POOL_NOT_INITIALIZED', 'POOL_EXITING', 'POOL_STARTING'] as const) {
    const original = wasmError(code, 'something');
    const mapped = fromWasmError(original);
    assert.ok(mapped instanceof PoolOperationError, code);
    assert.equal(mapped.code, code);
    assert.equal(mapped.cause, original);
  }
  const panic = fromWasmError(new PanicError('plonk-wasm [POOL_STARTING] the pool is starting'));
  assert.ok(panic instanceof PoolOperationError);
  assert.equal(panic.code, 'POOL_STARTING');
});

test('errors that are not the pool\'s come back unchanged', OPTS, () => {
  const typeError = new TypeError('x is not a function');
  assert.equal(fromWasmError(typeError), typeError);
  const nodeError = wasmError('ENOENT', 'no such file');
  assert.equal(fromWasmError(nodeError), nodeError);
  const unknownBracket = new PanicError('plonk-wasm [SOMETHING_ELSE] huh');
  assert.equal(fromWasmError(unknownBracket), unknownBracket);
  assert.equal(fromWasmError('a string'), 'a string');
  const already = new PoolRecycleTimeoutError(10);
  assert.equal(fromWasmError(already), already);
});

test('PoolConfigError carries field, value and expected in the uniform message', OPTS, () => {
  const error = new PoolConfigError('cooldownMs', -1, 'a number of milliseconds >= 0');
  assert.equal(error.code, 'POOL_INVALID_CONFIG');
  assert.equal(error.field, 'cooldownMs');
  assert.equal(error.value, -1);
  assert.equal(error.expected, 'a number of milliseconds >= 0');
  assert.equal(error.message, 'coordinator option cooldownMs is -1: expected a number of milliseconds >= 0');
});

test('admission refusal names the numbers and what to do', OPTS, () => {
  const health = healthWith({ memory: { linearMaxBytes: 1000, allocatorLiveBytes: 990 } });
  const error = PoolMemoryError.admissionRefused(health, 64, 10);
  assert.equal(error.kind, 'admission-refused');
  assert.equal(error.neededBytes, 64);
  assert.equal(error.availableBytes, 10);
  assert.equal(error.health, health);
  assert.match(error.message, /10 bytes.*linearMaxBytes 1000 - allocatorLiveBytes 990.*admissionHeadroomBytes 64/);
});

test('PoolRecycleTimeoutError has its code and bound', OPTS, () => {
  const error = new PoolRecycleTimeoutError(250);
  assert.equal(error.code, 'POOL_RECYCLE_TIMEOUT');
  assert.equal(error.timeoutMs, 250);
  assert.match(error.message, /recycleTimeoutMs 250/);
});
