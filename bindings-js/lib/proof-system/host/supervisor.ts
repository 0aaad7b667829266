/**
 * The supervisor: owns the Rayon workers of every generation and watches
 * each for its whole life, on Node and on the web alike.
 *
 * It runs in a thread of its own whose event loop always turns: the pool's
 * caller (Node's main thread, the web's main worker) blocks inside proofs, so
 * only a thread like this sees a worker die while a job waits for it, and
 * answers health reads meanwhile (it has an instance of its own on the pool's
 * shared memory). The platform adapter (node-backend.js, worker-helpers.js)
 * gives it a `SupervisorPlatform`: that instance, how to spawn a worker, and
 * whether the platform reports a worker's thread ending (Node's `exit`
 * event; browsers have none).
 *
 * A worker's life, one record per worker, its state changed only by the
 * kernel's `transition` (the table in WORKER_EDGES):
 *
 *   starting ──ready──▶ running ──exited──▶ exited   (left Rayon's loop, freed its thread state)
 *       │                  │
 *       └──────────────────┴──▶ lost     (failed, broke, or its thread ended unasked)
 *                          └──▶ stopped  (terminated by the host: start failed, or past the exit bound)
 *
 * A lost worker is reported twice through shared memory (host/loss.ts): at
 * once, so a job blocked on its generation fences it, and once there is
 * evidence that it runs no more wasm (its thread ended; its wasm threw out;
 * on the web, its Web Lock was released: `WorkerHandle.gone`), which lets
 * that job give up. `terminate()` alone is no such evidence: it does not wait
 * for the thread to stop running wasm. When a generation is stopped,
 * the stack and TLS block of every worker that ended without freeing them
 * (lost, or stopped by force) are freed with wasm-bindgen's leader-side
 * `__wbindgen_thread_destroy(tls, stack, size)`, but only where the platform
 * confirms threads ended (Node), and only once every other worker of that
 * generation ended or exited by itself: until then a live worker may still
 * write into a dead one's stack (Rayon's stack jobs). A stop waits for each
 * worker to leave wasm, not for its thread to end: a worker that exited by
 * itself is terminated in the background, like any on the web.
 *
 * Shippable: the web backend builds the supervisor worker from function
 * sources, so `runSupervisor` holds everything it needs but what its `deps` list.
 */
import { deferred, rejectAfter, settlesWithin, type Deferred } from '../kernel/deferred.js';
import { transition, type TransitionTable } from '../kernel/state-machine.js';
import { reportWorkerLoss, signalWorkerStopped } from './loss.js';

export type WorkerState = 'starting' | 'running' | 'exited' | 'lost' | 'stopped';

/** Where a worker's own thread state lives: what `__wbindgen_thread_destroy` needs to free it from outside. */
export interface ThreadBlocks {
  readonly tlsBase: number;
  readonly stackAlloc: number;
  readonly stackBytes: number;
}

/** What the adapter reports about one worker, as it happens. */
export interface WorkerEvents {
  /** Instantiated on the shared memory; about to enter Rayon's loop. */
  ready(blocks: ThreadBlocks | null): void;
  /** Left Rayon's loop and freed its thread state. */
  exited(): void;
  /** Its wasm threw out (a trap), or it failed to start: it runs no more wasm. */
  failed(reason: string): void;
  /** Alive but unusable (a message that could not be delivered). */
  broken(reason: string): void;
  /** Its thread is gone (Node's `exit` event; never on the web). */
  ended(code: number): void;
}

export interface WorkerHandle {
  /** Stops the thread; resolves once it is gone where the platform can tell, at once otherwise (then it proves nothing). */
  terminate(): Promise<void>;
  /** Where threads' ends are not reported (the web): resolves once the worker provably runs no more wasm; never without evidence. */
  gone?(): Promise<void>;
  readonly threadId?: number;
}

export interface StartRequest {
  readonly generation: number;
  readonly threads: number;
  readonly receiver: number;
  readonly lossSignalAddress: number;
  readonly startTimeoutMs: number;
  readonly [field: string]: unknown;
}

