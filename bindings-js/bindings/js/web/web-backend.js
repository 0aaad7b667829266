// o1js's web backend (src/bindings/js/web/web-backend.js), with a thread pool
// that can be recycled, watched and survived.
//
// Same exports as upstream, `initializeBindings`, `wasm` and `withThreadPool`,
// and the same topology: the page instantiates the module on a shared memory
// (o1js calls cheap bindings on the page), one main worker owns the prover
// and blocks inside proofs, and the bindings listed in o1js's worker-spec.js
// are forwarded to it. Added: the health API (`poolHealth`,
// `recycleThreadPool`, `poolHealthCoordinator`, `configurePoolHealth`),
// `configureThreadPool`, `workerHost` (live workers, an outside kill for
// fault drills, events), `callInWorker` (any export, run in the main worker,
// without blocking the page) and `wasmMemoryMaximumBytes`.
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
// behaviour of spinning the page until the main worker answers.
//
// The coordinator runs on the page, next to WithThreadPool (which runs there
// upstream too): before each job it reads a fresh snapshot; its idle timer
// reads the snapshot a refresher keeps (at most one idle interval old).
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
  messageRequester,
  serveRequests,
} from './worker-helpers.js';
import o1jsWebSrc from 'string:../../../web_bindings/o1js_web.bc.js';
import { WithThreadPool, workers } from '../../../lib/proof-system/workers.js';
import { PoolHealthCoordinator } from '../../../lib/proof-system/pool-health-coordinator.js';
import { fromWasmError } from '../../../lib/proof-system/errors.js';
import { registerPoolBackend } from '../../../lib/proof-system/pool-api.js';
import {
  checkOptions,
  describeCoordinatorEvent,
  resolveRecycleOptions,
  WORKER_OPTION_RULES,
} from '../../../lib/proof-system/pool-host.js';
import { TypedEmitter } from '../../../lib/proof-system/typed-emitter.js';

// Upstream's exports.
export { initializeBindings, wasm, withThreadPool };
// Added: the pool's health and its coordinator; host configuration and tools.
export { poolHealth, recycleThreadPool, exitThreadPool, poolHealthCoordinator, configurePoolHealth };
export { configureThreadPool, wasmMemoryMaximumBytes, workerHost, callInWorker };

const PAGE = 65_536;
const GiB = 2 ** 30;

/** @type {ReturnType<typeof kimchiWasm>} The glue on the page; o1js's forwarded bindings run in the main worker. */
let wasm;

/** Host options; `configureThreadPool` validates and changes them. */
const hostOptions = {
  /** Maximum of the shared memory; `null`: 4 GiB, 1 GiB on iOS. Fixed once initializeBindings ran. */
  memoryMaximumBytes: null,
  /** Bound for workers (main, supervisor, each rayon worker) to report ready. */
  startTimeoutMs: 30_000,
  /** 'destroy' (ours): workers leave Rayon's loop and free their thread state; 'terminate': upstream's order, workers stopped before the pool is dropped (leaks). */
  teardown: 'destroy',
  /** 'process' (o1js >= 2.15): the pool starts with the first operation and stays up; 'operation': it exits after each outermost one. */
  lifetime: 'process',
};

const HOST_OPTION_RULES = {
  lifetime: ["'process' or 'operation'", (v) => v === 'process' || v === 'operation'],
  memoryMaximumBytes: [
    'null, or bytes: a multiple of 65536 from 16 MiB to 4 GiB',
    (v) => v === null || (Number.isSafeInteger(v) && v % PAGE === 0 && v >= 16 * 2 ** 20 && v <= 4 * GiB),
  ],
  ...WORKER_OPTION_RULES,
};

/**
 * Changes how the backend sets up memory and workers. Throws a TypeError
 * naming the option, its value and what was expected; on error nothing
 * changes. `memoryMaximumBytes` only before `initializeBindings()`.
 */
