// o1js's web worker helpers (src/bindings/js/web/worker-helpers.js), for a
// thread pool that can be recycled, watched and survived.
//
// Same exports as upstream: `srcFromFunctionModule`, `inlineWorker`,
// `workerHelperMain` (a rayon worker's script), the `startWorkers` /
// `terminateWorkers` the glue calls, and `waitForMessage`. Added: the
// supervisor that owns the rayon workers, and the small request/reply
// protocol the backend's threads speak.
//
// Threads (see web-backend.js for the page's side):
//
//   page ──┬── main worker: owns the prover; initThreadPool, recycles, proofs
//          │        │ MessageChannel (startWorkers / terminateWorkers)
//          └── supervisor ──┬─ rayon worker 0 of generation g
//                           └─ rayon worker 1 …
//
// The main worker spends whole proofs blocked inside the wasm, so it cannot
// watch workers or answer the page meanwhile; the supervisor's event loop
// always runs. It owns every rayon worker and watches it for its whole life
// (`error`, `messageerror`, a trap reported by the worker itself). Browsers
// give no exit event: a worker's end is its `exited` message, or its
// termination by the supervisor. When one dies, the supervisor stores the
// generation in the pool's loss signal with `Atomics.store` (no call into the
// instance, so it works even after a trap), then reports the loss to the pool
// (`reportWorkerLost`), which poisons the generation: a job blocked on the
// dead worker wakes up with POOL_WORKER_LOST. The supervisor has an instance
// of its own on the shared memory, so it also serves the page's health reads.
//
// A rayon worker's life: instantiate the module on the shared memory → post
// `ready` → `wbg_rayon_start_worker(receiver)` (Rayon's loop; returns when its
// generation is dropped) → `__wbindgen_thread_destroy()` (frees its stack and
// TLS) → post `exited` → close.
//
// Workers are built from function sources, as upstream's are, so they work in
// o1js's one-file bundle: `srcFromFunctionModule(f)` ships `f` and everything
// in its `deps`, transitively. Such a function may use only globals, its
// arguments and the functions in its `deps`, never a module-level variable.
import kimchiWasm from '../../../web_bindings/kimchi_wasm.js';
import { reportWorkerLoss, signalWorkerLoss } from '../../../lib/proof-system/pool-host.js';

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
  messageRequester,
  serveRequests,
  serializeError,
  reviveError,
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
function srcFromFunctionModule(main) {
  const ordered = [];
  const aliases = new Map(); // local name → the function's own name
  const entries = (fn) => (fn.deps ?? []).map((dep) => (typeof dep === 'function' ? [dep.name, dep] : Object.entries(dep)[0]));
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

/** A classic Web Worker running `source` (from a blob URL, revoked once the worker has it). */
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
function waitForMessage(target, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    let timer;
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
function onceMessage(type, handler) {
  self.addEventListener('message', function once({ data }) {
    if (data?.type !== type) return;
    self.removeEventListener('message', once);
    handler(data);
  });
}

// ------------------------------------------------------------ request/reply

/** An error as plain data, to cross postMessage with its name, code and stack. */
function serializeError(error) {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, code: error.code, stack: error.stack };
  }
  return { name: 'Error', message: String(error) };
}

/** The Error that `serializeError` described. */
function reviveError(data) {
  const error = new Error(data?.message ?? String(data));
  error.name = data?.name ?? 'Error';
  if (data?.code !== undefined) error.code = data.code;
  if (data?.stack !== undefined) error.stack = data.stack;
  return error;
}

/**
 * Asks `endpoint` (a Worker, a MessagePort, a worker's `self`) to run
 * operations served by `serveRequests` on the other side.
 * `ask(op, fields, transfer)` resolves with the operation's value or rejects
 * with its error; `failAll(error)` rejects everything still waiting.
 */
function messageRequester(endpoint) {
  const pending = new Map();
  let nextId = 1;
  endpoint.addEventListener('message', ({ data }) => {
    if (data?.type !== 'plonk-wasm:reply') return;
    const waiter = pending.get(data.id);
    if (waiter === undefined) return;
    pending.delete(data.id);
    if (data.ok) waiter.resolve(data.value);
    else waiter.reject(reviveError(data.error));
  });
  endpoint.start?.();
  return {
    ask(op, fields = {}, transfer = []) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        endpoint.postMessage({ ...fields, type: 'plonk-wasm:request', op, id }, transfer);
      });
    },
    failAll(error) {
      for (const [id, waiter] of pending) {
        pending.delete(id);
        waiter.reject(error);
      }
    },
    get pending() {
      return pending.size;
    },
  };
}
messageRequester.deps = [reviveError];

