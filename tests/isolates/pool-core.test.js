// The pool core (bindings-js/isolates/prover-pool.ts) on an in-process
// platform (in-process.js): the real isolate runtime, scripted jobs, no
// threads. Each step a test waits for is an event or a promise (bounded).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB, MiB, deferred, load, nextEvent, within } from './lib.js';
import { inProcessPlatform, scriptedModule } from './in-process.js';
import { MODULE, startPool } from './harness.js';

const { ProverPool } = await load('prover-pool.js');
const errors = await load('errors.js');
const OPTS = { timeout: 20_000 };

const servingIds = async (pool) => (await pool.health()).isolates.filter((i) => i.role === 'serving').map((i) => i.id);

test('isolates start one after another, each warmed, and the pool resolves once all are ready', OPTS, async () => {
  const order = [];
  const { platform, isolates } = inProcessPlatform((id) =>
    scriptedModule(id, {
      warm: async (args) => {
        order.push(`warm ${id} start`);
        await new Promise((r) => setTimeout(r, 20));
        order.push(`warm ${id} end (${args.cache})`);
      },
    }),
  );
  const pool = await ProverPool.start(platform, { module: MODULE, isolates: 3, warm: { name: 'warm', args: { cache: 'dir' } } });
  assert.deepEqual(order, ['warm 1 start', 'warm 1 end (dir)', 'warm 2 start', 'warm 2 end (dir)', 'warm 3 start', 'warm 3 end (dir)']);
  const health = await pool.health();
  assert.deepEqual(health.isolates.map((i) => [i.id, i.slot, i.state, i.role]), [[1, 0, 'idle', 'serving'], [2, 1, 'idle', 'serving'], [3, 2, 'idle', 'serving']]);
  assert.deepEqual([...isolates.values()].map((i) => i.keepAlive), [false, false, false], 'idle isolates do not keep the process alive');
  assert.deepEqual(pool.jobNames, ['warm', 'work', 'slow', 'fail', 'trap', 'foreignTrap', 'reportedTrap', 'returnFunction', 'wasmPanic', 'outOfMemory']);
  await pool.close();
});

test('jobs start in submission order (FIFO), one at a time per isolate, and resolve with the job value', OPTS, async () => {
  const { pool, module, events, close } = await startPool({ isolates: 2 });
  // Both isolates are held busy, so jobs 3 to 6 wait in the queue: the order they then start in is the scheduler's.
  const gates = [module(1).gate('slow'), module(2).gate('slow')];
  const bothBusy = nextEvent(pool, 'job-start', (e) => e.jobId === 2);
  const held = [pool.run('slow', { x: 1 }), pool.run('slow', { x: 2 })];
  const queued = [3, 4, 5, 6].map((x) => pool.run('work', { x }));
  await bothBusy;
  assert.equal((await pool.health()).queued, 4);
  for (const gate of gates) gate.resolve('held');
  const results = await Promise.all([...held, ...queued]);
  assert.deepEqual(results.slice(2).map((r) => r.args.x), [3, 4, 5, 6], 'each job resolves with its own value');
  const started = events.filter((e) => e.name === 'job-start').map((e) => e.jobId);
  assert.deepEqual(started, [1, 2, 3, 4, 5, 6], 'jobs started on the isolates in the order they were submitted');
  for (const id of [1, 2]) {
    const arrived = module(id).calls.filter((c) => c.name === 'work').map((c) => c.args.x);
    assert.deepEqual(arrived, [...arrived].sort((a, b) => a - b), `isolate ${id} got its queued jobs in submission order`);
  }
  assert.ok(module(1).maxRunning <= 1 && module(2).maxRunning <= 1, 'never two jobs at once in one isolate');
  const health = await pool.health();
  assert.equal(health.totals.jobsCompleted, 6);
  assert.equal(health.isolates.reduce((n, i) => n + i.jobs, 0), 6);
  await close();
});

