// A slot's restarts and replacements (slot-policy.ts, slot-restarts.ts,
// replacement.ts), as pure functions and on the in-process platform: the
// backoff and the crash-rate breaker; a give-up is an event and in the
// health; a fault's replacement goes on trying when replacements for limits
// were given up; replaceIsolate() waits its turn (one replacement warming at
// a time); a successor whose module is not the pool's does not start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferred, load, nextEvent, within } from './lib.js';
import { startPool } from './harness.js';

const { backoffMs, afterCrash, MAX_RESTART_DELAY_MS } = await load('slot-policy.js');
const errors = await load('errors.js');
const OPTS = { timeout: 20_000 };
const settle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('the backoff doubles per attempt up to 30 s; the breaker refills at once, then backs off, then opens at maxCrashes within the window', OPTS, () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => backoffMs(1_000, n)), [1_000, 2_000, 4_000, 8_000]);
  assert.equal(backoffMs(1_000, 40), MAX_RESTART_DELAY_MS);
  assert.equal(backoffMs(0, 3), 0);
  const settings = { maxCrashes: 3, crashWindowMs: 60_000, restartDelayMs: 100 };
  const first = afterCrash([], 1_000, settings);
  assert.deepEqual(first.verdict, { kind: 'refill', delayMs: 0, crashesInWindow: 1 });
  const second = afterCrash(first.timesMs, 2_000, settings);
  assert.deepEqual(second.verdict, { kind: 'refill', delayMs: 100, crashesInWindow: 2 });
  assert.deepEqual(afterCrash(second.timesMs, 3_000, settings).verdict, { kind: 'give-up', crashesInWindow: 3 });
  // Crashes older than the window are forgotten: a crash an hour later is a first one again.
  assert.deepEqual(afterCrash(second.timesMs, 3_600_000, settings), { timesMs: [3_600_000], verdict: { kind: 'refill', delayMs: 0, crashesInWindow: 1 } });
});

test('an isolate that crashes after becoming ready is refilled with a backoff, then its slot is given up: an event, the health, a typed refusal', OPTS, async () => {
  const { pool, isolates, events, close } = await startPool({ maxCrashes: 3, crashWindowMs: 60_000, restartDelayMs: 60 });
  // Every isolate of the slot dies as soon as it is ready, as one whose module throws once it is up would.
  pool.on('isolate-ready', (e) => setImmediate(() => isolates.get(e.isolateId).crash()));
  const givenUp = nextEvent(pool, 'slot-given-up', () => true, 10_000);
  isolates.get(1).crash();
  const event = await givenUp;
  assert.deepEqual([event.slot, event.reason, event.count, event.servingIsolateId], [0, 'crash-loop', 3, null]);
  assert.ok(event.error instanceof errors.ProverPoolCrashError);
  await settle(300);
  const starts = events.filter((e) => e.name === 'isolate-start');
  const crashes = events.filter((e) => e.name === 'crash');
  assert.deepEqual(starts.map((e) => e.cause), ['crash', 'crash'], 'two refills, then no more');
  assert.equal(crashes.length, 3);
  const index = (e) => events.indexOf(e);
  assert.ok(index(starts[0]) > index(crashes[0]) && index(starts[1]) > index(crashes[1]));
  assert.deepEqual((await pool.health()).slots, [
    { slot: 0, state: 'given-up', isolateId: null, startFailures: 0, crashesInWindow: 3, retryAtMs: null, givenUp: 'crash-loop', replacementGivenUp: false },
  ]);
  await assert.rejects(pool.run('work'), (e) => e instanceof errors.ProverPoolAdmissionError && e.kind === 'crash-loop' && /maxCrashes 3/.test(e.message));
  await close();
});

test('the second crash in a row waits restartDelayMs before its refill', OPTS, async () => {
  const { pool, isolates, events, close } = await startPool({ maxCrashes: 10, restartDelayMs: 1_000 });
  const times = new Map();
  pool.on('crash', (e) => times.set(`crash ${e.isolateId}`, performance.now()));
  pool.on('isolate-start', (e) => times.set(`start ${e.isolateId}`, performance.now()));
  const second = nextEvent(pool, 'isolate-ready', (e) => e.isolateId === 2);
  isolates.get(1).crash();
  await second;
  const third = nextEvent(pool, 'isolate-ready', (e) => e.isolateId === 3);
  const crashed = nextEvent(pool, 'crash', (e) => e.isolateId === 2);
  isolates.get(2).crash();
  await crashed;
  // During the backoff the health says when the slot starts again.
  const backingOff = (await pool.health()).slots[0];
  if (!times.has('start 3')) {
    assert.equal(backingOff.state, 'restarting');
    assert.ok(backingOff.retryAtMs !== null && backingOff.retryAtMs > Date.now(), `retryAtMs during the backoff: ${backingOff.retryAtMs}`);
  }
  await third;
  assert.ok(times.get('start 2') - times.get('crash 1') < 500, 'the first crash is refilled at once');
  assert.ok(times.get('start 3') - times.get('crash 2') >= 990, `the second waited ${(times.get('start 3') - times.get('crash 2')).toFixed(0)} ms`);
  assert.equal(events.filter((e) => e.name === 'slot-given-up').length, 0);
  await close();
});