/** Answers `messageRequester` requests on `endpoint` with `operations[op](request)`. */
function serveRequests(endpoint, operations) {
  endpoint.addEventListener('message', async ({ data }) => {
    if (data?.type !== 'plonk-wasm:request') return;
    try {
      const operation = operations[data.op];
      if (operation === undefined) {
        throw new Error(`unknown request '${data.op}': expected one of ${Object.keys(operations).join(', ')}`);
      }
      const value = await operation(data);
      endpoint.postMessage({ type: 'plonk-wasm:reply', id: data.id, ok: true, value });
    } catch (error) {
      endpoint.postMessage({ type: 'plonk-wasm:reply', id: data.id, ok: false, error: serializeError(error) });
    }
  });
  endpoint.start?.();
}
serveRequests.deps = [serializeError];

// ------------------------------------------------- the glue's host functions

/**
 * Called by the glue (in the main worker) to start a generation: the
 * supervisor spawns its workers and resolves once each is inside Rayon's
 * loop; then the generation is built.
 */
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
 * resolves `{ exited, forced }` after its workers left (or, past
 * `timeoutMs`, were terminated).
 */
function terminateWorkers(generation, timeoutMs) {
  return askPoolHost('stop', { generation, timeoutMs: timeoutMs ?? 5_000 });
}
terminateWorkers.deps = [askPoolHost];

