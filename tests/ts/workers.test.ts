import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WithThreadPool } from '../../bindings-js/lib/proof-system/workers.js';
import { PoolOperationError } from '../../bindings-js/lib/proof-system/errors.js';
import { deferred, flushMicrotasks, type Deferred } from './deferred.js';

const OPTS = { timeout: 5_000 };

/** A lifecycle whose calls are counted and, when a test queues deferreds, settled by hand. */
function fakeLifecycle() {
  const calls = { init: 0, exit: 0, recycle: 0 };
  const pendingInits: Deferred<void>[] = [];
  const pendingRecycles: Deferred<string>[] = [];
  let canTakeJobs = true;
  let failNextInit: Error | null = null;
  const lifecycle = {
    async initThreadPool() {
      calls.init += 1;
      if (failNextInit) {
        const error = failNextInit;
        failNextInit = null;
        throw error;
      }
      await pendingInits.shift()?.promise;
    },
    async exitThreadPool() {
      calls.exit += 1;
    },
    async recycleThreadPool(_options?: { threads?: number }) {
      calls.recycle += 1;
      return (await pendingRecycles.shift()?.promise) ?? `report ${calls.recycle}`;
    },
    canTakeJobs: () => canTakeJobs,
  };
  return {
    calls,
    lifecycle,
    holdNextInit: () => {
      const d = deferred();
      pendingInits.push(d);
      return d;
    },
    holdNextRecycle: () => {
      const d = deferred<string>();
      pendingRecycles.push(d);
      return d;
    },
    failNextInit: (error: Error) => {
      failNextInit = error;
    },
    setCanTakeJobs: (value: boolean) => {
      canTakeJobs = value;
    },
  };
}

test('a run inits the pool, returns its value, and exits the pool after', OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  assert.equal(withThreadPool.state(), 'none');
  const value = await withThreadPool(() => {
    assert.equal(withThreadPool.state(), 'running');
    return 42;
  });
  assert.equal(value, 42);
  assert.deepEqual(fake.calls, { init: 1, exit: 1, recycle: 0 });
  assert.equal(withThreadPool.state(), 'none');
  assert.equal(withThreadPool.users(), 0);
});

test('after a failed init the next call retries and succeeds', OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  fake.failNextInit(new Error('workers did not start'));
  await assert.rejects(withThreadPool(() => 'never'), /workers did not start/);
  assert.equal(withThreadPool.state(), 'none');
  assert.equal(withThreadPool.users(), 0, 'the failed caller left the count');
  assert.equal(await withThreadPool(() => 'second'), 'second');
  assert.deepEqual(fake.calls, { init: 2, exit: 1, recycle: 0 });
});

test('concurrent callers share one init, and its failure', OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  const init = fake.holdNextInit();
  const runs = [withThreadPool(() => 'a'), withThreadPool(() => 'b'), withThreadPool(() => 'c')];
  await flushMicrotasks();
  assert.equal(withThreadPool.state(), 'initializing');
  assert.equal(fake.calls.init, 1);
  init.resolve();
  assert.deepEqual(await Promise.all(runs), ['a', 'b', 'c']);
  assert.deepEqual(fake.calls, { init: 1, exit: 1, recycle: 0 });

  const failing = fake.holdNextInit();
  const failed = [withThreadPool(() => 'x'), withThreadPool(() => 'y')];
  await flushMicrotasks();
  failing.reject(new Error('boom'));
  for (const run of failed) await assert.rejects(run, /boom/);
  assert.equal(fake.calls.init, 2);
  assert.equal(withThreadPool.state(), 'none');
  assert.equal(withThreadPool.users(), 0);
});

test('the pool exits only when the last concurrent user leaves', OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  const longJob = deferred();
  const long = withThreadPool(() => longJob.promise);
  await withThreadPool(() => 'short');
  assert.equal(fake.calls.exit, 0, 'the long job still uses the pool');
  assert.equal(withThreadPool.users(), 1);
  assert.equal(withThreadPool.state(), 'running');
  // Nested use counts as a user too.
  await withThreadPool(() => withThreadPool(() => 'nested'));
  assert.equal(fake.calls.exit, 0);
  longJob.resolve();
  await long;
  assert.deepEqual(fake.calls, { init: 1, exit: 1, recycle: 0 });
});

test("a caller's error propagates and still releases the pool", OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  await assert.rejects(withThreadPool(() => Promise.reject(new Error('proof failed'))), /proof failed/);
  assert.equal(fake.calls.exit, 1);
  assert.equal(withThreadPool.users(), 0);
});

