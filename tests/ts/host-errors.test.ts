// Issue 12, defect 8, the host's side: a wasm error that o1js's OCaml
// bindings rethrow wrapped as [0, tag, error] reaches the caller of
// withThreadPool as our typed error with its code; an error thrown on the
// supervisor's side of the protocol keeps its code, context fields and class
// when it crosses to the thread that asked.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PoolArgumentError,
  PoolConfigError,
  PoolError,
  PoolHostError,
  PoolInstanceTerminatedError,
  PoolMemoryError,
  PoolOperationError,
  PoolTimeoutError,
  PoolWorkerLostError,
  fromWasmError,
} from '../../bindings-js/lib/proof-system/errors.js';
import { createBackend, type BackendPlatform } from '../../bindings-js/lib/proof-system/host/backend.js';
import { guardInstanceExports, type InstanceGuard } from '../../bindings-js/lib/proof-system/host/instance-guard.js';
import { poolThreadStart } from '../../bindings-js/lib/proof-system/host/pool-thread-start.js';
import { CurrentThread } from '../../bindings-js/lib/proof-system/host/current-thread.js';
import { EventEmitter } from 'node:events';
import { HEALTH_READ_TIMEOUT_MS } from '../../bindings-js/lib/proof-system/health-read.js';
import { poolHealthReader } from '../../bindings-js/lib/proof-system/pool-api.js';
import { MessageChannel } from 'node:worker_threads';
import { keepingAlive, requester, serve, type Channel } from '../../bindings-js/lib/proof-system/host/protocol.js';
import type { RecycleReport } from '../../bindings-js/lib/proof-system/pool-health.js';
import { deferred, flushMicrotasks } from './deferred.js';
import { healthWith } from './health-fixture.js';

const OPTS = { timeout: 5_000 };

/** What wasm-bindgen throws for a Rust panic that crossed to JS. */
class PanicError extends Error {
  override name = 'PanicError';
}

/** How o1js's OCaml bindings (js_of_ocaml) rethrow a JS exception: [0, tag, error]. */
const ocamlWrapped = (error: unknown) => [0, 248, error];

/** The wasm's validation error, as js_args.rs builds it. */
function wasmArgumentError(): Error {
  return Object.assign(new Error('fixtureProve argument k is 1.5: expected a whole number from 4 to 16'), {
    code: 'POOL_INVALID_ARGUMENT',
    callee: 'fixtureProve',
    field: 'k',
    value: 1.5,
    expected: 'a whole number from 4 to 16',
  });
}

test('fromWasmError unwraps an OCaml-wrapped wasm error into the typed error, keeping the original as cause', OPTS, () => {
  const oom = new PanicError('plonk-wasm [OUT_OF_MEMORY] out of memory: a request for 1048576 bytes failed');
  const mapped = fromWasmError(ocamlWrapped(oom));
  assert.ok(mapped instanceof PoolMemoryError);
  assert.equal(mapped.code, 'POOL_OUT_OF_MEMORY');
  assert.equal(mapped.kind, 'job-out-of-memory');
  assert.equal(mapped.cause, oom);

  const lost = fromWasmError(ocamlWrapped(Object.assign(new Error('worker 1 exited'), { code: 'POOL_WORKER_LOST' })));
  assert.ok(lost instanceof PoolWorkerLostError);
  assert.equal(lost.code, 'POOL_WORKER_LOST');

  const argument = wasmArgumentError();
  const invalid = fromWasmError(ocamlWrapped(argument));
  assert.ok(invalid instanceof PoolArgumentError);
  assert.equal(invalid.code, 'POOL_INVALID_ARGUMENT');
  assert.equal(invalid.callee, 'fixtureProve');
  assert.equal(invalid.field, 'k');
  assert.equal(invalid.message, argument.message);
});

test('an OCaml-wrapped error that is not the pool\'s comes back as it was thrown', OPTS, () => {
  const wrapped = ocamlWrapped(new TypeError('x is not a function'));
  assert.equal(fromWasmError(wrapped), wrapped);
  // Other arrays are not mistaken for a wrapper.
  const data = [1, 2, new PanicError('plonk-wasm [OUT_OF_MEMORY] out of memory')];
  assert.equal(fromWasmError(data), data);
});

