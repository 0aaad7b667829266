// o1js's web worker helpers (src/bindings/js/web/worker-helpers.js), for a
// thread pool that can be recycled, watched and survived: the web adapter's
// worker side. What the host does is written once, for Node and the web, in
// lib/proof-system/host/ (the supervisor, a Rayon worker's life, the messages
// between threads); this file spawns Web Workers and routes their events.
//
// Same exports as upstream: `srcFromFunctionModule`, `inlineWorker`,
// `workerHelperMain` (a rayon worker's script), the `startWorkers` /
// `terminateWorkers` the glue calls, and `waitForMessage`. Added: the
// supervisor's script and the way the main worker reaches it.
//
// Threads (see web-backend.js for the page's side):
//
//   page ──┬── main worker: owns the prover; initThreadPool, recycles, proofs
//          │        │ MessageChannel (startWorkers / terminateWorkers)
//          └── supervisor ──┬─ rayon worker 0 of generation g
//                           └─ rayon worker 1 …
//
// Browsers give no event when a worker's thread ends: a worker's end is its
// `exited` message, an `error` (its wasm threw out), or its termination by the
// supervisor (host/supervisor.ts says what that means for a lost worker).
// `terminate()` does not wait for the thread to stop running wasm, so it is no
// evidence that a worker is gone. The evidence is the worker's Web Lock: each
// rayon worker holds a lock of its own (`navigator.locks`) from before it
// enters wasm until its last wasm call returned, and the browser releases a
// worker's locks only once its script stopped for good (its callback
// returned, or the worker was discarded). So a lost worker's handle resolves
// `gone()` once the supervisor gets that lock, never before. Where Web Locks
// are missing, `gone()` never resolves: a job stranded by a worker terminated
// in the middle of it then waits, bounded by the page's call timeout.
//
// Workers are built from function sources, as upstream's are, so they work in
// o1js's one-file bundle: `srcFromFunctionModule(f)` ships `f` and everything
// in its `deps`, transitively. Such a function uses only globals, its
// arguments and the functions in its `deps`, never a module-level variable.
import kimchiWasm from '../../../web_bindings/kimchi_wasm.js';
import { channelOf, requester, serve } from '../../../lib/proof-system/host/protocol.js';
import { routeRayonMessage, runRayonWorker } from '../../../lib/proof-system/host/rayon-worker.js';
import { runSupervisor } from '../../../lib/proof-system/host/supervisor.js';

/**
 * A worker's source is built from a function and the functions it lists in `deps`.
 * @typedef {Function & { deps?: readonly (Function | Record<string, Function>)[] }} Shippable
 * @typedef {import('../../../lib/proof-system/host/protocol.js').Requester} Requester
 * @typedef {import('../../../lib/proof-system/host/protocol.js').Request} Request
 * @typedef {import('../../../lib/proof-system/host/supervisor.js').StartRequest} StartRequest
 * @typedef {import('../../../lib/proof-system/host/supervisor.js').StopRequest} StopRequest
 * @typedef {import('../../../lib/proof-system/host/supervisor.js').StopReport} StopReport
 * @typedef {import('../../../web_bindings/kimchi_wasm.js').PoolBuilder} PoolBuilder
 * @typedef {{ startTimeoutMs: number, teardown: 'destroy' | 'terminate' }} SupervisorSettings
 * @typedef {{ module: WebAssembly.Module, memory: WebAssembly.Memory, rayonSource: string, port: MessagePort, settings: SupervisorSettings }} SupervisorBoot
 * The thread global through which the main worker reaches the supervisor (connectPoolHost).
 * @typedef {typeof globalThis & { plonkWasmPoolHost?: Requester }} PoolHostScope
 */

export {
  srcFromFunctionModule,
  inlineWorker,
  workerHelperMain,
  startWorkers,
  terminateWorkers,
  waitForMessage,
  onceMessage,
  supervisorMain,
  connectPoolHost,
};