test('blue/green: the old isolate serves while its replacement warms, retires only after its job, then is terminated', OPTS, async () => {
  const warmGates = new Map();
  const { pool, isolates, module, events, close } = await startPool({ limits: { maxJobs: 2, cooldownMs: 0 } }, (id) => ({
    warm: id === 1 ? undefined : () => warmGates.get(id)?.promise,
  }));
  warmGates.set(2, deferred());
  await pool.run('work', { x: 1 });
  const replacementStarted = nextEvent(pool, 'isolate-start', (e) => e.cause === 'replacement');
  await pool.run('work', { x: 2 }); // the second job reaches maxJobs: a successor starts
  const start = await replacementStarted;
  assert.deepEqual([start.isolateId, start.predecessorId], [2, 1]);
  assert.equal(events.find((e) => e.name === 'decision').decision.metric, 'jobs');

  // While isolate 2 warms, a new job runs on isolate 1 at once: nobody waits for the swap.
  const gate3 = module(1).gate('work');
  const jobStarted = nextEvent(pool, 'job-start', (e) => e.jobId === 3);
  const job3 = pool.run('work', { x: 3 });
  const started3 = await jobStarted;
  assert.equal(started3.isolateId, 1);
  let health = await pool.health();
  assert.deepEqual(health.isolates.map((i) => [i.id, i.role, i.successorId, i.predecessorId]), [[1, 'serving', 2, null], [2, 'warming', null, 1]]);

  // The successor is ready: it takes new jobs; isolate 1 drains its job and is not terminated under it.
  warmGates.get(2).resolve();
  await nextEvent(pool, 'isolate-ready', (e) => e.isolateId === 2);
  health = await pool.health();
  assert.deepEqual(health.isolates.map((i) => [i.id, i.state, i.role]), [[1, 'draining', 'retiring'], [2, 'idle', 'serving']]);
  assert.equal(isolates.get(1).terminated, false, 'not terminated while its job runs');
  const job4 = await pool.run('work', { x: 4 });
  assert.equal(job4.isolateId, 2, 'new jobs go to the successor');

  const replaced = nextEvent(pool, 'replacement');
  gate3.resolve('three');
  assert.equal(await job3, 'three', 'the job on the retiring isolate completes');
  const report = await replaced;
  assert.equal(isolates.get(1).terminated, true);
  assert.deepEqual([report.oldIsolateId, report.newIsolateId, report.slot, report.metric], [1, 2, 0, 'jobs']);
  assert.equal(report.old.jobs, 3);
  assert.ok(report.drainMs >= 0 && report.totalMs >= report.newStartMs);
  const order = events.filter((e) => ['isolate-ready', 'isolate-exit', 'job-end'].includes(e.name)).map((e) => `${e.name} ${e.isolateId}${e.jobId ? ` job ${e.jobId}` : ''}`);
  assert.ok(order.indexOf('isolate-ready 2') < order.indexOf('job-end 1 job 3'), order.join(', '));
  assert.ok(order.indexOf('job-end 1 job 3') < order.indexOf('isolate-exit 1'), order.join(', '));
  assert.equal((await pool.health()).totals.replacements, 1);
  await close();
});

test('replaceIsolate(): an idle isolate is replaced at once after its successor is ready; a second call joins', OPTS, async () => {
  const { pool, isolates, close } = await startPool({ isolates: 2 });
  const [first, second] = [pool.replaceIsolate(1), pool.replaceIsolate(1)];
  const [a, b] = await within(5_000, 'the replacement', Promise.all([first, second]));
  assert.equal(a, b, 'both callers get the one report');
  assert.deepEqual([a.oldIsolateId, a.newIsolateId, a.metric], [1, 3, 'requested']);
  // Idle: nothing to drain, so the old isolate goes as soon as the successor is ready. The
  // figure is wall time between two event-loop turns, not a count: a busy machine makes it 1 ms.
  assert.ok(a.drainMs >= 0 && a.drainMs < 1_000, `drained for ${a.drainMs} ms with no job running`);
  assert.equal(isolates.get(1).terminated, true);
  assert.deepEqual(await servingIds(pool), [2, 3]);
  await assert.rejects(pool.replaceIsolate(1), RangeError);
  await close();
});

