// Process isolation (createProverPool({ isolation: 'process' }), bindings-js/isolates/node.ts):
// each isolate is the same isolate thread in a child process of its own, with a proving module
// without o1js (fixtures/synthetic-prover.js). Its memory is resident in that process, never in
// the pool's, and ending the isolate ends the process, which gives all of it back to the OS;
// crashes, aborts and bad input behave as with thread isolation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MiB, load, nextEvent, within } from './lib.js';

const { createProverPool, childExecArgv } = await load('node.js');
const SYNTHETIC = new URL('./fixtures/synthetic-prover.js', import.meta.url);
const OPTS = { timeout: 90_000 };
const start = (options = {}) =>
  within(60_000, 'the pool to start', createProverPool({ module: SYNTHETIC, isolation: 'process', warm: { name: 'warm' }, idleCheckIntervalMs: 60_000, ...options }));

/** A process's resident set (Linux), or null once it is gone. */
function rssOf(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line.split(/\s+/)[1]) * 1024;
  } catch {
    return null;
  }
}
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('each isolate is a process of its own with its memory maximum; its memory is resident there, not in the pool, and goes with it', OPTS, async () => {
  const pool = await start({ isolates: 2, limits: { memoryMaximumBytes: 256 * MiB } });
  try {
    const [a, b] = await Promise.all([pool.run('where', {}), pool.run('where', {})]);
    assert.notEqual(a.pid, process.pid);
    assert.notEqual(b.pid, process.pid);
    assert.notEqual(a.pid, b.pid, 'one process per isolate');
    const echo = await pool.run('echo', { n: 1 });
    assert.equal(echo.args.n, 1);
    assert.equal(echo.context.platform, 'node');
    for (const isolate of (await pool.health()).isolates) assert.equal(isolate.snapshot.memory.linearMaxBytes, 256 * MiB);
    // An isolate in its own process reports that process's RSS, measured (not linear + V8 heap, as a thread's estimate).
    const [one] = (await pool.health()).isolates;
    assert.ok(one.snapshot.memory.rssShareBytes > one.snapshot.memory.linearBytes + one.snapshot.memory.v8HeapBytes, 'a whole process: more than its linear memory and V8 heap');
    await assert.rejects(pool.run('fill', { mib: 300 }), (e) => e.code === 'PROVER_POOL_JOB_FAILED' && e.remote.name === 'RangeError', 'past the maximum');

    const poolRssBefore = process.memoryUsage.rss();
    const filled = await pool.run('fill', { mib: 200 });
    assert.equal(filled.linearBytes, 204 * MiB);
    const { pid } = await pool.run('where', {});
    // Either isolate may have taken the fill: the one holding it has it resident.
    const resident = Math.max(rssOf(a.pid) ?? 0, rssOf(b.pid) ?? 0);
    assert.ok(resident >= 200 * MiB, `an isolate process holds the 200 MiB it wrote (largest isolate RSS ${(resident / MiB).toFixed(0)} MiB)`);
    assert.ok(process.memoryUsage.rss() - poolRssBefore < 100 * MiB, "the pool's own process did not take it");
    assert.ok(alive(pid));

    // Replacing every isolate ends every process: all their memory is the OS's again.
    for (const isolate of (await pool.health()).isolates) await within(60_000, 'a replacement', pool.replaceIsolate(isolate.id));
    for (const old of [a.pid, b.pid]) {
      const deadline = Date.now() + 10_000;
      while (alive(old) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(alive(old), false, `process ${old} ended with its isolate`);
    }
    const after = await Promise.all([pool.run('where', {}), pool.run('where', {})]);
    assert.ok(after.every((w) => w.pid !== a.pid && w.pid !== b.pid), 'the successors are new processes');
  } finally {
    await pool.close();
  }
});

test('a crash in an isolate process fails only its job; an aborted job ends its process at once; the pool goes on', OPTS, async () => {
  const pool = await start({ isolates: 1, restartDelayMs: 0 });
  try {
    const { pid: first } = await pool.run('where', {});
    await assert.rejects(pool.run('exit', { code: 7 }), (e) => e.code === 'PROVER_POOL_ISOLATE_CRASHED' && e.exitCode === 7);
    const { pid: second } = await within(30_000, 'a job on the refilled slot', pool.run('where', {}));
    assert.notEqual(second, first);
    assert.equal(alive(first), false);

    const controller = new AbortController();
    const started = nextEvent(pool, 'job-start');
    const running = pool.run('block', { ms: 20_000 }, { signal: controller.signal });
    await started;
    const exited = nextEvent(pool, 'isolate-exit', (e) => e.reason === 'aborted');
    const abortedAt = performance.now();
    controller.abort();
    await assert.rejects(running, (e) => e.code === 'PROVER_POOL_JOB_ABORTED' && e.phase === 'running');
    await exited;
    assert.ok(performance.now() - abortedAt < 10_000, 'not after the 20 s block');
    assert.equal(alive(second), false, 'the aborted isolate\'s process is gone');
    assert.equal((await within(30_000, 'a job after the abort', pool.run('echo', { n: 2 }))).args.n, 2);
  } finally {
    await pool.close();
  }
});

test('limits.maxRssBytes replaces an isolate whose process grew past it, and the successor starts from a fresh process', OPTS, async () => {
  // The limit sits 100 MiB above what a fresh isolate process takes on this machine.
  const probe = await start({ isolates: 1 });
  const fresh = (await probe.health()).isolates[0].snapshot.memory.rssShareBytes;
  await probe.close();
  const limit = fresh + 100 * MiB;
  const pool = await start({ isolates: 1, limits: { maxRssBytes: limit, cooldownMs: 0, hysteresisFraction: 0 } });
  try {
    const { pid } = await pool.run('where', {});
    const replaced = nextEvent(pool, 'replacement', (e) => e.metric === 'rssBytes', 60_000);
    await pool.run('fill', { mib: 200 });
    const report = await replaced;
    const mib = (bytes) => `${(bytes / MiB).toFixed(0)} MiB`;
    assert.ok(report.old.snapshot.memory.rssShareBytes >= limit, `the old process reached ${mib(report.old.snapshot.memory.rssShareBytes)} (limit ${mib(limit)})`);
    assert.ok(report.new.snapshot.memory.rssShareBytes < limit, `its successor starts below the limit (${mib(report.new.snapshot.memory.rssShareBytes)})`);
    assert.equal(alive(pid), false, 'the old process is gone');
  } finally {
    await pool.close();
  }
});

test('limits.rssBudgetBytes: a successor that fits starts beside its isolate; one that would cross it starts after that process ended', OPTS, async () => {
  // The budget holds this process and two fresh isolate processes with 100 MiB to spare: blue/green
  // fits. Once the serving isolate wrote 200 MiB, its process and a successor would be 100 MiB over.
  const probe = await start({ isolates: 1 });
  const health = await probe.health();
  const fresh = health.isolates[0].snapshot.memory.rssShareBytes;
  const budget = health.processRssBytes + 2 * fresh + 100 * MiB;
  await probe.close();
  const pool = await start({ isolates: 1, limits: { rssBudgetBytes: budget } });
  const events = [];
  for (const name of ['isolate-start', 'isolate-exit', 'stop-then-start']) pool.on(name, (e) => events.push(`${name} ${e.isolateId}`));
  try {
    const fits = await within(60_000, 'a blue/green replacement', pool.replaceIsolate());
    assert.equal(fits.order, 'blue-green');
    assert.ok(!events.some((e) => e.startsWith('stop-then-start')));

    const { pid } = await pool.run('where', {});
    await pool.run('fill', { mib: 200 });
    await pool.health(); // a fresh snapshot: the 200 MiB are resident in that process
    const report = await within(60_000, 'a stop-then-start replacement', pool.replaceIsolate());
    assert.equal(report.order, 'stop-then-start');
    const [old, successor] = [report.oldIsolateId, report.newIsolateId];
    assert.ok(events.indexOf(`stop-then-start ${old}`) < events.indexOf(`isolate-exit ${old}`), events.join(', '));
    assert.ok(events.indexOf(`isolate-exit ${old}`) < events.indexOf(`isolate-start ${successor}`), `the old process ended before its successor was spawned: ${events.join(', ')}`);
    assert.equal(alive(pid), false);
    assert.notEqual((await pool.run('where', {})).pid, pid, 'the successor is a new process');
  } finally {
    await pool.close();
  }
});

test("backend 'native' needs process isolation and no wasm memory maximum", OPTS, async () => {
  const refused = (options, field, pattern) =>
    assert.rejects(createProverPool({ module: SYNTHETIC, ...options }), (e) => e.code === 'PROVER_POOL_INVALID_CONFIG' && e.field === field && pattern.test(e.message));
  await refused({ backend: 'native', isolation: 'thread' }, 'isolation', /'process' with backend 'native'/);
  await refused({ backend: 'native', limits: { memoryMaximumBytes: 256 * MiB } }, 'limits.memoryMaximumBytes', /maxRssBytes/);
  await refused({ backend: 'rust' }, 'backend', /'wasm' or 'native'/);
});

test("isolation is 'thread' or 'process', and a child runs the isolate script with the process's own options but not its eval or test runner", OPTS, async () => {
  await assert.rejects(createProverPool({ module: SYNTHETIC, isolation: 'fork' }), (e) => e.code === 'PROVER_POOL_INVALID_CONFIG' && e.field === 'isolation' && /"fork"/.test(e.message) && /'thread' or 'process'/.test(e.message));
  assert.deepEqual(
    childExecArgv(['--max-old-space-size=4096', '--input-type=module', '-e', 'import("x")', '--expose-gc', '--test', '--test-reporter=tap', '--conditions', 'dev']),
    ['--max-old-space-size=4096', '--expose-gc', '--conditions', 'dev'],
  );
  assert.deepEqual(childExecArgv(['--eval=1', '-p', '2', '--input-type', 'module']), []);
  // The test runner passes its options' values as separate entries: none may be taken for the script.
  assert.deepEqual(childExecArgv(['--test-name-pattern', "isolation: 'process'|native", '--test-only', '--expose-gc', '--test-reporter', 'tap', '-r', 'x.js']), ['--expose-gc', '-r', 'x.js']);
});