/**
 * The source of a classic worker script that declares `main` and its
 * dependencies (`main.deps`, transitively, each function once, with its own
 * `deps` line so the worker can ship them on), then calls `main()`.
 *
 * A dependency is a named function declaration, or `{ localName: fn }` when
 * the code calls `fn` by another name than its own: the glue function is
 * `kimchiWasm` in o1js since 2026 and `plonkWasm` before, and the code calls
 * it `kimchiWasm` in both, so `{ kimchiWasm }` also declares that alias.
 */
/** @param {Shippable} main @returns {string} */
function srcFromFunctionModule(main) {
  /** @type {Shippable[]} */
  const ordered = [];
  /** @type {Map<string, string>} */
  const aliases = new Map(); // local name → the function's own name
  /** @param {Shippable} fn @returns {[string, Shippable][]} */
  const entries = (fn) => (fn.deps ?? []).map((dep) => /** @type {[string, Shippable]} */ (typeof dep === 'function' ? [dep.name, dep] : Object.entries(dep)[0]));
  /** @param {Shippable} fn */
  const visit = (fn) => {
    if (ordered.includes(fn)) return;
    if (typeof fn !== 'function' || fn.name === '') {
      throw new TypeError(`a worker dependency is ${String(fn)}: expected a named function declaration`);
    }
    ordered.push(fn);
    for (const [localName, dep] of entries(fn)) {
      if (localName !== dep.name) aliases.set(localName, dep.name);
      visit(dep);
    }
  };
  visit(main);
  const declarations = ordered.map((fn) => {
    const deps = entries(fn).map(([localName, dep]) => (localName === dep.name ? localName : `{ ${localName}: ${dep.name} }`));
    return deps.length > 0 ? `${fn}\n${fn.name}.deps = [${deps.join(', ')}];` : String(fn);
  });
  const aliasLines = [...aliases].map(([localName, name]) => `const ${localName} = ${name};`);
  return `${[...declarations, ...aliasLines].join('\n')}\n${main.name}();\n`;
}

/** A classic Web Worker running `source` (from a blob URL, revoked once the worker has it). @param {string} source */
function inlineWorker(source, name = 'plonk-wasm') {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  try {
    return new Worker(url, { name });
  } finally {
    // The constructor resolved the blob URL already.
    URL.revokeObjectURL(url);
  }
}

/**
 * Resolves with the first message `{ type }` that `target` receives. With
 * `timeoutMs`, rejects past it, naming what it waited for.
 */
/**
 * @param {Pick<Worker, 'addEventListener' | 'removeEventListener'>} target
 * @param {string} type @param {number} [timeoutMs] @returns {Promise<any>}
 */
function waitForMessage(target, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    /** @param {MessageEvent} event */
    const onMessage = ({ data }) => {
      if (data?.type !== type) return;
      target.removeEventListener('message', onMessage);
      clearTimeout(timer);
      resolve(data);
    };
    target.addEventListener('message', onMessage);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        target.removeEventListener('message', onMessage);
        reject(new Error(`no '${type}' message within ${timeoutMs} ms`));
      }, timeoutMs);
    }
  });
}

/**
 * In a worker: runs `handler(data)` on the first message `{ type }`, in the
 * message event itself, so that what it throws is the worker's uncaught error
 * (an `error` event at its owner), not a lost rejection.
 */
/** @param {string} type @param {(data: any) => void} handler */
function onceMessage(type, handler) {
  self.addEventListener('message', function once({ data }) {
    if (data?.type !== type) return;
    self.removeEventListener('message', once);
    handler(data);
  });
}

// ------------------------------------------------- the glue's host functions

/**
 * Called by the glue (in the main worker) to start a generation: the
 * supervisor spawns its workers and resolves once each is about to enter
 * Rayon's loop; then the generation is built.
 */
/** @param {WebAssembly.Module} module @param {WebAssembly.Memory} memory @param {PoolBuilder} builder */
async function startWorkers(module, memory, builder) {
  await askPoolHost('start', {
    module,
    memory,
    generation: builder.generation(),
    threads: builder.numThreads(),
    receiver: builder.receiver(),
    lossSignalAddress: builder.lossSignalAddress(),
  });
  builder.build();
}
startWorkers.deps = [askPoolHost];