test('replacements for limits that keep failing are given up with an event and in the health; a fault keeps trying and replaces it', OPTS, async () => {
  let failWarm = false;
  const { pool, events, close } = await startPool(
    { limits: { maxJobs: 1, cooldownMs: 0 }, maxStartFailures: 2, restartDelayMs: 1, idleCheckIntervalMs: 20 },
    () => ({
      warm: async () => {
        if (failWarm) throw new Error('cache unreadable');
      },
    }),
  );
  failWarm = true;
  const givenUp = nextEvent(pool, 'slot-given-up', () => true, 5_000);
  await pool.run('work'); // reaches maxJobs: a successor starts, and fails; the idle check tries again, and fails
  const event = await givenUp;
  assert.deepEqual([event.slot, event.reason, event.count, event.servingIsolateId], [0, 'replacement-start-failures', 2, 1]);
  const [slot] = (await pool.health()).slots;
  assert.deepEqual([slot.state, slot.isolateId, slot.replacementGivenUp, slot.givenUp, slot.startFailures], ['serving', 1, true, null, 2]);
  await settle(150); // idle checks: no replacement for limits any more
  assert.equal(events.filter((e) => e.name === 'isolate-start').length, 2);
  assert.equal((await pool.run('work')).isolateId, 1, 'the isolate serves on');

  // Out of memory: its replacement is tried again and again (capped backoff), whatever the give-up.
  const retried = nextEvent(pool, 'isolate-start', () => events.filter((e) => e.name === 'isolate-start').length >= 4, 5_000);
  await assert.rejects(pool.run('outOfMemory'), (e) => e.remote?.code === 'POOL_OUT_OF_MEMORY');
  await retried;
  failWarm = false;
  const report = await nextEvent(pool, 'replacement', () => true, 5_000);
  assert.deepEqual([report.metric, report.oldIsolateId], ['outOfMemory', 1]);
  const [after] = (await pool.health()).slots;
  assert.deepEqual([after.state, after.replacementGivenUp, after.startFailures], ['serving', false, 0], 'a success resets the give-up');
  await close();
});

test('replaceIsolate() waits its turn: one replacement warms at a time, the next starts once it is ready', OPTS, async () => {
  const gates = new Map([3, 4].map((id) => [id, deferred()]));
  const { pool, events, close } = await startPool({ isolates: 2 }, (id) => ({ warm: id > 2 ? () => gates.get(id).promise : undefined }));
  const first = pool.replaceIsolate(1);
  const second = pool.replaceIsolate(2);
  const warming = async () => (await pool.health()).isolates.filter((i) => i.role === 'warming').map((i) => [i.id, i.predecessorId]);
  assert.deepEqual(await warming(), [[3, 1]], 'only the first replacement warms');
  const nextStarted = nextEvent(pool, 'isolate-start', (e) => e.isolateId === 4);
  gates.get(3).resolve();
  await nextStarted;
  assert.deepEqual(await warming(), [[4, 2]]);
  const order = events.filter((e) => ['isolate-ready', 'isolate-start'].includes(e.name)).map((e) => `${e.name} ${e.isolateId}`);
  assert.ok(order.indexOf('isolate-ready 3') < order.indexOf('isolate-start 4'), order.join(', '));
  gates.get(4).resolve();
  const [a, b] = await within(5_000, 'both replacements', Promise.all([first, second]));
  assert.deepEqual([a.oldIsolateId, a.newIsolateId, b.oldIsolateId, b.newIsolateId], [1, 3, 2, 4]);
  await close();
});

test("a successor whose module is not the pool's (other jobs, or another file hash) does not start; its predecessor serves on", OPTS, async () => {
  const extraJobs = () => ({ deployedLater: async () => 1 });
  const { pool, close } = await startPool({}, (id) => (id === 2 ? { extraJobs } : id === 3 ? { moduleHash: 'b'.repeat(64) } : { moduleHash: 'a'.repeat(64) }));
  await assert.rejects(pool.replaceIsolate(1), (e) => e instanceof errors.ProverPoolStartError && e.stage === 'module-changed' && /exports the jobs/.test(e.message));
  await assert.rejects(pool.replaceIsolate(1), (e) => e instanceof errors.ProverPoolStartError && e.stage === 'module-changed' && /changed since the pool started/.test(e.message));
  assert.equal((await pool.run('work')).isolateId, 1);
  await close();
});
