import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PoolHealthCoordinator,
  type CoordinatorLogEvent,
  type CoordinatorOptions,
  type PoolHealth,
  type RecycleReport,
} from '../../bindings-js/lib/proof-system/pool-health-coordinator.js';
import { PoolConfigError, PoolMemoryError, PoolPoisonedError, PoolRecycleTimeoutError } from '../../bindings-js/lib/proof-system/errors.js';
import { GiB, MiB, healthWith, linearFraction } from './health-fixture.js';
import { WithThreadPool } from '../../bindings-js/lib/proof-system/workers.js';
import { deferred, flushMicrotasks, waitFor, type Deferred } from './deferred.js';

const OPTS = { timeout: 5_000 };

function report(fromGeneration: number): RecycleReport {
  return {
    fromGeneration,
    toGeneration: fromGeneration + 1,
    threads: 4,
    cause: 'requested',
    startMs: 1,
    drainMs: 1,
    exitMs: 1,
    totalMs: 3,
    jobsAbandoned: 0,
    workers: { exited: 4, forced: 0, reclaimed: 0 },
    allocatorBytesReleased: 8 * MiB,
    linearMemoryBytes: 1 * GiB,
    standby: false,
    joined: false,
  };
}

/** A backend whose health a test sets; a recycle moves to the next generation with fresh counters. */
function fakeBackend(initial: PoolHealth = healthWith()) {
  let health = initial;
  let recycles = 0;
  const held: Deferred<void>[] = [];
  let failNext: unknown = null;
  const backend = {
    poolHealth: () => health,
    async recycleThreadPool(): Promise<RecycleReport> {
      recycles += 1;
      const from = health.generation ?? 0;
      await held.shift()?.promise;
      if (failNext !== null) {
        const error = failNext;
        failNext = null;
        throw error;
      }
      health = { ...health, state: 'running', poisoned: null, generation: from + 1, generationJobs: 0, generationAgeMs: 0 };
      return report(from);
    },
  };
  return {
    backend,
    recycles: () => recycles,
    setHealth: (next: PoolHealth) => {
      health = next;
    },
    holdNextRecycle: () => {
      const d = deferred();
      held.push(d);
      return d;
    },
    failNextRecycle: (error: unknown) => {
      failNext = error;
    },
  };
}

/** Tests that cross a threshold with linear memory set the (deprecated, off by default) fraction. */
function coordinator(fake: ReturnType<typeof fakeBackend>, options: CoordinatorOptions = {}, logs: CoordinatorLogEvent[] = []) {
  return new PoolHealthCoordinator(fake.backend, { cooldownMs: 0, maxLinearMemoryFraction: 0.75, ...options }, { log: (event) => logs.push(event), random: () => 0 });
}

test('a healthy pool proceeds without recycling', OPTS, async () => {
  const fake = fakeBackend();
  const c = coordinator(fake);
  assert.deepEqual(await c.beforeJob(), { kind: 'proceed', reason: null });
  assert.equal(fake.recycles(), 0);
  assert.equal(c.state, 'stopped');
});

test('invalid options throw PoolConfigError from the constructor', OPTS, () => {
  assert.throws(() => new PoolHealthCoordinator(fakeBackend().backend, { cooldownMs: -1 }), PoolConfigError);
});

test('a crossed threshold recycles before the job, and emits the recycle with its report', OPTS, async () => {
  const fake = fakeBackend(healthWith({ generationJobs: 10 }));
  const c = coordinator(fake, { maxJobsPerGeneration: 10 });
  const recycles: unknown[] = [];
  c.on('recycle', (event) => recycles.push(event));
  const decision = await c.beforeJob();
  assert.equal(decision.kind, 'recycle');
  assert.equal(fake.recycles(), 1);
  assert.equal(recycles.length, 1);
  assert.equal((recycles[0] as { report: RecycleReport }).report.toGeneration, 2);
  assert.equal(c.state, 'stopped');
});

test('concurrent beforeJob calls share one recycle', OPTS, async () => {
  const fake = fakeBackend(healthWith({ memory: linearFraction(0.8) }));
  const c = coordinator(fake);
  const hold = fake.holdNextRecycle();
  const jobs = [c.beforeJob(), c.beforeJob(), c.beforeJob()];
  await flushMicrotasks();
  assert.equal(c.state, 'recycling');
  hold.resolve();
  const decisions = await Promise.all(jobs);
  assert.ok(decisions.every((d) => d.kind === 'recycle'));
  assert.equal(fake.recycles(), 1);
});

