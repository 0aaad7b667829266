// o1js's Node backend (src/bindings/js/node/node-backend.js), with a thread
// pool that can be recycled, watched and survived.
//
// Same exports as upstream, `wasm` and `withThreadPool`, and the same
// `startWorkers` / `terminateWorkers` globals the glue calls. Added: the
// health API (`poolHealth`, `recycleThreadPool`, `poolHealthCoordinator`,
// `configurePoolHealth`), `configureThreadPool`, and `workerHost` (the live
// workers, an outside kill for fault drills, events).
//
// Threads (this one file is the script of all of them, as upstream's is):
//
//   main ── supervisor ──┬─ rayon worker 0 of generation g
//                        └─ rayon worker 1 …
//
// The supervisor owns the rayon workers. The main thread spends whole proofs
// blocked inside the wasm, so its event loop cannot see a worker die; the
// supervisor's event loop always runs. When a worker dies (`error`, `exit`
// before it said `exited`, `messageerror`), the supervisor stores the
// generation in the pool's loss signal with `Atomics.store` (no call into the
// instance, so it works even after a trap), then reports the loss to the pool
// (`reportWorkerLost`), which poisons the generation (pool-host.ts). A job blocked on the
// dead worker wakes up with POOL_WORKER_LOST; the coordinator rebuilds the
// pool before the next job.
//
// A rayon worker's life: instantiate the module on the shared memory → post
// `ready` → `wbg_rayon_start_worker(receiver)` (Rayon's loop; returns when its
// generation is dropped) → `__wbindgen_thread_destroy()` (frees its stack and
// TLS) → post `exited` → its event loop empties and it ends by itself.
//
// The seam to the compiled glue is `GLUE` below, upstream's own path: in an
// o1js checkout it is o1js's build of the patched crate; in this repository,
// scripts/stage-o1js.sh puts this repository's build there. The glue
// instantiates itself when it is loaded (wasm-bindgen's `--target nodejs`), so
// every thread loads it with `loadGlue`, which hands it the thread's memory.
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, workerData, Worker } from 'node:worker_threads';
import { WithThreadPool, workers } from '../../../lib/proof-system/workers.js';
import { PoolHealthCoordinator } from '../../../lib/proof-system/pool-health-coordinator.js';
import { fromWasmError } from '../../../lib/proof-system/errors.js';
import { registerPoolBackend } from '../../../lib/proof-system/pool-api.js';
import {
  checkOptions,
  describeCoordinatorEvent,
  reportWorkerLoss,
  resolveRecycleOptions,
  WORKER_OPTION_RULES,
} from '../../../lib/proof-system/pool-host.js';

/** The compiled glue, relative to o1js's `dist/node/bindings/` (the one line that differs between o1js eras). */
const GLUE = 'compiled/node_bindings/kimchi_wasm.cjs';

// Inlined into o1js's CommonJS bundle (dist/node/index.cjs, `require('o1js')`),
// this code has no `import.meta.url`, and `__filename` is the bundle's; the
// worker script is then the ES module next to it, as upstream finds it.
const inCommonJsBundle = import.meta.url === undefined;
const thisFile = inCommonJsBundle ? __filename : fileURLToPath(import.meta.url);
const backendScript = inCommonJsBundle ? join(dirname(thisFile), 'bindings/js/node/node-backend.js') : thisFile;
const require = createRequire(thisFile);

/**
 * Loads the glue, which instantiates the module as it loads. With `memory`,
 * on that shared memory: wasm-bindgen's glue constructs its memory with
 * `new WebAssembly.Memory(...)`, and o1js's post-processed glue of
 * wasm-bindgen < 0.2.106 reads `workerData.memory` on worker threads, so the
 * constructor returns `memory` while the glue loads (pool threads also carry
 * it in `workerData.memory`).
 */
