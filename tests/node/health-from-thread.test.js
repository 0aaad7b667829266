// Node: the pool's health is read from another worker_thread while the main
// thread, which owns the pool, is blocked in a proof. The reader holds a port
// to the supervisor (openPoolHealthPort), whose event loop always runs, and
// reads through poolHealthReader, as README's metrics endpoint does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { loadBackend, within } from './backend.js';

const K = 11; // ~1 s on 2 workers once its keys are made

const backend = await loadBackend('node', { threads: 2, lifetime: 'process' });
const { wasm, withThreadPool } = backend;

/** The next message of `type` from `worker`, within `ms`. */
async function next(worker, type, ms) {
  return within(ms, `the reader's '${type}'`, (async () => {
    for (;;) {
      const [message] = await once(worker, 'message');
      if (message?.type === type) return message;
    }
  })());
}

test('another thread reads the health while the main thread is blocked in a proof', { timeout: 90_000 }, async () => {
  await within(60_000, 'the first proof (keys)', withThreadPool(async () => wasm.fixtureProve(K, 2)));
  const port = await within(10_000, 'openPoolHealthPort', backend.openPoolHealthPort());
  const reader = new Worker(new URL('./health-reader.js', import.meta.url), { workerData: { variant: 'node', port }, transferList: [port] });
  try {
    await next(reader, 'loaded', 30_000);
    reader.postMessage('start');
    await next(reader, 'reading', 10_000);

    const started = Date.now();
    await withThreadPool(async () => wasm.fixtureProve(K, 2)); // blocks this thread for the whole proof
    const ended = Date.now();
    reader.postMessage('stop');
    const { samples, failures } = await next(reader, 'samples', 10_000);

    assert.deepEqual(failures, [], 'every read was answered within its bound');
    const during = samples.filter((s) => s.askedMs >= started && s.answeredMs <= ended);
    assert.ok(during.length >= 1, `read the health during the ${ended - started} ms proof (${samples.length} reads in all)`);
    assert.ok(during.some((s) => s.inFlight >= 1), `a read during the proof saw it in flight (${JSON.stringify(during.slice(0, 5))})`);
    assert.ok(during.every((s) => s.state === 'running' && s.generation !== null), 'the serving generation is known during the proof');
    const gaps = during.slice(1).map((s, i) => s.askedMs - during[i].answeredMs);
    console.log(
      `health from another thread during a ${ended - started} ms k=${K} proof: ${during.length} reads ` +
        `(${during.filter((s) => s.inFlight >= 1).length} with the job in flight), longest gap between reads ${Math.max(0, ...gaps)} ms`,
    );
  } finally {
    await reader.terminate();
    await within(30_000, 'exit', backend.exitThreadPool());
  }
});

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