test('a crash fails only its job, with a typed error; a replacement starts; the other isolate is untouched', OPTS, async () => {
  const { pool, isolates, module, close } = await startPool({ isolates: 2 });
  const gate1 = module(1).gate('slow');
  const gate2 = module(2).gate('slow');
  const bothStarted = nextEvent(pool, 'job-start', (e) => e.jobId === 2);
  const onFirst = pool.run('slow', { x: 1 });
  const onSecond = pool.run('slow', { x: 2 });
  await bothStarted;
  const refill = nextEvent(pool, 'isolate-start', (e) => e.cause === 'crash');
  isolates.get(1).crash({ kind: 'exit', exitCode: 134, error: { name: 'Error', message: 'fatal', code: null, stack: null } });
  await assert.rejects(onFirst, (error) => {
    assert.ok(error instanceof errors.ProverPoolCrashError);
    assert.equal(error.code, 'PROVER_POOL_ISOLATE_CRASHED');
    assert.deepEqual([error.kind, error.isolateId, error.jobName, error.exitCode], ['exit', 1, 'slow', 134]);
    assert.equal(error.cause.message, 'fatal');
    assert.ok(error.lastSnapshot !== null);
    return true;
  });
  assert.equal((await refill).slot, 0);
  gate2.resolve('two');
  assert.equal(await onSecond, 'two', 'the other isolate finished its job');
  void gate1;
  await nextEvent(pool, 'isolate-ready', (e) => e.isolateId === 3);
  assert.deepEqual(await servingIds(pool), [2, 3]);
  assert.equal((await pool.run('work', {})).name, 'work');
  const { totals } = await pool.health();
  assert.deepEqual([totals.crashes, totals.jobsCrashed], [1, 1]);
  await close();
});

test('a trap in a job is the isolate\'s loss (instance-terminated); a job that throws is only that job\'s failure', OPTS, async () => {
  const { pool, isolates, close } = await startPool();
  await assert.rejects(pool.run('fail'), (error) => {
    assert.ok(error instanceof errors.ProverPoolJobError);
    assert.equal(error.code, 'PROVER_POOL_JOB_FAILED');
    assert.deepEqual([error.remote.message, error.remote.code, error.isolateId], ['the job failed', 'JOB_CODE', 1]);
    return true;
  });
  assert.equal((await pool.run('work')).isolateId, 1, 'the same isolate serves on');
  await assert.rejects(pool.run('trap'), (error) => error instanceof errors.ProverPoolCrashError && error.kind === 'instance-terminated' && /RuntimeError: unreachable/.test(error.message));
  assert.equal(isolates.get(1).terminated, true);
  await nextEvent(pool, 'isolate-ready', (e) => e.isolateId === 2);
  assert.equal((await pool.run('work')).isolateId, 2);
  await close();
});

test("a trap is taken on the instance's evidence only: a RuntimeError that is not the instance's fails only its job", OPTS, async () => {
  const { pool, isolates, close } = await startPool();
  // Another wasm module's trap: o1js/pool's health reads fine after it, so the isolate's instance is alive.
  await assert.rejects(pool.run('foreignTrap'), (error) => {
    assert.ok(error instanceof errors.ProverPoolJobError, String(error));
    assert.deepEqual([error.remote.name, error.remote.message], ['RuntimeError', 'unreachable']);
    return true;
  });
  assert.equal(isolates.get(1).terminated, false);
  assert.equal((await pool.run('work')).isolateId, 1, 'the same isolate serves on');
  // o1js/pool said the instance trapped (POOL_INSTANCE_TERMINATED): that is evidence, whatever the health read says.
  await assert.rejects(pool.run('reportedTrap'), (error) => error instanceof errors.ProverPoolCrashError && error.kind === 'instance-terminated');
  assert.equal(isolates.get(1).terminated, true);
  await nextEvent(pool, 'isolate-ready', (e) => e.isolateId === 2);
  assert.equal((await pool.run('work')).isolateId, 2);
  await close();
});

test('abort: a queued job leaves the queue and never runs; a running one fails at once and its isolate is replaced', OPTS, async () => {
  const { pool, isolates, module, close } = await startPool();
  const gate = module(1).gate('slow');
  const running = new AbortController();
  const queued = new AbortController();
  const firstStarted = nextEvent(pool, 'job-start', (e) => e.jobId === 1);
  const first = pool.run('slow', { x: 1 }, { signal: running.signal });
  const second = pool.run('work', { x: 2 }, { signal: queued.signal });
  await firstStarted;
  queued.abort(new Error('not needed'));
  await assert.rejects(second, (e) => e instanceof errors.ProverPoolAbortError && e.phase === 'queued' && e.cause.message === 'not needed');
  assert.equal(module(1).calls.filter((c) => c.name === 'work').length, 0, 'the queued job never ran');

  const refill = nextEvent(pool, 'isolate-start', (e) => e.cause === 'abort');
  running.abort();
  await assert.rejects(first, (e) => e instanceof errors.ProverPoolAbortError && e.phase === 'running' && e.isolateId === 1);
  assert.equal(isolates.get(1).terminated, true, 'the running job was stopped by terminating its isolate');
  await refill;
  gate.resolve('too late'); // the stopped isolate's job ends: nothing can settle anything any more
  assert.equal((await pool.run('work')).isolateId, 2);
  await assert.rejects(pool.run('work', {}, { signal: AbortSignal.abort() }), (e) => e.code === 'PROVER_POOL_JOB_ABORTED' && e.phase === 'queued');
  assert.equal((await pool.health()).totals.jobsAborted, 3);
  await close();
});

