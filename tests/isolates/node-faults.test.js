// The Node adapter against what a proving module or a deploy can do to it, in
// real worker_threads (modules without o1js, fixtures/): messages on the
// module's own parentPort; a job past its deadline; the module file changed
// on disk; threadsPerIsolate without an `o1js` export; options the adapter
// refuses (always as a rejected promise); and the pool's timers, which must
// not keep a process alive (checked in child processes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COMPILED, load, nextEvent, within } from './lib.js';

const { createProverPool, ProverPoolConfigError, ProverPoolTimeoutError, ProverPoolStartError } = await load('node.js');
const SYNTHETIC = new URL('./fixtures/synthetic-prover.js', import.meta.url);
const STRAY = new URL('./fixtures/stray-prover.js', import.meta.url);
const OPTS = { timeout: 60_000 };
const start = (options = {}) =>
  within(30_000, 'the pool to start', createProverPool({ module: SYNTHETIC, warm: { name: 'warm' }, idleCheckIntervalMs: 60_000, ...options }));

test("a proving module's own parentPort messages never reach the pool: the host stays up and each job settles with its real result", OPTS, async () => {
  // The module posts { type: 'ready' } (and a namespaced one) when imported, and forged 'result' and 'failed'
  // messages for the job it runs: the pool hears its isolate only on its private channel.
  const pool = await within(30_000, 'the pool to start', createProverPool({ module: STRAY, warm: { name: 'warm' }, idleCheckIntervalMs: 60_000 }));
  try {
    const started = performance.now();
    const result = await within(10_000, 'forgeResult', pool.run('forgeResult', { ms: 1_000 }));
    const ranMs = performance.now() - started;
    assert.deepEqual(result, { real: 'forgeResult', jobId: 1 }, 'the real result, not the forged one');
    assert.ok(ranMs >= 950, `settled after ${ranMs.toFixed(0)} ms: its real run (1 s), not the forged message`);
    assert.deepEqual(await within(10_000, 'forgeFailed', pool.run('forgeFailed', { ms: 200 })), { real: 'forgeFailed', jobId: 2 });
    assert.equal((await pool.run('echo', { n: 3 })).args.n, 3, 'the next job runs on the same isolate, normally');
    const health = await pool.health();
    assert.deepEqual([health.totals.crashes, health.totals.jobsCompleted, health.isolates.length], [0, 3, 1]);
    assert.equal(health.totals.strayMessages, 6, 'each message on parentPort was counted as a stray, and ignored');
  } finally {
    await pool.close();
  }
});

test('a deadline stops a running job that blocks its isolate: typed error once the isolate is stopped; the slot is refilled', OPTS, async () => {
  const pool = await start();
  try {
    const order = [];
    pool.on('isolate-exit', (e) => order.push(`isolate-exit ${e.isolateId} ${e.reason}`));
    const refilled = nextEvent(pool, 'isolate-ready', (e) => e.cause === 'timeout', 30_000);
    const started = performance.now();
    await assert.rejects(
      pool.run('block', { ms: 30_000 }, { timeoutMs: 300 }).finally(() => order.push('rejected')),
      (e) => e instanceof ProverPoolTimeoutError && e.code === 'PROVER_POOL_JOB_TIMEOUT' && e.phase === 'running' && e.isolateId === 1 && e.timeoutMs === 300,
    );
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs >= 290 && elapsedMs < 10_000, `rejected after ${elapsedMs.toFixed(0)} ms (deadline 300 ms, job 30 s)`);
    assert.deepEqual(order, ['isolate-exit 1 timed-out', 'rejected'], 'the isolate was stopped before the job was rejected');
    await refilled;
    assert.equal((await pool.run('echo', { n: 2 })).args.n, 2);
    assert.equal((await pool.health()).totals.jobsTimedOut, 1);
  } finally {
    await pool.close();
  }
});

test('a pool serves the module it started with: a successor whose module file changed on disk does not start; its predecessor serves on', OPTS, async () => {
  const file = `${mkdtempSync(`${tmpdir()}/isolates-deploy-`)}/prover.js`;
  copyFileSync(fileURLToPath(SYNTHETIC), file);
  const pool = await start({ module: file });
  try {
    appendFileSync(file, '\nexport const version = 2; // an in-place deploy\n');
    const refused = nextEvent(pool, 'isolate-exit', (e) => e.reason === 'start-failed', 30_000);
    await assert.rejects(within(30_000, 'the replacement', pool.replaceIsolate()), (e) => {
      assert.ok(e instanceof ProverPoolStartError, String(e));
      assert.equal(e.stage, 'module-changed');
      assert.match(e.message, /changed since the pool started/);
      assert.match(e.message, /Create a new pool to deploy/);
      return true;
    });
    assert.equal((await pool.run('echo', { n: 1 })).context.isolateId, 1, 'the first isolate still serves');
    await refused;
    const health = await pool.health();
    assert.deepEqual(health.isolates.map((i) => [i.id, i.role]), [[1, 'serving']]);
    assert.equal(health.totals.startFailures, 1);
  } finally {
    await pool.close();
  }
});

test('threadsPerIsolate with a module that does not export o1js fails the start, typed, saying so', OPTS, async () => {
  await assert.rejects(createProverPool({ module: SYNTHETIC, threadsPerIsolate: 2 }), (e) => {
    assert.equal(e.code, 'PROVER_POOL_START_FAILED');
    assert.equal(e.stage, 'load');
    assert.match(e.message, /threadsPerIsolate 2 needs the proving module to export o1js as `o1js`/);
    return true;
  });
});

