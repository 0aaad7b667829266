// Shared by the Node tests: load the backend as o1js would, bound every wait,
// and check proofs against the native snapshots.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { expectedProof } from './snapshots.js';

/**
 * The staged copy of bindings-js/node/node-backend.js in o1js's dist layout
 * (scripts/stage-o1js.sh), next to this repository's glue for `variant`
 * (node: 4 GiB maximum memory, node-small: 128 MiB). Each test file runs in
 * its own process, so each gets its own instance. `lifetime`: these tests
 * drive the pool's mechanics one operation at a time, so the pool exits after
 * each outermost operation unless a test asks for o1js's default ('process',
 * lifetime.test.js).
 */
export async function loadBackend(variant = 'node', { threads = 2, logLevel = 'warn', lifetime = 'operation' } = {}) {
  const stage = new URL(`../../build/o1js/${variant}/`, import.meta.url);
  const backend = await import(new URL('bindings/js/node/node-backend.js', stage).href);
  const workers = await import(new URL('lib/proof-system/workers.js', stage).href);
  const errors = await import(new URL('lib/proof-system/errors.js', stage).href);
  workers.setNumberOfWorkers(threads);
  backend.wasm.setPoolLogLevel(logLevel);
  backend.configureThreadPool({ lifetime });
  return { ...backend, setNumberOfWorkers: workers.setNumberOfWorkers, errors };
}

/** Rejects with a loud error if `promise` does not settle within `ms`. */
export async function within(ms, what, promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Proves case `c` ({ k, seed }) with `wasm` and checks the proof against the
 * native snapshot and the verifier; returns the proof time in ms.
 */
export function proveAndCheck(wasm, c, label = '') {
  const started = performance.now();
  const proof = Buffer.from(wasm.fixtureProve(c.k, c.seed));
  const ms = performance.now() - started;
  assert.deepEqual(proof, expectedProof(c), `${label} k=${c.k} seed=${c.seed}: the proof equals the native snapshot`);
  assert.ok(wasm.fixtureVerify(c.k, proof), `${label} k=${c.k} seed=${c.seed}: the proof verifies`);
  return ms;
}

export const MiB = 2 ** 20;
export const mib = (bytes) => `${(bytes / MiB).toFixed(2)} MiB`;

/**
 * A prover in a worker thread of its own (prover-host.js), with its own
 * instance: `ask(request)` posts one request and resolves with the reply.
 */
export async function startProverHost(variant = 'node') {
  const host = new Worker(new URL('./prover-host.js', import.meta.url), { workerData: { variant } });
  const [first] = await within(30_000, 'the prover host to load', once(host, 'message'));
  assert.deepEqual(first, { ready: true });
  const ask = async (request, ms = 30_000) => {
    host.postMessage(request);
    const [reply] = await within(ms, `the prover host to answer ${request.op}`, once(host, 'message'));
    return reply;
  };
  return { host, ask };
}