function loadGlue(memory) {
  const path = (inCommonJsBundle ? './bindings/' : '../../') + GLUE;
  if (memory === undefined) return require(path);
  const Memory = WebAssembly.Memory;
  WebAssembly.Memory = function theThreadsSharedMemory() {
    return memory;
  };
  try {
    return require(path);
  } finally {
    WebAssembly.Memory = Memory;
  }
}

export {
  wasm,
  withThreadPool,
  poolHealth,
  recycleThreadPool,
  exitThreadPool,
  poolHealthCoordinator,
  configurePoolHealth,
  configureThreadPool,
  workerHost,
};

const SUPERVISOR = 'plonk-wasm:supervisor';
const RAYON_WORKER = 'plonk-wasm:rayon-worker';

// This file also runs as the pool's own threads, which instantiate on their
// pool's memory and never start or stop a pool. Any other thread may host a
// prover of its own (an instance on a new memory, or on `workerData.memory`).
const role = isMainThread ? 'main' : workerData?.role === SUPERVISOR || workerData?.role === RAYON_WORKER ? workerData.role : 'prover';
const isPoolThread = role === SUPERVISOR || role === RAYON_WORKER;
const ownMemory = workerData?.memory instanceof WebAssembly.Memory ? workerData.memory : undefined;
/** @type {import('../../compiled/node_bindings/kimchi_wasm.cjs')} */
const wasm = loadGlue(role === 'main' ? undefined : ownMemory);

// ---------------------------------------------------------------- main thread

/** Host options; `configureThreadPool` validates and changes them. */
const hostOptions = {
  /** The worker script: this file. A different path is for tests and custom bundles. */
  workerScript: backendScript,
  /** 'process' (o1js >= 2.15): the pool starts with the first operation and stays up; 'operation': it exits after each outermost one. */
  lifetime: 'process',
  /** Bound for a generation's workers to report ready. */
  startTimeoutMs: 30_000,
  /**
   * 'destroy' (ours): let workers leave Rayon's loop and free their thread
   * state, terminate only past the exit bound. 'terminate': upstream's order,
   * kill first; leaks every worker's stack and TLS (kept for comparisons).
   */
  teardown: 'destroy',
};

const HOST_OPTION_RULES = {
  ...WORKER_OPTION_RULES,
  lifetime: ["'process' or 'operation'", (v) => v === 'process' || v === 'operation'],
  workerScript: ['a non-empty path string', (v) => typeof v === 'string' && v.length > 0],
};

/**
 * Changes how pool workers are started and stopped (from the next start).
 * Throws a TypeError naming the option, its value and what was expected; on
 * error nothing changes.
 */
function configureThreadPool(options) {
  checkOptions('configureThreadPool', options, HOST_OPTION_RULES);
  Object.assign(hostOptions, options);
  return { ...hostOptions };
}

function defaultThreadCount() {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, cores - 1);
}

async function initThreadPool() {
  if (isPoolThread) return;
  try {
    await wasm.initThreadPool(workers.numWorkers ?? defaultThreadCount(), hostOptions.workerScript);
  } catch (error) {
    throw fromWasmError(error);
  }
  poolHealthCoordinator.start();
}

/** The pool's own exit (WithThreadPool calls it); `exitThreadPool` below is the export. */
async function exitPool() {
  if (isPoolThread) return;
  poolHealthCoordinator.stop();
  try {
    await wasm.exitThreadPool();
  } catch (error) {
    throw fromWasmError(error);
  }
}

function poolHealth() {
  return wasm.poolHealth();
}

const runner = WithThreadPool(
  {
    initThreadPool,
    exitThreadPool: exitPool,
    recycleThreadPool: (options) =>
      wasm.recycleThreadPool(
        resolveRecycleOptions(options, { poisoned: wasm.poolHealth().state === 'poisoned', teardown: hostOptions.teardown }),
      ),
    canTakeJobs: () => wasm.poolHealth().generation !== null,
  },
  { lifetime: () => hostOptions.lifetime },
);