/** A backend over a platform that fakes the pool: `health` is what poolHealth() answers; `instanceGuard` the evidence of traps. */
function fakeBackend(instanceGuard?: InstanceGuard) {
  const health = healthWith({ threads: 2 });
  let supervisor: ReturnType<typeof requester> | null = null;
  const platform: BackendPlatform<object> = {
    name: 'node',
    defaultThreadCount: () => 2,
    optionRules: {},
    optionDefaults: {},
    pool: {
      init: async () => undefined,
      standby: async () => undefined,
      exit: async () => undefined,
      recycle: async () => {
        throw new Error('no recycle in this test');
      },
      health: () => health,
      log: () => undefined,
    },
    supervisor: () => supervisor,
    ...(instanceGuard === undefined ? {} : { instanceGuard }),
  };
  const backend = createBackend(platform);
  backend.configureThreadPool({ lifetime: 'operation' });
  backend.configurePoolHealth({ admissionHeadroomBytes: 0, maxLinearMemoryFraction: 1 });
  return { backend, setSupervisor: (s: ReturnType<typeof requester>) => (supervisor = s) };
}

test('a job whose wasm error comes back OCaml-wrapped fails withThreadPool with the typed error and its code', OPTS, async () => {
  const { backend } = fakeBackend();
  const oom = new PanicError('plonk-wasm [OUT_OF_MEMORY] out of memory: a request for 209715200 bytes failed');
  await assert.rejects(
    backend.withThreadPool(() => {
      throw ocamlWrapped(oom);
    }),
    (error: unknown) => {
      assert.ok(error instanceof PoolMemoryError, String(error));
      assert.equal(error.code, 'POOL_OUT_OF_MEMORY');
      assert.equal(error.cause, oom);
      return true;
    },
  );
  await assert.rejects(
    backend.withThreadPool(async () => {
      throw ocamlWrapped(new PanicError('plonk-wasm [POOL_JOB_PANICKED] a job panicked: boom'));
    }),
    (error: unknown) => {
      assert.ok(error instanceof PoolOperationError, String(error));
      assert.equal(error.code, 'POOL_JOB_PANICKED');
      return true;
    },
  );
  await assert.rejects(
    backend.withThreadPool(() => {
      throw ocamlWrapped(wasmArgumentError());
    }),
    (error: unknown) => error instanceof PoolArgumentError && error.code === 'POOL_INVALID_ARGUMENT',
  );
  // The pool still works.
  assert.equal(await backend.withThreadPool(() => 42), 42);
});

// Issue 5: an instance is taken as terminated only on evidence from the instance (a trap that escaped
// one of its exports, seen by the guard), never by an error's name.
const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: new (message?: string) => Error } }).WebAssembly;

/** A glue whose exports trap as an instance's would: a free function, a class method and a getter. */
function trappingGlue() {
  class WasmThing {
    free(): void {
      throw new RuntimeError('memory access out of bounds');
    }
    get size(): number {
      throw new RuntimeError('unreachable');
    }
    static __wrap(): WasmThing {
      return new WasmThing();
    }
  }
  return {
    trapOnCaller(): never {
      throw new RuntimeError('unreachable');
    },
    overflow(): never {
      throw new RangeError('Maximum call stack size exceeded');
    },
    panic(): never {
      throw new PanicError('plonk-wasm [POOL_JOB_PANICKED] a job panicked: boom');
    },
    answer: () => 42,
    __wbg_import: () => 'an import of the instance',
    WasmThing,
  };
}

test('fromWasmError maps no error to POOL_INSTANCE_TERMINATED by its name: only with the evidence', OPTS, () => {
  const userTrap = new RuntimeError('unreachable');
  assert.equal(fromWasmError(userTrap), userTrap, 'a RuntimeError without evidence is passed through');
  const wrapped = ocamlWrapped(userTrap);
  assert.equal(fromWasmError(wrapped), wrapped, 'also OCaml-wrapped');
  const terminated = new Error('Module terminated');
  assert.equal(fromWasmError(terminated), terminated);
  const named = Object.assign(new Error('unreachable'), { name: 'RuntimeError' });
  assert.equal(fromWasmError(named, { isInstanceTrap: () => false }), named);

  const ownTrap = new RuntimeError('unreachable');
  const mapped = fromWasmError(ocamlWrapped(ownTrap), { isInstanceTrap: (error) => error === ownTrap });
  assert.ok(mapped instanceof PoolInstanceTerminatedError);
  assert.equal(mapped.code, 'POOL_INSTANCE_TERMINATED');
  assert.equal(mapped.cause, ownTrap);
  assert.match(mapped.message, /RuntimeError: unreachable.*restart the process, or the worker that hosts the prover/);
});