test('a job that runs out of wasm memory fails, typed; its isolate keeps serving until a replacement takes over', OPTS, async () => {
  const { pool, close } = await startPool({ limits: { cooldownMs: 3_600_000 } });
  const replaced = nextEvent(pool, 'replacement');
  await assert.rejects(pool.run('outOfMemory'), (e) => e instanceof errors.ProverPoolJobError && e.remote.code === 'POOL_OUT_OF_MEMORY');
  const report = await replaced;
  assert.deepEqual([report.metric, report.oldIsolateId, report.newIsolateId], ['outOfMemory', 1, 2]);
  assert.equal((await pool.run('work')).isolateId, 2);
  await close();
});

test('a Rust panic that left the wasm (a bare WebAssembly.Exception) fails its job with the panic message; the isolate is replaced', OPTS, async () => {
  const { pool, close } = await startPool({ limits: { cooldownMs: 3_600_000 } });
  const replaced = nextEvent(pool, 'replacement');
  await assert.rejects(pool.run('wasmPanic'), (e) => {
    assert.ok(e instanceof errors.ProverPoolJobError);
    assert.equal(e.remote.name, 'WasmPanic');
    assert.equal(e.remote.code, 'POOL_OUT_OF_MEMORY', 'the panic line said [OUT_OF_MEMORY]');
    assert.match(e.message, /panicked at src\/oom.rs:29:5: plonk-wasm \[OUT_OF_MEMORY\] out of memory/);
    return true;
  });
  assert.equal((await replaced).metric, 'outOfMemory');
  await close();
});

const bareException = () => new WebAssembly.Exception(new WebAssembly.Tag({ parameters: [] }), []);

test("a panic that printed nothing is out of memory when o1js/pool counted a failed allocation during the job; else it is a panic", OPTS, async () => {
  // o1js installs its panic hook only once it built an index or proved: an isolate's first out of memory may print no line.
  const { pool, close } = await startPool({ limits: { cooldownMs: 3_600_000 } }, () => ({
    memory: { failedAllocations: 3 },
    extraJobs: (state) => ({
      silentPanic: async () => {
        throw bareException();
      },
      silentOutOfMemory: async () => {
        state.memory.failedAllocations++;
        throw bareException();
      },
    }),
  }));
  const firstReplaced = nextEvent(pool, 'replacement');
  await assert.rejects(pool.run('silentPanic'), (e) => e.remote.name === 'WasmPanic' && e.remote.code === 'POOL_JOB_PANICKED' && /no panic message was printed/.test(e.remote.message));
  assert.equal((await firstReplaced).metric, 'wasmPanic');
  const secondReplaced = nextEvent(pool, 'replacement');
  await assert.rejects(pool.run('silentOutOfMemory'), (e) => {
    assert.equal(e.isolateId, 2);
    assert.equal(e.remote.name, 'WasmPanic');
    assert.equal(e.remote.code, 'POOL_OUT_OF_MEMORY');
    assert.match(e.remote.message, /an allocation failed during the job/);
    return true;
  });
  assert.equal((await secondReplaced).metric, 'outOfMemory');
  await close();
});

