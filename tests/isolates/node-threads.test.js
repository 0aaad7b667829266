// The Node adapter (bindings-js/isolates/node.ts) in real worker_threads, with
// a proving module without o1js (fixtures/synthetic-prover.js): the caller's
// event loop stays free while isolates block; crashes of every kind fail only
// their job; a running job is stopped by terminating its isolate; an isolate's
// memory has its own maximum and goes back to the OS with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { COMPILED, MiB, load, nextEvent, within } from './lib.js';

const { createProverPool } = await load('node.js');
const SYNTHETIC = new URL('./fixtures/synthetic-prover.js', import.meta.url);
const OPTS = { timeout: 60_000 };
const start = (options = {}) =>
  within(30_000, 'the pool to start', createProverPool({ module: SYNTHETIC, warm: { name: 'warm' }, idleCheckIntervalMs: 60_000, ...options }));

test('isolates are worker_threads with their own memory maximum; jobs get args and context', OPTS, async () => {
  const pool = await start({ isolates: 2, limits: { memoryMaximumBytes: 256 * MiB } });
  try {
    const [a, b] = await Promise.all([pool.run('echo', { n: 1 }), pool.run('echo', { n: 2 })]);
    assert.deepEqual([a.args.n, b.args.n], [1, 2]);
    assert.deepEqual(new Set([a.context.isolateId, b.context.isolateId]), new Set([1, 2]));
    assert.equal(a.context.platform, 'node');
    const health = await pool.health();
    for (const isolate of health.isolates) {
      assert.equal(isolate.snapshot.memory.linearMaxBytes, 256 * MiB);
      assert.equal(isolate.snapshot.memory.linearBytes, 4 * MiB, 'the memory starts at 64 pages');
      assert.ok(isolate.snapshot.memory.v8HeapBytes > 0);
      assert.equal(isolate.snapshot.memory.rssShareBytes, isolate.snapshot.memory.linearBytes + isolate.snapshot.memory.v8HeapBytes);
    }
    assert.ok(health.processRssBytes > 0);
    // Past the maximum, the isolate's memory cannot grow: the job fails, typed, and the isolate serves on.
    await assert.rejects(pool.run('fill', { mib: 300 }), (e) => e.code === 'PROVER_POOL_JOB_FAILED' && e.remote.name === 'RangeError');
    assert.equal((await pool.run('fill', { mib: 16 })).linearBytes, 20 * MiB);
  } finally {
    await pool.close();
  }
});

test("the caller's event loop keeps answering while every isolate blocks in a job", OPTS, async () => {
  const pool = await start({ isolates: 2 });
  try {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const results = await Promise.all([pool.run('block', { ms: 1_500 }), pool.run('block', { ms: 1_500 })]);
    clearInterval(ticker);
    delay.disable();
    assert.ok(results.every((r) => r.spins > 0));
    const maxGapMs = delay.max / 1e6;
    // The jobs block their isolates for 1.5 s each; the caller's thread is never blocked by them. A busy
    // machine can delay a timer, but not by anything close to a job's length.
    assert.ok(maxGapMs < 500, `the longest event-loop delay was ${maxGapMs.toFixed(1)} ms`);
    assert.ok(ticks > 20, `a 10 ms timer ticked ${ticks} times during 1.5 s of blocking jobs`);
    console.log(`event loop during 1.5 s of blocked isolates: max delay ${maxGapMs.toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, ${ticks} ticks of a 10 ms timer`);
  } finally {
    await pool.close();
  }
});

test('process.exit, an uncaught error and a V8 heap out-of-memory in an isolate each fail only its job; replacements start', OPTS, async () => {
  const pool = await start({ isolates: 2, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 } });
  try {
    const cases = [
      ['exit', { code: 7 }, (e) => e.exitCode === 7],
      ['uncaught', {}, (e) => /uncaught in the isolate/.test(e.message)],
      ['exhaustHeap', {}, (e) => /ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(`${e.cause?.code} ${e.message}`)],
    ];
    for (const [job, args, check] of cases) {
      const other = pool.run('block', { ms: 300 });
      const refilled = nextEvent(pool, 'isolate-ready', (e) => e.cause === 'crash', 30_000);
      await assert.rejects(pool.run(job, args), (e) => {
        assert.equal(e.code, 'PROVER_POOL_ISOLATE_CRASHED', `${job}: ${e.message}`);
        assert.equal(e.kind, 'exit');
        assert.equal(e.jobName, job);
        assert.ok(check(e), `${job}: ${e.message} (cause ${e.cause?.code})`);
        return true;
      });
      assert.ok((await other).spins > 0, `${job}: the job on the other isolate completed`);
      await refilled;
      assert.equal((await pool.health()).isolates.filter((i) => i.role === 'serving').length, 2);
    }
    assert.equal((await pool.health()).totals.crashes, 3);
  } finally {
    await pool.close();
  }
});