test('a recycle that outlasts recycleTimeoutMs rejects with PoolRecycleTimeoutError', OPTS, async () => {
  const fake = fakeBackend(healthWith({ memory: linearFraction(0.8) }));
  const errors: unknown[] = [];
  const c = coordinator(fake, { recycleTimeoutMs: 20 });
  c.on('error', (event) => errors.push(event.error));
  const hold = fake.holdNextRecycle(); // never resolved within the bound
  await assert.rejects(c.beforeJob(), (error: unknown) => {
    assert.ok(error instanceof PoolRecycleTimeoutError);
    assert.equal(error.code, 'POOL_RECYCLE_TIMEOUT');
    assert.equal(error.timeoutMs, 20);
    assert.ok(error.health !== null);
    return true;
  });
  assert.equal(errors.length, 1);
  assert.equal(c.state, 'stopped', 'the coordinator rests again after the timeout');
  hold.resolve(); // let the fake's pending recycle settle
});

test('a failed recycle is mapped and reported, and the cooldown keeps it from looping', OPTS, async () => {
  const fake = fakeBackend(healthWith({ memory: linearFraction(0.8) }));
  let nowMs = 1_000_000;
  const c = new PoolHealthCoordinator(fake.backend, { cooldownMs: 60_000, maxLinearMemoryFraction: 0.75 }, { log: () => {}, now: () => nowMs });
  fake.failNextRecycle(Object.assign(new Error('generation 1 is poisoned'), { code: 'POOL_POISONED' }));
  await assert.rejects(c.beforeJob(), PoolPoisonedError);
  const next = await c.beforeJob();
  assert.equal(next.kind, 'proceed');
  assert.match(next.reason ?? '', /cooldownMs 60000/);
  assert.equal(fake.recycles(), 1);
  nowMs += 60_000;
  assert.equal((await c.beforeJob()).kind, 'recycle', 'retried once the cooldown passed');
  assert.equal(fake.recycles(), 2);
});

test('a refused job throws PoolMemoryError with the snapshot and numbers', OPTS, async () => {
  const health = healthWith({ memory: { linearBytes: 4 * GiB, linearMaxBytes: 4 * GiB, allocatorLiveBytes: 4 * GiB - 1 * MiB } });
  const c = coordinator(fakeBackend(health));
  await assert.rejects(c.beforeJob(), (error: unknown) => {
    assert.ok(error instanceof PoolMemoryError);
    assert.equal(error.kind, 'admission-refused');
    assert.equal(error.health, health);
    assert.equal(error.availableBytes, 1 * MiB);
    assert.equal(error.neededBytes, 64 * MiB);
    return true;
  });
});

test('a poisoned pool is rebuilt before the job', OPTS, async () => {
  const fake = fakeBackend(healthWith({ state: 'poisoned', generation: 3, poisoned: { generation: 3, reason: 'worker died' } }));
  const c = coordinator(fake);
  const decision = await c.beforeJob();
  assert.equal(decision.kind, 'rebuild');
  assert.equal(fake.recycles(), 1);
});

test('events fire once per edge, not on every check', OPTS, async () => {
  const refusing = healthWith({ memory: { linearMaxBytes: 4 * GiB, allocatorLiveBytes: 4 * GiB } });
  const fake = fakeBackend();
  const logs: CoordinatorLogEvent[] = [];
  const c = coordinator(fake, {}, logs);
  const decisions: string[] = [];
  let refusals = 0;
  c.on('decision', (event) => decisions.push(event.decision.kind));
  c.on('refuse', () => {
    refusals += 1;
  });
  await c.beforeJob();
  await c.beforeJob();
  fake.setHealth(refusing);
  await assert.rejects(c.beforeJob(), PoolMemoryError);
  await assert.rejects(c.beforeJob(), PoolMemoryError);
  fake.setHealth(healthWith());
  await c.beforeJob();
  await c.beforeJob();
  assert.deepEqual(decisions, ['proceed', 'refuse', 'proceed']);
  assert.equal(refusals, 1);
  assert.deepEqual(
    logs.map((event) => `${event.level}:${event.event}`),
    ['info:decision', 'info:decision', 'warn:refuse', 'info:decision'],
  );
});

test('a listener that throws does not break the check', OPTS, async () => {
  const c = coordinator(fakeBackend());
  c.on('decision', () => {
    throw new Error('listener bug');
  });
  assert.equal((await c.beforeJob()).kind, 'proceed');
});