test("an out-of-memory message names the isolate's memory maximum, not the 4 GiB the module declares", OPTS, async () => {
  const wasmMessage =
    'plonk-wasm [OUT_OF_MEMORY] out of memory: a request for 4194304 bytes (4.0 MiB) failed; allocator live 1000.0 MiB, peak 1010.0 MiB, ' +
    'linear memory 1024.0 MiB of 4096.0 MiB. The failed job\'s allocations were released and the pool keeps working';
  const { pool, close } = await startPool({ limits: { cooldownMs: 3_600_000 } }, () => ({
    extraJobs: () => ({
      declaredMaximum: async () => {
        throw Object.assign(new Error(`a job ran out of wasm memory (${wasmMessage})`), { name: 'PoolMemoryError', code: 'POOL_OUT_OF_MEMORY' });
      },
    }),
  }));
  await assert.rejects(pool.run('declaredMaximum'), (e) => {
    assert.match(e.remote.message, /linear memory 1024\.0 MiB of 1024\.0 MiB\./, 'the isolate\'s maximum (its health says 1 GiB)');
    assert.doesNotMatch(e.remote.message, /4096/);
    return true;
  });
  await close();
});

test('a faulted isolate takes no job while its successor warms: the job waits for the fresh instance', OPTS, async () => {
  const warm2 = deferred();
  const { pool, close } = await startPool({ limits: { cooldownMs: 3_600_000 } }, (id) => ({ warm: id === 2 ? () => warm2.promise : undefined }));
  await assert.rejects(pool.run('outOfMemory'), (e) => e.remote.code === 'POOL_OUT_OF_MEMORY');
  const next = pool.run('work', { x: 1 });
  const seen = await pool.health();
  assert.deepEqual(seen.isolates.map((i) => [i.id, i.state]), [[1, 'idle'], [2, 'starting']], 'isolate 1 stays idle: the job is queued');
  assert.equal(seen.queued, 1);
  warm2.resolve('warm');
  assert.equal((await next).isolateId, 2);
  await close();
});

test("a fault on an isolate whose successor already warms is reported as the fault's decision, once; the isolate takes no job meanwhile", OPTS, async () => {
  const warm2 = deferred();
  const { pool, close } = await startPool({ limits: { cooldownMs: 3_600_000 } }, (id) => ({ warm: id === 2 ? () => warm2.promise : undefined }));
  const decisions = [];
  pool.on('decision', (event) => decisions.push(event));
  const replaced = pool.replaceIsolate(1);
  assert.deepEqual((await pool.health()).isolates.map((i) => [i.id, i.state]), [[1, 'idle'], [2, 'starting']], 'the requested successor warms; isolate 1 serves meanwhile');
  await assert.rejects(pool.run('outOfMemory'), (e) => e.isolateId === 1 && e.remote.code === 'POOL_OUT_OF_MEMORY');
  const next = pool.run('work', { x: 3 });
  const faults = decisions.filter((e) => e.isolateId === 1 && e.decision.kind === 'replace');
  assert.deepEqual(faults.map((e) => e.decision.metric), ['outOfMemory'], `one outOfMemory decision for isolate 1: ${JSON.stringify(decisions)}`);
  assert.equal((await pool.health()).queued, 1, 'the job waits for the fresh instance');
  warm2.resolve('warm');
  assert.equal((await next).isolateId, 2);
  assert.equal((await replaced).oldIsolateId, 1);
  assert.equal(decisions.filter((e) => e.isolateId === 1 && e.decision.kind === 'replace').length, 1, 'reported once');
  await close();
});

test("a fault of the job an isolate drains (its successor already serves) is reported as the fault's decision", OPTS, async () => {
  const release = deferred();
  const { pool, close } = await startPool({ limits: { cooldownMs: 3_600_000 } }, () => ({
    extraJobs: () => ({
      lateOutOfMemory: async () => {
        await release.promise;
        throw Object.assign(new Error('plonk-wasm [OUT_OF_MEMORY] a job ran out of wasm memory'), { code: 'POOL_OUT_OF_MEMORY' });
      },
    }),
  }));
  const decisions = [];
  pool.on('decision', (event) => decisions.push(event));
  const running = pool.run('lateOutOfMemory');
  const draining = nextEvent(pool, 'isolate-ready', (e) => e.isolateId === 2);
  const replaced = pool.replaceIsolate(1);
  await draining;
  await within(5_000, 'isolate 1 draining', (async () => {
    while ((await pool.health()).isolates.find((i) => i.id === 1)?.state !== 'draining') await new Promise((resolve) => setTimeout(resolve, 5));
  })());
  release.resolve();
  await assert.rejects(running, (e) => e.isolateId === 1 && e.remote.code === 'POOL_OUT_OF_MEMORY');
  assert.equal((await replaced).oldIsolateId, 1);
  const faults = decisions.filter((e) => e.isolateId === 1 && e.decision.kind === 'replace');
  assert.deepEqual(faults.map((e) => e.decision.metric), ['outOfMemory'], JSON.stringify(decisions));
  await close();
});