/** Shuts the pool down once no operation runs; resolves when it is down (a no-op when it is not up). */
function exitThreadPool() {
  return runner.exit();
}

/** Replaces the pool with a new generation while jobs keep running; resolves with the recycle report. */
function recycleThreadPool(options) {
  return runner.recycle(options);
}

/**
 * The coordinator consulted before every operation. Its events ('decision',
 * 'recycle', 'refuse', 'error') carry the numbers behind each decision; its
 * log lines go through the wasm's tracing output, like the pool's own.
 */
let poolHealthCoordinator = makeCoordinator({});

function makeCoordinator(options) {
  return new PoolHealthCoordinator({ poolHealth, recycleThreadPool: (o) => runner.recycle(o) }, options, { log: logThroughTracing });
}

/**
 * Validates `options` (PoolConfigError naming the field and the allowed
 * range; nothing changes on error) and replaces the coordinator. Listeners of
 * the old coordinator are not carried over. Returns the new coordinator.
 */
function configurePoolHealth(options = {}) {
  const next = makeCoordinator(options);
  const wasRunning = poolHealthCoordinator.state !== 'stopped';
  poolHealthCoordinator.stop();
  poolHealthCoordinator = next;
  if (wasRunning) next.start();
  return next;
}

function logThroughTracing(event) {
  try {
    wasm.logPoolEvent(event.level, describeCoordinatorEvent(event));
  } catch {
    // An instance that cannot log (terminated) must not break the caller.
  }
}

/**
 * Runs `run` with the pool up (upstream's contract), after asking the
 * coordinator: it may recycle or rebuild the pool first, or refuse with
 * PoolMemoryError. Errors from the wasm come back as the typed pool errors
 * (POOL_OUT_OF_MEMORY, POOL_WORKER_LOST, …); other errors are untouched.
 */
function withThreadPool(run) {
  return runner(async () => {
    await poolHealthCoordinator.beforeJob();
    try {
      return await run();
    } catch (error) {
      throw fromWasmError(error);
    }
  });
}
withThreadPool.state = () => runner.state();
withThreadPool.users = () => runner.users();
withThreadPool.recycle = recycleThreadPool;
withThreadPool.exit = exitThreadPool;

// What applications reach through `o1js/pool` (pool-api.ts), whichever copy
// of o1js loaded this backend. Pool threads have no pool of their own to offer.
if (!isPoolThread) {
  registerPoolBackend({
    platform: 'node',
    poolHealth,
    recycleThreadPool,
    exitThreadPool,
    configurePoolHealth,
    configureThreadPool,
    get poolHealthCoordinator() {
      return poolHealthCoordinator;
    },
    get workerHost() {
      return workerHost;
    },
    withThreadPool,
  });
}

// The supervisor, spawned with the first generation and kept for the life of
// the process (unref'd, so it never keeps the process alive).
let supervisor = null;
let nextRequest = 1;
const pendingRequests = new Map();
const hostListeners = new Set();

function emitHostEvent(event) {
  for (const listener of hostListeners) {
    try {
      listener(event);
    } catch {
      // A broken listener must not break the pool's bookkeeping.
    }
  }
}

function ensureSupervisor(memory) {
  if (supervisor !== null) return supervisor;
  const worker = new Worker(hostOptions.workerScript, { workerData: { role: SUPERVISOR, memory } });
  worker.on('message', (message) => {
    if (message.reply !== undefined) {
      const pending = pendingRequests.get(message.reply);
      pendingRequests.delete(message.reply);
      if (pendingRequests.size === 0) worker.unref();
      if (message.ok) pending?.resolve(message.value);
      else pending?.reject(new Error(message.error));
    } else if (message.event !== undefined) {
      emitHostEvent(message.event);
    }
  });
  const failAll = (why) => {
    supervisor = null;
    for (const [id, pending] of pendingRequests) {
      pendingRequests.delete(id);
      pending.reject(new Error(`the pool's supervisor thread ${why}`));
    }
  };
  worker.on('error', (error) => failAll(`failed: ${error.message}`));
  worker.on('exit', (code) => failAll(`exited with code ${code}`));
  // Idle, the supervisor must not keep the process alive; while a request is
  // pending it must (askSupervisor refs it). After the listeners: adding a
  // 'message' listener refs a worker again.
  worker.unref();
  supervisor = worker;
  return worker;
}

