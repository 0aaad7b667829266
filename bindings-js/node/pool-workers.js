// Node worker_threads host for plonk-wasm's Rayon pool: the `startWorkers` /
// `terminateWorkers` functions the glue imports as free identifiers, and the
// worker side (this same file is the worker script, as upstream's is).
//
// A worker's life: instantiate the module on the shared memory → post
// `ready` → run `wbg_rayon_start_worker(receiver)` (Rayon's loop, returns when
// its generation is dropped) → `__wbindgen_thread_destroy()` (frees its stack
// and TLS) → post `exited` → its event loop empties and it ends by itself.
// The host watches every worker for its whole life: an `error`, a failed
// message or an `exit` before `exited` is a lost worker, reported to the pool
// (`reportWorkerLost`), which poisons that generation until a recycle.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const WORKER_KIND = 'plonk-wasm-rayon-worker';
export const workerScript = fileURLToPath(import.meta.url);

/** Default bound for a worker to start and report ready. */
export const START_TIMEOUT_MS = 30_000;

/**
 * Installs `globalThis.startWorkers` / `globalThis.terminateWorkers` for the
 * glue at `gluePath` (CommonJS output of `wasm-bindgen --target nodejs`).
 * Returns the host, whose `workers()` lists live workers (for tests).
 */
export function installWorkerHost({ gluePath, startTimeoutMs = START_TIMEOUT_MS, onEvent = () => {} }) {
  const glue = require(gluePath);
  const generations = new Map(); // generation → Set<WorkerRecord>

  function lost(record, reason) {
    if (record.state === 'exited' || record.state === 'lost') return;
    record.state = 'lost';
    onEvent({ type: 'worker-lost', generation: record.generation, index: record.index, reason });
    glue.reportWorkerLost(record.generation, `worker ${record.index}: ${reason}`);
  }

  function spawn(source, memory, generation, receiver, index) {
    const worker = new Worker(source, {
      workerData: { kind: WORKER_KIND, gluePath, module: glue.__wbg_wasm_module, memory, receiver, generation, index },
    });
    // The process may exit while pool workers wait for work, as upstream.
    worker.unref();
    const record = { worker, generation, index, state: 'starting' };
    record.ready = new Promise((resolve, reject) => {
      record.settleReady = { resolve, reject };
    });
    record.exited = new Promise((resolve) => {
      record.resolveExited = resolve;
    });
    worker.on('message', (message) => {
      if (message?.type === 'ready') {
        record.state = 'running';
        record.settleReady.resolve();
      } else if (message?.type === 'exited') {
        record.state = 'exited';
      } else if (message?.type === 'failed') {
        record.settleReady.reject(new Error(`worker ${index} of generation ${generation} failed: ${message.message}`));
        lost(record, message.message);
      }
    });
    worker.on('messageerror', (error) => lost(record, `message error: ${error.message}`));
    worker.on('error', (error) => {
      record.settleReady.reject(error);
      lost(record, `error: ${error.message}`);
    });
    worker.on('exit', (code) => {
      record.settleReady.reject(new Error(`worker ${index} of generation ${generation} exited with code ${code} before it was ready`));
      if (record.state !== 'exited') lost(record, `exited with code ${code} while running`);
      record.resolveExited(code);
    });
    return record;
  }

  globalThis.startWorkers = async function startWorkers(source, memory, builder) {
    const generation = builder.generation();
    const threads = builder.numThreads();
    const receiver = builder.receiver();
    const records = new Set();
    generations.set(generation, records);
    for (let index = 0; index < threads; index++) {
      records.add(spawn(source, memory, generation, receiver, index));
    }
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`workers of generation ${generation} did not report ready within ${startTimeoutMs} ms`)),
        startTimeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all([...records].map((r) => r.ready)), timeout]);
    } finally {
      clearTimeout(timer);
    }
    builder.build();
    onEvent({ type: 'workers-started', generation, threads });
  };

  globalThis.terminateWorkers = async function terminateWorkers(generation, timeoutMs = 5_000) {
    const targets = generation === undefined ? [...generations.keys()] : [generation];
    let exited = 0;
    let forced = 0;
    for (const g of targets) {
      const records = generations.get(g) ?? new Set();
      generations.delete(g);
      await Promise.all(
        [...records].map(async (record) => {
          let timer;
          const late = new Promise((resolve) => {
            timer = setTimeout(() => resolve('late'), timeoutMs);
          });
          const outcome = await Promise.race([record.exited.then(() => 'exited'), late]);
          clearTimeout(timer);
          if (outcome === 'exited' && record.state === 'exited') {
            exited++;
          } else {
            record.state = 'exited'; // a forced stop is not a loss
            await record.worker.terminate();
            forced++;
          }
        }),
      );
    }
    onEvent({ type: 'workers-stopped', generation, exited, forced });
    return { exited, forced };
  };

  return {
    glue,
    workers: () => [...generations.values()].flatMap((records) => [...records]),
  };
}

function runWorker({ gluePath, module, memory, receiver }) {
  const glue = require(gluePath);
  glue.initSync({ module, memory });
  parentPort.postMessage({ type: 'ready' });
  try {
    glue.wbg_rayon_start_worker(receiver);
  } catch (error) {
    parentPort.postMessage({ type: 'failed', message: String(error?.message ?? error) });
    throw error;
  }
  glue.__wasm.__wbindgen_thread_destroy();
  parentPort.postMessage({ type: 'exited' });
}

if (!isMainThread && workerData?.kind === WORKER_KIND) {
  runWorker(workerData);
}