test("a faulted isolate serves again when its successor fails to start (until the next one)", OPTS, async () => {
  const { pool, close } = await startPool({ limits: { cooldownMs: 3_600_000 }, restartDelayMs: 60_000 }, (id) => ({
    warm: id === 2 ? async () => Promise.reject(new Error('the successor cannot warm')) : undefined,
  }));
  const failedStart = nextEvent(pool, 'isolate-exit', (e) => e.reason === 'start-failed');
  await assert.rejects(pool.run('outOfMemory'), (e) => e.remote.code === 'POOL_OUT_OF_MEMORY');
  const next = pool.run('work', { x: 2 });
  await failedStart;
  assert.equal((await within(5_000, 'the job on the faulted isolate', next)).isolateId, 1);
  await close();
});

test("replaceIsolate() rejects with the replacement's own error when another caller's job on its isolate is aborted or times out", OPTS, async () => {
  for (const how of ['abort', 'deadline']) {
    const warm2 = deferred();
    const { pool, module, close } = await startPool({}, (id) => ({ warm: id === 2 ? () => warm2.promise : undefined }));
    module(1).gate('slow');
    const controller = new AbortController();
    const job = pool.run('slow', {}, how === 'abort' ? { signal: controller.signal } : { timeoutMs: 50 });
    const replacing = pool.replaceIsolate(1);
    if (how === 'abort') controller.abort(new Error('the caller gave up'));
    await assert.rejects(job, (e) => e.code === (how === 'abort' ? 'PROVER_POOL_JOB_ABORTED' : 'PROVER_POOL_JOB_TIMEOUT'));
    await assert.rejects(within(5_000, 'replaceIsolate()', replacing), (e) => {
      assert.ok(e instanceof errors.ProverPoolReplacementError, `${how}: ${e}`);
      assert.equal(e.code, 'PROVER_POOL_REPLACEMENT_FAILED');
      assert.equal(e.isolateId, 1);
      assert.equal(e.loss, how === 'abort' ? 'aborted' : 'timed-out');
      assert.match(e.message, /the replacement of isolate 1 did not complete/);
      assert.equal(e.cause?.code, how === 'abort' ? 'PROVER_POOL_JOB_ABORTED' : 'PROVER_POOL_JOB_TIMEOUT', 'the job\'s error is the cause');
      return true;
    });
    warm2.resolve('warm');
    assert.equal((await pool.run('work', { x: how })).isolateId, 2, 'the warming successor took the slot');
    await close();
  }
});

test('admission: unknown jobs, a full queue and a closed pool are refused at once, with typed errors', OPTS, async () => {
  const { pool, module, events, close } = await startPool({ maxQueuedJobs: 1 });
  await assert.rejects(pool.run('nope'), (e) => e instanceof errors.ProverPoolUnknownJobError && e.jobName === 'nope' && e.known.includes('work'));
  const gate = module(1).gate('slow');
  const running = pool.run('slow');
  const queued = pool.run('work');
  await assert.rejects(pool.run('work'), (e) => {
    assert.ok(e instanceof errors.ProverPoolAdmissionError);
    assert.deepEqual([e.code, e.kind, e.needed, e.available], ['PROVER_POOL_ADMISSION_REFUSED', 'queue-full', 1, 1]);
    return true;
  });
  assert.equal(events.filter((e) => e.name === 'refuse').length, 1);
  gate.resolve('done');
  await Promise.all([running, queued]);
  await close();
  await assert.rejects(pool.run('work'), (e) => e instanceof errors.ProverPoolClosedError && e.phase === 'submitted');
});

test('admission: a job is refused when even a freshly warmed isolate lacks the headroom', OPTS, async () => {
  const memory = { linearBytes: 900 * MiB, linearMaxBytes: GiB, allocatorLiveBytes: 1000 * MiB };
  const { pool, close } = await startPool({}, () => ({ memory }));
  await assert.rejects(pool.run('work'), (e) => e.kind === 'memory-headroom' && e.needed === 64 * MiB && e.available === 24 * MiB);
  await close();
});