test('bad options reject the returned promise with ProverPoolConfigError; none throws', OPTS, async () => {
  const cases = [
    [null, 'options'],
    [{ module: 'https://example.com/prover.js' }, 'module'],
    [{ module: new URL('data:text/javascript,export const jobs = {}') }, 'module'],
    [{ module: 5 }, 'module'],
    [{ module: SYNTHETIC, isolates: 0 }, 'isolates'],
    [{ module: SYNTHETIC, isolates: 2, minIsolates: 3 }, 'minIsolates'],
    [{ module: SYNTHETIC, resourceLimits: { maxOldGenerationSizeMb: -1 } }, 'resourceLimits.maxOldGenerationSizeMb'],
    [{ module: SYNTHETIC, resourceLimits: { maxOldGenMb: 64 } }, 'resourceLimits.maxOldGenMb'],
  ];
  for (const [options, field] of cases) {
    let promise;
    assert.doesNotThrow(() => (promise = createProverPool(options)), `createProverPool(${JSON.stringify(options)}) threw`);
    await assert.rejects(promise, (e) => e instanceof ProverPoolConfigError && e.field === field, `field ${field}`);
  }
  const pool = await start();
  try {
    const calls = [
      [() => pool.run('echo', {}, null), 'run'],
      [() => pool.run('echo', {}, { signal: 'stop' }), 'run.signal'],
      [() => pool.run('echo', {}, { timeoutMs: -1 }), 'run.timeoutMs'],
      [() => pool.run('echo', {}, { timeout: 5 }), 'run.timeout'],
      [() => pool.run(5), 'run.name'],
      [() => pool.replaceIsolate('oldest'), 'replaceIsolate.isolateId'],
      [() => pool.close(5), 'close'],
    ];
    for (const [call, field] of calls) {
      let promise;
      assert.doesNotThrow(() => (promise = call()), `${call} threw`);
      await assert.rejects(promise, (e) => e instanceof ProverPoolConfigError && e.field === field, `field ${field}`);
    }
    assert.equal(pool.state, 'open', 'a bad close() option closed nothing');
  } finally {
    await pool.close();
  }
});

/**
 * Runs `body` (an ES module's text, after an import of the compiled node.js as `createProverPool`) in a
 * child, under Node options `nodeOptions`; returns it.
 */
function runChild(body, nodeOptions = []) {
  const script = `${mkdtempSync(`${tmpdir()}/isolates-`)}/child.mjs`;
  writeFileSync(script, `import { createProverPool } from ${JSON.stringify(pathToFileURL(`${COMPILED}node.js`).href)};\n${body}`);
  return spawnSync(process.execPath, [...nodeOptions, script], { timeout: 20_000, encoding: 'utf8' });
}

test("isolates run under the process's V8 and process-wide Node options (--max-old-space-size, --expose-gc): their threads inherit them", OPTS, async () => {
  // An explicit execArgv with such an option is refused by Node (ERR_WORKER_INVALID_EXEC_ARGV): no isolate started.
  const child = runChild(
    `
    const pool = await createProverPool({ module: ${JSON.stringify(SYNTHETIC.href)} });
    const { n } = (await pool.run('echo', { n: 5 })).args;
    await pool.close();
    console.log('echoed', n);`,
    ['--max-old-space-size=4096', '--expose-gc'],
  );
  assert.equal(child.status, 0, `the child ended with ${child.status} (signal ${child.signal}): ${child.stderr}`);
  assert.match(child.stdout, /^echoed 5$/m);
});

test("the pool's timers do not keep a process alive: health requests to a silent idle isolate, a restart no job waits for", OPTS, async () => {
  // An idle isolate whose thread spins: the idle check's health requests (healthTimeoutMs 60 s) go unanswered.
  const silent = runChild(`
    const pool = await createProverPool({ module: ${JSON.stringify(SYNTHETIC.href)}, idleCheckIntervalMs: 50, healthTimeoutMs: 60000 });
    await pool.run('goSilent');
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few idle checks
    console.log('done');`);
  assert.equal(silent.status, 0, `the process did not end by itself (signal ${silent.signal}): ${silent.stderr}`);
  assert.match(silent.stdout, /done/);

  // An idle isolate crashes; its refill fails to start; the next restart is a minute away and no job waits for it.
  const marker = `${mkdtempSync(`${tmpdir()}/isolates-`)}/crashed`;
  const restarting = runChild(`
    const pool = await createProverPool({ module: ${JSON.stringify(SYNTHETIC.href)}, warm: { name: 'warm', args: { failIfExists: ${JSON.stringify(marker)} } }, restartDelayMs: 60000 });
    const refillFailed = new Promise((resolve) => pool.on('error', resolve));
    const wait = setInterval(() => undefined, 1000); // this script's own wait, until the refill failed
    await pool.run('exitSoon', { ms: 50, marker: ${JSON.stringify(marker)} });
    await refillFailed;
    clearInterval(wait);
    console.log('done');`);
  assert.equal(restarting.status, 0, `the process did not end by itself (signal ${restarting.signal}): ${restarting.stderr}`);
  assert.match(restarting.stdout, /done/);
});
