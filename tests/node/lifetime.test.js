// The pool's lifetime as o1js >= 2.15 has it: started by the first operation,
// then up for the life of the process (no start per operation), recycled
// rather than restarted, and shut down only when asked (exitThreadPool).
import { test } from 'node:test';
import assert from 'node:assert/strict';
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

// Node hands its own options to every worker thread, and refuses to start one
// with `--input-type`: a pool started from `node --input-type=module -e "…"`
// had a dead supervisor ("--input-type can only be used with string input").
test('a pool started from node --input-type=module -e runs: its threads do not inherit --input-type', { timeout: 120_000 }, async () => {
  const { execFile } = await import('node:child_process');
  const script = new URL('./awaits-supervisor.mjs', import.meta.url).href;
  const source = `process.argv[2] = 'list'; await import(${JSON.stringify(script)});`;
  const { code, stdout, stderr } = await within(60_000, 'the -e script', new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', source], { timeout: 55_000 }, (error, stdout, stderr) => resolve({ code: error?.code ?? 0, stdout, stderr }));
  }));
  assert.equal(code, 0, `the -e script ended with code ${code}\n${stderr}`);
  assert.match(stdout, /^listed 2 workers$/m, 'the pool started and its supervisor answered');
});
