// The pool's lifetime as o1js >= 2.15 has it: started by the first operation,
// then up for the life of the process (no start per operation), recycled
// rather than restarted, and shut down only when asked (exitThreadPool).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadBackend, proveAndCheck, within } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node', { lifetime: 'process' });
const { wasm, withThreadPool, recycleThreadPool, exitThreadPool, poolHealth } = backend;
backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1 });

test('one pool for the process: operations share it, recycles and health work between them, exit shuts it down', { timeout: 60_000 }, async () => {
  assert.equal(poolHealth().state, 'uninit', 'no pool before the first operation');
  await assert.rejects(recycleThreadPool(), (error) => error.code === 'POOL_NOT_INITIALIZED', 'nothing to recycle yet');

  await within(30_000, 'the first operation', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'first')));
  assert.equal(withThreadPool.state(), 'running', 'the pool stays up after the operation');
  const generation = poolHealth().generation;
  assert.equal(poolHealth().state, 'running');

  await within(30_000, 'the second operation', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'second')));
  assert.equal(poolHealth().generation, generation, 'the second operation used the same pool: no start per operation');

  const report = await within(30_000, 'a recycle outside any operation', recycleThreadPool());
  assert.equal(report.fromGeneration, generation);
  assert.equal(poolHealth().generation, generation + 1);
  assert.equal(withThreadPool.state(), 'running');
  await within(30_000, 'an operation after the recycle', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[1], 'after')));

  // An exit asked for while an operation runs waits for it, then shuts down.
  let finished = false;
  const operation = withThreadPool(async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    finished = true;
  });
  await within(30_000, 'exit', exitThreadPool());
  assert.ok(finished, 'the exit waited for the operation inside');
  await operation;
  assert.equal(withThreadPool.state(), 'none');
  assert.equal(poolHealth().state, 'uninit');
  await exitThreadPool(); // a second exit is a no-op

  await within(30_000, 'an operation after the exit', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'restarted')));
  assert.equal(withThreadPool.state(), 'running');
  await exitThreadPool();
});

// The supervisor thread is unref'd while idle, so that it never keeps the
// process alive by itself; a request to it must keep the process alive until
// it is answered. A script whose only pending work was `await
// workerHost.list()` (or a kill, or openPoolHealthPort()) ended silently in
// the middle of the await (exit code 13, "unsettled top-level await"). (That
// it does not keep the process alive after: tests/ts/host-errors.test.ts,
// keepingAlive.)
test('a script awaiting only a request to the supervisor gets its answer before the process ends', { timeout: 120_000 }, async () => {
  const { execFile } = await import('node:child_process');
  const script = new URL('./awaits-supervisor.mjs', import.meta.url).pathname;
  const expected = { list: /^listed 2 workers$/m, kill: /^kill scheduled$/m, 'health-port': /^health port open$/m };
  for (const [request, line] of Object.entries(expected)) {
    const { code, stdout, stderr } = await within(60_000, `the script awaiting ${request}`, new Promise((resolve) => {
      execFile(process.execPath, [script, request], { timeout: 55_000 }, (error, stdout, stderr) => resolve({ code: error?.code ?? 0, stdout, stderr }));
    }));
    assert.equal(code, 0, `${request}: the script ended with code ${code} (13: its top-level await never settled)\n${stderr}`);
    assert.match(stdout, line, `${request}: the answer arrived`);
  }
});

// Node hands its own options to every worker thread. Two ways that went
// wrong: a thread started from a file refuses `--input-type` (a pool started
// from `node --input-type=module -e "…"` had a dead supervisor), and an
// explicit `execArgv` refuses V8 and process-wide options (a pool under
// `node --max-old-space-size=4096 app.js` or `--expose-gc` did not start:
// ERR_WORKER_INVALID_EXEC_ARGV). Each runs a real pool in a child process.
const awaitsSupervisor = new URL('./awaits-supervisor.mjs', import.meta.url);
const nodeOptionCases = [
  ['--input-type=module', '-e', `process.argv[2] = 'list'; await import(${JSON.stringify(awaitsSupervisor.href)});`],
  ['--input-type=module', '--expose-gc', '--max-old-space-size=4096', '-e', `process.argv[2] = 'list'; await import(${JSON.stringify(awaitsSupervisor.href)});`],
  ['--max-old-space-size=4096', '--expose-gc', '--stack-size=1500', fileURLToPath(awaitsSupervisor), 'list'],
];
for (const args of nodeOptionCases) {
  const options = args.filter((a) => a.startsWith('--')).join(' ');
  test(`a pool started under node ${options} runs: its threads inherit the options they can take`, { timeout: 120_000 }, async () => {
    const { execFile } = await import('node:child_process');
    const { code, stdout, stderr } = await within(60_000, `the script under ${options}`, new Promise((resolve) => {
      execFile(process.execPath, args, { timeout: 55_000 }, (error, stdout, stderr) => resolve({ code: error?.code ?? 0, stdout, stderr }));
    }));
    assert.equal(code, 0, `the script under ${options} ended with code ${code}\n${stderr}`);
    assert.match(stdout, /^listed 2 workers$/m, 'the pool started and its supervisor answered');
  });
}
