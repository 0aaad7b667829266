// The TypeScript policy layer against real threaded wasm: WithThreadPool owns
// the pool's life, the coordinator recycles it on a jobs-per-generation
// threshold between proofs, every proof equals the native snapshot, and
// admission control refuses with the typed memory error carrying real health.
// Needs `tsc` output (build/ts), which scripts/test.sh builds first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { installWorkerHost, workerScript } from '../../bindings-js/node/pool-workers.js';
import { PoolHealthCoordinator } from '../../build/ts/bindings-js/pool-health-coordinator.js';
import { PoolMemoryError } from '../../build/ts/bindings-js/errors.js';
import { WithThreadPool } from '../../build/ts/bindings-js/workers.js';
import { PROOF_CASES, expectedProof } from './snapshots.js';

const gluePath = fileURLToPath(new URL('../../pkg/node/plonk_wasm.js', import.meta.url));
const { glue } = installWorkerHost({ gluePath });
glue.setPoolLogLevel('warn');

const withThreadPool = WithThreadPool({
  initThreadPool: async () => void (await glue.initThreadPool(2, workerScript)),
  exitThreadPool: async () => void (await glue.exitThreadPool()),
  recycleThreadPool: (options) => glue.recycleThreadPool(options),
  canTakeJobs: () => glue.poolHealth().generation !== null,
});

test('the coordinator recycles real wasm between proofs and every proof equals the snapshot', { timeout: 120_000 }, async () => {
  const events = [];
  const coordinator = new PoolHealthCoordinator(
    glue,
    { maxJobsPerGeneration: 4, cooldownMs: 0, maxLinearMemoryFraction: 1 },
    { log: (event) => events.push(event) },
  );
  const c = PROOF_CASES[0];
  const expected = expectedProof(c);
  const firstGeneration = await withThreadPool(async () => {
    const generation = glue.poolHealth().generation;
    for (let i = 0; i < 6; i++) {
      await coordinator.beforeJob();
      const proof = Buffer.from(glue.fixtureProve(c.k, c.seed));
      assert.deepEqual(proof, expected, `proof ${i} equals the snapshot`);
      assert.ok(glue.fixtureVerify(c.k, proof));
    }
    return generation;
  });
  const recycles = events.filter((e) => e.event === 'recycle');
  assert.ok(recycles.length >= 2, `the coordinator recycled (${recycles.length} times)`);
  for (const r of recycles) {
    assert.equal(r.decision.kind, 'recycle');
    assert.equal(r.decision.metric, 'generationJobs');
    assert.ok(r.report.toGeneration > firstGeneration);
  }
  assert.equal(withThreadPool.state(), 'none', 'the pool exited after the last user');
  assert.equal(glue.poolHealth().state, 'uninit');
});

test('admission control refuses with the typed memory error and the real health snapshot', { timeout: 60_000 }, async () => {
  const coordinator = new PoolHealthCoordinator(glue, { admissionHeadroomBytes: 8 * 2 ** 30 }, { log: () => {} });
  await withThreadPool(async () => {
    await assert.rejects(coordinator.beforeJob(), (error) => {
      assert.ok(error instanceof PoolMemoryError, `got ${error}`);
      assert.equal(error.code, 'POOL_OUT_OF_MEMORY');
      assert.equal(error.neededBytes, 8 * 2 ** 30);
      assert.equal(error.health.memory.linearMaxBytes, 4 * 2 ** 30);
      assert.ok(error.availableBytes < error.neededBytes);
      return true;
    });
    // Refusing a job does not hurt the pool: a proof still works.
    const c = PROOF_CASES[1];
    assert.deepEqual(Buffer.from(glue.fixtureProve(c.k, c.seed)), expectedProof(c));
  });
});