test("the guard records traps that escape the glue's exports, and only those; it wraps once", OPTS, () => {
  const glue = trappingGlue();
  const originalImport = glue.__wbg_import;
  const guard = guardInstanceExports(glue);
  assert.equal(guardInstanceExports(glue), guard, 'idempotent per glue');
  assert.equal(glue.__wbg_import, originalImport, "wasm-bindgen's own entries are left alone");
  assert.equal(glue.answer(), 42);
  assert.throws(() => glue.panic(), PanicError);
  assert.equal(guard.trap, null, 'a panic mapped to an error is not a trap');
  const thing = glue.WasmThing.__wrap();
  let trap: unknown = null;
  try {
    thing.free();
  } catch (error) {
    trap = error;
  }
  assert.ok(trap instanceof RuntimeError);
  assert.equal(guard.trap, trap, 'a class method is guarded');
  assert.equal(guard.isTrap(trap), true);
  assert.throws(() => thing.size, RuntimeError);
  assert.throws(() => glue.overflow(), RangeError);
  assert.equal(guard.trap, trap, 'the first trap is kept');
  assert.equal(guard.isTrap(new RuntimeError('unreachable')), false, 'an error that did not escape the glue is not a trap');
});

test('a RuntimeError thrown by user code inside run() passes through as it was, and the pool keeps working', OPTS, async () => {
  const glue = trappingGlue();
  const { backend } = fakeBackend(guardInstanceExports(glue));
  const userTrap = new RuntimeError('unreachable'); // what another wasm module's trap, or user code, throws
  await assert.rejects(
    backend.withThreadPool(() => {
      throw userTrap;
    }),
    (error: unknown) => error === userTrap,
  );
  await assert.rejects(
    backend.withThreadPool(async () => {
      throw ocamlWrapped(userTrap);
    }),
    (error: unknown) => Array.isArray(error) && error[2] === userTrap,
  );
  assert.equal(await backend.withThreadPool(() => glue.answer()), 42, 'the pool still takes jobs');
  assert.equal((await backend.poolHealth()).threads, 2, 'and reads its health');
});

test('an OCaml-wrapped trap that escaped the instance on the calling thread makes the backend refuse later calls, typed', OPTS, async () => {
  const glue = trappingGlue();
  const { backend } = fakeBackend(guardInstanceExports(glue));
  await assert.rejects(
    backend.withThreadPool(() => {
      try {
        glue.trapOnCaller();
      } catch (error) {
        throw ocamlWrapped(error);
      }
    }),
    (error: unknown) => error instanceof PoolInstanceTerminatedError && error.code === 'POOL_INSTANCE_TERMINATED',
  );
  await assert.rejects(backend.withThreadPool(() => 1), PoolInstanceTerminatedError);
  assert.throws(() => backend.poolHealth(), PoolInstanceTerminatedError);
});

test('a trap of the instance that user code caught and swallowed still ends it: the next call is refused', OPTS, async () => {
  const glue = trappingGlue();
  const { backend } = fakeBackend(guardInstanceExports(glue));
  backend.configureThreadPool({ lifetime: 'process' }); // no exit after the run: the next call is what is refused
  const swallowed = await backend.withThreadPool(() => {
    try {
      glue.WasmThing.__wrap().free();
    } catch {
      return 'swallowed';
    }
    return 'no trap';
  });
  assert.equal(swallowed, 'swallowed');
  await assert.rejects(backend.withThreadPool(() => 1), (error: unknown) => {
    assert.ok(error instanceof PoolInstanceTerminatedError);
    assert.match(error.message, /memory access out of bounds.*this call was refused: the instance trapped earlier/);
    return true;
  });
});

/** Two ends of an in-memory message channel; messages are structured-cloned as postMessage would. */
function channelPair(): [Channel, Channel] {
  const listeners: [((message: unknown) => void)[], ((message: unknown) => void)[]] = [[], []];
  const end = (mine: 0 | 1): Channel => ({
    send: (message) => {
      const copy = structuredClone(message);
      queueMicrotask(() => listeners[1 - mine]!.forEach((listener) => listener(copy)));
    },
    listen: (listener) => void listeners[mine].push(listener),
  });
  return [end(0), end(1)];
}

