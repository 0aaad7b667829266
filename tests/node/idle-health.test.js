// Node: the pool's health without the main thread. The coordinator's idle
// checks read it through the supervisor, not the main thread's instance.
// (Another worker_thread reading it through openPoolHealthPort while the main
// thread is blocked in a proof, as docs/api.md's metrics endpoint does, is the
// conformance case 'health is readable from another thread …', run with
// tests/node/health-reader.js: tests/conformance/cases.js.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, within } from './backend.js';

const backend = await loadBackend('node', { threads: 2, lifetime: 'process' });
const { wasm, withThreadPool } = backend;

test("the coordinator's idle checks read the health through the supervisor, not this thread's instance", { timeout: 60_000 }, async () => {
  await within(30_000, 'a pool start', withThreadPool(async () => undefined));
  const coordinator = backend.configurePoolHealth({ idleCheckIntervalMs: 10 });
  const own = wasm.poolHealth;
  let ownReads = 0;
  wasm.poolHealth = () => {
    ownReads++;
    return own();
  };
  try {
    const event = await within(10_000, 'an idle check', new Promise((resolve) => coordinator.on('decision', resolve)));
    assert.equal(event.trigger, 'idle');
    assert.equal(event.health.state, 'running');
    assert.equal(ownReads, 0, "no idle check called this thread's instance");
  } finally {
    wasm.poolHealth = own;
    await within(30_000, 'exit', backend.exitThreadPool());
  }
});
