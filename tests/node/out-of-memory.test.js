// Out of memory in real threaded wasm: on the 128 MiB build, a job that asks
// for more than linear memory can hold fails with the typed memory error at
// the caller, and the same pool then proves the fixture correctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { installWorkerHost, workerScript } from '../../bindings-js/node/pool-workers.js';
import { PROOF_CASES, expectedProof } from './snapshots.js';

const gluePath = fileURLToPath(new URL('../../pkg/node-small/plonk_wasm.js', import.meta.url));

test('exhausting linear memory in a job is an error and the pool keeps proving', { timeout: 120_000 }, async () => {
  const { glue } = installWorkerHost({ gluePath });
  glue.setPoolLogLevel('error');
  await glue.initThreadPool(2, workerScript);
  const before = glue.poolHealth();
  assert.equal(before.memory.linearMaxBytes, 128 * 2 ** 20);

  const started = performance.now();
  assert.throws(
    () => glue.testAllocateInJob(200 * 2 ** 20),
    (error) => {
      assert.match(error.message, /^plonk-wasm \[OUT_OF_MEMORY\] out of memory: a request for 209715200 bytes/);
      assert.match(error.message, /linear memory [\d.]+ MiB of 128\.0 MiB/);
      return true;
    },
  );
  const errorMs = performance.now() - started;

  const after = glue.poolHealth();
  assert.equal(after.state, 'running');
  assert.equal(after.inFlight, 0);
  assert.equal(after.jobsFailed, before.jobsFailed + 1);
  assert.ok(after.memory.failedAllocations > before.memory.failedAllocations);
  assert.ok(after.memory.largestFailedRequestBytes >= 200 * 2 ** 20);

  // Every worker allocating at once past the maximum fails the same way.
  assert.throws(
    () => glue.testAllocateOnWorkers(100 * 2 ** 20, false),
    (error) => error.name === 'PanicError' && error.message.startsWith('plonk-wasm [OUT_OF_MEMORY]'),
  );

  const c = PROOF_CASES[0];
  const proof = Buffer.from(glue.fixtureProve(c.k, c.seed));
  assert.ok(glue.fixtureVerify(c.k, proof));
  assert.deepEqual(proof, expectedProof(c), 'the proof after out-of-memory equals the snapshot');
  console.log(`out of memory in a job reached the caller as an error in ${errorMs.toFixed(1)} ms`);
  await glue.exitThreadPool();
});