/**
 * Called by the glue (in the main worker) once a generation was dropped:
 * resolves `{ exited, forced, reclaimed }` after its workers left (or, past
 * `timeoutMs`, were terminated).
 */
/** @param {number} generation @param {number} [timeoutMs] @returns {Promise<StopReport>} */
function terminateWorkers(generation, timeoutMs) {
  return /** @type {Promise<StopReport>} */ (askPoolHost('stop', { generation, timeoutMs: timeoutMs ?? 5_000 }));
}
terminateWorkers.deps = [askPoolHost];

/** @param {'start' | 'stop'} op @param {Record<string, unknown>} fields */
function askPoolHost(op, fields) {
  const host = /** @type {PoolHostScope} */ (self).plonkWasmPoolHost;
  if (host === undefined) {
    return Promise.reject(
      new Error(
        `${op === 'start' ? 'startWorkers' : 'terminateWorkers'} was called on a thread with no pool supervisor: ` +
          `expected the web backend's main worker, which connects one (connectPoolHost) before the pool starts`,
      ),
    );
  }
  return host.ask(op, fields);
}

/** In the main worker: routes startWorkers / terminateWorkers to the supervisor at the other end of `port`. */
/** @param {MessagePort} port */
function connectPoolHost(port) {
  /** @type {PoolHostScope} */ (self).plonkWasmPoolHost = requester(channelOf(port));
}
connectPoolHost.deps = [requester, channelOf];

// --------------------------------------------------------------- rayon worker

/**
 * A rayon worker's script: waits for its start message, then lives the life
 * of host/rayon-worker.ts, holding its Web Lock (`lifeLock`, see the top of
 * this file) around it where the browser has Web Locks.
 */
function workerHelperMain() {
  onceMessage('plonk-wasm:rayon-start', (data) => {
    const glue = kimchiWasm();
    const raw = glue.initSync({ module: data.module, memory: data.memory });
    const identity =
      typeof data.index === 'number'
        ? { index: data.index, generation: data.generation, lossSignalAddress: data.lossSignalAddress, memory: data.memory }
        : undefined;
    /** @param {boolean} lifeLock */
    const live = (lifeLock) => runRayonWorker(glue, raw, data.receiver, (message) => postMessage(message), identity, lifeLock);
    // A failure leaves as an uncaught error of the worker (an `error` event at the supervisor), as without the lock.
    const rethrow = (/** @type {unknown} */ error) =>
      setTimeout(() => {
        throw error;
      });
    const locks = typeof navigator === 'object' ? navigator.locks : undefined;
    if (typeof data.lifeLock !== 'string' || locks === undefined) {
      live(false);
      close();
      return;
    }
    let granted = false;
    locks
      .request(data.lifeLock, () => {
        granted = true;
        live(true);
      })
      .then(
        () => close(),
        (error) => {
          if (granted) return rethrow(error);
          // The lock could not be had (not in this context): live without it; the host gets no lock evidence.
          try {
            live(false);
            close();
          } catch (failure) {
            rethrow(failure);
          }
        },
      );
  });
}
workerHelperMain.deps = [{ kimchiWasm }, onceMessage, runRayonWorker];

// ----------------------------------------------------------------- supervisor

/** The supervisor's script: waits for its boot message from the page. */
function supervisorMain() {
  onceMessage('plonk-wasm:supervisor-boot', (/** @type {SupervisorBoot} */ boot) => {
    runWebSupervisor(boot);
    postMessage({ type: 'plonk-wasm:supervisor-booted' });
  });
}
supervisorMain.deps = [onceMessage, runWebSupervisor];

/**
 * `boot`: `module`, `memory`, `rayonSource` (workerHelperMain's script),
 * `port` (to the main worker), `settings` ({ startTimeoutMs, teardown }).
 * Serves the supervisor's operations to the page (on `self`) and to the main
 * worker (on `port`); posts host events to the page.
 */
