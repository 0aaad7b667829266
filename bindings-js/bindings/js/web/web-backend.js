// o1js's web backend (src/bindings/js/web/web-backend.js), with a thread pool
// that can be recycled, watched and survived: the web adapter's page side.
//
// Same exports as upstream, `initializeBindings`, `wasm` and `withThreadPool`,
// and the same topology: the page instantiates the module on a shared memory
// (o1js calls cheap bindings on the page), one main worker owns the prover
// and blocks inside proofs, and the bindings listed in o1js's worker-spec.js
// are forwarded to it. What the backend does (options, lifetime, coordinator,
// recycles, worker host, events) is written once for Node and the web in
// lib/proof-system/host/backend.ts; this file starts the page's threads,
// forwards o1js's bindings (host/forwarded-calls.ts), and gives the facade
// its platform. Added exports:
// the health API (`poolHealth`, `recycleThreadPool`, `exitThreadPool`,
// `poolHealthCoordinator`, `configurePoolHealth`), `configureThreadPool`,
// `workerHost`, `callInWorker` (any export, run in the main worker, without
// blocking the page) and `wasmMemoryMaximumBytes`.
//
// Threads (worker-helpers.js explains the supervisor and the rayon workers):
//
//   page ──┬── main worker ── the prover; every pool operation and job
//          └── supervisor ──── rayon workers of each generation; health reads
//
// The page never waits on a lock: its own instance must not (a browser's main
// thread may not Atomics.wait, and a wait there would trap), so it reads
// health from the supervisor, whose event loop always runs, even while the
// main worker is blocked in a proof. `poolHealth()` is therefore a Promise
// here (synchronous on Node). Only o1js's forwarded bindings keep upstream's
// behaviour of spinning the page until the main worker answers, within
// `callTimeoutMs`.
//
// Memory: shared, maximum 4 GiB, 1 GiB on iOS (upstream's choice), or
// `configureThreadPool({ memoryMaximumBytes })` before `initializeBindings()`.
// The module declares 4 GiB; the pool's health reports the memory's real
// maximum.
//
// The seams to o1js are upstream's own imports: the glue in o1js's shape
// (`kimchiWasm()`, see scripts/o1js-web-glue.mjs), worker-spec.js, and the
// compiled OCaml bindings (`string:` import, resolved by o1js's bundler).
import kimchiWasm from '../../../web_bindings/kimchi_wasm.js';
import { workerSpec } from './worker-spec.js';
import {
  srcFromFunctionModule,
  inlineWorker,
  waitForMessage,
  onceMessage,
  workerHelperMain,
  supervisorMain,
  connectPoolHost,
} from './worker-helpers.js';
import o1jsWebSrc from 'string:../../../web_bindings/o1js_web.bc.js';
import { createBackend } from '../../../lib/proof-system/host/backend.js';
import { callExport, forwardBindings, runForwardedBinding } from '../../../lib/proof-system/host/forwarded-calls.js';
import { guardInstanceExports } from '../../../lib/proof-system/host/instance-guard.js';
import { channelOf, requester, serve } from '../../../lib/proof-system/host/protocol.js';
import {
  INITIAL_MEMORY_PAGES,
  WASM_PAGE_BYTES,
  WEB_OPTION_DEFAULTS,
  WEB_OPTION_RULES,
  wasmMemoryMaximumBytes,
} from '../../../lib/proof-system/host/web-options.js';
import { PoolArgumentError, PoolConfigError, PoolHostError, fromWasmError } from '../../../lib/proof-system/errors.js';
import { poolApiOf, registerPoolBackend } from '../../../lib/proof-system/pool-api.js';

// Upstream's exports.
export { initializeBindings, wasm, withThreadPool };
// Added: the pool's health and its coordinator; host configuration and tools.
export { poolHealth, recycleThreadPool, exitThreadPool, poolHealthCoordinator, configurePoolHealth };
export { configureThreadPool, wasmMemoryMaximumBytes, workerHost, callInWorker };

/**
 * @typedef {import('../../../web_bindings/kimchi_wasm.js').KimchiWasmGlue} KimchiWasmGlue
 * @typedef {import('../../../lib/proof-system/host/protocol.js').Requester} Requester
 * @typedef {import('../../../lib/proof-system/pool-health.js').PoolHealth} PoolHealth
 * @typedef {import('../../../lib/proof-system/host/supervisor.js').HostEvent} HostEvent
 * @typedef {import('./worker-spec.js').WorkerSpecEntry} WorkerSpecEntry
 * One of the backend's own workers (the main worker, the supervisor) and the requests to it.
 * @typedef {{ worker: Worker, requests: Requester }} BackendThread
 */

