// What a proving service expects of the pool, as piscina and tinypool give
// it, on the in-process platform: a per-job deadline; a bounded queue with
// back-pressure events on its edges; wait and run histograms and utilization
// in health(); idle scale-down that gives an isolate's memory back and starts
// it again on demand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, nextEvent, within } from './lib.js';
import { startPool } from './harness.js';

const errors = await load('errors.js');
const OPTS = { timeout: 20_000 };

test("a deadline: a running job's isolate is stopped, then the job rejects (typed); a queued one leaves the queue; the pool's default applies", OPTS, async () => {
  const { pool, isolates, module, events, close } = await startPool({ jobTimeoutMs: 5_000 });
  module(1).gate('slow'); // never resolves: an isolate that went silent looks the same
  const refilled = nextEvent(pool, 'isolate-ready', (e) => e.cause === 'timeout');
  const running = pool.run('slow', { x: 1 }, { timeoutMs: 80 });
  const queued = pool.run('work', { x: 2 }, { timeoutMs: 40 });
  await assert.rejects(queued, (e) => e instanceof errors.ProverPoolTimeoutError && e.phase === 'queued' && e.isolateId === null && e.timeoutMs === 40);
  await assert.rejects(running, (e) => e instanceof errors.ProverPoolTimeoutError && e.code === 'PROVER_POOL_JOB_TIMEOUT' && e.phase === 'running' && e.isolateId === 1);
  assert.equal(isolates.get(1).terminated, true);
  const names = events.map((e) => (e.name === 'job-end' ? `job-end ${e.jobId} ${e.outcome}` : e.name === 'isolate-exit' ? `isolate-exit ${e.isolateId} ${e.reason}` : null)).filter(Boolean);
  assert.deepEqual(names, ['job-end 2 timed-out', 'isolate-exit 1 timed-out', 'job-end 1 timed-out']);
  assert.equal(module(1).calls.filter((c) => c.name === 'work').length, 0, 'the queued job never ran');
  await refilled;
  // The pool's jobTimeoutMs (5 s) is every job's deadline unless run() says otherwise: this one ends well within it.
  assert.equal((await pool.run('work', { x: 3 })).args.x, 3);
  assert.equal((await pool.health()).totals.jobsTimedOut, 2);
  await close();
});

test('back-pressure: needs-drain when the queue reaches maxQueuedJobs, drain when it empties, once per edge', OPTS, async () => {
  const { pool, module, events, close } = await startPool({ maxQueuedJobs: 2 });
  const gate = module(1).gate('slow');
  const started = nextEvent(pool, 'job-start');
  const running = pool.run('slow');
  await started;
  const queued = [pool.run('work', { x: 1 })];
  assert.equal(pool.needsDrain, false);
  queued.push(pool.run('work', { x: 2 }));
  assert.equal(pool.needsDrain, true);
  await assert.rejects(pool.run('work', { x: 3 }), (e) => e.kind === 'queue-full');
  const health = await pool.health();
  assert.deepEqual([health.queued, health.maxQueuedJobs, health.needsDrain], [2, 2, true]);
  const drained = nextEvent(pool, 'drain');
  gate.resolve('done');
  await Promise.all([running, ...queued]);
  await drained;
  assert.equal(pool.needsDrain, false);
  const edges = events.filter((e) => e.name === 'needs-drain' || e.name === 'drain');
  assert.deepEqual(edges.map((e) => [e.name, e.queued]), [['needs-drain', 2], ['drain', 0]]);
  assert.equal(edges[0].maxQueuedJobs, 2);
  await close();
});

test('health: wait and run histograms (buckets, sum, percentiles) and utilization, by the pool clock', OPTS, async () => {
  let now = 1_000_000;
  const { pool, module, close } = await startPool({}, () => ({}), { now: () => now });
  const gate = module(1).gate('slow');
  const started = nextEvent(pool, 'job-start');
  const first = pool.run('slow'); // starts at once: waits 0 ms
  await started;
  now += 100;
  const second = pool.run('work'); // queued behind it
  now += 1_400;
  const secondStarted = nextEvent(pool, 'job-start', (e) => e.jobId === 2);
  gate.resolve('done'); // the first ran 1.5 s; the second waited 1.4 s
  await Promise.all([first, second, secondStarted]);
  const health = await pool.health();
  const wait = health.waitTimeMs;
  assert.deepEqual([wait.count, wait.sumMs, wait.minMs, wait.maxMs], [2, 1_400, 0, 1_400]);
  const bucket = (h, leMs) => h.buckets.find((b) => b.leMs === leMs).count;
  assert.deepEqual([bucket(wait, 10), bucket(wait, 1_000), bucket(wait, 2_500), bucket(wait, 600_000)], [1, 1, 2, 2], 'cumulative');
  assert.ok(wait.p90Ms > 1_000 && wait.p90Ms <= 1_400, `p90 ${wait.p90Ms}`);
  const run = health.runTimeMs;
  assert.deepEqual([run.count, run.sumMs, run.minMs, run.maxMs], [2, 1_500, 0, 1_500]);
  assert.equal(health.uptimeMs, 1_500);
  assert.equal(health.busyMs, 1_500);
  assert.equal(health.utilization, 1, 'one isolate, busy the whole time');
  await close();
});

