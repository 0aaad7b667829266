// An in-process platform for the pool core's tests: each "isolate" runs the
// real isolate runtime (isolate-runtime.js) in this thread, on a module object
// the test makes, with messages structured-cloned and delivered on a later
// turn, as between threads. The test decides when jobs end (deferreds) and
// can crash an isolate, or post on its behalf (`inject`: on the private
// channel, `stray`: on its public port); terminate() cuts its messages both
// ways. No timing luck: every step the tests wait for is an event or a promise.
import { GiB, MiB, deferred, load } from './lib.js';

const { serveIsolate } = await load('isolate-runtime.js');

/**
 * `makeModule(isolateId)` returns the proving module of that isolate.
 * Returns `{ platform, isolates }`: `isolates` maps id → { id, module,
 * terminated, keepAlive, token, crash(exit), inject(message), stray() }. A
 * module's `moduleHash` (a test handle) is what its isolate's file hashes to.
 * `stopping(isolateId)` is what terminate() returns (resolved at once unless
 * the test holds it). `processRssBytes()` is the platform's reading (`null`:
 * unknown, as in browsers); with `isolateProcesses`, each isolate's
 * rssShareBytes (its module's `memory.rssShareBytes`) counts as a process's.
 */
export function inProcessPlatform(makeModule, { now = () => Date.now(), stopping = () => Promise.resolve(), processRssBytes = () => null, isolateProcesses = false } = {}) {
  const isolates = new Map();
  // keepAlive(true) holds the event loop open, as a ref'd worker_thread does.
  let holder = null;
  const holdLoop = () => {
    const wanted = [...isolates.values()].some((i) => i.keepAlive && !i.terminated);
    if (wanted && holder === null) holder = setInterval(() => undefined, 1_000);
    if (!wanted && holder !== null) {
      clearInterval(holder);
      holder = null;
    }
  };
  const platform = {
    name: 'node',
    spawn(isolateId, handlers) {
      let alive = true;
      let deliverToIsolate = () => undefined;
      const later = (fn) => setImmediate(() => alive && fn());
      const module = makeModule(isolateId);
      const record = { id: isolateId, module, terminated: false, keepAlive: null, spawnedAt: now() };
      serveIsolate(
        {
          post: (message) => {
            const copy = structuredClone(message);
            later(() => handlers.message(copy));
          },
          listen: (handler) => (deliverToIsolate = handler),
        },
        {
          platform: 'node',
          fingerprint: () => module.moduleHash ?? null,
          beforeLoad() {},
          configure() {},
          importModule: async () => module,
          memory: (pool) => ({
            linearBytes: pool?.memory.linearBytes ?? null,
            linearMaxBytes: pool?.memory.linearMaxBytes ?? null,
            allocatorLiveBytes: pool?.memory.allocatorLiveBytes ?? null,
            v8HeapBytes: null,
            rssShareBytes: pool?.memory.rssShareBytes ?? null,
          }),
        },
      );
      record.channel = {
        post(message) {
          if (record.token === undefined) record.token = message.token; // init comes first
          const copy = structuredClone(message); // throws DataCloneError like postMessage
          later(() => deliverToIsolate(copy));
        },
        terminate() {
          alive = false;
          record.terminated = true;
          holdLoop();
          return stopping(isolateId); // a thread takes a moment to stop: the test may hold it
        },
        keepAlive(on) {
          record.keepAlive = on;
          holdLoop();
        },
      };
      /** `message` arrives at the pool as if the isolate had posted it on its private channel. */
      record.inject = (message) => later(() => handlers.message(message));
      /** A message on the isolate thread's public port (the proving module's own). */
      record.stray = () => later(() => handlers.stray());
      record.crash = (exit = { kind: 'exit', exitCode: 1, error: null }) => {
        alive = false;
        record.terminated = true; // its thread is gone
        holdLoop();
        setImmediate(() => handlers.exit(exit));
      };
      isolates.set(isolateId, record);
      return record.channel;
    },
    processRssBytes,
    isolateProcesses,
    now,
    random: () => 0.5,
  };
  return { platform, isolates };
}

/**
 * A scripted proving module: `warm` and `work` jobs whose ends the test
 * controls, plus an o1jsPool whose health the test sets (`memory`, or
 * `state.health`, a function that replaces the whole reading).
 *   gate(name) → a deferred the next call of job `name` waits for
 *   extraJobs(state) → more jobs (a test's own)
 *   moduleHash → what the isolate's module file hashes to (its fingerprint)
 */
export function scriptedModule(isolateId, { warm = async () => 'warm', memory = {}, extraJobs = () => ({}), moduleHash = null } = {}) {
  const gates = new Map();
  const calls = [];
  let running = 0;
  let maxRunning = 0;
  const state = { memory: { linearBytes: 300 * MiB, linearMaxBytes: GiB, allocatorLiveBytes: 200 * MiB, ...memory } };
  const gated = (name) => async (args, context) => {
    calls.push({ name, args, context });
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      const gate = gates.get(name)?.shift();
      if (gate !== undefined) return await gate.promise;
      return { name, args, isolateId };
    } finally {
      running--;
    }
  };
  return {
    jobs: {
      warm: (args, context) => {
        calls.push({ name: 'warm', args, context });
        return warm(args, context);
      },
      work: gated('work'),
      slow: gated('slow'),
      fail: async () => {
        throw Object.assign(new Error('the job failed'), { code: 'JOB_CODE' });
      },
      /** A trap of the isolate's instance: o1js/pool's health read fails after it (the evidence). */
      trap: async () => {
        const error = new Error('unreachable');
        error.name = 'RuntimeError';
        state.dead = true;
        throw error;
      },
      /** A RuntimeError that is not the instance's (another wasm module's trap): the instance reads its health fine. */
      foreignTrap: async () => {
        throw new WebAssembly.RuntimeError('unreachable');
      },
      /** o1js/pool's own word that the instance trapped (its backend saw the trap escape an export). */
      reportedTrap: async () => {
        state.dead = false;
        throw Object.assign(new Error('the wasm instance is terminated (RuntimeError: unreachable)'), { name: 'PoolInstanceTerminatedError', code: 'POOL_INSTANCE_TERMINATED' });
      },
      returnFunction: async () => () => 1,
      /** A Rust panic unwinding out of the wasm: the panic hook's console line, then a bare WebAssembly.Exception. */
      wasmPanic: async () => {
        console.error('panicked at src/oom.rs:29:5:\nplonk-wasm [OUT_OF_MEMORY] out of memory: a request for 4 MiB failed\n\nStack:\n…');
        throw new WebAssembly.Exception(new WebAssembly.Tag({ parameters: [] }), []);
      },
      outOfMemory: async () => {
        throw Object.assign(new Error('plonk-wasm [OUT_OF_MEMORY] a job ran out of wasm memory'), { code: 'POOL_OUT_OF_MEMORY' });
      },
      ...extraJobs(state),
    },
    o1jsPool: {
      poolHealth: () => {
        if (state.dead) throw new Error('Module terminated');
        if (state.health !== undefined) return state.health();
        return { state: 'running', memory: { ...state.memory } };
      },
    },
    // Test handles (not part of a real module's shape; the runtime ignores them).
    moduleHash,
    state,
    calls,
    gate(name) {
      const d = deferred();
      if (!gates.has(name)) gates.set(name, []);
      gates.get(name).push(d);
      return d;
    },
    get maxRunning() {
      return maxRunning;
    },
  };
}