export interface StopRequest {
  readonly generation: number;
  readonly timeoutMs: number;
  /** 'destroy': let workers leave and free their thread state first; 'terminate': upstream's order, terminate at once. */
  readonly teardown: 'destroy' | 'terminate';
}

export interface KillRequest {
  readonly generation: number;
  readonly index: number;
  readonly afterMs: number;
}

export type HostEvent =
  | {
      readonly type: 'worker-lost';
      readonly generation: number;
      readonly index: number;
      readonly reason: string;
      /** Pool jobs running when the loss was seen (`inFlight` of the health then); `null` if the health could not be read. */
      readonly jobsInFlight: number | null;
    }
  | { readonly type: 'workers-started'; readonly generation: number; readonly threads: number }
  | { readonly type: 'workers-stopped'; readonly generation: number; readonly exited: number; readonly forced: number; readonly reclaimed: number };

export interface SupervisorPlatform {
  /** The supervisor's own instance on the pool's shared memory. */
  readonly instance: {
    poolHealth(): unknown;
    logPoolEvent(level: unknown, message: unknown): void;
    reportWorkerLost(generation: number, reason: string): void;
    readonly __wasm: { __wbindgen_thread_destroy(tlsBase?: number, stackAlloc?: number, stackBytes?: number): void };
  };
  readonly memory: { readonly buffer: ArrayBufferLike };
  /** True where `WorkerEvents.ended` is reported for every worker (Node). */
  readonly reportsEnd: boolean;
  spawn(request: StartRequest, index: number, events: WorkerEvents): WorkerHandle;
  emit(event: HostEvent): void;
}

export interface WorkerSummary {
  readonly generation: number;
  readonly index: number;
  readonly state: WorkerState;
  /** Node's thread id; absent where the platform has none (the web). */
  readonly threadId?: number;
}

export interface StopReport {
  readonly exited: number;
  readonly forced: number;
  readonly reclaimed: number;
}

/** The supervisor's operations, served to the backend's other threads (host/protocol.ts). */
export interface SupervisorOperations {
  start(request: StartRequest): Promise<void>;
  stop(request: StopRequest): Promise<StopReport>;
  kill(request: KillRequest): void;
  list(): WorkerSummary[];
  health(): unknown;
  log(request: { level: unknown; message: unknown }): void;
}

