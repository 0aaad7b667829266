// @ts-check
// o1js's Node backend (src/bindings/js/node/node-backend.js), with a thread
// pool that can be recycled, watched and survived.
//
// Same exports as upstream, `wasm` and `withThreadPool`, and the same
// `startWorkers` / `terminateWorkers` globals the glue calls. What the backend
// does is written once, for Node and the web, in lib/proof-system/host/ (the
// facade, the supervisor, a Rayon worker's life, the messages between them);
// this file is the Node adapter: loading the glue on each thread, spawning
// worker_threads, and their events.
//
// Threads (this one file is the script of all of them, as upstream's is):
//
//   main ── supervisor ──┬─ rayon worker 0 of generation g
//                        └─ rayon worker 1 …
//
// The main thread owns the pool's instance and blocks inside proofs. The
// supervisor (host/supervisor.ts) owns the rayon workers and watches each for
// its whole life; its event loop always runs, so it sees a worker die while a
// job waits on it, and it answers health reads meanwhile (`openPoolHealthPort`
// gives any thread a port to it). Any other thread may host a prover of its
// own: an instance on a new memory, or on `workerData.memory`.
//
// The seam to the compiled glue is `GLUE` below, upstream's own path: in an
// o1js checkout it is o1js's build of the patched crate; in this repository,
// scripts/stage-o1js.sh puts this repository's build there. The glue
// instantiates itself when it is loaded (wasm-bindgen's `--target nodejs`), so
// every thread loads it with `loadGlue`, which hands it the thread's memory.
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, MessageChannel, parentPort, workerData, Worker } from 'node:worker_threads';
import { createBackend } from '../../../lib/proof-system/host/backend.js';
import { guardInstanceExports } from '../../../lib/proof-system/host/instance-guard.js';
import { channelOf, keepingAlive, requester, serve } from '../../../lib/proof-system/host/protocol.js';
import { CurrentThread } from '../../../lib/proof-system/host/current-thread.js';
import { routeRayonMessage, runRayonWorker } from '../../../lib/proof-system/host/rayon-worker.js';
import { healthPortOperations, refuseOnHealthPort, runSupervisor } from '../../../lib/proof-system/host/supervisor.js';
import { poolThreadStart } from '../../../lib/proof-system/host/pool-thread-start.js';
import { PoolHostError } from '../../../lib/proof-system/errors.js';
import { rules } from '../../../lib/proof-system/options.js';
import { poolApiOf, registerPoolBackend } from '../../../lib/proof-system/pool-api.js';

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
 * A compiled module the pool's owner hands its threads: `new WebAssembly.Module(bytes)` of the
 * same bytes (same length) returns it instead of compiling again.
 * @typedef {{ module: WebAssembly.Module, byteLength: number }} SharedModule
 */

/**
 * Loads the glue, which instantiates the module as it loads. With `memory`,
 * on that shared memory: wasm-bindgen's glue constructs its memory with
 * `new WebAssembly.Memory(...)`, and o1js's post-processed glue of
 * wasm-bindgen < 0.2.106 reads `workerData.memory` on worker threads, so the
 * constructor returns `memory` while the glue loads (pool threads also carry
 * it in `workerData.memory`). With `shared`, the glue's
 * `new WebAssembly.Module(bytes)` returns the module the pool's owner
 * compiled: V8 compiles and tiers up a module's code once per module object,
 * so threads that each compiled their own would each hold a copy of
 * kimchi's machine code. Such a thread does not read the wasm file either
 * (`unreadWasm`). Returns the glue and the module it instantiated, which this
 * thread shares with the threads it starts.
 * @param {WebAssembly.Memory | undefined} memory
 * @param {SharedModule | undefined} shared
 * @returns {{ glue: any, compiled: SharedModule | undefined }}
 */
