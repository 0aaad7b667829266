// A prover hosted in a worker thread, as docs/internals.md's mitigation for traps
// suggests: the thread has its own wasm instance and pool, and the
// application replaces the whole thread when its instance is terminated.
// Also measures recycles on its own instance, so their memory figures are not
// mixed with another test's.
// Requests: { op: 'prove', k, seed } | { op: 'trap' } | { op: 'recycles', warmUp, count, teardown };
// replies { ok, ms, value | code, message }.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { loadBackend } from './backend.js';

const backend = await loadBackend(workerData.variant, { logLevel: 'error' });
const { wasm, withThreadPool, recycleThreadPool, poolHealth } = backend;
// Recycles here are asked for; the coordinator must not add its own.
backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1 });

/** The process's OS threads (Linux's /proc), or null where that is not readable. */
function osThreads() {
  try {
    return Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) || null;
  } catch {
    return null;
  }
}

/** Polls (bounded) until the process has at most `most` OS threads; the last count read. */
async function threadsDownTo(most, boundMs = 15_000) {
  const deadline = Date.now() + boundMs;
  let now = osThreads();
  while (now !== null && now > most && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    now = osThreads();
  }
  return now;
}

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
    const threadsBefore = osThreads();
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
    // A recycle does not wait for the old workers' threads to end once they left wasm: they end
    // behind it. One generation's worth may still be ending; more would be threads left behind.
    const threadsAfter = threadsBefore === null ? null : await threadsDownTo(threadsBefore + poolHealth().threads);
    return {
      osThreads: { before: threadsBefore, after: threadsAfter },
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

/**
 * A module of its own, not the pool's: `(module (func (export "trap") unreachable))`. Its trap is
 * a WebAssembly.RuntimeError that never passed through the pool's instance.
 */
const foreignTrap = new WebAssembly.Instance(
  new WebAssembly.Module(
    new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
      0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
      0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
      0x07, 0x08, 0x01, 0x04, 0x74, 0x72, 0x61, 0x70, 0x00, 0x00, // export "trap" = function 0
      0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: no locals, unreachable, end
    ]),
  ),
).exports.trap;

const operations = {
  recycles,
  prove: ({ k, seed }) => withThreadPool(async () => Buffer.from(wasm.fixtureProve(k, seed)).toString('hex')),
  trap: () => withThreadPool(async () => wasm.testTrapOnWorker()),
  'trap-caller': () => withThreadPool(async () => wasm.testTrapOnCaller()),
  'foreign-trap': () => withThreadPool(async () => foreignTrap()),
  health: () => poolHealth(),
};
parentPort.on('message', async (request) => {
  const started = performance.now();
  try {
    const value = await operations[request.op](request);
    parentPort.postMessage({ ok: true, ms: performance.now() - started, value });
  } catch (error) {
    parentPort.postMessage({
      ok: false,
      ms: performance.now() - started,
      code: error?.code,
      name: error?.name,
      message: String(error?.message ?? error),
      isRuntimeError: error instanceof WebAssembly.RuntimeError,
    });
  }
});
parentPort.postMessage({ ready: true });
