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
// forwards o1js's bindings, and gives the facade its platform. Added exports:
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
import { channelOf, requester, serve } from '../../../lib/proof-system/host/protocol.js';
import { PoolArgumentError, PoolConfigError, PoolHostError, PoolTimeoutError, fromWasmError } from '../../../lib/proof-system/errors.js';
import { rules } from '../../../lib/proof-system/options.js';
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
 * A wasm object as the glue wraps it: its pointer, and how to let go of it without freeing it.
 * @typedef {{ __wbg_ptr: number, __destroy_into_raw(): number }} WasmObject
 * @typedef {{ name: string, args: unknown[], control: SharedArrayBuffer }} ForwardedCall
 */

const PAGE = 65_536;
const GiB = 2 ** 30;

/** @type {ReturnType<typeof kimchiWasm>} The glue on the page; o1js's forwarded bindings run in the main worker. */
let wasm;

/** The web's own host options (backend.ts has the common ones). */
const WEB_OPTION_RULES = {
  memoryMaximumBytes: rules.orNull({
    expected: 'bytes: a multiple of 65536 from 16 MiB (16777216) to 4 GiB (4294967296)',
    accepts: (/** @type {unknown} */ v) => typeof v === 'number' && Number.isSafeInteger(v) && v % PAGE === 0 && v >= 16 * 2 ** 20 && v <= 4 * GiB,
  }),
  callTimeoutMs: rules.milliseconds(1),
};
const WEB_OPTION_DEFAULTS = {
  /** Maximum of the shared memory; `null`: 4 GiB, 1 GiB on iOS. Fixed once initializeBindings ran. */
  memoryMaximumBytes: null,
  /** Bound on one forwarded o1js binding (the page spins meanwhile): a proof takes minutes at most. */
  callTimeoutMs: 30 * 60_000,
};

/** Upstream's memory maximum for a user agent: 1 GiB on iOS (Safari's limit), 4 GiB elsewhere. @param {string} userAgent */
function wasmMemoryMaximumBytes(userAgent, maxTouchPoints = 0) {
  // iPadOS reports a Mac user agent; touch points tell them apart.
  const iOS = /iPad|iPhone|iPod/.test(userAgent) || (/Macintosh/.test(userAgent) && maxTouchPoints > 1);
  return iOS ? 1 * GiB : 4 * GiB;
}

/** Pages the memory starts with: at least the module's declared minimum (19 in this build). */
const INITIAL_MEMORY_PAGES = 20;

/** @returns {number} */
function maximumMemoryBytes() {
  return backend.hostOptions.memoryMaximumBytes ?? wasmMemoryMaximumBytes(navigator.userAgent, navigator.maxTouchPoints);
}

function createMemory() {
  return new WebAssembly.Memory({ initial: INITIAL_MEMORY_PAGES, maximum: maximumMemoryBytes() / PAGE, shared: true });
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
/**
 * Set once a forwarded binding gave up waiting: the main worker may still
 * answer that call later, into the control block the next call would read, so
 * no forwarded binding runs again (a page reload gives a new instance). The
 * backend's asynchronous calls are not affected: their answers are matched by id.
 */
/** @type {Error | null} */
let forwardingBrokenBy = null;

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
        `${INITIAL_MEMORY_PAGES} pages with a maximum of ${maximumMemoryBytes()} bytes: ` +
        `expected the module to accept it (its declared minimum must not exceed the start)`,
      error,
    );
  }
  const module = glue.default.__wbindgen_wasm_module;
  if (!(module instanceof WebAssembly.Module)) {
    throw new Error("the glue did not expose its compiled module (init.__wbindgen_wasm_module): expected o1js's web glue shape");
  }
  // o1js's compiled OCaml bindings call the wasm through this global (named
  // plonk_wasm before the crate was renamed).
  /** @type {typeof globalThis & { kimchi_wasm?: KimchiWasmGlue, plonk_wasm?: KimchiWasmGlue }} */ (globalThis).kimchi_wasm = glue;
  /** @type {typeof globalThis & { kimchi_wasm?: KimchiWasmGlue, plonk_wasm?: KimchiWasmGlue }} */ (globalThis).plonk_wasm = glue;

  // o1js's compiled bindings, as a string, run outside strict mode.
  new Function(o1jsWebSrc)();

  const started = await startThreads(module);
  mainThread = started.mainThread;
  supervisor = started.supervisor;
  forwardBindings(glue, mainThread.worker);
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
        const exported = glue[name];
        if (typeof exported !== 'function') throw new TypeError(`callInWorker: the wasm has no export ${name}`);
        return exported.apply(glue, args);
      },
    });
    postMessage({ type: 'plonk-wasm:main-booted' });
  });
}
mainWorker.deps = [{ kimchiWasm }, workerSpec, onceMessage, connectPoolHost, serve, channelOf, runForwardedBinding];
runForwardedBinding.deps = [consumedArguments];

// ------------------------------------------------ o1js's forwarded bindings

// Control block of a forwarded call: [state, result, error length, consumed]
// as i32, then the error text. States: 0 pending, 1 done, 2 failed.
// `consumed`: a bit per argument the export took by value (see below).
const CONTROL_BYTES = 64 * 1024;
const HEADER_INTS = 4;
const TEXT_OFFSET = HEADER_INTS * 4;

/**
 * Replaces each binding of o1js's worker-spec.js on the page's glue with a
 * synchronous call into the main worker, as upstream does: the page spins
 * until the answer is in the control block. Wasm objects cross as pointers.
 *
 * Ownership: an object the export takes by value (e.g. the witness of
 * `caml_pasta_fp_plonk_proof_create`) is freed by Rust when the call ends.
 * Its page wrapper must then let go of the pointer without freeing it
 * (`__destroy_into_raw()`), or the page's finalizer frees it a second time
 * later, corrupting the heap that every thread shares. The main worker reports
 * which arguments its call consumed (their borrowed wrappers' pointers were
 * taken), and the page detaches exactly those.
 */