test('errors thrown on the supervisor keep their class, code and context fields across the thread boundary', OPTS, async () => {
  const [here, there] = channelPair();
  serve(there, {
    timeout: () => {
      throw new PoolTimeoutError('the workers of generation 3 starting', 250, 'raise startTimeoutMs');
    },
    host: () => {
      throw new PoolHostError('the supervisor lost its port');
    },
    argument: () => {
      throw new PoolArgumentError('workerHost.kill', 'index', 7, 'a whole number from 0 to 255');
    },
    wasm: () => {
      throw Object.assign(new Error('plonk-wasm [OUT_OF_MEMORY] out of memory: a request for 64 bytes failed'), { code: 'OUT_OF_MEMORY' });
    },
  });
  const asker = requester(here);
  // The requester rebuilds a plain Error with the name, code, message and fields;
  // fromWasmError (which the backend applies to every error it surfaces) rebuilds the class.
  const crossed = async (op: string) => {
    const error = await asker.ask(op).then(
      () => assert.fail(`${op} should fail`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof Error);
    return { plain: error, typed: fromWasmError(error) };
  };

  const timeout = await crossed('timeout');
  assert.equal((timeout.plain as Error & { code?: string }).code, 'POOL_TIMEOUT', 'the code crosses as it is');
  assert.equal(timeout.plain.name, 'PoolTimeoutError');
  assert.ok(timeout.typed instanceof PoolTimeoutError, 'the class is rebuilt');
  assert.ok(timeout.typed instanceof PoolError);
  assert.equal(timeout.typed.code, 'POOL_TIMEOUT');
  assert.equal(timeout.typed.timeoutMs, 250);
  assert.equal(timeout.typed.name, 'PoolTimeoutError');
  assert.equal(timeout.typed.message, 'the workers of generation 3 starting did not finish within 250 ms; raise startTimeoutMs');
  assert.equal(timeout.typed.cause, timeout.plain);

  const host = await crossed('host');
  assert.ok(host.typed instanceof PoolHostError);
  assert.equal(host.typed.code, 'POOL_HOST_FAILED');
  assert.equal(host.typed.message, 'the supervisor lost its port');

  const argument = await crossed('argument');
  assert.ok(argument.typed instanceof PoolArgumentError);
  assert.equal(argument.typed.code, 'POOL_INVALID_ARGUMENT');
  assert.equal(argument.typed.callee, 'workerHost.kill');
  assert.equal(argument.typed.value, 7);
  assert.equal(argument.typed.message, 'workerHost.kill argument index is 7: expected a whole number from 0 to 255');

  const wasm = await crossed('wasm');
  assert.ok(wasm.typed instanceof PoolMemoryError);
  assert.equal(wasm.typed.code, 'POOL_OUT_OF_MEMORY');
});

test('workerHost.kill of a worker that is not there fails typed, across the thread boundary', OPTS, async () => {
  const { backend, setSupervisor } = fakeBackend();
  const [here, there] = channelPair();
  // What supervisor.ts throws (it ships to the web without imports, so it codes a plain Error).
  serve(there, {
    kill: ({ generation, index }) => {
      const expected = `a live worker of generation ${generation} (the supervisor holds none: no generation is running)`;
      throw Object.assign(new Error(`workerHost.kill argument index is ${index}: expected ${expected}`), {
        name: 'PoolArgumentError',
        code: 'POOL_INVALID_ARGUMENT',
        callee: 'workerHost.kill',
        field: 'index',
        value: index,
        expected,
      });
    },
  });
  setSupervisor(requester(here));
  await assert.rejects(backend.workerHost.kill(1, 0), (error: unknown) => {
    assert.ok(error instanceof PoolArgumentError, `class kept: ${(error as Error).name}: ${(error as Error).message}`);
    assert.equal(error.code, 'POOL_INVALID_ARGUMENT');
    assert.equal(error.callee, 'workerHost.kill');
    assert.equal(error.field, 'index');
    assert.equal(error.value, 0);
    assert.equal(error.message, 'workerHost.kill argument index is 0: expected a live worker of generation 1 (the supervisor holds none: no generation is running)');
    return true;
  });
});

// Found by the chaos run (tests/node/chaos.js, seed 8): a worker died while a
// recycle was in its first phase, so the wasm turned the recycle into a
// rebuild (no generation serves until it is done). A job that arrived then
// was let in on the health read before the death, and failed with
// POOL_REBUILDING; WithThreadPool promises a caller arriving during a rebuild
// waits for it instead.
test('a job arriving while a recycle has become a rebuild waits for it instead of failing POOL_REBUILDING', OPTS, async () => {
  let current = healthWith({ threads: 2, generation: 1 });
  const recycling = deferred<RecycleReport>();
  const ran: number[] = [];
  const platform: BackendPlatform<object> = {
    name: 'node',
    defaultThreadCount: () => 2,
    optionRules: {},
    optionDefaults: {},
    pool: {
      init: async () => undefined,
      standby: async () => undefined,
      exit: async () => undefined,
      recycle: () => recycling.promise,
      health: () => current,
      log: () => undefined,
    },
    supervisor: () => null,
  };
  const backend = createBackend(platform);
  backend.configureThreadPool({ lifetime: 'process' });
  backend.configurePoolHealth({ admissionHeadroomBytes: 0, maxLinearMemoryFraction: 1, cooldownMs: 0 });
  await backend.withThreadPool(() => undefined); // the pool is up
  current = healthWith({ threads: 2, generation: 1, state: 'recycling' });
  const recycle = backend.recycleThreadPool();
  await flushMicrotasks();
  // A worker of generation 1 dies: the recycle is now a rebuild, no generation serves.
  current = healthWith({ threads: 2, generation: null, state: 'recycling' });
  const job = backend.withThreadPool(() => {
    if (current.generation === null) {
      throw Object.assign(new Error('the thread pool is being rebuilt after a worker died (new generation 2)'), { code: 'POOL_REBUILDING' });
    }
    ran.push(current.generation);
    return 'proved';
  });
  await flushMicrotasks(50);
  assert.deepEqual(ran, [], 'the job waits while no generation serves');
  current = healthWith({ threads: 2, generation: 2 });
  recycling.resolve({ fromGeneration: 1, toGeneration: 2 } as RecycleReport);
  assert.equal(await recycle.then((r) => r.toGeneration), 2);
  assert.equal(await job, 'proved', 'the job ran once the rebuild was done');
  assert.deepEqual(ran, [2]);
});

// Node's supervisor is unref'd while idle and ref'd while a request to it is
// pending. The requester's own `pending` count also holds the coordinator's
// idle health reads, which must not keep the process alive: a request
// answered while one of them was in flight left the worker ref'd for good,
// and the process never ended. keepingAlive counts only its own requests.
test('keepingAlive refs the worker while its own requests are pending, and only those', OPTS, async () => {
  const [here, there] = channelPair();
  const idle = deferred<unknown>();
  serve(there, {
    list: () => [],
    health: () => idle.promise, // an idle health read, answered late
  });
  const requests = requester(here);
  const refs: string[] = [];
  const handle = { ref: () => refs.push('ref'), unref: () => refs.push('unref') };
  const alive = keepingAlive(requests, handle);

  const idleRead = requests.ask('health'); // not through keepingAlive
  await flushMicrotasks();
  await Promise.all([alive.ask('list'), alive.ask('list')]);
  assert.equal(requests.pending, 1, 'the idle read is still in flight');
  assert.deepEqual(refs, ['ref', 'unref'], 'ref\'d once for the two, unref\'d when both were answered, whatever else is pending');
  idle.resolve({ state: 'running' });
  await idleRead;
  assert.deepEqual(refs, ['ref', 'unref'], 'the idle read changes nothing');

  await assert.rejects(alive.ask('missing'), /unknown request 'missing'/);
  assert.deepEqual(refs, ['ref', 'unref', 'ref', 'unref'], 'a failed request is let go too');
});

test("a supervisor's late 'exit' does not forget the successor spawned after its 'error' (Node reports both, turns apart)", () => {
  const supervisors = new CurrentThread<string>();
  const ends: string[] = [];
  const first = new EventEmitter();
  supervisors.adopt(first, 'first', (why) => ends.push(`first ${why}`));
  first.emit('error', new Error('boom'));
  assert.equal(supervisors.value, null, "the 'error' ends it");
  const second = new EventEmitter();
  supervisors.adopt(second, 'second', (why) => ends.push(`second ${why}`)); // e.g. a new pool started by the rejected request's caller
  first.emit('exit', 1);
  assert.equal(supervisors.value, 'second', "the first thread's 'exit' must not forget the second");
  assert.deepEqual(ends, ['first failed: boom'], 'each end is heard once');
  second.emit('exit', 0);
  assert.equal(supervisors.value, null);
  assert.deepEqual(ends, ['first failed: boom', 'second exited with code 0']);
});

test("a pool thread inherits its parent's Node options; under --input-type it starts from string input that imports its script", () => {
  const script = new URL('file:///srv/app/node_modules/o1js/dist/node/bindings/js/node/node-backend.js');
  assert.deepEqual(poolThreadStart(script, ['--max-old-space-size=4096', '--expose-gc']), { specifier: script, eval: false });
  for (const execArgv of [['--input-type=module', '--expose-gc'], ['--conditions', 'browser', '--input-type', 'commonjs']]) {
    const start = poolThreadStart(script, execArgv);
    assert.deepEqual(start, { specifier: `import(${JSON.stringify(script.href)});`, eval: true }, execArgv.join(' '));
  }
});

// A health read that another thread answers (the web's supervisor, the
// coordinator's idle read, a Node health port) waited for ever on a thread
// that never answered.
test('a health read that another thread never answers fails, typed, after HEALTH_READ_TIMEOUT_MS', OPTS, async () => {
  const silent = () => new Promise<never>(() => undefined);
  const platform: BackendPlatform<object> = {
    name: 'web',
    defaultThreadCount: () => 2,
    optionRules: {},
    optionDefaults: {},
    pool: { init: async () => undefined, standby: async () => undefined, exit: async () => undefined, recycle: silent, health: silent, idleHealth: silent, log: () => undefined },
    supervisor: () => null,
  };
  const backend = createBackend(platform);
  const { port1, port2 } = new MessageChannel(); // port2: a supervisor that never answers
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    // (The coordinator's idle read goes through the same bound: host/backend.ts idleHealth.)
    const reads: [string, Promise<unknown>][] = [
      ['poolHealth()', backend.poolHealth() as Promise<unknown>],
      ['a health port reader', poolHealthReader(port1)()],
    ];
    const settled = reads.map(([what, read]) => read.then((value) => ({ what, value }), (error: unknown) => ({ what, error })));
    mock.timers.tick(HEALTH_READ_TIMEOUT_MS - 1);
    await Promise.resolve();
    mock.timers.tick(1);
    for (const outcome of await Promise.all(settled)) {
      assert.ok('error' in outcome, `${outcome.what} settled without an answer`);
      const error = outcome.error;
      assert.ok(error instanceof PoolTimeoutError, `${outcome.what}: ${String(error)}`);
      assert.equal(error.code, 'POOL_TIMEOUT');
      assert.equal(error.timeoutMs, HEALTH_READ_TIMEOUT_MS);
      assert.match(error.message, /health read through/);
    }
  } finally {
    mock.timers.reset();
    port1.close();
    port2.close();
  }
});