/** @type {ReturnType<typeof kimchiWasm>} The glue on the page; o1js's forwarded bindings run in the main worker. */
let wasm;

/** @returns {number} */
function maximumMemoryBytes() {
  return backend.hostOptions.memoryMaximumBytes ?? wasmMemoryMaximumBytes(navigator.userAgent, navigator.maxTouchPoints);
}

/** Pages the shared memory starts with: the module's declared minimum (it grows with the pool's statics), at least INITIAL_MEMORY_PAGES. */
function initialMemoryPages() {
  return Math.max(INITIAL_MEMORY_PAGES, kimchiWasm.memoryMinimumPages ?? 0);
}

function createMemory() {
  return new WebAssembly.Memory({ initial: initialMemoryPages(), maximum: maximumMemoryBytes() / WASM_PAGE_BYTES, shared: true });
}

// ------------------------------------------------------------ start-up

/** @type {WebAssembly.Memory | undefined} */
let memory;
/** @type {Promise<void> | undefined} */
let initialization;
/** @type {BackendThread | null} The main worker: `worker` and its `requests`. */
let mainThread = null;
/** @type {BackendThread | null} The supervisor: `worker` and its `requests`. */
let supervisor = null;
/** @type {Error | null} Set once the main worker or the supervisor failed: every later call fails with it. */
let brokenBy = null;
/** @type {import('../../../lib/proof-system/host/instance-guard.js').InstanceGuard | undefined} The evidence of a trap (host/instance-guard.ts). */
let instanceGuard;

/**
 * Instantiates the module on the page, runs o1js's compiled bindings, then
 * starts the supervisor and the main worker and forwards worker-spec.js's
 * bindings to the latter. Idempotent; after a failure the next call retries.
 */
function initializeBindings() {
  initialization ??= initialize().catch((error) => {
    initialization = undefined;
    throw error;
  });
  return initialization;
}

async function initialize() {
  if (wasm !== undefined) return;
  const glue = kimchiWasm();
  memory ??= createMemory();
  try {
    await glue.default({ memory });
  } catch (error) {
    throw new PoolHostError(
      `instantiating plonk-wasm on the page failed (${/** @type {Error} */ (error).message}); the shared memory starts at ` +
        `${initialMemoryPages()} pages with a maximum of ${maximumMemoryBytes()} bytes: ` +
        `expected the module to accept it (its declared minimum must not exceed the start)`,
      error,
    );
  }
  const module = glue.default.__wbindgen_wasm_module;
  if (!(module instanceof WebAssembly.Module)) {
    throw new Error("the glue did not expose its compiled module (init.__wbindgen_wasm_module): expected o1js's web glue shape");
  }
  // Every call o1js makes on the page goes through the glue's exports: guarded, a trap escaping one is recorded.
  instanceGuard = guardInstanceExports(glue);
  // o1js's compiled OCaml bindings call the wasm through this global (named
  // plonk_wasm before the crate was renamed).
  /** @type {typeof globalThis & { kimchi_wasm?: KimchiWasmGlue, plonk_wasm?: KimchiWasmGlue }} */ (globalThis).kimchi_wasm = glue;
  /** @type {typeof globalThis & { kimchi_wasm?: KimchiWasmGlue, plonk_wasm?: KimchiWasmGlue }} */ (globalThis).plonk_wasm = glue;

  // o1js's compiled bindings, as a string, run outside strict mode.
  new Function(o1jsWebSrc)();

  const started = await startThreads(module);
  mainThread = started.mainThread;
  supervisor = started.supervisor;
  const mainWorkerHandle = mainThread.worker;
  const guard = instanceGuard;
  forwardBindings(glue, workerSpec(glue), {
    post: (call) => mainWorkerHandle.postMessage(call),
    timeoutMs: () => backend.hostOptions.callTimeoutMs,
    refusal: () => brokenBy,
    recordTrap: (trap) => guard.record(trap),
  });
  wasm = glue;
}