/** @param {KimchiWasmGlue} glue @param {Worker} mainWorkerHandle */
function forwardBindings(glue, mainWorkerHandle) {
  const spec = workerSpec(glue);
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const header = new Int32Array(control, 0, HEADER_INTS);
  for (const [name, entry] of Object.entries(spec)) {
    glue[name] = (/** @type {unknown[]} */ ...args) => {
      if (entry.disabled) throw new Error(`Wasm method '${name}' is disabled on the web.`);
      if (brokenBy !== null) throw brokenBy;
      if (forwardingBrokenBy !== null) throw forwardingBrokenBy;
      const encoded = args.map((arg, i) => (typeof entry.args?.[i]?.__wrap === 'function' ? /** @type {WasmObject} */ (arg).__wbg_ptr : arg));
      Atomics.store(header, 0, 0);
      Atomics.store(header, 3, 0);
      mainWorkerHandle.postMessage({ type: 'plonk-wasm:run', name, args: encoded, control });
      // The page may not Atomics.wait: it spins, within callTimeoutMs (a
      // main worker that died cannot answer, and the page cannot hear it die
      // while it spins).
      const timeoutMs = backend.hostOptions.callTimeoutMs;
      const deadline = performance.now() + timeoutMs;
      for (let spins = 0; Atomics.load(header, 0) === 0; spins++) {
        if ((spins & 0xffff) === 0 && performance.now() > deadline) {
          forwardingBrokenBy = new PoolTimeoutError(
            `the main worker's answer to ${name}`,
            timeoutMs,
            'it may have died, and the page could not see it while it waited; forwarded bindings stay off until the page is reloaded (raise callTimeoutMs for longer proofs)',
          );
          throw forwardingBrokenBy;
        }
      }
      const consumed = Atomics.load(header, 3);
      args.forEach((arg, i) => {
        if (consumed & (1 << i)) /** @type {WasmObject} */ (arg).__destroy_into_raw();
      });
      if (Atomics.load(header, 0) === 2) {
        const length = Atomics.load(header, 2);
        throw new Error(new TextDecoder().decode(new Uint8Array(control, TEXT_OFFSET, length).slice()));
      }
      const result = Atomics.load(header, 1) >>> 0;
      const res = entry.res;
      if (typeof res?.__wrap === 'function') return res.__wrap(result);
      if (typeof res?.back === 'function') return res.back(result);
      return result;
    };
  }
}

/**
 * In the main worker: runs one forwarded binding and writes its answer into the control block.
 * @param {KimchiWasmGlue} glue @param {Record<string, WorkerSpecEntry>} spec @param {ForwardedCall} call
 */
function runForwardedBinding(glue, spec, { name, args, control }) {
  const header = new Int32Array(control, 0, 4);
  /** @type {(WasmObject | undefined)[]} */
  const borrowed = [];
  try {
    const entry = spec[name];
    if (entry === undefined) throw new Error(`${name} is not a forwarded binding (worker-spec.js)`);
    const decoded = args.map((arg, i) => {
      const type = entry.args?.[i];
      if (typeof type?.__wrap !== 'function') return arg;
      // Borrowed: this wrapper never frees the object (it is not registered
      // with this thread's finalizer); its owner is the page's wrapper.
      const wrapper = /** @type {WasmObject} */ (Object.create(type.prototype ?? null));
      wrapper.__wbg_ptr = /** @type {number} */ (arg);
      borrowed[i] = wrapper;
      return wrapper;
    });
    let result = /** @type {(...args: unknown[]) => any} */ (glue[name])(...decoded);
    const res = entry.res;
    if (typeof res?.__wrap === 'function') {
      // Ownership moves to the page's wrapper: detach it from this thread's finalizer.
      result = typeof result.__destroy_into_raw === 'function' ? result.__destroy_into_raw() : result.__wbg_ptr;
    } else if (typeof res?.there === 'function') {
      result = res.there(result);
    }
    Atomics.store(header, 1, result | 0);
    Atomics.store(header, 3, consumedArguments(borrowed));
    Atomics.store(header, 0, 1);
  } catch (error) {
    const text = new TextEncoder().encode(String(/** @type {Error | undefined} */ (error)?.stack ?? error));
    const room = new Uint8Array(control, 16);
    const length = Math.min(text.length, room.length);
    room.set(text.subarray(0, length));
    Atomics.store(header, 2, length);
    Atomics.store(header, 3, consumedArguments(borrowed));
    Atomics.store(header, 0, 2);
  }
  Atomics.notify(header, 0);
}

/** A bit per borrowed wrapper whose pointer the glue took (`__destroy_into_raw` leaves 0): the arguments passed by value. */
/** @param {(WasmObject | undefined)[]} borrowed */
function consumedArguments(borrowed) {
  let consumed = 0;
  borrowed.forEach((wrapper, i) => {
    if (wrapper !== undefined && wrapper.__wbg_ptr === 0) consumed |= 1 << i;
  });
  return consumed;
}

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
        'configureThreadPool option',
      );
    }
    if (supervisor !== null && ('startTimeoutMs' in changes || 'teardown' in changes)) {
      const { startTimeoutMs, teardown } = { ...backend.hostOptions, ...changes };
      ask(supervisor, 'configure', { changes: { startTimeoutMs, teardown } }).catch(() => undefined);
    }
  },
  pool: {
    async init(threads) {
      await initializeBindings();
      await callInWorker('initThreadPool', threads);
    },
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
