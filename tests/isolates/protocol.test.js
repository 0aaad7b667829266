// The channel between the pool and its isolates (protocol.ts,
// protocol-check.ts, isolate-runtime.ts) on the in-process platform: a
// malformed message on the private channel is that isolate's crash
// (`protocol`), never an exception in the pool, and never a job's settlement;
// a stray message on the public port is only counted; the isolate's loop
// keeps handling messages after a job whose failure cannot be read, a
// snapshot that throws, or a reply that cannot be posted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, nextEvent, within } from './lib.js';
import { startPool } from './harness.js';

const errors = await load('errors.js');
const OPTS = { timeout: 20_000 };

/** Starts a `slow` job on isolate 1 and waits until it runs; returns its promise and gate. */
async function busy(pool, module) {
  const gate = module(1).gate('slow');
  const started = nextEvent(pool, 'job-start');
  const job = pool.run('slow', { x: 1 });
  await started;
  return { job, gate };
}

test("a malformed message on an isolate's private channel is that isolate's crash (protocol): never a job's result, never a host exception", OPTS, async () => {
  // No breaker here: every case crashes an isolate of slot 0, refilled at once.
  const { pool, isolates, module, close } = await startPool({ maxCrashes: 100, restartDelayMs: 0 });
  const cases = [
    ["the job's id in a bare result", (jobId) => ({ type: 'result', jobId })],
    ['a bare ready', () => ({ type: 'ready' })],
    ["the job's id in a bare failed", (jobId) => ({ type: 'failed', jobId })],
    ['a namespaced result without the token', (jobId) => ({ type: 'o1js-isolates:result', jobId, value: 'forged', runMs: 0, snapshot: null })],
    ['a result with the token and no runMs', (jobId, token) => ({ type: 'o1js-isolates:result', token, jobId, value: 'forged', snapshot: null })],
    ['a result with the token for another job', (jobId, token) => ({ type: 'o1js-isolates:result', token, jobId: jobId + 100, value: 'forged', runMs: 1, snapshot: null })],
    ['a ready with the token while serving', (jobId, token) => ({ type: 'o1js-isolates:ready', token, jobNames: ['work'], moduleHash: null, loadMs: 0, warmMs: 0, snapshot: { timestampMs: 0, pool: null, poolError: null, memory: {}, jobsRun: 0 } })],
    ['not an object', () => 'ready'],
  ];
  let isolateId = 1;
  for (const [what, message] of cases) {
    const { job } = await busy(pool, module);
    const jobId = (await pool.health()).isolates.find((i) => i.id === isolateId).job.id;
    const crashed = nextEvent(pool, 'crash');
    const refilled = nextEvent(pool, 'isolate-ready', (e) => e.cause === 'crash');
    isolates.get(isolateId).inject(message(jobId, isolates.get(isolateId).token));
    await assert.rejects(within(5_000, what, job), (e) => {
      assert.ok(e instanceof errors.ProverPoolCrashError, `${what}: ${e}`);
      assert.equal(e.kind, 'protocol', what);
      assert.equal(e.isolateId, isolateId);
      return true;
    });
    assert.equal((await crashed).error.kind, 'protocol');
    await refilled;
    isolateId++;
  }
  assert.equal((await pool.run('work', { x: 'after' })).args.x, 'after', 'the pool serves on');
  assert.equal((await pool.health()).totals.crashes, cases.length);
  await close();
});

test("a ready without its fields fails that isolate's start (protocol) at once; its predecessor serves on", OPTS, async () => {
  const warms = new Map();
  const { pool, isolates, close } = await startPool({}, (id) => ({ warm: id === 1 ? undefined : () => (warms.set(id, true), new Promise(() => undefined)) }));
  const replacing = pool.replaceIsolate(1);
  isolates.get(2).inject({ type: 'ready' }); // e.g. the module's own message, in a browser before this fix
  await assert.rejects(within(5_000, 'the replacement', replacing), (e) => e instanceof errors.ProverPoolStartError && e.stage === 'protocol');
  assert.equal((await pool.run('work')).isolateId, 1, 'the predecessor serves on');
  await close();
});

test('messages on the public port are strays: counted, never heard', OPTS, async () => {
  const { pool, isolates, close } = await startPool();
  isolates.get(1).stray();
  isolates.get(1).stray();
  assert.equal((await pool.run('work', { x: 1 })).args.x, 1);
  const health = await pool.health();
  assert.deepEqual([health.totals.strayMessages, health.totals.crashes], [2, 0]);
  await close();
});

test("the isolate's loop keeps handling messages after an unreadable error, a snapshot that throws, and a failure that cannot be posted", OPTS, async () => {
  const extraJobs = (state) => ({
    /** Throws an error whose `name` cannot be read. */
    badName: async () => {
      const error = new Error('unreadable');
      Object.defineProperty(error, 'name', {
        get() {
          throw new Error('name getter');
        },
      });
      throw error;
    },
    /** Fails, and o1js/pool's health then has no memory: taking the snapshot throws. */
    badHealth: async () => {
      state.health = () => ({ state: 'running', memory: null });
      throw new Error('failed with a broken health');
    },
    /** Succeeds, but o1js/pool's health holds a function: neither the result nor the failure can be posted with it. */
    uncloneableHealth: async () => {
      state.health = () => ({ state: 'running', memory: { ...state.memory }, hook: () => 1 });
      return 'value';
    },
    /** Throws an error with a field that does not clone. */
    uncloneableField: async () => {
      throw Object.assign(new Error('with a function'), { callback: () => 1 });
    },
    heal: async () => {
      delete state.health;
      return 'healed';
    },
  });
  const { pool, close } = await startPool({ healthTimeoutMs: 2_000 }, () => ({ extraJobs }));
  const runs = (name) => within(3_000, `job ${name} to settle`, pool.run(name));
  const answers = async () => {
    const started = performance.now();
    const health = await pool.health();
    assert.ok(performance.now() - started < 1_500, 'health was answered, not timed out');
    return health;
  };

  await assert.rejects(runs('badName'), (e) => e instanceof errors.ProverPoolJobError && /could not be read/.test(e.remote.message));
  assert.equal(await runs('heal'), 'healed', 'the next job runs on the same isolate');

  await assert.rejects(runs('badHealth'), (e) => e instanceof errors.ProverPoolJobError && e.remote.message === 'failed with a broken health');
  await answers();
  assert.equal(await runs('heal'), 'healed');

  await assert.rejects(runs('uncloneableHealth'), (e) => e instanceof errors.ProverPoolJobError && /could not be posted/.test(e.remote.message));
  await answers();
  assert.equal(await runs('heal'), 'healed');

  await assert.rejects(runs('uncloneableField'), (e) => e instanceof errors.ProverPoolJobError && e.remote.message === 'with a function');
  const health = await answers();
  assert.deepEqual([health.totals.crashes, health.isolates.map((i) => i.id)], [0, [1]], 'one isolate served it all');
  await close();
});