function configureThreadPool(options) {
  checkOptions('configureThreadPool', options, HOST_OPTION_RULES);
  if ('memoryMaximumBytes' in options && memory !== undefined && options.memoryMaximumBytes !== hostOptions.memoryMaximumBytes) {
    throw new TypeError(
      'configureThreadPool option memoryMaximumBytes was given after initializeBindings() created the memory: expected it before',
    );
  }
  Object.assign(hostOptions, options);
  const { startTimeoutMs, teardown } = hostOptions;
  supervisor?.requests.ask('configure', { changes: { startTimeoutMs, teardown } }).catch(() => undefined);
  return { ...hostOptions };
}

/** Upstream's memory maximum for a user agent: 1 GiB on iOS (Safari's limit), 4 GiB elsewhere. */
function wasmMemoryMaximumBytes(userAgent, maxTouchPoints = 0) {
  // iPadOS reports a Mac user agent; touch points tell them apart.
  const iOS = /iPad|iPhone|iPod/.test(userAgent) || (/Macintosh/.test(userAgent) && maxTouchPoints > 1);
  return iOS ? 1 * GiB : 4 * GiB;
}

/** Pages the memory starts with: at least the module's declared minimum (19 in this build). */
const INITIAL_MEMORY_PAGES = 20;

function maximumMemoryBytes() {
  return hostOptions.memoryMaximumBytes ?? wasmMemoryMaximumBytes(navigator.userAgent, navigator.maxTouchPoints);
}

function createMemory() {
  return new WebAssembly.Memory({ initial: INITIAL_MEMORY_PAGES, maximum: maximumMemoryBytes() / PAGE, shared: true });
}

// ------------------------------------------------------------ start-up

let memory;
let initialization;
/** The main worker: `worker` and its `requests`. */
let mainThread = null;
/** The supervisor: `worker` and its `requests`. */
let supervisor = null;
/** Set once the main worker or the supervisor failed: every later call fails with it. */
let brokenBy = null;

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
    throw new Error(
      `instantiating plonk-wasm on the page failed (${error.message}); the shared memory starts at ` +
        `${INITIAL_MEMORY_PAGES} pages with a maximum of ${maximumMemoryBytes()} bytes: ` +
        `expected the module to accept it (its declared minimum must not exceed the start)`,
      { cause: error },
    );
  }
  const module = glue.default.__wbindgen_wasm_module;
  if (!(module instanceof WebAssembly.Module)) {
    throw new Error("the glue did not expose its compiled module (init.__wbindgen_wasm_module): expected o1js's web glue shape");
  }
  // o1js's compiled OCaml bindings call the wasm through this global (named
  // plonk_wasm before the crate was renamed).
  globalThis.kimchi_wasm = glue;
  globalThis.plonk_wasm = glue;

  // o1js's compiled bindings, as a string, run outside strict mode.
  new Function(o1jsWebSrc)();

  const started = await startThreads(module);
  mainThread = started.mainThread;
  supervisor = started.supervisor;
  forwardBindings(glue, mainThread.worker);
  wasm = glue;
}

async function startThreads(module) {
  const channel = new MessageChannel();
  const bound = hostOptions.startTimeoutMs;
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
        settings: { startTimeoutMs: hostOptions.startTimeoutMs, teardown: hostOptions.teardown },
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
    throw new Error(`starting the web backend's workers failed: ${error.message}`, { cause: error });
  }
  return {
    mainThread: watchThread(mainWorkerHandle, 'the main worker'),
    supervisor: watchThread(superWorker, 'the supervisor', (event) => emitHostEvent(event)),
  };
}

