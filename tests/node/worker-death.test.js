// Node only: a killed worker's thread state is reclaimed, because Node
// reports each thread's end. (A worker lost while idle or during a proof, on
// both backends: tests/conformance/cases.js; a trap, which also takes the
// instance down: worker-trap.test.js.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within, sleep } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node', { logLevel: 'error' });
const { wasm, withThreadPool, poolHealth, workerHost } = backend;
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

// Issue 12, defect 6: a killed worker never destroys its own thread state, so
// its stack (2 MiB) and TLS block leaked with every kill and rebuild. The
// supervisor now frees them from outside (`__wbindgen_thread_destroy(tls,
// stack, size)`) once every worker of that generation is gone (Node reports
// each thread's end; browsers do not, so there they stay: docs/internals.md).
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
      // The dead worker never exits by itself; a survivor that the loss fenced may miss the
      // poisoned generation's short exit bound on a busy machine and be stopped too. Either way,
      // every worker that did not free its own thread state had it freed for it.
      assert.ok(report.workers.reclaimed >= 1, `the dead worker's thread state was freed (${JSON.stringify(report.workers)})`);
      assert.equal(report.workers.reclaimed, report.workers.forced, `every stopped worker's thread state was freed (${JSON.stringify(report.workers)})`);
    }
    const liveGrowth = end.allocatorLiveBytes - start.allocatorLiveBytes;
    const linearGrowth = end.linearBytes - start.linearBytes;
    // A leaked stack is 2 MiB per cycle: 10 MiB over the cycles.
    assert.ok(liveGrowth < 1 * 2 ** 20, `allocator live bytes grew by ${liveGrowth} over ${CYCLES} kills`);
    assert.ok(linearGrowth <= 2 * 2 ** 20, `linear memory grew by ${linearGrowth} over ${CYCLES} kills`);
    console.log(`${CYCLES} kills and rebuilds: allocator live ${liveGrowth >= 0 ? '+' : ''}${liveGrowth} bytes, linear +${linearGrowth} bytes; reclaimed ${reports.map((r) => r.workers.reclaimed).join(', ')}`);
  }));
});