function loadGlue(memory, shared) {
  const path = (inCommonJsBundle ? './bindings/' : '../../') + GLUE;
  const { Memory, Module } = WebAssembly;
  /** @type {SharedModule | undefined} */
  let compiled;
  const unread = shared === undefined ? undefined : unreadWasm(shared);
  /** @param {ArrayBufferView | ArrayBuffer} bytes */
  function theSharedModule(bytes) {
    const byteLength = bytes?.byteLength;
    if (shared !== undefined && (bytes === unread?.standIn || byteLength === shared.byteLength)) compiled = shared;
    else compiled = { module: new Module(/** @type {BufferSource} */ (bytes)), byteLength };
    return compiled.module;
  }
  // Module's statics (exports, imports, customSections) and instanceof stay as they are.
  Object.setPrototypeOf(theSharedModule, Module);
  theSharedModule.prototype = Module.prototype;
  // @ts-ignore: a constructor that returns an existing object
  WebAssembly.Module = theSharedModule;
  // @ts-ignore: a constructor that returns an existing object
  if (memory !== undefined) WebAssembly.Memory = function theThreadsSharedMemory() {
    return memory;
  };
  try {
    return { glue: require(path), compiled };
  } finally {
    WebAssembly.Module = Module;
    WebAssembly.Memory = Memory;
    unread?.restore();
  }
}

/**
 * While the glue of a thread handed `shared` loads, its read of a `.wasm` file
 * of the shared module's size answers `standIn`, which only
 * `theSharedModule` takes: the bytes would be a copy nobody needs (7.5 MB of
 * kimchi-wasm), and a Rayon worker, in wasm from its start, never runs the
 * collection that would free them.
 * @param {SharedModule} shared
 */
function unreadWasm(shared) {
  const fs = require('node:fs');
  const { readFileSync } = fs;
  const standIn = Object.freeze({ byteLength: shared.byteLength });
  /** @param {any[]} args */
  function readUnlessShared(...args) {
    const [file, options] = args;
    if (options === undefined && /\.wasm$/.test(String(file)) && fs.statSync(file).size === shared.byteLength) return standIn;
    return Reflect.apply(readFileSync, fs, args);
  }
  fs.readFileSync = /** @type {any} */ (readUnlessShared);
  return {
    standIn,
    restore() {
      if (fs.readFileSync === /** @type {any} */ (readUnlessShared)) fs.readFileSync = readFileSync;
    },
  };
}

const SUPERVISOR = 'plonk-wasm:supervisor';
const RAYON_WORKER = 'plonk-wasm:rayon-worker';

// This file also runs as the pool's own threads, which instantiate on their
// pool's memory and never start or stop a pool.
const role = isMainThread ? 'main' : workerData?.role === SUPERVISOR || workerData?.role === RAYON_WORKER ? workerData.role : 'prover';
const isPoolThread = role === SUPERVISOR || role === RAYON_WORKER;
const ownMemory = workerData?.memory instanceof WebAssembly.Memory ? workerData.memory : undefined;
const loaded = loadGlue(role === 'main' ? undefined : ownMemory, isPoolThread ? workerData.module : undefined);
/** @type {import('../../compiled/node_bindings/kimchi_wasm.cjs')} */
const wasm = loaded.glue;
/** The compiled module this thread instantiated: handed to the pool's threads it starts (one copy of the code). */
const compiledModule = loaded.compiled;
// The thread that owns a prover (not the pool's own threads) calls the instance through its exports, guarded: a
// trap that escapes one of them is the evidence that ends the instance (host/instance-guard.ts).
const instanceGuard = isPoolThread ? undefined : guardInstanceExports(wasm);

export { wasm, withThreadPool, poolHealth, recycleThreadPool, exitThreadPool, configurePoolHealth, configureThreadPool };
export { poolHealthCoordinator, workerHost, openPoolHealthPort };

// ------------------------------------------------------- main (or prover) thread

/**
 * The supervisor thread, spawned with the first generation, and the requests to it.
 * @type {CurrentThread<{ worker: Worker, requests: import('../../../lib/proof-system/host/protocol.js').Requester, keptAlive: Pick<import('../../../lib/proof-system/host/protocol.js').Requester, 'ask'> }>}
 */
const supervisors = new CurrentThread();