function askPoolHost(op, fields) {
  const host = self.plonkWasmPoolHost;
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
function connectPoolHost(port) {
  self.plonkWasmPoolHost = messageRequester(port);
}
connectPoolHost.deps = [messageRequester];

// --------------------------------------------------------------- rayon worker

/** A rayon worker's script: waits for its start message, then lives the life described at the top. */
function workerHelperMain() {
  onceMessage('plonk-wasm:rayon-start', (data) => {
    const glue = kimchiWasm();
    let exports;
    try {
      exports = glue.initSync({ module: data.module, memory: data.memory });
      postMessage({ type: 'plonk-wasm:rayon-ready' });
      glue.wbg_rayon_start_worker(data.receiver);
    } catch (error) {
      // A trap or a failed start (a panic inside a job is caught there): tell
      // the supervisor why, then fail with it.
      postMessage({ type: 'plonk-wasm:rayon-failed', message: String(error?.message ?? error) });
      throw error;
    }
    exports.__wbindgen_thread_destroy();
    postMessage({ type: 'plonk-wasm:rayon-exited' });
    close();
  });
}
workerHelperMain.deps = [{ kimchiWasm }, onceMessage];

// ----------------------------------------------------------------- supervisor

/** The supervisor's script: waits for its boot message from the page. */
function supervisorMain() {
  onceMessage('plonk-wasm:supervisor-boot', (boot) => {
    runSupervisor(boot);
    postMessage({ type: 'plonk-wasm:supervisor-booted' });
  });
}
supervisorMain.deps = [onceMessage, runSupervisor];

/**
 * `boot`: `module`, `memory`, `rayonSource` (workerHelperMain's script),
 * `port` (to the main worker), `settings` ({ startTimeoutMs, teardown }).
 * Serves the same operations to the page (on `self`) and to the main worker
 * (on `port`); posts host events to the page.
 */
function runSupervisor({ module, memory, rayonSource, port, settings: initialSettings }) {
  const glue = kimchiWasm();
  glue.initSync({ module, memory });
  // One URL for every worker of every generation, kept for the supervisor's life.
  const rayonUrl = URL.createObjectURL(new Blob([rayonSource], { type: 'text/javascript' }));
  const settings = { startTimeoutMs: 30_000, teardown: 'destroy', ...initialSettings };
  const records = new Map(); // generation → worker records
  const event = (value) => postMessage({ type: 'plonk-wasm:event', event: value });

  /** A worker died: poison its generation (pool-host.ts), stop what is left of it, tell the page. */
  function lost(record, reason) {
    if (record.state !== 'starting' && record.state !== 'running') return;
    record.state = 'lost';
    const detail = reportWorkerLoss(glue, memory, record, reason);
    // Its thread state cannot be freed any more (it trapped, or it is gone).
    record.worker.terminate();
    record.ended.resolve();
    event({ type: 'worker-lost', generation: record.generation, index: record.index, reason: detail });
  }

  /** Starts one rayon worker; its record settles `ready` and `ended` as its life goes. */
  function spawn(request, index) {
    const { generation } = request;
    const ready = settleable();
    ready.promise.catch(() => undefined); // observed by `start`; a late rejection is not unhandled
    const worker = new Worker(rayonUrl, { name: `plonk-wasm rayon ${generation}.${index}` });
    const record = { generation, index, state: 'starting', lossSignalAddress: request.lossSignalAddress, worker, ready, ended: settleable() };
    worker.addEventListener('message', ({ data }) => {
      if (data?.type === 'plonk-wasm:rayon-ready') {
        record.state = 'running';
        ready.resolve();
      } else if (data?.type === 'plonk-wasm:rayon-exited') {
        record.state = 'exited';
        record.ended.resolve();
      } else if (data?.type === 'plonk-wasm:rayon-failed') {
        ready.reject(new Error(data.message));
        lost(record, `failed: ${data.message}`);
      }
    });
    worker.addEventListener('messageerror', () => lost(record, 'a message from it could not be deserialized'));
    worker.addEventListener('error', (error) => {
      // Handled here: the loss is reported through the pool and host events.
      error.preventDefault();
      const message = error.message || 'uncaught error';
      ready.reject(new Error(message));
      lost(record, `error: ${message}`);
    });
    worker.postMessage({ type: 'plonk-wasm:rayon-start', module: request.module, memory: request.memory, receiver: request.receiver });
    return record;
  }

  async function start(request) {
    const { generation, threads } = request;
    const group = [];
    records.set(generation, group);
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`workers of generation ${generation} did not report ready within ${settings.startTimeoutMs} ms`)),
        settings.startTimeoutMs,
      );
    });
    try {
      for (let index = 0; index < threads; index++) group.push(spawn(request, index));
      await Promise.race([Promise.all(group.map((r) => r.ready.promise)), late]);
    } catch (error) {
      // Nothing of a failed start may linger: stop what did start.
      for (const record of group) {
        if (record.state !== 'lost') record.state = 'stopped';
        record.worker.terminate();
      }
      records.delete(generation);
      throw new Error(`starting the rayon workers of generation ${generation} failed: ${error.message}`);
    } finally {
      clearTimeout(timer);
    }
    event({ type: 'workers-started', generation, threads });
  }

  /** Retires a generation's workers; resolves `{ exited, forced }`. */
  async function stop({ generation, timeoutMs }) {
    const group = records.get(generation) ?? [];
    records.delete(generation);
    const exitedOnTheirOwn = await Promise.all(group.map((record) => retire(record, timeoutMs)));
    const exited = exitedOnTheirOwn.filter(Boolean).length;
    const forced = group.length - exited;
    event({ type: 'workers-stopped', generation, exited, forced });
    return { exited, forced };
  }

  /**
   * Waits up to `timeoutMs` for the worker to leave Rayon's loop and free its
   * thread state (not in 'terminate' teardown), then terminates it (an
   * exited worker closed itself already: this makes sure its thread is
   * gone). True when it exited on its own.
   */
  async function retire(record, timeoutMs) {
    if (settings.teardown === 'destroy') {
      let timer;
      await Promise.race([record.ended.promise, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    const exited = record.state === 'exited';
    if (!exited && record.state !== 'lost') record.state = 'stopped'; // a stop is not a loss
    record.worker.terminate();
    return exited;
  }

  function kill({ generation, index, afterMs = 0 }) {
    const record = (records.get(generation) ?? []).find((r) => r.index === index);
    if (record === undefined) {
      const live = [...records.values()].flat().map((r) => `generation ${r.generation} worker ${r.index}`);
      throw new Error(`no live worker ${index} in generation ${generation}: expected one of ${live.join(', ') || 'none'}`);
    }
    setTimeout(() => lost(record, 'terminated from outside (workerHost.kill)'), afterMs);
  }

  const operations = {
    start,
    stop,
    kill,
    list: () => [...records.values()].flat().map(({ generation, index, state }) => ({ generation, index, state })),
    health: () => glue.poolHealth(),
    log: ({ level, message }) => glue.logPoolEvent(level, message),
    configure: ({ changes }) => Object.assign(settings, changes),
  };
  serveRequests(self, operations);
  serveRequests(port, operations);
}
runSupervisor.deps = [{ kimchiWasm }, serveRequests, settleable, reportWorkerLoss, signalWorkerLoss];

/** A promise with its `resolve` and `reject` (each settles it once). */
function settleable() {
  const settle = {};
  settle.promise = new Promise((resolve, reject) => Object.assign(settle, { resolve, reject }));
  return settle;
}