export function runSupervisor(platform: SupervisorPlatform): SupervisorOperations {
  /** The only legal state changes of a worker record. */
  const WORKER_EDGES: TransitionTable<WorkerState> = {
    starting: ['running', 'lost', 'stopped'],
    running: ['exited', 'lost', 'stopped'],
    exited: [],
    lost: [],
    stopped: [],
  };
  /** How long a terminated thread may take to end before it is counted as gone without a word (Node). */
  const END_BOUND_MS = 5_000;

  interface WorkerRecord {
    readonly generation: number;
    readonly index: number;
    readonly lossSignalAddress: number;
    state: WorkerState;
    blocks: ThreadBlocks | null;
    /** Its thread is gone (reported by the platform). */
    gone: boolean;
    /** Counted in the loss signal's stopped workers. */
    counted: boolean;
    handle: WorkerHandle | null;
    readonly ready: Deferred<void>;
    /** Resolves when the worker is done: its thread gone where that is reported, else once exited, lost or stopped. */
    readonly done: Deferred<void>;
    /** Resolves once it runs no more wasm: it exited by itself (its last call into wasm returned), or it is done. */
    readonly left: Deferred<void>;
  }

  const generations = new Map<number, WorkerRecord[]>();

  function moveTo(record: WorkerRecord, to: WorkerState): void {
    transition(record, to, WORKER_EDGES, `supervisor: generation ${record.generation} worker ${record.index}`);
    if (to === 'exited') record.left.resolve();
    if (!platform.reportsEnd && to !== 'running') record.done.resolve();
  }

  /** Counts a lost worker as out (it runs no more wasm, ever), once: only on evidence of that. */
  function countStopped(record: WorkerRecord): void {
    if (record.counted) return;
    record.counted = true;
    signalWorkerStopped(platform.memory, record);
  }

  /** A worker died or broke: poison its generation, make sure it runs no more wasm, tell the owner. */
  function lose(record: WorkerRecord, reason: string, certainlyStopped: boolean): void {
    if (record.state !== 'starting' && record.state !== 'running') return;
    moveTo(record, 'lost');
    record.ready.reject(new Error(reason));
    // Read before the loss is reported, which fails the jobs it takes with it.
    const jobsInFlight = inFlightNow(platform.instance);
    const detail = reportWorkerLoss(platform.instance, platform.memory, record, reason);
    platform.emit({ type: 'worker-lost', generation: record.generation, index: record.index, reason: detail, jobsInFlight });
    if (record.gone || certainlyStopped) countStopped(record);
    if (!record.gone) {
      void record.handle?.terminate();
      // terminate() does not wait for the thread to stop. Where the end is reported, `ended` counts it;
      // elsewhere only the handle's evidence does (the web: the worker's Web Lock released).
      if (!platform.reportsEnd) void record.handle?.gone?.().then(() => countStopped(record));
    }
  }

  function spawn(request: StartRequest, index: number): WorkerRecord {
    const record: WorkerRecord = {
      generation: request.generation,
      index,
      lossSignalAddress: request.lossSignalAddress,
      state: 'starting',
      blocks: null,
      gone: false,
      counted: false,
      handle: null,
      // Observed where it matters; a late rejection is not unhandled.
      ready: deferred<void>({ rejectionHandled: true }),
      done: deferred<void>({ rejectionHandled: true }),
      left: deferred<void>({ rejectionHandled: true }),
    };
    void record.done.promise.then(() => record.left.resolve());
    try {
      record.handle = platform.spawn(request, index, {
        ready(blocks) {
          if (record.state !== 'starting') return;
          record.blocks = blocks;
          moveTo(record, 'running');
          record.ready.resolve();
        },
        exited() {
          if (record.state === 'running') moveTo(record, 'exited');
        },
        failed(reason) {
          lose(record, `failed: ${reason}`, true);
        },
        broken(reason) {
          lose(record, reason, false);
        },
        ended(code) {
          record.gone = true;
          if (record.state === 'starting' || record.state === 'running') lose(record, `exited with code ${code} while ${record.state}`, true);
          else if (record.state === 'lost') countStopped(record);
          record.done.resolve();
        },
      });
    } catch (error) {
      record.ready.reject(error);
      record.state = 'stopped';
      record.gone = true;
      record.done.resolve();
    }
    return record;
  }

  /** Terminates a worker that did not leave by itself; resolves once it is gone (as far as the platform can tell). */
  async function forceStop(record: WorkerRecord): Promise<void> {
    if (record.state === 'starting' || record.state === 'running') moveTo(record, 'stopped');
    if (record.handle !== null && !record.gone) await settlesWithin(END_BOUND_MS, record.handle.terminate());
  }

  async function start(request: StartRequest): Promise<void> {
    const group = Array.from({ length: request.threads }, (_, index) => spawn(request, index));
    generations.set(request.generation, group);
    const ready = Promise.all(group.map((record) => record.ready.promise));
    const late = () => new Error(`the workers of generation ${request.generation} did not report ready within ${request.startTimeoutMs} ms`);
    try {
      await rejectAfter(request.startTimeoutMs, ready, late);
    } catch (error) {
      // Nothing of a failed start may linger.
      await Promise.all(group.map(forceStop));
      generations.delete(request.generation);
      throw new Error(`starting the workers of generation ${request.generation} failed: ${(error as Error | undefined)?.message ?? error}`);
    }
    platform.emit({ type: 'workers-started', generation: request.generation, threads: request.threads });
  }

  async function stop({ generation, timeoutMs, teardown }: StopRequest): Promise<StopReport> {
    const group = generations.get(generation) ?? [];
    generations.delete(generation);
    if (teardown === 'destroy') await settlesWithin(timeoutMs, Promise.all(group.map((record) => record.left.promise)));
    // A worker that exited by itself runs no more wasm and freed its own thread state: the stop does not
    // wait for its thread to end (on Node, the `exit` that follows takes the OS some milliseconds).
    for (const record of group) if (record.state === 'exited' && !record.gone) void record.handle?.terminate();
    await Promise.all(group.filter((record) => record.state !== 'exited').map(forceStop));
    const exited = group.filter((record) => record.state === 'exited').length;
    // No worker of the generation runs wasm any more (each exited, or its thread ended): their stacks can no longer be touched.
    let reclaimed = 0;
    // Not in upstream's teardown order, which is kept to show what upstream leaks.
    if (teardown === 'destroy' && platform.reportsEnd && group.every((record) => record.gone || record.state === 'exited')) {
      for (const record of group) {
        if (record.state === 'exited' || record.blocks === null) continue;
        const { tlsBase, stackAlloc, stackBytes } = record.blocks;
        platform.instance.__wasm.__wbindgen_thread_destroy(tlsBase, stackAlloc, stackBytes);
        reclaimed++;
      }
    }
    const report = { exited, forced: group.length - exited, reclaimed };
    platform.emit({ type: 'workers-stopped', generation, ...report });
    return report;
  }

  function kill({ generation, index, afterMs }: KillRequest): void {
    const record = (generations.get(generation) ?? []).find((r) => r.index === index);
    if (record === undefined) {
      const live = [...generations.values()].flat().map((r) => `generation ${r.generation} worker ${r.index}`);
      const expected = `a live worker of generation ${generation} (the supervisor holds ${live.join(', ') || 'none: no generation is running'})`;
      // PoolArgumentError's shape and code; the caller's side rebuilds the class (errors.ts). This file ships without imports.
      throw Object.assign(new Error(`workerHost.kill argument index is ${index}: expected ${expected}`), {
        name: 'PoolArgumentError',
        code: 'POOL_INVALID_ARGUMENT',
        callee: 'workerHost.kill',
        field: 'index',
        value: index,
        expected,
      });
    }
    setTimeout(() => {
      // Node reports the thread's end, which loses it; elsewhere the kill is the loss.
      if (platform.reportsEnd) void record.handle?.terminate();
      else lose(record, 'terminated from outside (workerHost.kill)', false);
    }, afterMs);
  }

  return {
    start,
    stop,
    kill,
    list: () =>
      [...generations.values()]
        .flat()
        .map(({ generation, index, state, handle }) =>
          handle?.threadId === undefined ? { generation, index, state } : { generation, index, state, threadId: handle.threadId },
        ),
    health: () => platform.instance.poolHealth(),
    log: ({ level, message }) => platform.instance.logPoolEvent(level, message),
  };
}
runSupervisor.deps = [reportWorkerLoss, signalWorkerStopped, transition, deferred, rejectAfter, settlesWithin, inFlightNow];