test('an isolate below the headroom takes no job and is replaced at once (no cooldown)', OPTS, async () => {
  const { pool, module, close } = await startPool({ limits: { cooldownMs: 3_600_000, maxJobs: 1000 } });
  module(1).state.memory.allocatorLiveBytes = 1000 * MiB; // after the next job: 24 MiB left of 1 GiB, below the 64 MiB headroom
  const replaced = nextEvent(pool, 'replacement');
  assert.equal((await pool.run('work')).isolateId, 1);
  const report = await replaced;
  assert.equal(report.metric, 'headroomBytes');
  assert.equal((await pool.run('work')).isolateId, 2);
  await close();
});

test('a failed start: the pool does not start (warm threw), and stops what it started', OPTS, async () => {
  const { platform, isolates } = inProcessPlatform((id) => scriptedModule(id, { warm: id === 2 ? async () => { throw new Error('no keys'); } : undefined }));
  await assert.rejects(ProverPool.start(platform, { module: MODULE, isolates: 2, warm: { name: 'warm' } }), (e) => {
    assert.ok(e instanceof errors.ProverPoolStartError);
    assert.deepEqual([e.code, e.stage, e.isolateId, e.cause.message], ['PROVER_POOL_START_FAILED', 'warm', 2, 'no keys']);
    return true;
  });
  assert.ok([...isolates.values()].every((i) => i.terminated));
});

test('a start that never ends is bounded by startTimeoutMs', OPTS, async () => {
  const { platform } = inProcessPlatform((id) => scriptedModule(id, { warm: () => new Promise(() => undefined) }));
  await assert.rejects(ProverPool.start(platform, { module: MODULE, warm: { name: 'warm' }, startTimeoutMs: 100 }), (e) => e.stage === 'timeout');
});

test('a replacement that fails to start leaves the old isolate serving, reported as an error event', OPTS, async () => {
  let failWarm = false;
  const { pool, events, close } = await startPool({ limits: { maxJobs: 1, cooldownMs: 0 }, restartDelayMs: 0 }, () => ({
    warm: async () => {
      if (failWarm) throw new Error('cache unreadable');
    },
  }));
  failWarm = true;
  const failed = nextEvent(pool, 'error');
  await pool.run('work');
  const { error } = await failed;
  assert.equal(error.code, 'PROVER_POOL_START_FAILED');
  assert.equal((await pool.run('work')).isolateId, 1, 'the old isolate still serves');
  assert.ok(events.some((e) => e.name === 'isolate-exit' && e.reason === 'start-failed'));
  await close();
});

test('a slot whose restarts keep failing is given up; then jobs are refused with no-isolate', OPTS, async () => {
  let failWarm = false;
  const { pool, isolates, close } = await startPool({ maxStartFailures: 2, restartDelayMs: 1 }, () => ({
    warm: async () => {
      if (failWarm) throw new Error('broken');
    },
  }));
  failWarm = true;
  const gate = [...isolates.values()][0].module.gate('slow');
  const started = nextEvent(pool, 'job-start');
  const lost = pool.run('slow');
  const queued = pool.run('work');
  await started;
  isolates.get(1).crash();
  await assert.rejects(lost, (e) => e.code === 'PROVER_POOL_ISOLATE_CRASHED');
  await assert.rejects(queued, (e) => e.code === 'PROVER_POOL_ADMISSION_REFUSED' && e.kind === 'no-isolate');
  await assert.rejects(pool.run('work'), (e) => e.kind === 'no-isolate');
  assert.equal((await pool.health()).totals.startFailures, 2);
  void gate;
  await close();
});

test('close() drains queued and running jobs, then terminates every isolate; a second call returns the same report', OPTS, async () => {
  const { pool, isolates, module } = await startPool();
  const gate = module(1).gate('slow');
  const started = nextEvent(pool, 'job-start');
  const running = pool.run('slow');
  const queued = pool.run('work', { x: 'queued' });
  await started;
  const closing = pool.close({ timeoutMs: 5_000 });
  assert.equal(pool.close(), closing);
  await assert.rejects(pool.run('work'), (e) => e.code === 'PROVER_POOL_CLOSED');
  gate.resolve('ran');
  assert.equal(await running, 'ran');
  assert.equal((await queued).args.x, 'queued');
  const report = await within(5_000, 'close', closing);
  assert.deepEqual([report.drained, report.rejectedQueued, report.cutOffRunning, report.isolatesStopped, report.timedOut], [2, 0, 0, 1, false]);
  assert.equal(pool.state, 'closed');
  assert.ok(isolates.get(1).terminated);
});

