// 100 recycles in the page: each generation's workers leave Rayon's loop,
// free their thread state and close before the supervisor stops them, so
// linear memory stops growing after a warm-up (the first recycle needs room
// for two generations' stacks at once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';
import { PROOF_CASES, expectedProof } from '../node/snapshots.js';

const MiB = 2 ** 20;
const RECYCLES = 100;
const WARM_UP = 10;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

test(`${RECYCLES} recycles in the page: linear memory growth after warm-up stays within 1 MiB`, { timeout: 150_000 }, async () => {
  const harness = await openHarness({ threads: 2 });
  try {
    const c = PROOF_CASES[0];
    const result = await harness.run(
      `${RECYCLES} recycles`,
      async (h, { recycles, warmUp, k, seed }) => {
        const { backend, toHex } = h;
        return backend.withThreadPool(async () => {
          const reports = [];
          let warm = null;
          for (let i = 0; i < recycles; i++) {
            const { totalMs, startMs, drainMs, exitMs, workers } = await backend.recycleThreadPool();
            reports.push({ totalMs, startMs, drainMs, exitMs, workers });
            if (i + 1 === warmUp) warm = (await backend.poolHealth()).memory;
          }
          // A new worker claims its telemetry slot once it runs Rayon's loop, a moment after
          // it reported ready (which ends the recycle): wait for both, bounded.
          let end = await backend.poolHealth();
          for (let i = 0; i < 400 && end.workers.length < 2; i++) {
            await new Promise((resolve) => setTimeout(resolve, 25));
            end = await backend.poolHealth();
          }
          const proof = await backend.callInWorker('fixtureProve', k, seed);
          return { reports, warm, end, workers: await backend.workerHost.list(), proofHex: toHex(proof) };
        });
      },
      { recycles: RECYCLES, warmUp: WARM_UP, ...c },
      120_000,
    );

    const { reports, warm, end } = result;
    assert.equal(reports.length, RECYCLES);
    const forced = reports.filter((r) => r.workers.exited !== 2 || r.workers.forced !== 0);
    assert.deepEqual(forced, [], 'every old worker exited on its own');
    assert.equal(end.recycles, RECYCLES);
    assert.deepEqual(end.workers.map((w) => w.generation), [end.generation, end.generation], 'only the serving generation holds worker slots');
    assert.equal(result.workers.length, 2, 'the supervisor holds only the serving generation');
    const growth = end.memory.linearBytes - warm.linearBytes;
    const liveGrowth = end.memory.allocatorLiveBytes - warm.allocatorLiveBytes;
    console.log(
      `browser ${RECYCLES} recycles of 2 workers: linear memory ${(warm.linearBytes / MiB).toFixed(2)} MiB after ${WARM_UP} ` +
        `→ ${(end.memory.linearBytes / MiB).toFixed(2)} MiB after ${RECYCLES}: growth ${growth} bytes; ` +
        `allocator live bytes ${liveGrowth >= 0 ? '+' : ''}${liveGrowth} (${(liveGrowth / (RECYCLES - WARM_UP) / 2).toFixed(0)} per worker per recycle)`,
    );
    const ms = (pick) => reports.map(pick);
    const describe = (values) => `median ${median(values).toFixed(1)} ms, p90 ${percentile(values, 0.9).toFixed(1)} ms`;
    console.log(
      `browser recycle: total ${describe(ms((r) => r.totalMs))}; start ${describe(ms((r) => r.startMs))}; ` +
        `drain ${describe(ms((r) => r.drainMs))}; exit ${describe(ms((r) => r.exitMs))}`,
    );
    assert.ok(growth <= MiB, `linear memory grew ${growth} bytes after warm-up: expected at most 1 MiB`);
    assert.equal(result.proofHex, expectedProof(c).toString('hex'), 'the pool still proves the snapshot bytes');
  } finally {
    await harness.close();
  }
});

// The standby generation in the page (configureThreadPool({ standby: true })): each recycle
// swaps in the workers started ahead, proofs match the snapshot before and after, and turning
// it off retires the standby's workers.
test('with a standby, recycles in the page only swap, and turning it off retires it', { timeout: 150_000 }, async () => {
  const harness = await openHarness({ threads: 2 });
  try {
    const c = PROOF_CASES[1];
    const result = await harness.run(
      'recycles with a standby',
      async (h, { recycles, k, seed }) => {
        const { backend, toHex } = h;
        const untilStandby = async (ready) => {
          for (let i = 0; i < 1200; i++) {
            const { standby } = await backend.poolHealth();
            if ((standby?.phase === 'ready') === ready && (ready || standby === null)) return standby;
            await new Promise((resolve) => setTimeout(resolve, 25));
          }
          throw new Error(`the standby was not ${ready ? 'ready' : 'retired'} within 30 s`);
        };
        backend.configureThreadPool({ standby: true });
        return backend.withThreadPool(async () => {
          const before = toHex(await backend.callInWorker('fixtureProve', k, seed));
          const reports = [];
          for (let i = 0; i < recycles; i++) {
            const standby = await untilStandby(true);
            const { standby: swapped, fromGeneration, toGeneration, startMs, totalMs } = await backend.recycleThreadPool();
            reports.push({ swapped, fromGeneration, toGeneration, expected: standby.generation, startMs, totalMs });
          }
          const after = toHex(await backend.callInWorker('fixtureProve', k, seed));
          await untilStandby(true);
          backend.configureThreadPool({ standby: false });
          await untilStandby(false);
          const serving = (await backend.poolHealth()).generation;
          const live = (await backend.workerHost.list()).filter((w) => w.state !== 'exited').map((w) => w.generation);
          return { before, after, reports, serving, live };
        });
      },
      { recycles: 5, ...c },
      120_000,
    );
    const expected = expectedProof(c).toString('hex');
    assert.equal(result.before, expected, 'a proof beside the standby');
    assert.equal(result.after, expected, 'a proof after the swaps');
    for (const r of result.reports) {
      assert.ok(r.swapped, `each recycle only swapped: ${JSON.stringify(r)}`);
      assert.equal(r.toGeneration, r.expected, 'the ready standby became the serving generation');
    }
    assert.deepEqual(result.live, [result.serving, result.serving], 'turned off, only the serving generation has workers');
    const describe = (pick) => `median ${median(result.reports.map(pick)).toFixed(2)} ms`;
    console.log(`browser recycle with a standby: swap ${describe((r) => r.startMs)}, total ${describe((r) => r.totalMs)}`);
  } finally {
    await harness.close();
  }
});