/** The pool's jobs in flight, from the instance's health; `null` when it cannot be read. */
function inFlightNow(instance: { poolHealth(): unknown }): number | null {
  try {
    const inFlight = (instance.poolHealth() as { inFlight?: unknown } | null)?.inFlight;
    return typeof inFlight === 'number' ? inFlight : null;
  } catch {
    return null;
  }
}

/**
 * What a health port (Node's `openPoolHealthPort`) serves: health reads and
 * nothing else. The port is handed to other threads (a metrics endpoint), and
 * whoever holds it must not start workers from any script on the pool's
 * memory, stop or kill the serving generation, list the threads or log
 * through the pool.
 */
export function healthPortOperations(operations: SupervisorOperations): { health: () => unknown } {
  return { health: () => operations.health() };
}

/** The refusal of any other request on a health port: PoolArgumentError's shape and code (errors.ts rebuilds the class). */
export function refuseOnHealthPort(op: unknown): Error {
  const expected = "'health' (the pool health port reads the pool's health only)";
  const shown = typeof op === 'string' ? `'${op}'` : String(op);
  return Object.assign(new Error(`pool health port argument op is ${shown}: expected ${expected}`), {
    name: 'PoolArgumentError',
    code: 'POOL_INVALID_ARGUMENT',
    callee: 'pool health port',
    field: 'op',
    value: op,
    expected,
  });
}