test('aborting a running job terminates its isolate at once, even mid-block, and rejects it only once the isolate is stopped; queued jobs then run on the replacement', OPTS, async () => {
  const pool = await start();
  try {
    const controller = new AbortController();
    const started = nextEvent(pool, 'job-start');
    const blocked = pool.run('block', { ms: 30_000 }, { signal: controller.signal });
    const queued = pool.run('echo', { n: 'after' });
    queued.catch(() => undefined); // awaited below; a failing assertion before must not leave it unhandled
    await started;
    const order = [];
    pool.on('isolate-exit', (e) => order.push(`isolate-exit ${e.isolateId} ${e.reason}`));
    const abortedAt = performance.now();
    const exited = nextEvent(pool, 'isolate-exit', (e) => e.reason === 'aborted');
    controller.abort();
    await assert.rejects(
      blocked.finally(() => order.push('rejected')),
      (e) => e.code === 'PROVER_POOL_JOB_ABORTED' && e.phase === 'running',
    );
    // The rejection says the proof is no longer running: its isolate's exit came first.
    assert.deepEqual(order, ['isolate-exit 1 aborted', 'rejected']);
    const exit = await exited;
    const stoppedMs = performance.now() - abortedAt;
    assert.ok(stoppedMs < 10_000, `the isolate was stopped ${stoppedMs.toFixed(0)} ms after the abort, not after its 30 s job`);
    assert.equal((await queued).args.n, 'after');
    console.log(`abort of a running job: isolate terminated in ${exit.terminateMs} ms (${stoppedMs.toFixed(0)} ms after abort())`);
  } finally {
    await pool.close();
  }
});

test("a replacement returns the old isolate's memory to the OS", OPTS, async () => {
  const pool = await start();
  try {
    await pool.run('fill', { mib: 256 });
    const report = await within(30_000, 'the replacement', pool.replaceIsolate());
    const { beforeTerminate, afterTerminate } = report.processRssBytes;
    const releasedMiB = (beforeTerminate - afterTerminate) / MiB;
    assert.equal(report.old.snapshot.memory.linearBytes, 260 * MiB);
    assert.equal(report.new.snapshot.memory.linearBytes, 4 * MiB);
    // 256 MiB were written in the old isolate's memory; its termination gives (nearly) all of it back.
    assert.ok(releasedMiB > 200, `process RSS fell by ${releasedMiB.toFixed(0)} MiB when the old isolate was terminated`);
    console.log(`replacement: RSS ${(beforeTerminate / MiB).toFixed(0)} → ${(afterTerminate / MiB).toFixed(0)} MiB at the old isolate's terminate (${report.terminateMs} ms); new isolate ready in ${report.newStartMs} ms`);
  } finally {
    await pool.close();
  }
});

test('a module that does not load fails the pool start with a typed error, and a bad option is refused', OPTS, async () => {
  await assert.rejects(
    createProverPool({ module: new URL('./fixtures/broken-prover.js', import.meta.url) }),
    (e) => e.code === 'PROVER_POOL_START_FAILED' && e.stage === 'load' && /does not load/.test(e.message),
  );
  await assert.rejects(createProverPool({ module: SYNTHETIC, resourceLimits: 5 }), (e) => e.code === 'PROVER_POOL_INVALID_CONFIG' && e.field === 'resourceLimits');
  await assert.rejects(createProverPool({ module: SYNTHETIC, warm: { name: 'nope' } }), (e) => e.stage === 'warm' && /does not have/.test(e.message));
});

test('an idle pool does not keep the process alive; close() is not needed for the process to end', OPTS, async () => {
  // Checked in a child process: it starts a pool, runs a job, and must end by itself.
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const script = `${mkdtempSync(`${tmpdir()}/isolates-`)}/idle-pool.mjs`;
  writeFileSync(
    script,
    `import { createProverPool } from ${JSON.stringify(pathToFileURL(`${COMPILED}node.js`).href)};
     const pool = await createProverPool({ module: ${JSON.stringify(SYNTHETIC.href)}, isolates: 2 });
     console.log(JSON.stringify(await pool.run('echo', { n: 1 })));`,
  );
  const child = spawnSync(process.execPath, [script], { timeout: 30_000, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(JSON.parse(child.stdout).args.n, 1);
});