/** @param {WebAssembly.Module} module @returns {Promise<{ mainThread: BackendThread, supervisor: BackendThread }>} */
async function startThreads(module) {
  const channel = new MessageChannel();
  const bound = backend.hostOptions.startTimeoutMs;
  const superWorker = inlineWorker(srcFromFunctionModule(supervisorMain), 'plonk-wasm supervisor');
  const mainWorkerHandle = inlineWorker(srcFromFunctionModule(mainWorker), 'plonk-wasm main');
  const started = [superWorker, mainWorkerHandle];
  try {
    const superBooted = waitForMessage(superWorker, 'plonk-wasm:supervisor-booted', bound);
    superWorker.postMessage(
      {
        type: 'plonk-wasm:supervisor-boot',
        module,
        memory,
        rayonSource: srcFromFunctionModule(workerHelperMain),
        port: channel.port2,
        settings: { startTimeoutMs: backend.hostOptions.startTimeoutMs, teardown: backend.hostOptions.teardown },
      },
      [channel.port2],
    );
    const mainBooted = waitForMessage(mainWorkerHandle, 'plonk-wasm:main-booted', bound);
    mainWorkerHandle.postMessage({ type: 'plonk-wasm:main-boot', module, memory, port: channel.port1 }, [channel.port1]);
    await Promise.all([
      failOnError(superWorker, 'the supervisor', superBooted),
      failOnError(mainWorkerHandle, 'the main worker', mainBooted),
    ]);
  } catch (error) {
    for (const worker of started) worker.terminate();
    throw new PoolHostError(`starting the web backend's workers failed: ${/** @type {Error} */ (error).message}`, error);
  }
  return {
    mainThread: watchThread(mainWorkerHandle, 'the main worker'),
    supervisor: watchThread(superWorker, 'the supervisor', (event) => backend.emitHostEvent(event)),
  };
}

/** `booted`, or a rejection if `worker` fails first. @param {Worker} worker @param {string} name @param {Promise<unknown>} booted */
function failOnError(worker, name, booted) {
  return new Promise((resolve, reject) => {
    /** @param {ErrorEvent} event */
    const onError = (event) => {
      event.preventDefault();
      reject(new Error(`${name} failed while starting: ${event.message || 'error'}`));
    };
    worker.addEventListener('error', onError);
    booted.then(resolve, reject).finally(() => worker.removeEventListener('error', onError));
  });
}

/**
 * Watches one of the backend's own workers for its whole life: an error or
 * an undeliverable message breaks the backend, and every pending and later
 * call fails with it (a page reload gives a new instance).
 */
/** @param {Worker} worker @param {string} name @param {(event: HostEvent) => void} [onEvent] @returns {BackendThread} */
function watchThread(worker, name, onEvent) {
  const requests = requester(channelOf(worker));
  /** @param {string} why */
  const fail = (why) => {
    const error = new PoolHostError(`${name} of the web backend ${why}; no call can be served any more: reload the page`);
    brokenBy ??= error;
    requests.failAll(error);
    backend.emitHostEvent({ type: 'backend-failed', thread: name, reason: error.message });
  };
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    fail(`failed: ${event.message || 'error'}`);
  });
  worker.addEventListener('messageerror', () => fail('sent a message that could not be deserialized'));
  if (onEvent !== undefined) {
    worker.addEventListener('message', ({ data }) => {
      if (data?.type === 'plonk-wasm:event') onEvent(data.event);
    });
  }
  return { worker, requests };
}

/** @param {BackendThread | null} thread @param {string} op @param {Record<string, unknown>} [fields] @returns {Promise<unknown>} */
function ask(thread, op, fields) {
  if (brokenBy !== null) return Promise.reject(brokenBy);
  if (thread === null) {
    return Promise.reject(new PoolHostError(`the web backend is not started (op ${op}): expected initializeBindings() to have resolved`));
  }
  return thread.requests.ask(op, fields);
}

// --------------------------------------------------------------- main worker

/** The main worker's script: instantiates on the shared memory, then serves calls. */
function mainWorker() {
  onceMessage('plonk-wasm:main-boot', (/** @type {{ module: WebAssembly.Module, memory: WebAssembly.Memory, port: MessagePort }} */ data) => {
    const glue = kimchiWasm();
    glue.initSync({ module: data.module, memory: data.memory });
    connectPoolHost(data.port);
    const spec = workerSpec(glue);
    self.addEventListener('message', ({ data: message }) => {
      if (message?.type === 'plonk-wasm:run') runForwardedBinding(glue, spec, message);
    });
    serve(channelOf(self), {
      call(request) {
        const { name, args } = /** @type {{ name: string, args: unknown[] }} */ (/** @type {unknown} */ (request));
        return callExport(glue, name, args);
      },
    });
    postMessage({ type: 'plonk-wasm:main-booted' });
  });
}
mainWorker.deps = [{ kimchiWasm }, workerSpec, onceMessage, connectPoolHost, serve, channelOf, runForwardedBinding, callExport];