/** @param {SupervisorBoot} boot */
function runWebSupervisor({ module, memory, rayonSource, port, settings: initialSettings }) {
  const glue = kimchiWasm();
  const raw = glue.initSync({ module, memory });
  // One URL for every worker of every generation, kept for the supervisor's life.
  const rayonUrl = URL.createObjectURL(new Blob([rayonSource], { type: 'text/javascript' }));
  const settings = { ...initialSettings };
  // Web Locks are per origin: the workers' lock names carry this supervisor's own token.
  const lockPrefix = `plonk-wasm ${globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`}`;
  const locks = typeof navigator === 'object' ? navigator.locks : undefined;
  /**
   * Test builds only: `testHoldTerminations(true)` (on any thread of the instance) makes
   * `terminate()` take effect only once it is released, as a terminate() that has not taken
   * effect yet: the thread keeps running wasm meanwhile (tests/web/stray-writer.test.js).
   * @param {Worker} worker
   */
  const terminateWhenAllowed = (worker) => {
    if (typeof glue.testTerminationsHeld === 'function' && glue.testTerminationsHeld()) {
      setTimeout(() => terminateWhenAllowed(worker), 10);
      return;
    }
    worker.terminate();
  };
  const operations = runSupervisor({
    instance: { ...glue, poolHealth: glue.poolHealth, logPoolEvent: glue.logPoolEvent, reportWorkerLost: glue.reportWorkerLost, __wasm: raw },
    memory,
    // Browsers report no thread's end: a lost worker's stack is not freed (docs/internals.md, "Worker death and traps").
    reportsEnd: false,
    spawn(request, index, events) {
      const worker = new Worker(rayonUrl, { name: `plonk-wasm rayon ${request.generation}.${index}` });
      const lifeLock = `${lockPrefix} g${request.generation} w${index}`;
      /** True once the worker said it holds its lock: from then on, getting the lock proves it stopped. */
      let holdsLock = false;
      /** @type {Promise<void> | undefined} */
      let gone;
      worker.addEventListener('message', ({ data }) => {
        if (data?.type === 'plonk-wasm:rayon-ready' && data.lifeLock === true) holdsLock = true;
        routeRayonMessage(data, events);
      });
      worker.addEventListener('messageerror', () => events.broken('a message from it could not be deserialized'));
      worker.addEventListener('error', (error) => {
        // Handled here: the loss is reported through the pool and host events.
        error.preventDefault();
        events.failed(`error: ${error.message || 'uncaught error'}`);
      });
      worker.postMessage({
        type: 'plonk-wasm:rayon-start',
        module: request.module,
        memory: request.memory,
        receiver: request.receiver,
        generation: request.generation,
        index,
        lossSignalAddress: request.lossSignalAddress,
        ...(locks === undefined ? {} : { lifeLock }),
      });
      return {
        terminate() {
          terminateWhenAllowed(worker);
          // The request only: browsers tell nobody when a worker's thread stops.
          return Promise.resolve();
        },
        gone() {
          gone ??=
            locks !== undefined && holdsLock
              ? locks.request(lifeLock, () => undefined).then(() => undefined)
              : // No evidence will ever come: it is never proven gone.
                new Promise(() => undefined);
          return gone;
        },
      };
    },
    emit: (event) => postMessage({ type: 'plonk-wasm:event', event }),
  });
  /** @type {Record<string, (request: any) => unknown>} The operations as requests reach them (fields checked by the supervisor). */
  const served = {
    ...operations,
    // The main worker's requests carry no settings: the page's are added here.
    start: (/** @type {StartRequest} */ request) => operations.start({ ...request, startTimeoutMs: settings.startTimeoutMs }),
    stop: (/** @type {StopRequest} */ request) => operations.stop({ ...request, teardown: settings.teardown }),
    configure: (/** @type {{ changes: Partial<SupervisorSettings> }} */ { changes }) => Object.assign(settings, changes),
  };
  serve(channelOf(self), served);
  serve(channelOf(port), served);
}
runWebSupervisor.deps = [{ kimchiWasm }, runSupervisor, routeRayonMessage, serve, channelOf];