/** @param {WebAssembly.Memory | undefined} memory */
function ensureSupervisor(memory) {
  const running = supervisors.value;
  if (running !== null) return running;
  if (memory === undefined) throw new PoolHostError("the pool's supervisor thread is not running: expected a pool start (startWorkers) first");
  const start = poolThreadStart(scriptUrl(backend.hostOptions.workerScript), process.execArgv);
  const worker = new Worker(start.specifier, { eval: start.eval, workerData: { role: SUPERVISOR, memory, module: compiledModule } });
  const requests = requester(channelOf(worker));
  worker.on('message', (message) => {
    if (message?.type === 'plonk-wasm:event') backend.emitHostEvent(message.event);
  });
  const supervisor = supervisors.adopt(worker, { worker, requests, keptAlive: keepingAlive(requests, worker) }, (why) =>
    requests.failAll(new PoolHostError(`the pool's supervisor thread ${why}; the next pool start spawns a new one`)),
  );
  // Idle, the supervisor must not keep the process alive; while a request is
  // pending it must (`ask` refs it). After the listeners: adding a 'message'
  // listener refs a worker again.
  worker.unref();
  return supervisor;
}

/**
 * A request to the supervisor, keeping the process alive while it is pending.
 * Every request that must be answered goes through here: the supervisor is
 * unref'd while idle, so a request made on its `requests` directly could be
 * left unanswered by a process that ends because nothing else keeps it alive.
 * (The coordinator's idle health reads are the exception: they must not keep
 * the process alive.)
 * @param {string} op @param {Record<string, unknown>} fields
 * @param {WebAssembly.Memory} [memory] the pool's, to spawn the supervisor with if it is not running
 * @param {Transferable[]} [transfer]
 * @returns {Promise<unknown>}
 */
async function ask(op, fields, memory, transfer) {
  // Counted by keptAlive, not by the requester's `pending`, which also counts
  // the idle health reads: an ask answered while one was in flight left the
  // worker ref'd for good, and the process never ended.
  return ensureSupervisor(memory).keptAlive.ask(op, fields, transfer);
}

/** A pool thread's script (a path, or a file: URL string) as a URL. @param {string} script */
function scriptUrl(script) {
  return script.startsWith('file:') ? new URL(script) : pathToFileURL(script);
}

function defaultThreadCount() {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, cores - 1);
}

const backend = createBackend({
  name: 'node',
  defaultThreadCount,
  optionRules: { workerScript: rules.nonEmptyString('the path of this file, or of a copy of it') },
  optionDefaults: { workerScript: backendScript },
  pool: {
    init: async (threads, options) => {
      await wasm.setPoolStandby(options.standby);
      return wasm.initThreadPool(threads, options.workerScript);
    },
    standby: (enabled) => wasm.setPoolStandby(enabled),
    exit: () => wasm.exitThreadPool(),
    // Whatever the caller gave reaches the wasm, which validates it (the one place recycle options are checked).
    recycle: (options) => wasm.recycleThreadPool(/** @type {import('../../../lib/proof-system/pool-health.js').RecycleOptions | undefined} */ (options)),
    // `poolHealth()` on this thread reads it directly between jobs; other threads ask the supervisor (openPoolHealthPort).
    health: () => wasm.poolHealth(),
    // The coordinator's idle checks ask the supervisor too: no call into this thread's instance.
    idleHealth: async () =>
      supervisors.value === null ? wasm.poolHealth() : /** @type {import('../../../lib/proof-system/pool-health.js').PoolHealth} */ (await supervisors.value.requests.ask('health')),
    log: (level, message) => wasm.logPoolEvent(level, message),
  },
  // workerHost.list() and kill(): through `ask`, which keeps the process alive until the answer.
  supervisor: () => (supervisors.value === null ? null : { ask: (op, fields) => ask(op, fields ?? {}) }),
  ...(instanceGuard === undefined ? {} : { instanceGuard }),
});

const { withThreadPool, poolHealth, recycleThreadPool, exitThreadPool, configureThreadPool, workerHost } = backend;
/** The coordinator in use: `.on(event, listener)`, `.state`, `.config`; configurePoolHealth replaces it. */
let poolHealthCoordinator = backend.poolHealthCoordinator;

/** @param {import('../../../lib/proof-system/coordinator-config.js').CoordinatorOptions} [options] */
function configurePoolHealth(options) {
  poolHealthCoordinator = backend.configurePoolHealth(options);
  return poolHealthCoordinator;
}