test('callers arriving during a recycle are served at once when the pool takes jobs', OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  const holder = deferred();
  const holding = withThreadPool(() => holder.promise);
  await flushMicrotasks();
  const recycleDone = fake.holdNextRecycle();
  const recycle = withThreadPool.recycle({ threads: 2 });
  assert.equal(withThreadPool.state(), 'recycling');
  assert.equal(await withThreadPool(() => 'served during recycle'), 'served during recycle');
  assert.equal(withThreadPool.state(), 'recycling');
  recycleDone.resolve('the report');
  assert.equal(await recycle, 'the report');
  assert.equal(withThreadPool.state(), 'running');
  holder.resolve();
  await holding;
  assert.deepEqual(fake.calls, { init: 1, exit: 1, recycle: 1 });
});

test('callers wait for the recycle when the pool cannot take jobs, then run', OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  const holder = deferred();
  const holding = withThreadPool(() => holder.promise);
  await flushMicrotasks();
  const recycleDone = fake.holdNextRecycle();
  const recycle = withThreadPool.recycle();
  fake.setCanTakeJobs(false); // e.g. a poisoned pool being rebuilt
  let ran = false;
  const waiting = withThreadPool(() => {
    ran = true;
    return 'after rebuild';
  });
  await flushMicrotasks();
  assert.equal(ran, false);
  fake.setCanTakeJobs(true);
  recycleDone.resolve('rebuilt');
  assert.equal(await recycle, 'rebuilt');
  assert.equal(await waiting, 'after rebuild');
  holder.resolve();
  await holding;
});

test('a failed recycle fails the recycler only; waiting callers still run', OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  const holder = deferred();
  const holding = withThreadPool(() => holder.promise);
  await flushMicrotasks();
  const recycleDone = fake.holdNextRecycle();
  const recycle = withThreadPool.recycle();
  fake.setCanTakeJobs(false);
  const waiting = withThreadPool(() => 'ran');
  await flushMicrotasks();
  fake.setCanTakeJobs(true);
  recycleDone.reject(new Error('recycle failed'));
  await assert.rejects(recycle, /recycle failed/);
  assert.equal(await waiting, 'ran');
  assert.equal(withThreadPool.state(), 'running');
  holder.resolve();
  await holding;
});

test('concurrent recycle() calls share one recycle', OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  const reports = await withThreadPool(() => Promise.all([withThreadPool.recycle(), withThreadPool.recycle()]));
  assert.deepEqual(reports, ['report 1', 'report 1']);
  assert.equal(fake.calls.recycle, 1);
});

test('the last user leaving during a recycle exits after the recycle', OPTS, async () => {
  const fake = fakeLifecycle();
  const withThreadPool = WithThreadPool(fake.lifecycle);
  const recycleDone = fake.holdNextRecycle();
  let recycle!: Promise<unknown>;
  const run = withThreadPool(() => {
    recycle = withThreadPool.recycle();
  });
  await flushMicrotasks();
  assert.equal(fake.calls.exit, 0, 'no exit under a running recycle');
  assert.equal(withThreadPool.state(), 'recycling');
  recycleDone.resolve('done');
  await run;
  await recycle;
  assert.equal(fake.calls.exit, 1);
  assert.equal(withThreadPool.state(), 'none');
});

test('recycle() with no pool up is a POOL_NOT_INITIALIZED error', OPTS, async () => {
  const withThreadPool = WithThreadPool(fakeLifecycle().lifecycle);
  await assert.rejects(withThreadPool.recycle(), (error: unknown) => error instanceof PoolOperationError && error.code === 'POOL_NOT_INITIALIZED');
});

test('recycle() without a recycleThreadPool says so', OPTS, async () => {
  const withThreadPool = WithThreadPool({ initThreadPool: async () => {}, exitThreadPool: async () => {} });
  await assert.rejects(withThreadPool(() => withThreadPool.recycle()), /needs a recycleThreadPool/);
});

test('a failed exit leaves the pool running, and the next last user exits it', OPTS, async () => {
  let failExit = true;
  let exits = 0;
  const withThreadPool = WithThreadPool({
    initThreadPool: async () => {},
    exitThreadPool: async () => {
      exits += 1;
      if (failExit) throw new Error('exit failed');
    },
  });
  await assert.rejects(withThreadPool(() => 1), /exit failed/);
  assert.equal(withThreadPool.state(), 'running');
  failExit = false;
  assert.equal(await withThreadPool(() => 2), 2);
  assert.equal(exits, 2);
  assert.equal(withThreadPool.state(), 'none');
});

test('a caller arriving while the pool exits waits for the exit, then inits a new pool', OPTS, async () => {
  const exitDone = deferred();
  let inits = 0;
  const withThreadPool = WithThreadPool({
    initThreadPool: async () => {
      inits += 1;
    },
    exitThreadPool: () => exitDone.promise,
  });
  const first = withThreadPool(() => 'first');
  await flushMicrotasks();
  assert.equal(withThreadPool.state(), 'exiting');
  const second = withThreadPool(() => 'second');
  await flushMicrotasks();
  assert.equal(inits, 1, 'no init while the exit runs');
  exitDone.resolve();
  assert.equal(await first, 'first');
  assert.equal(await second, 'second');
  assert.equal(inits, 2);
});