/**
 * Runs the wasm export `name` in the main worker and resolves with its value,
 * without blocking the page (a proof: the page stays responsive and can read
 * health meanwhile). Errors come back as the typed pool errors (see
 * errors.ts) when they are the pool's.
 */
/** @param {string} name @param {...unknown} args @returns {Promise<any>} */
async function callInWorker(name, ...args) {
  try {
    return await ask(mainThread, 'call', { name, args });
  } catch (error) {
    if (/** @type {Error | undefined} */ (error)?.name === 'DataCloneError') {
      // Name the argument that cannot be sent, as the export would have named a bad one.
      const index = args.findIndex((arg) => !canClone(arg));
      throw new PoolArgumentError(
        name,
        `${index >= 0 ? index : 0} (of callInWorker)`,
        index >= 0 ? args[index] : args,
        'a value that can be sent to the main worker (structured-cloneable: no functions or symbols, also not inside objects)',
      );
    }
    throw fromWasmError(error);
  }
}

/** @param {unknown} value */
function canClone(value) {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------- thread pool

function defaultThreadCount() {
  return Math.max(1, (navigator.hardwareConcurrency ?? 1) - 1);
}

const backend = createBackend({
  name: 'web',
  defaultThreadCount,
  optionRules: WEB_OPTION_RULES,
  optionDefaults: WEB_OPTION_DEFAULTS,
  checkChange(changes) {
    if ('memoryMaximumBytes' in changes && memory !== undefined && changes.memoryMaximumBytes !== backend.hostOptions.memoryMaximumBytes) {
      throw new PoolConfigError(
        'memoryMaximumBytes',
        changes.memoryMaximumBytes,
        'to be given before initializeBindings() created the memory',
        'configureThreadPool',
      );
    }
    if (supervisor !== null && ('startTimeoutMs' in changes || 'teardown' in changes)) {
      const { startTimeoutMs, teardown } = { ...backend.hostOptions, ...changes };
      ask(supervisor, 'configure', { changes: { startTimeoutMs, teardown } }).catch(() => undefined);
    }
  },
  pool: {
    async init(threads, options) {
      await initializeBindings();
      await callInWorker('setPoolStandby', options.standby);
      await callInWorker('initThreadPool', threads);
    },
    standby: (enabled) => callInWorker('setPoolStandby', enabled),
    exit: () => callInWorker('exitThreadPool'),
    recycle: (options) => callInWorker('recycleThreadPool', options),
    /** @returns {Promise<PoolHealth>} */
    async health() {
      await initializeBindings();
      const health = /** @type {PoolHealth} */ (await ask(supervisor, 'health'));
      // The module declares 4 GiB; the memory's real maximum is what admission control must use.
      const maximum = maximumMemoryBytes();
      const { linearMaxBytes } = health.memory;
      if (linearMaxBytes !== null && linearMaxBytes <= maximum) return health;
      return { ...health, memory: { ...health.memory, linearMaxBytes: maximum } };
    },
    log(level, message) {
      // Through the supervisor: the page's own instance must not take locks.
      ask(supervisor, 'log', { level, message }).catch(() => undefined);
    },
  },
  supervisor: () => (supervisor === null ? null : { ask: (op, fields) => ask(supervisor, op, fields) }),
  get instanceGuard() {
    return instanceGuard;
  },
});

const { withThreadPool, poolHealth, recycleThreadPool, exitThreadPool, configureThreadPool, workerHost } = backend;
/** The coordinator in use: `.on(event, listener)`, `.state`, `.config`; configurePoolHealth replaces it. */
let poolHealthCoordinator = backend.poolHealthCoordinator;

/** @param {import('../../../lib/proof-system/coordinator-config.js').CoordinatorOptions} [options] */
function configurePoolHealth(options) {
  poolHealthCoordinator = backend.configurePoolHealth(options);
  return poolHealthCoordinator;
}

// What applications reach through `o1js/pool` (pool-api.ts), whichever copy
// of o1js (its bundle, or these modules) loaded this backend.
registerPoolBackend(poolApiOf('web', backend, { configurePoolHealth }));