/**
 * A MessagePort to the supervisor, for a thread that reads the pool's health
 * while this one proves (a metrics endpoint in a worker_thread): transfer it
 * there and read with `poolHealthReader(port)` from 'o1js/pool'. Resolves once
 * the supervisor serves it; needs a running pool.
 */
async function openPoolHealthPort() {
  if (supervisors.value === null) throw new PoolHostError('no pool is running yet, so there is no supervisor to read the health from: start it first (any operation, or withThreadPool)');
  const { port1, port2 } = new MessageChannel();
  await ask('connect', { port: port2 }, undefined, [port2]);
  return port1;
}

if (!isPoolThread) {
  /** The glue calls these as free identifiers. @type {typeof globalThis & { startWorkers?: Function, terminateWorkers?: Function }} */
  const glueHost = globalThis;
  glueHost.startWorkers = async function startWorkers(
    /** @type {string} */ source,
    /** @type {WebAssembly.Memory} */ memory,
    /** @type {import('../../compiled/node_bindings/kimchi_wasm.cjs').PoolBuilder} */ builder,
  ) {
    const fields = {
      generation: builder.generation(),
      threads: builder.numThreads(),
      receiver: builder.receiver(),
      lossSignalAddress: builder.lossSignalAddress(),
      source,
      startTimeoutMs: backend.hostOptions.startTimeoutMs,
    };
    await ask('start', fields, memory);
    builder.build();
  };
  glueHost.terminateWorkers = function terminateWorkers(/** @type {number} */ generation, timeoutMs = 5_000) {
    if (supervisors.value === null) return Promise.resolve({ exited: 0, forced: 0, reclaimed: 0 });
    return ask('stop', { generation, timeoutMs, teardown: backend.hostOptions.teardown });
  };
  // What applications reach through `o1js/pool` (pool-api.ts), whichever copy of o1js loaded this file.
  registerPoolBackend(poolApiOf('node', backend, { configurePoolHealth, openPoolHealthPort }));
}

// ---------------------------------------------------------------- supervisor

/** @param {{ memory: WebAssembly.Memory }} data */
function runSupervisorThread({ memory }) {
  const operations = runSupervisor({
    instance: wasm,
    memory,
    // Node reports every worker thread's end (`exit`): dead workers' stacks can be freed.
    reportsEnd: true,
    spawn(request, index, events) {
      const start = poolThreadStart(scriptUrl(/** @type {string} */ (request.source)), process.execArgv);
      const worker = new Worker(start.specifier, {
        eval: start.eval,
        workerData: {
          role: RAYON_WORKER,
          memory,
          module: compiledModule,
          receiver: request.receiver,
          generation: request.generation,
          index,
          lossSignalAddress: request.lossSignalAddress,
        },
      });
      worker.on('message', (message) => routeRayonMessage(message, events));
      worker.on('messageerror', (error) => events.broken(`a message from it could not be deserialized: ${error.message}`));
      worker.on('error', (error) => events.failed(`error: ${error.message}`));
      worker.on('exit', (code) => events.ended(code));
      worker.unref(); // after the listeners, which ref it again
      return { threadId: worker.threadId, terminate: () => worker.terminate().then(() => undefined, () => undefined) };
    },
    emit: (event) => parentPort?.postMessage({ type: 'plonk-wasm:event', event }),
  });
  const served = /** @type {Record<string, (request: any) => unknown>} */ ({
    ...operations,
    /** Serves health reads, and only those, on a port another thread reads the health through. */
    connect: (/** @type {{ port: import('node:worker_threads').MessagePort }} */ { port }) => {
      serve(channelOf(port), healthPortOperations(operations), refuseOnHealthPort);
      port.unref();
    },
  });
  serve(channelOf(/** @type {any} */ (parentPort)), served);
}

if (role === SUPERVISOR) runSupervisorThread(workerData);
if (role === RAYON_WORKER) {
  // Its index goes to the pool, and its word that it left wasm into the loss signal (host/rayon-worker.ts).
  const { generation, index, lossSignalAddress } = workerData;
  runRayonWorker(wasm, wasm.__wasm, workerData.receiver, (message) => parentPort?.postMessage(message), { generation, index, lossSignalAddress, memory: workerData.memory });
}
