// limits.rssBudgetBytes (bindings-js/isolates/rss-budget.ts) on the in-process
// platform: the pool's RSS is what the test says it is, each isolate's RSS
// share what its module reports. A successor that would cross the budget starts
// only once its predecessor is stopped (stop-then-start), and the pool says so;
// one that fits is blue/green.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MiB, deferred, load, nextEvent, within } from './lib.js';
import { inProcessPlatform, scriptedModule } from './in-process.js';
import { MODULE, startPool } from './harness.js';

const { ProverPool } = await load('prover-pool.js');
const errors = await load('errors.js');
const OPTS = { timeout: 20_000 };
const SHARE = 300 * MiB; // each isolate's RSS share after its warm step

/** `names` of the recorded events, in order, as "name isolateId". */
const sequence = (events, names) => events.filter((e) => names.includes(e.name)).map((e) => `${e.name} ${e.isolateId ?? e.oldIsolateId}`);

test('a successor that fits the budget is blue/green; one that would cross it starts only after its predecessor stopped', OPTS, async () => {
  let processRss = 600 * MiB;
  const warmGates = new Map();
  const { pool, events, isolates, close } = await startPool(
    { limits: { maxJobs: 1, cooldownMs: 0, rssBudgetBytes: 1_000 * MiB } },
    (id) => ({ memory: { rssShareBytes: SHARE }, warm: () => warmGates.get(id)?.promise }),
    { processRssBytes: () => processRss },
  );
  // 600 + 300 MiB fit 1000: isolate 2 warms while isolate 1 still serves.
  const blueGreen = nextEvent(pool, 'replacement');
  await pool.run('work', { x: 1 });
  const first = await within(5_000, 'the blue/green replacement', blueGreen);
  assert.deepEqual([first.oldIsolateId, first.newIsolateId, first.order], [1, 2, 'blue-green']);
  assert.ok(!events.some((e) => e.name === 'stop-then-start'));

  // 800 + 300 MiB would cross it: isolate 2 stops first; isolate 3 starts with no predecessor serving.
  processRss = 800 * MiB;
  warmGates.set(3, deferred());
  const said = nextEvent(pool, 'stop-then-start');
  const spawned = nextEvent(pool, 'isolate-start', (e) => e.isolateId === 3);
  const replaced = nextEvent(pool, 'replacement', (e) => e.oldIsolateId === 2);
  await pool.run('work', { x: 2 });
  const verdict = await said;
  assert.deepEqual([verdict.isolateId, verdict.slot, verdict.poolRssBytes, verdict.successorRssBytes, verdict.budgetBytes], [2, 0, 800 * MiB, SHARE, 1_000 * MiB]);
  assert.match(verdict.reason, /800 MiB plus a successor's 300 MiB would cross limits\.rssBudgetBytes 1000 MiB/);
  const start = await spawned;
  assert.deepEqual([start.cause, start.predecessorId], ['replacement', null]);
  assert.equal(isolates.get(2).terminated, true, 'the predecessor is terminated before its successor is spawned');
  assert.deepEqual(sequence(events, ['isolate-exit', 'isolate-start']).slice(-2), ['isolate-exit 2', 'isolate-start 3']);

  // The slot serves nothing while its successor warms: a job waits for it, and none is lost.
  const waiting = pool.run('work', { x: 3 });
  const health = await pool.health();
  assert.deepEqual(health.isolates.map((i) => [i.id, i.state]), [[3, 'starting']]);
  assert.equal(health.queued, 1);
  warmGates.get(3).resolve('warm');
  assert.equal((await within(5_000, 'the waiting job', waiting)).isolateId, 3);
  const report = await replaced;
  assert.deepEqual([report.oldIsolateId, report.newIsolateId, report.order, report.metric], [2, 3, 'stop-then-start', 'jobs']);
  assert.ok(report.totalMs >= report.newStartMs, `the slot's gap (${report.totalMs} ms) covers the successor's start (${report.newStartMs} ms)`);
  await close();
});

test('stop-then-start of a busy isolate: it finishes its job, takes no other, then its successor starts; replaceIsolate() gets the report', OPTS, async () => {
  const { pool, module, events, close } = await startPool(
    { limits: { rssBudgetBytes: 500 * MiB } },
    () => ({ memory: { rssShareBytes: SHARE } }),
    { processRssBytes: () => 400 * MiB },
  );
  const gate = module(1).gate('slow');
  const started = nextEvent(pool, 'job-start');
  const running = pool.run('slow', {});
  await started;
  const replacing = pool.replaceIsolate(1);
  assert.ok(events.some((e) => e.name === 'stop-then-start' && e.isolateId === 1), 'said as it is decided');
  const queued = pool.run('work', { x: 1 });
  assert.deepEqual((await pool.health()).isolates.map((i) => [i.id, i.state]), [[1, 'draining']], 'no successor while it drains');
  gate.resolve('slow done');
  assert.equal(await running, 'slow done', 'the running job completes');
  const report = await within(5_000, 'replaceIsolate()', replacing);
  assert.deepEqual([report.oldIsolateId, report.newIsolateId, report.order, report.metric], [1, 2, 'stop-then-start', 'requested']);
  assert.equal((await queued).isolateId, 2, 'the job submitted meanwhile ran on the successor');
  const order = sequence(events, ['job-end', 'isolate-exit', 'isolate-start']);
  const at = (entry) => order.indexOf(entry);
  assert.ok(at('job-end 1') < at('isolate-exit 1') && at('isolate-exit 1') < at('isolate-start 2'), order.join(', '));
  await close();
});

test("a stop-then-start successor that fails to start: replaceIsolate() rejects, typed, and the slot restarts", OPTS, async () => {
  let failWarm = false;
  const { pool, close } = await startPool(
    { limits: { rssBudgetBytes: 500 * MiB }, restartDelayMs: 0 },
    () => ({ memory: { rssShareBytes: SHARE }, warm: async () => (failWarm ? Promise.reject(new Error('cache unreadable')) : 'warm') }),
    { processRssBytes: () => 400 * MiB },
  );
  failWarm = true;
  const restarted = nextEvent(pool, 'isolate-start', (e) => e.cause === 'retry');
  await assert.rejects(within(5_000, 'replaceIsolate()', pool.replaceIsolate(1)), (e) => {
    assert.ok(e instanceof errors.ProverPoolReplacementError, String(e));
    assert.deepEqual([e.code, e.isolateId, e.loss], ['PROVER_POOL_REPLACEMENT_FAILED', 1, 'start-failed']);
    assert.match(e.message, /stopped first \(limits\.rssBudgetBytes allows one instance at a time\), and its successor failed to start/);
    assert.equal(e.cause?.code, 'PROVER_POOL_START_FAILED');
    return true;
  });
  failWarm = false;
  await restarted;
  assert.equal((await within(5_000, 'a job on the restarted slot', pool.run('work', { x: 1 }))).isolateId, 3);
  await close();
});

test("with isolation 'process', each isolate's own process counts in the pool's RSS", OPTS, async () => {
  for (const isolateProcesses of [false, true]) {
    // 100 MiB here + 300 MiB successor fit 650; + 300 MiB of the serving isolate's own process do not.
    const { pool, events, close } = await startPool(
      { limits: { rssBudgetBytes: 650 * MiB } },
      () => ({ memory: { rssShareBytes: SHARE } }),
      { processRssBytes: () => 100 * MiB, isolateProcesses },
    );
    const report = await within(5_000, 'replaceIsolate()', pool.replaceIsolate(1));
    assert.equal(report.order, isolateProcesses ? 'stop-then-start' : 'blue-green', `isolateProcesses ${isolateProcesses}`);
    const said = events.find((e) => e.name === 'stop-then-start');
    if (isolateProcesses) assert.equal(said.poolRssBytes, 400 * MiB);
    else assert.equal(said, undefined);
    await close();
  }
});

test("an isolate process still starting counts at what a warm one takes", OPTS, async () => {
  // 100 MiB here + 2 serving × 300 + slot 0's successor warming (300, once warm) + slot 1's successor (300) = 1300.
  const warm3 = deferred();
  const { pool, events, close } = await startPool(
    { isolates: 2, limits: { rssBudgetBytes: 1_299 * MiB } },
    (id) => ({ memory: { rssShareBytes: SHARE }, warm: id === 3 ? () => warm3.promise : undefined }),
    { processRssBytes: () => 100 * MiB, isolateProcesses: true },
  );
  const first = pool.replaceIsolate(1); // 100 + 600 + 300 fit: blue/green, its successor (3) warms
  assert.ok(!events.some((e) => e.name === 'stop-then-start'));
  // Isolate 2's job runs out of memory: its successor starts at once (a fault does not wait its turn).
  await assert.rejects(pool.run('outOfMemory'), (e) => e.remote.code === 'POOL_OUT_OF_MEMORY');
  const said = events.find((e) => e.name === 'stop-then-start');
  assert.ok(said !== undefined, `expected a stop-then-start: ${events.map((e) => e.name).join(', ')}`);
  assert.equal(said.isolateId, 2);
  assert.equal(said.poolRssBytes, 1_000 * MiB, 'the warming isolate 3 counted at 300 MiB');
  warm3.resolve('warm');
  assert.equal((await within(5_000, 'the first replacement', first)).order, 'blue-green');
  await close();
});

test('an RSS budget on a platform that reports no RSS is refused at start, naming the value', OPTS, async () => {
  const { platform } = inProcessPlatform((id) => scriptedModule(id));
  await assert.rejects(ProverPool.start(platform, { module: MODULE, limits: { rssBudgetBytes: 512 * MiB } }), (e) => {
    assert.ok(e instanceof errors.ProverPoolConfigError, String(e));
    assert.equal(e.field, 'limits.rssBudgetBytes');
    assert.match(e.message, /536870912.*null on a platform that reports no RSS/);
    return true;
  });
  await assert.rejects(ProverPool.start(platform, { module: MODULE, limits: { rssBudgetBytes: -1 } }), (e) => e.field === 'limits.rssBudgetBytes');
});

test('replaceAhead projects only when a successor may warm beside the isolate: under a budget that forbids it, the isolate serves up to the limit', OPTS, async () => {
  // A start of 100 ms against jobs of 25 ms: replacing ahead projects a few jobs, and decides after the first.
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const decisions = async (processRssBytes) => {
    const { pool, events, close } = await startPool(
      { limits: { maxJobs: 3, cooldownMs: 0, replaceAhead: true, rssBudgetBytes: 500 * MiB } },
      () => ({ memory: { rssShareBytes: SHARE }, warm: () => sleep(100), extraJobs: () => ({ tick: () => sleep(25) }) }),
      { processRssBytes: () => processRssBytes },
    );
    const replaced = nextEvent(pool, 'replacement');
    for (let x = 1; x <= 3; x++) await pool.run('tick', { x });
    const report = await within(5_000, 'the replacement', replaced);
    const reasons = events.filter((e) => e.name === 'decision' && e.decision.kind === 'replace').map((e) => e.decision.reason);
    await close();
    return { report, reasons };
  };
  // 100 + 300 MiB fit 500: the successor warms ahead, decided on a projection.
  const fits = await decisions(100 * MiB);
  assert.equal(fits.report.order, 'blue-green');
  assert.ok(fits.reasons.some((r) => /projected [1-9]\d* jobs? ahead/.test(r)), `decided ahead: ${fits.reasons}`);
  // 400 + 300 MiB would cross it: nothing to start ahead; the isolate serves its 3 jobs, then stops first.
  const forbidden = await decisions(400 * MiB);
  assert.deepEqual([forbidden.report.order, forbidden.report.old.jobs], ['stop-then-start', 3]);
  assert.ok(!forbidden.reasons.some((r) => /projected [1-9]\d* jobs? ahead/.test(r)), `decided at the limit itself: ${forbidden.reasons}`);
});