test('the idle timer triggers a recycle, and stop() stops it', OPTS, async () => {
  const fake = fakeBackend(healthWith({ generationJobs: 5 }));
  const c = coordinator(fake, { maxJobsPerGeneration: 5, idleCheckIntervalMs: 5 });
  c.start();
  assert.equal(c.state, 'idle');
  await waitFor(() => fake.recycles() === 1, 'the idle check to recycle');
  await waitFor(() => c.state === 'idle', 'the coordinator to rest');
  c.stop();
  assert.equal(c.state, 'stopped');
  // Cross the threshold again: with the timer stopped nothing may recycle.
  fake.setHealth(healthWith({ generation: 2, generationJobs: 50 }));
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(fake.recycles(), 1);
});

test('stop() during a recycle lets it finish and rests at stopped', OPTS, async () => {
  const fake = fakeBackend(healthWith({ memory: linearFraction(0.9) }));
  const c = coordinator(fake);
  c.start();
  const hold = fake.holdNextRecycle();
  const job = c.beforeJob();
  await flushMicrotasks();
  assert.equal(c.state, 'recycling');
  c.stop();
  assert.equal(c.state, 'recycling');
  hold.resolve();
  await job;
  assert.equal(c.state, 'stopped');
});

test('the default log goes to the console at info', OPTS, async (t) => {
  const lines: unknown[][] = [];
  t.mock.method(console, 'info', (...args: unknown[]) => {
    lines.push(args);
  });
  const c = new PoolHealthCoordinator(fakeBackend().backend);
  await c.beforeJob();
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.[0], 'pool-health-coordinator decision');
});

test('jitter draws come from the injected RNG and are redrawn after a recycle', OPTS, async () => {
  const draws = [0.5, 0.25];
  const fake = fakeBackend(healthWith({ generationJobs: 80 }));
  const c = new PoolHealthCoordinator(
    fake.backend,
    { maxJobsPerGeneration: 100, jitterFraction: 0.2, cooldownMs: 0 },
    { random: () => draws.shift() ?? 0, log: () => {} },
  );
  assert.equal(c.policyState.jitterUnit, 0.5);
  assert.equal(await c.beforeJob().then((d) => d.kind), 'proceed'); // threshold 90
  fake.setHealth(healthWith({ generationJobs: 90 }));
  const decision = await c.beforeJob();
  assert.ok(decision.kind === 'recycle');
  assert.equal(decision.threshold, 90);
  assert.equal(c.policyState.jitterUnit, 0.25);
});

test("idle checks read the backend's idleHealth (Node: the supervisor); a job's check reads poolHealth", OPTS, async () => {
  const reads = { job: 0, idle: 0 };
  const backend = {
    poolHealth: () => {
      reads.job += 1;
      return healthWith();
    },
    idleHealth: async () => {
      reads.idle += 1;
      return healthWith();
    },
    recycleThreadPool: async (): Promise<RecycleReport> => report(1),
  };
  const c = new PoolHealthCoordinator(backend, { idleCheckIntervalMs: 5 }, { log: () => undefined });
  c.start();
  try {
    await waitFor(() => reads.idle >= 2, 'two idle checks');
    assert.equal(reads.job, 0, 'no idle check read poolHealth');
    c.stop();
    await flushMicrotasks(); // a job's check would join an idle check still running
    await waitFor(() => c.state === 'stopped', 'the last idle check to end');
    await c.beforeJob();
    assert.equal(reads.job, 1, "the job's check read poolHealth");
  } finally {
    c.stop();
  }
});

test('a recycle the coordinator decides while one is in progress joins it: WithThreadPool alone decides', OPTS, async () => {
  let health = healthWith({ generation: 1, generationJobs: 10 });
  const held = deferred<RecycleReport>();
  let recycles = 0;
  const runner = WithThreadPool<unknown, RecycleReport>({
    initThreadPool: async () => undefined,
    exitThreadPool: async () => undefined,
    recycleThreadPool: async () => {
      recycles += 1;
      const report = await held.promise;
      health = healthWith({ generation: 2 });
      return report;
    },
  }, { lifetime: () => 'process' });
  await runner(() => undefined);
  const reports: RecycleReport[] = [];
  const c = new PoolHealthCoordinator(
    { poolHealth: () => health, recycleThreadPool: (options) => runner.recycle(options) },
    { maxJobsPerGeneration: 10, cooldownMs: 0 },
    { log: () => undefined },
  );
  c.on('recycle', ({ report }) => reports.push(report));
  const requested = runner.recycle(); // the application's recycle, in progress
  health = { ...health, state: 'recycling' };
  const job = c.beforeJob();
  await flushMicrotasks();
  held.resolve(report(1));
  assert.equal((await job).kind, 'recycle', 'the coordinator decided a recycle');
  assert.equal((await requested).joined, false);
  assert.equal(recycles, 1, 'one recycle: the coordinator joined the one in progress');
  assert.equal(reports.length, 1);
  assert.equal(reports[0]?.joined, true);
});