function askSupervisor(request, memory) {
  const worker = ensureSupervisor(memory);
  const id = nextRequest++;
  return new Promise((resolve, reject) => {
    pendingRequests.set(id, { resolve, reject });
    worker.ref();
    worker.postMessage({ ...request, id });
  });
}

globalThis.startWorkers = async function startWorkers(source, memory, builder) {
  const generation = builder.generation();
  await askSupervisor(
    {
      op: 'start',
      generation,
      threads: builder.numThreads(),
      receiver: builder.receiver(),
      lossSignalAddress: builder.lossSignalAddress(),
      source,
      startTimeoutMs: hostOptions.startTimeoutMs,
    },
    memory,
  );
  builder.build();
};

globalThis.terminateWorkers = function terminateWorkers(generation, timeoutMs = 5_000) {
  return askSupervisor({ op: 'stop', generation, timeoutMs, teardown: hostOptions.teardown });
};

/** The worker threads, as the supervisor sees them, and operator tools. */
const workerHost = {
  /** Live and recently ended workers: `{ generation, index, state, threadId }`. */
  list: () => (supervisor === null ? Promise.resolve([]) : askSupervisor({ op: 'list' })),
  /**
   * Terminates one worker from outside, as an external kill would (for fault
   * drills): after `afterMs` on the supervisor's clock, so it can land while
   * the main thread is busy in a proof. Resolves when the kill is scheduled.
   */
  kill: (generation, index, { afterMs = 0 } = {}) => askSupervisor({ op: 'kill', generation, index, afterMs }),
  /** Host events: `worker-lost` ({ generation, index, reason }), `workers-started`, `workers-stopped`. */
  on(listener) {
    hostListeners.add(listener);
    return () => hostListeners.delete(listener);
  },
};

// ---------------------------------------------------------------- supervisor