test('configureThreadPool({ standby }) goes with the next start, and reaches a running pool at once', OPTS, async () => {
  const calls: string[] = [];
  const platform: BackendPlatform<object> = {
    name: 'node',
    defaultThreadCount: () => 2,
    optionRules: {},
    optionDefaults: {},
    pool: {
      init: async (_threads, options) => void calls.push(`init standby=${options.standby}`),
      standby: async (enabled) => void calls.push(`standby ${enabled}`),
      exit: async () => void calls.push('exit'),
      recycle: async () => {
        throw new Error('no recycle in this test');
      },
      health: () => healthWith({ threads: 2 }),
      log: () => undefined,
    },
    supervisor: () => null,
  };
  const backend = createBackend(platform);
  assert.equal(backend.hostOptions.standby, false, 'off unless asked for');
  assert.throws(
    () => backend.configureThreadPool({ standby: 'yes' }),
    (error: unknown) => error instanceof PoolConfigError && /standby/.test(error.message) && /true or false/.test(error.message),
  );
  assert.equal(backend.configureThreadPool({ standby: true }).standby, true);
  assert.deepEqual(calls, [], 'no pool yet: nothing to start');
  backend.configurePoolHealth({ admissionHeadroomBytes: 0, maxLinearMemoryFraction: 1, cooldownMs: 0 });
  await backend.withThreadPool(() => undefined);
  assert.deepEqual(calls, ['init standby=true']);
  backend.configureThreadPool({ standby: false });
  backend.configureThreadPool({ standby: false });
  await flushMicrotasks();
  assert.deepEqual(calls, ['init standby=true', 'standby false'], 'a running pool retires it once');
  await backend.exitThreadPool();
});