test('close() past its bound (or without drain) rejects queued jobs and cuts off running ones', OPTS, async () => {
  const { pool, isolates, module } = await startPool();
  module(1).gate('slow'); // never resolved
  const started = nextEvent(pool, 'job-start');
  const running = pool.run('slow');
  const queued = pool.run('work');
  await started;
  const report = await within(5_000, 'close', pool.close({ timeoutMs: 50 }));
  await assert.rejects(running, (e) => e instanceof errors.ProverPoolClosedError && e.phase === 'running');
  await assert.rejects(queued, (e) => e instanceof errors.ProverPoolClosedError && e.phase === 'queued');
  assert.deepEqual([report.rejectedQueued, report.cutOffRunning, report.timedOut], [1, 1, true]);
  assert.ok(isolates.get(1).terminated);
});

test('health: idle isolates answer fresh snapshots; a busy one shows its last and how old it is', OPTS, async () => {
  const { pool, module, close } = await startPool({ isolates: 2 });
  const gate = module(1).gate('slow');
  const started = nextEvent(pool, 'job-start');
  const running = pool.run('slow');
  await started;
  module(2).state.memory.allocatorLiveBytes = 777;
  const health = await pool.health();
  const [busy, idle] = health.isolates;
  assert.equal(busy.state, 'busy');
  assert.equal(busy.job.name, 'slow');
  assert.equal(busy.snapshot.memory.allocatorLiveBytes, 200 * MiB, 'from the end of its warm step');
  assert.equal(idle.snapshot.memory.allocatorLiveBytes, 777, 'read for this call');
  assert.equal(idle.snapshot.pool.state, 'running');
  assert.deepEqual([health.queued, health.running, health.state], [0, 1, 'open']);
  gate.resolve(1);
  await running;
  await close();
});

test('arguments that cannot be cloned fail that job only; a throwing listener does not break the pool', OPTS, async () => {
  const { pool, events, close } = await startPool();
  pool.on('job-start', () => {
    throw new Error('listener bug');
  });
  await assert.rejects(pool.run('work', { f: () => 1 }), (e) => e instanceof errors.ProverPoolArgumentError && e.code === 'PROVER_POOL_INVALID_ARGUMENT' && e.cause.name === 'DataCloneError');
  await assert.rejects(pool.run('returnFunction'), (e) => e.code === 'PROVER_POOL_JOB_FAILED' && e.remote.name === 'DataCloneError');
  assert.equal((await pool.run('work', { x: 1 })).args.x, 1);
  assert.ok(events.some((e) => e.name === 'error' && /listener of 'job-start' threw/.test(e.context)));
  await close();
});

// limits.replaceAhead: the successor starts early enough to be warm when the old isolate reaches
// its limit. Starts take 3 s and jobs 1 s on this clock: with maxJobs 10 the successor starts after
// job 7 (3 jobs ahead), not after job 10; without replaceAhead, after job 10.
for (const replaceAhead of [true, false]) {
  test(`replaceAhead ${replaceAhead}: the successor of an isolate limited to 10 jobs starts after job ${replaceAhead ? 7 : 10}`, OPTS, async () => {
    let now = 1_000_000;
    const { pool, events, close } = await startPool(
      { limits: { maxJobs: 10, cooldownMs: 0, replaceAhead } },
      () => ({
        warm: async () => {
          now += 3_000;
          return 'warm';
        },
        extraJobs: () => ({
          second: async () => {
            now += 1_000;
            return 'done';
          },
        }),
      }),
      { now: () => now },
    );
    for (let job = 1; job <= 10; job++) {
      await pool.run('second', {});
      const decision = events.find((e) => e.name === 'decision' && e.decision.kind === 'replace');
      if (decision !== undefined) {
        assert.equal(job, replaceAhead ? 7 : 10, `the successor was decided after job ${job}`);
        assert.equal(decision.decision.metric, 'jobs');
        if (replaceAhead) assert.match(decision.decision.reason, /projected 3 jobs ahead/);
        break;
      }
      assert.ok(job < 10, 'a successor by the limit at the latest');
    }
    await nextEvent(pool, 'isolate-ready', (e) => e.cause === 'replacement');
    await close();
  });
}