/** `booted`, or a rejection if `worker` fails first. */
function failOnError(worker, name, booted) {
  return new Promise((resolve, reject) => {
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
function watchThread(worker, name, onEvent) {
  const requests = messageRequester(worker);
  const fail = (why) => {
    const error = new Error(`${name} of the web backend ${why}; no call can be served any more: reload the page`);
    brokenBy ??= error;
    requests.failAll(error);
    emitHostEvent({ type: 'backend-failed', thread: name, reason: error.message });
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

function ask(thread, op, fields) {
  if (brokenBy !== null) return Promise.reject(brokenBy);
  if (thread === null) {
    return Promise.reject(new Error(`the web backend is not started (op ${op}): expected initializeBindings() to have resolved`));
  }
  return thread.requests.ask(op, fields);
}

// --------------------------------------------------------------- main worker

/** The main worker's script: instantiates on the shared memory, then serves calls. */
function mainWorker() {
  onceMessage('plonk-wasm:main-boot', (data) => {
    const glue = kimchiWasm();
    glue.initSync({ module: data.module, memory: data.memory });
    connectPoolHost(data.port);
    const spec = workerSpec(glue);
    self.addEventListener('message', ({ data: message }) => {
      if (message?.type === 'plonk-wasm:run') runForwardedBinding(glue, spec, message);
    });
    serveRequests(self, {
      call({ name, args }) {
        if (typeof glue[name] !== 'function') throw new TypeError(`callInWorker: the wasm has no export ${name}`);
        return glue[name](...args);
      },
    });
    postMessage({ type: 'plonk-wasm:main-booted' });
  });
}
mainWorker.deps = [{ kimchiWasm }, workerSpec, onceMessage, connectPoolHost, serveRequests, runForwardedBinding];
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
function forwardBindings(glue, mainWorkerHandle) {
  const spec = workerSpec(glue);
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const header = new Int32Array(control, 0, HEADER_INTS);
  for (const [name, entry] of Object.entries(spec)) {
    glue[name] = (...args) => {
      if (entry.disabled) throw new Error(`Wasm method '${name}' is disabled on the web.`);
      if (brokenBy !== null) throw brokenBy;
      const encoded = args.map((arg, i) => (typeof entry.args?.[i]?.__wrap === 'function' ? arg.__wbg_ptr : arg));
      Atomics.store(header, 0, 0);
      Atomics.store(header, 3, 0);
      mainWorkerHandle.postMessage({ type: 'plonk-wasm:run', name, args: encoded, control });
      // The page may not Atomics.wait.
      while (Atomics.load(header, 0) === 0);
      const consumed = Atomics.load(header, 3);
      args.forEach((arg, i) => {
        if (consumed & (1 << i)) arg.__destroy_into_raw();
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

/** In the main worker: runs one forwarded binding and writes its answer into the control block. */
function runForwardedBinding(glue, spec, { name, args, control }) {
  const header = new Int32Array(control, 0, 4);
  const borrowed = [];
  try {
    const entry = spec[name];
    if (entry === undefined) throw new Error(`${name} is not a forwarded binding (worker-spec.js)`);
    const decoded = args.map((arg, i) => {
      const type = entry.args?.[i];
      if (typeof type?.__wrap !== 'function') return arg;
      // Borrowed: this wrapper never frees the object (it is not registered
      // with this thread's finalizer); its owner is the page's wrapper.
      const wrapper = Object.create(type.prototype);
      wrapper.__wbg_ptr = arg;
      borrowed[i] = wrapper;
      return wrapper;
    });
    let result = glue[name](...decoded);
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
    const text = new TextEncoder().encode(String(error?.stack ?? error));
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
async function callInWorker(name, ...args) {
  try {
    return await ask(mainThread, 'call', { name, args });
  } catch (error) {
    throw fromWasmError(error, { health: latestHealth });
  }
}

// ------------------------------------------------------------- thread pool

/** The last snapshot read; the coordinator's synchronous view of the pool. */
let latestHealth = null;

/**
 * The pool's health (README, "Health fields"), read by the supervisor, so it
 * answers while the main worker is busy in a proof. `memory.linearMaxBytes`
 * is the shared memory's maximum.
 */
async function poolHealth() {
  const health = await ask(supervisor, 'health');
  const maximum = maximumMemoryBytes();
  if (health.memory.linearMaxBytes === null || health.memory.linearMaxBytes > maximum) {
    health.memory.linearMaxBytes = maximum;
  }
  latestHealth = health;
  return health;
}

function defaultThreadCount() {
  return Math.max(1, (navigator.hardwareConcurrency ?? 1) - 1);
}

let healthRefresher = null;

async function initThreadPool() {
  await initializeBindings();
  await callInWorker('initThreadPool', workers.numWorkers ?? defaultThreadCount());
  await poolHealth();
  poolHealthCoordinator.start();
  startHealthRefresher();
}

/** The pool's own exit (WithThreadPool calls it); `exitThreadPool` below is the export. */
async function exitPool() {
  poolHealthCoordinator.stop();
  stopHealthRefresher();
  await callInWorker('exitThreadPool');
}

function startHealthRefresher() {
  stopHealthRefresher();
  healthRefresher = setInterval(() => void poolHealth().catch(() => undefined), poolHealthCoordinator.config.idleCheckIntervalMs);
}

function stopHealthRefresher() {
  clearInterval(healthRefresher ?? undefined);
  healthRefresher = null;
}

const runner = WithThreadPool(
  {
    initThreadPool,
    exitThreadPool: exitPool,
    recycleThreadPool: (options) =>
      callInWorker(
        'recycleThreadPool',
        resolveRecycleOptions(options, { poisoned: latestHealth?.state === 'poisoned', teardown: hostOptions.teardown }),
      ),
    canTakeJobs: () => latestHealth === null || latestHealth.generation !== null,
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
  const backend = {
    poolHealth: () => {
      if (latestHealth === null) throw new Error('no pool health was read yet: expected a running pool');
      return latestHealth;
    },
    recycleThreadPool: (o) => runner.recycle(o),
  };
  return new PoolHealthCoordinator(backend, options, { log: logThroughTracing });
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
  if (wasRunning) {
    next.start();
    startHealthRefresher();
  }
  return next;
}

function logThroughTracing(event) {
  // Through the supervisor: the page's own instance must not take locks.
  ask(supervisor, 'log', { level: event.level, message: describeCoordinatorEvent(event) }).catch(() => undefined);
}

/**
 * Runs `run` with the pool up (upstream's contract), after asking the
 * coordinator with a fresh snapshot: it may recycle or rebuild the pool
 * first, or refuse with PoolMemoryError. Errors from the wasm come back as the
 * typed pool errors; other errors are untouched.
 */
function withThreadPool(run) {
  return runner(async () => {
    await poolHealth();
    await poolHealthCoordinator.beforeJob();
    try {
      return await run();
    } catch (error) {
      throw fromWasmError(error, { health: latestHealth });
    }
  });
}
withThreadPool.state = () => runner.state();
withThreadPool.users = () => runner.users();
withThreadPool.recycle = recycleThreadPool;
withThreadPool.exit = exitThreadPool;

// What applications reach through `o1js/pool` (pool-api.ts), whichever copy
// of o1js (its bundle, or these modules) loaded this backend.
registerPoolBackend({
  platform: 'web',
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

// ---------------------------------------------------------------- host events

// A listener that throws does not break the pool's bookkeeping (nor other listeners).
const hostEvents = new TypedEmitter();

function emitHostEvent(event) {
  hostEvents.emit('host', event);
}

/** The rayon workers, as the supervisor sees them, and operator tools. */
const workerHost = {
  /** Live and recently ended workers: `{ generation, index, state }`. */
  list: () => ask(supervisor, 'list'),
  /**
   * Terminates one worker from outside (for fault drills), after `afterMs` on
   * the supervisor's clock, so it can land while the main worker is busy in a
   * proof. Resolves when the kill is scheduled.
   */
  kill: (generation, index, { afterMs = 0 } = {}) => ask(supervisor, 'kill', { generation, index, afterMs }),
  /**
   * Host events: `worker-lost` ({ generation, index, reason }),
   * `workers-started`, `workers-stopped`, `backend-failed` ({ thread, reason }).
   */
  on: (listener) => hostEvents.on('host', listener),
};