function runSupervisor({ memory }) {
  // `wasm` is an instance on the shared memory of its own, to report losses.
  const records = new Map(); // generation → WorkerRecord[]
  const post = (message) => parentPort.postMessage(message);
  const event = (value) => post({ event: value });

  function lost(record, reason) {
    if (record.state === 'exited' || record.state === 'lost' || record.state === 'stopped') return;
    record.state = 'lost';
    const detail = reportWorkerLoss(wasm, memory, record, reason);
    event({ type: 'worker-lost', generation: record.generation, index: record.index, reason: detail });
  }

  function spawn(request, index) {
    const { source, generation, receiver } = request;
    const record = { generation, index, state: 'starting', lossSignalAddress: request.lossSignalAddress };
    record.ready = new Promise((resolve, reject) => (record.settleReady = { resolve, reject }));
    record.ended = new Promise((resolve) => (record.resolveEnded = resolve));
    record.ready.catch(() => undefined); // observed by `start`; a late rejection is not unhandled
    let worker;
    try {
      worker = new Worker(source, { workerData: { role: RAYON_WORKER, memory, receiver, generation, index } });
    } catch (error) {
      record.state = 'exited';
      record.settleReady.reject(error);
      record.resolveEnded();
      return record;
    }
    record.worker = worker;
    record.threadId = worker.threadId;
    worker.on('message', (message) => {
      if (message?.type === 'ready') {
        record.state = 'running';
        record.settleReady.resolve();
      } else if (message?.type === 'exited') {
        record.state = 'exited';
      } else if (message?.type === 'failed') {
        lost(record, `failed: ${message.message}`);
      }
    });
    worker.on('messageerror', (error) => lost(record, `message error: ${error.message}`));
    worker.on('error', (error) => {
      record.settleReady.reject(error);
      lost(record, `error: ${error.message}`);
    });
    worker.on('exit', (code) => {
      record.settleReady.reject(new Error(`worker ${index} of generation ${generation} exited with code ${code} before it was ready`));
      lost(record, `exited with code ${code} while running`);
      record.resolveEnded(code);
    });
    worker.unref(); // after the listeners, which ref it again
    return record;
  }

  async function start(request) {
    const group = Array.from({ length: request.threads }, (_, index) => spawn(request, index));
    records.set(request.generation, group);
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`workers of generation ${request.generation} did not report ready within ${request.startTimeoutMs} ms`)),
        request.startTimeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(group.map((r) => r.ready)), late]);
    } catch (error) {
      // Nothing of a failed start may linger: stop what did start.
      for (const record of group) {
        record.state = 'stopped';
        await record.worker?.terminate();
      }
      records.delete(request.generation);
      throw new Error(`starting worker script ${request.source} failed: ${error.message}`);
    } finally {
      clearTimeout(timer);
    }
    event({ type: 'workers-started', generation: request.generation, threads: request.threads });
  }

  async function stop({ generation, timeoutMs, teardown }) {
    const group = records.get(generation) ?? [];
    records.delete(generation);
    let exited = 0;
    let forced = 0;
    await Promise.all(
      group.map(async (record) => {
        let outcome = 'late';
        if (teardown === 'destroy') {
          let timer;
          const late = new Promise((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
          outcome = await Promise.race([record.ended.then(() => 'ended'), late]);
          clearTimeout(timer);
        }
        if (outcome === 'ended' && record.state === 'exited') {
          exited++;
        } else {
          if (record.state !== 'lost') record.state = 'stopped'; // a stop is not a loss
          await record.worker?.terminate();
          forced++;
        }
      }),
    );
    event({ type: 'workers-stopped', generation, exited, forced });
    return { exited, forced };
  }

  function kill({ generation, index, afterMs }) {
    const record = (records.get(generation) ?? []).find((r) => r.index === index);
    if (record === undefined) {
      throw new Error(`no live worker ${index} in generation ${generation}: expected one of ${describeLive()}`);
    }
    setTimeout(() => void record.worker.terminate(), afterMs);
  }

  function describeLive() {
    const live = [...records.values()].flat().map((r) => `generation ${r.generation} worker ${r.index}`);
    return live.length > 0 ? live.join(', ') : 'none (no generation is running)';
  }

  const operations = {
    start,
    stop,
    kill,
    list: () =>
      [...records.values()].flat().map(({ generation, index, state, threadId }) => ({ generation, index, state, threadId })),
  };

  parentPort.on('message', async (request) => {
    try {
      const value = await operations[request.op](request);
      post({ reply: request.id, ok: true, value });
    } catch (error) {
      post({ reply: request.id, ok: false, error: error?.message ?? String(error) });
    }
  });
}

// --------------------------------------------------------------- rayon worker

function runRayonWorker({ receiver }) {
  // `wasm` was instantiated on the pool's memory when this file loaded.
  parentPort.postMessage({ type: 'ready' });
  try {
    wasm.wbg_rayon_start_worker(receiver);
  } catch (error) {
    // A trap (a panic is caught inside the job): tell the supervisor why, then die with it.
    parentPort.postMessage({ type: 'failed', message: String(error?.message ?? error) });
    throw error;
  }
  wasm.__wasm.__wbindgen_thread_destroy();
  parentPort.postMessage({ type: 'exited' });
}

if (role === SUPERVISOR) runSupervisor(workerData);
if (role === RAYON_WORKER) runRayonWorker(workerData);
