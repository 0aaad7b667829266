// The conformance suite (tests/conformance/cases.js) against the Node
// backend: o1js's node-backend.js staged with the 128 MiB build, 2 workers,
// in real worker_threads. The cases run one after another in this process,
// on one instance; health "from another thread" is read by a worker_thread
// through openPoolHealthPort (health-reader.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { loadBackend, within } from './backend.js';
import { expectedProof } from './snapshots.js';
import { CASES, THREADS } from '../conformance/cases.js';

const backend = await loadBackend('node-small', { threads: THREADS, logLevel: 'error' });
const { wasm } = backend;

/** The health reader thread, started with the first watched proof (it needs a running pool's supervisor). */
let reader = null;

async function nextMessage(type, ms) {
  return within(ms, `the health reader's '${type}'`, (async () => {
    for (;;) {
      const [message] = await once(reader, 'message');
      if (message?.type === type) return message;
    }
  })());
}

async function watchHealth(run, { first } = {}) {
  if (reader === null) {
    const port = await within(10_000, 'openPoolHealthPort', backend.openPoolHealthPort());
    reader = new Worker(new URL('./health-reader.js', import.meta.url), { workerData: { variant: 'node-small', port }, transferList: [port] });
    reader.unref();
    await nextMessage('loaded', 30_000);
  }
  reader.postMessage('start');
  await nextMessage('reading', 10_000);
  await first?.();
  const started = Date.now();
  const value = await run();
  const ended = Date.now();
  reader.postMessage('stop');
  const { samples, failures } = await nextMessage('samples', 10_000);
  if (failures.length > 0) throw new Error(`health reads from the reader thread failed: ${failures.join('; ')}`);
  const during = samples.filter((s) => s.askedMs >= started && s.answeredMs <= ended);
  const gaps = during.slice(1).map((s, i) => s.askedMs - during[i].answeredMs);
  return { value, samples: during, longestGapMs: Math.max(0, ...gaps) };
}

const toHex = (bytes) => Buffer.from(bytes).toString('hex');

const api = {
  platform: 'node',
  backend,
  errors: backend.errors,
  call: async (name, ...args) => wasm[name](...args),
  callExport: (name, args) => wasm[name](...args),
  prove: async (k, seed) => toHex(wasm.fixtureProve(k, seed)),
  health: async () => backend.poolHealth(),
  watchHealth,
  setNumberOfWorkers: (...args) => backend.setNumberOfWorkers(...args),
  cloneable: () => true,
};

const expectedHex = (c) => expectedProof(c).toString('hex');
const params = { expectedProofHex: expectedHex({ k: 8, seed: 1 }) };

for (const c of CASES) {
  test(c.name, { timeout: c.timeoutMs + 10_000 }, async () => {
    const result = await within(c.timeoutMs, c.name, c.run(api, params));
    c.check(result, { assert, expectedHex, platform: 'node', log: (line) => console.log(`node: ${line}`) });
  });
}

test.after(async () => {
  await reader?.terminate();
});
