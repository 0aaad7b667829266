// A pool worker that dies: terminated from outside while idle, and while a
// proof runs. The supervisor sees it, the generation is poisoned, the job in
// flight completes or fails with POOL_WORKER_LOST within a bound (never
// hangs), and the next operation gets a rebuilt pool that proves correctly.
// (A trap, which also takes the instance down, is worker-trap.test.js.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within, sleep } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node', { logLevel: 'error' });
const { wasm, withThreadPool, poolHealth, workerHost, errors } = backend;
const coordinator = backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1 });
const rebuilds = [];
coordinator.on('recycle', (event) => event.decision.kind === 'rebuild' && rebuilds.push(event));
const losses = [];
workerHost.on((event) => event.type === 'worker-lost' && losses.push(event));

async function waitFor(what, condition, ms = 10_000) {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

test('an idle worker killed from outside: detected, poisoned, rebuilt before the next proof', { timeout: 60_000 }, async () => {
  await within(50_000, 'idle worker death', withThreadPool(async () => {
    const generation = poolHealth().generation;
    const killedAt = performance.now();
    await workerHost.kill(generation, 0);
    await waitFor('the loss to be seen', () => losses.length === 1);
    const detectMs = performance.now() - killedAt;
    assert.equal(losses[0].generation, generation);
    assert.equal(losses[0].index, 0);
    const health = poolHealth();
    assert.equal(health.state, 'poisoned');
    assert.equal(health.poisoned.generation, generation);
    assert.match(health.poisoned.reason, /worker 0: exited with code \d+ while running/);

    const proofMs = await withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'after the rebuild'));
    assert.equal(rebuilds.length, 1, 'the coordinator rebuilt the poisoned pool');
    assert.equal(rebuilds[0].report.cause, 'poisoned');
    assert.equal(poolHealth().state, 'running');
    assert.equal(poolHealth().generation, generation + 1);
    console.log(
      `idle worker killed: loss seen in ${detectMs.toFixed(0)} ms; rebuild ${rebuilds[0].report.totalMs.toFixed(0)} ms ` +
        `(workers ${JSON.stringify(rebuilds[0].report.workers)}); next proof ${proofMs.toFixed(0)} ms`,
    );
  }));
});

test('a worker killed during a proof: the proof completes or fails with POOL_WORKER_LOST in bounded time; the next one succeeds', { timeout: 60_000 }, async () => {
  await within(50_000, 'worker death during a proof', withThreadPool(async () => {
    const K = 12; // ~2 s on 2 workers: the kill lands in the middle
    wasm.fixtureProve(K, 3); // proving key cached
    const generation = poolHealth().generation;
    const lossesBefore = losses.length;
    await workerHost.kill(generation, 1, { afterMs: 300 });

    const started = performance.now();
    const outcome = await withThreadPool(async () => wasm.fixtureProve(K, 3)).then(
      (proof) => ({ proof }),
      (error) => ({ error }),
    );
    const outcomeMs = performance.now() - started;
    if (outcome.error !== undefined) {
      assert.ok(outcome.error instanceof errors.PoolWorkerLostError, `expected PoolWorkerLostError, got ${outcome.error?.stack}`);
      assert.equal(outcome.error.code, 'POOL_WORKER_LOST');
    } else {
      assert.ok(wasm.fixtureVerify(K, outcome.proof), 'a proof that completed despite the loss verifies');
    }
    assert.ok(outcomeMs < 15_000, `settled within the bound (${outcomeMs.toFixed(0)} ms)`);
    await waitFor('the loss to be seen', () => losses.length === lossesBefore + 1);
    assert.equal(poolHealth().state, 'poisoned');

    const proofMs = await withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[1], 'after the rebuild'));
    assert.equal(poolHealth().state, 'running');
    assert.ok(poolHealth().generation > generation, 'a new generation serves');
    console.log(
      `worker killed 300 ms into a k=${K} proof: ${outcome.error ? outcome.error.code : 'completed'} after ${outcomeMs.toFixed(0)} ms; ` +
        `rebuilt, next proof ${proofMs.toFixed(0)} ms`,
    );
  }));
});

// Issue 12, defect 6: a killed worker never destroys its own thread state, so
// its stack (2 MiB) and TLS block leaked with every kill and rebuild. The
// supervisor now frees them from outside (`__wbindgen_thread_destroy(tls,
// stack, size)`) once every worker of that generation is gone (Node reports
// each thread's end; browsers do not, so there they stay: README).
test('killed workers leak nothing: each rebuild reclaims the dead worker\'s stack and TLS', { timeout: 90_000 }, async () => {
  const CYCLES = 5;
  const killAndRebuild = async () => {
    const generation = poolHealth().generation;
    const before = losses.length;
    await workerHost.kill(generation, 1);
    await waitFor('the loss to be seen', () => losses.length > before);
    await withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'after a kill'));
    return rebuilds.at(-1).report;
  };
  await within(80_000, 'kill and rebuild cycles', withThreadPool(async () => {
    await killAndRebuild(); // warm-up: lazily initialised state, set-aside stacks
    const start = poolHealth().memory;
    const reports = [];
    for (let i = 0; i < CYCLES; i++) reports.push(await killAndRebuild());
    const end = poolHealth().memory;
    for (const report of reports) {
      assert.equal(report.cause, 'poisoned');
      assert.equal(report.workers.reclaimed, 1, `the dead worker's thread state was freed (${JSON.stringify(report.workers)})`);
    }
    const liveGrowth = end.allocatorLiveBytes - start.allocatorLiveBytes;
    const linearGrowth = end.linearBytes - start.linearBytes;
    // A leaked stack is 2 MiB per cycle: 10 MiB over the cycles.
    assert.ok(liveGrowth < 1 * 2 ** 20, `allocator live bytes grew by ${liveGrowth} over ${CYCLES} kills`);
    assert.ok(linearGrowth <= 2 * 2 ** 20, `linear memory grew by ${linearGrowth} over ${CYCLES} kills`);
    console.log(`${CYCLES} kills and rebuilds: allocator live ${liveGrowth >= 0 ? '+' : ''}${liveGrowth} bytes, linear +${linearGrowth} bytes; reclaimed ${reports.map((r) => r.workers.reclaimed).join(', ')}`);
  }));
});
