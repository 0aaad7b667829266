// The demo behind README's first command: a fixture proof on a 2-worker pool
// in Node, a recycle, the pool's health, and the same proof again.
import { fileURLToPath } from 'node:url';
import { installWorkerHost, workerScript } from '../bindings-js/node/pool-workers.js';

const K = 9;
const SEED = 7;
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const gluePath = fileURLToPath(new URL('../pkg/node/plonk_wasm.js', import.meta.url));
const { glue } = installWorkerHost({ gluePath });
glue.setPoolLogLevel('warn');

function healthLine(h) {
  const m = h.memory;
  return (
    `state=${h.state} generation=${h.generation} threads=${h.threads} inFlight=${h.inFlight} ` +
    `jobs=${h.jobsCompleted} recycles=${h.recycles} linear=${mib(m.linearBytes)}/${mib(m.linearMaxBytes)} ` +
    `allocatorLive=${mib(m.allocatorLiveBytes)} peak=${mib(m.allocatorPeakBytes)} ` +
    `workers=[${h.workers.map((w) => `g${w.generation}w${w.index}:${w.state}:${w.jobs}jobs:${mib(w.allocatedBytes)}`).join(' ')}]`
  );
}

function proveOnce(label) {
  const started = performance.now();
  const proof = glue.fixtureProve(K, SEED);
  const ms = performance.now() - started;
  const ok = glue.fixtureVerify(K, proof);
  console.log(`${label}: proof k=${K} seed=${SEED}: ${proof.length} bytes in ${ms.toFixed(0)} ms, verifies: ${ok}`);
  if (!ok) throw new Error('the proof does not verify');
  return Buffer.from(proof).toString('hex');
}

const start = await glue.initThreadPool(2, workerScript);
console.log(`pool started: generation ${start.generation}, ${start.threads} workers in ${start.startMs.toFixed(1)} ms`);
const before = proveOnce('before recycle');
console.log(`health: ${healthLine(glue.poolHealth())}`);

const r = await glue.recycleThreadPool();
console.log(
  `recycled generation ${r.fromGeneration} -> ${r.toGeneration} in ${r.totalMs.toFixed(1)} ms ` +
    `(start ${r.startMs.toFixed(1)}, drain ${r.drainMs.toFixed(1)}, exit ${r.exitMs.toFixed(1)}); ` +
    `workers exited ${r.workers.exited}, forced ${r.workers.forced}; allocator got back ${mib(r.allocatorBytesReleased)}`,
);
console.log(`health: ${healthLine(glue.poolHealth())}`);

const after = proveOnce('after recycle');
console.log(`same proof bytes before and after the recycle: ${before === after}`);
await glue.exitThreadPool();
if (before !== after) process.exit(1);