// busyMs is a counter (o1js_prover_pool_busy_seconds_total): an aborted job
// leaves its isolate at once but settles only once the isolate is stopped;
// its run time must not vanish from busyMs in between.
test('busyMs never goes down: an aborted job counts as busy until it left its isolate, not until its isolate stopped', OPTS, async () => {
  let now = 1_000_000;
  let releaseFirst = null; // isolate 1's terminate() is held until the test lets it end
  const firstStopping = new Promise((resolve) => (releaseFirst = resolve));
  let firstTerminated = false;
  const stopping = (id) => (id === 1 ? ((firstTerminated = true), firstStopping) : Promise.resolve());
  const { pool, module, close } = await startPool({}, () => ({}), { now: () => now, stopping });
  module(1).gate('slow');
  const started = nextEvent(pool, 'job-start');
  const controller = new AbortController();
  const running = pool.run('slow', undefined, { signal: controller.signal });
  running.catch(() => undefined);
  await started;
  now += 2_000;
  const busyWhileRunning = (await pool.health()).busyMs;
  controller.abort();
  const busyWhileStopping = (await pool.health()).busyMs; // its isolate is held in terminate()
  assert.equal(busyWhileRunning, 2_000);
  assert.ok(busyWhileStopping >= busyWhileRunning, `busyMs went down from ${busyWhileRunning} to ${busyWhileStopping} while the aborted job's isolate stopped`);
  assert.ok(firstTerminated, "the aborted job's isolate is being stopped");
  releaseFirst();
  await assert.rejects(running, (e) => e.code === 'PROVER_POOL_JOB_ABORTED');
  assert.equal((await pool.health()).busyMs, 2_000, 'counted once');
  await close();
});

test('idle scale-down: an isolate above minIsolates idle for idleTimeoutMs is stopped; queued jobs start it again (a warm start)', OPTS, async () => {
  // The pool's clock stands still until both isolates are ready, so both have been idle equally long
  // when it moves: which goes first is then the rule's, not how far apart a busy machine started them.
  let now = 1_000_000;
  const { pool, isolates, module, events, close } = await startPool({ isolates: 2, minIsolates: 1, idleTimeoutMs: 250, idleCheckIntervalMs: 25 }, () => ({}), { now: () => now });
  const idleExit = nextEvent(pool, 'isolate-exit', (e) => e.reason === 'idle', 5_000);
  now += 300;
  const exit = await idleExit;
  assert.equal(exit.isolateId, 2, 'the highest slot goes first');
  assert.equal(isolates.get(2).terminated, true, 'its thread, and its memory, are gone');
  let health = await pool.health();
  assert.deepEqual(health.slots.map((s) => s.state), ['serving', 'parked']);
  assert.equal(health.totals.idleStops, 1);
  now += 300;
  await new Promise((resolve) => setTimeout(resolve, 300)); // idle checks with both past idleTimeoutMs
  assert.equal((await pool.health()).isolates.length, 1, 'never below minIsolates');

  const gate = module(1).gate('slow');
  const onFirst = nextEvent(pool, 'job-start');
  const held = pool.run('slow');
  await onFirst;
  const demanded = nextEvent(pool, 'isolate-ready', (e) => e.cause === 'demand');
  const queued = pool.run('work', { x: 'demand' });
  const ready = await demanded;
  assert.deepEqual([ready.slot, ready.cause], [1, 'demand']);
  assert.ok(module(ready.isolateId).calls.some((c) => c.name === 'warm'), 'it ran the warm step');
  assert.equal((await queued).isolateId, ready.isolateId);
  gate.resolve('held');
  await held;
  health = await pool.health();
  assert.deepEqual(health.slots.map((s) => s.state), ['serving', 'serving']);
  assert.ok(events.some((e) => e.name === 'isolate-start' && e.cause === 'demand'));
  await close();
});

// With no queue at all (maxQueuedJobs: 0), a parked slot is still capacity: a
// job that finds every running isolate busy starts it rather than being
// refused; only jobs beyond the parked slots are too many.
test('maxQueuedJobs 0: a job starts a parked slot instead of being refused; the next one is queue-full', OPTS, async () => {
  let now = 1_000_000; // stands still until both are ready: isolate 2 is the one parked (see the test above)
  const { pool, module, close } = await startPool({ isolates: 2, minIsolates: 1, idleTimeoutMs: 100, idleCheckIntervalMs: 20, maxQueuedJobs: 0 }, () => ({}), { now: () => now });
  const parked = nextEvent(pool, 'isolate-exit', (e) => e.reason === 'idle', 5_000);
  now += 200;
  assert.equal((await parked).isolateId, 2);
  const gate = module(1).gate('slow');
  const onFirst = nextEvent(pool, 'job-start');
  const held = pool.run('slow');
  await onFirst;
  const demanded = nextEvent(pool, 'isolate-ready', (e) => e.cause === 'demand', 5_000);
  const second = pool.run('work', { x: 'parked slot' });
  second.catch(() => undefined); // asserted below
  try {
    await assert.rejects(pool.run('work', { x: 'one too many' }), (e) => e instanceof errors.ProverPoolAdmissionError && e.kind === 'queue-full');
    const outcome = await within(5_000, 'the job for the parked slot', second.then((value) => ({ value }), (error) => ({ error })));
    assert.ok('value' in outcome, `the job for the parked slot was refused: ${outcome.error?.message}`);
    const ready = await demanded;
    assert.equal(outcome.value.isolateId, ready.isolateId, 'the parked slot took it');
  } finally {
    gate.resolve('held');
    await held;
    await close();
  }
});
