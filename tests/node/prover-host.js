// A prover hosted in a worker thread, as the README's mitigation for traps
// suggests: the thread has its own wasm instance and pool, and the
// application replaces the whole thread when its instance is terminated.
// Also measures recycles on its own instance, so their memory figures are not
// mixed with another test's.
// Requests: { op: 'prove', k, seed } | { op: 'trap' } | { op: 'recycles', warmUp, count, teardown };
// replies { ok, ms, value | code, message }.
import { parentPort, workerData } from 'node:worker_threads';
import { loadBackend } from './backend.js';

const backend = await loadBackend(workerData.variant, { logLevel: 'error' });
const { wasm, withThreadPool, recycleThreadPool, poolHealth } = backend;
// Recycles here are asked for; the coordinator must not add its own.
backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1 });

/**
 * Linear memory growth over `count` recycles, after a warm-up of one proof
 * (a prover's working set, freed again) and `warmUp` recycles; the recycle
 * times. Stops at the first failed recycle and says which.
 */
function recycles({ warmUp, count, teardown }) {
  backend.configureThreadPool({ teardown });
  return withThreadPool(async () => {
    wasm.fixtureProve(9, 7);
    for (let i = 0; i < warmUp; i++) await recycleThreadPool();
    const before = poolHealth().memory;
    const totalsMs = [];
    let forced = 0;
    let failure = null;
    for (let i = 0; i < count && failure === null; i++) {
      try {
        const report = await recycleThreadPool();
        totalsMs.push(report.totalMs);
        forced += report.workers.forced;
      } catch (error) {
        failure = `recycle ${i + 1} failed: ${error?.message ?? error}`;
      }
    }
    const after = poolHealth().memory;
    return {
      completed: totalsMs.length,
      failure,
      linearGrowthBytes: after.linearBytes - before.linearBytes,
      allocatorLiveGrowthBytes: after.allocatorLiveBytes - before.allocatorLiveBytes,
      linearBytes: after.linearBytes,
      forced,
      threads: poolHealth().threads,
      totalsMs,
    };
  });
}

const operations = {
  recycles,
  prove: ({ k, seed }) => withThreadPool(async () => Buffer.from(wasm.fixtureProve(k, seed)).toString('hex')),
  trap: () => withThreadPool(async () => wasm.testTrapOnWorker()),
  'trap-caller': () => withThreadPool(async () => wasm.testTrapOnCaller()),
  health: () => poolHealth(),
};
parentPort.on('message', async (request) => {
  const started = performance.now();
  try {
    const value = await operations[request.op](request);
    parentPort.postMessage({ ok: true, ms: performance.now() - started, value });
  } catch (error) {
    parentPort.postMessage({ ok: false, ms: performance.now() - started, code: error?.code, name: error?.name, message: String(error?.message ?? error) });
  }
});
parentPort.postMessage({ ready: true });
