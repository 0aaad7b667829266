/**
 * `WithThreadPool`: runs callers' work with the wasm thread pool up, sharing
 * one pool between concurrent callers and exiting it when the last one leaves.
 *
 * Same interface as o1js's `WithThreadPool` (src/lib/proof-system/workers.ts),
 * with four differences:
 *  - the pool's lifetime is a choice: `'process'` (o1js >= 2.15: the pool
 *    starts with the first operation and stays up; `exit()` shuts it down) or
 *    `'operation'` (o1js <= 2.14: the last caller out exits it);
 *  - a failed init returns to `none`, so the next call retries (upstream
 *    caches the rejected promise and never decrements its counter, so every
 *    later call fails the same way);
 *  - a `recycling` state: `recycle()` replaces the pool while callers keep
 *    running. A caller arriving during a recycle is served at once when the
 *    pool can take jobs (plonk-wasm serves from the old generation, then from
 *    the new one); it waits for the recycle only when the pool cannot
 *    (`canTakeJobs()` false, e.g. a poisoned pool being rebuilt). A recycle
 *    never makes a caller fail;
 *  - one `state` field with a transition helper that throws on an illegal edge.
 *
 * States and edges (the whole lifecycle):
 *
 *   none ──init──▶ initializing ──ok──▶ running ──exit()*──▶ exiting ──▶ none
 *                        └──failed──▶ none            │   ▲                └─failed─▶ running
 *                                                 recycle  settled
 *                                                     ▼   │
 *                                                   recycling
 *
 * (*) with lifetime `'operation'`, the last user leaving is an implicit
 * `exit()`; with `'process'`, only `exit()` is. An `exit()` while callers are
 * inside waits for the last of them, like a shutdown that drains.
 *
 * Invariant: `users` counts callers between their entry and their exit, whether
 * or not their init succeeded; every entry is paired with one exit in a
 * `finally`, so the count cannot leak (the upstream bug).
 */
import { PoolArgumentError, PoolOperationError } from './errors.js';
import { transition, type TransitionTable } from './kernel/state-machine.js';

/** The largest pool accepted (plonk-wasm's MAX_THREADS). */
const MAX_THREADS = 256;

/**
 * Upstream's knob, kept: the number of pool workers; `undefined` means the
 * backend's default (available parallelism - 1, at least 1). Read at each
 * pool start, so a change applies from the next init (or a recycle that
 * passes `threads`).
 */
export const workers = {
  numWorkers: undefined as number | undefined,
};

/**
 * Sets the number of pool workers, from the next pool start or recycle (see
 * `workers`). Throws PoolArgumentError (POOL_INVALID_THREAD_COUNT) for
 * anything but a whole number from 1 to 256; nothing changes then.
 */
export function setNumberOfWorkers(numWorkers: number): void {
  if (!(Number.isSafeInteger(numWorkers) && numWorkers >= 1 && numWorkers <= MAX_THREADS)) {
    throw new PoolArgumentError('setNumberOfWorkers', 'numWorkers', numWorkers, `a whole number from 1 to ${MAX_THREADS}`, 'POOL_INVALID_THREAD_COUNT');
  }
  workers.numWorkers = numWorkers;
}

export type ThreadPoolState = 'none' | 'initializing' | 'running' | 'recycling' | 'exiting';

const THREAD_POOL_EDGES: TransitionTable<ThreadPoolState> = {
  none: ['initializing'],
  initializing: ['running', 'none'],
  running: ['recycling', 'exiting'],
  recycling: ['running'],
  // A failed exit leaves the pool as it was: still there, serving.
  exiting: ['none', 'running'],
};

export interface ThreadPoolLifecycle<RecycleOptions = unknown, RecycleResult = unknown> {
  initThreadPool(): Promise<void>;
  exitThreadPool(): Promise<void>;
  recycleThreadPool?(options?: RecycleOptions): Promise<RecycleResult>;
  /**
   * During a recycle: can the pool take a job now? Defaults to `true`
   * (plonk-wasm keeps serving during a recycle). A backend reads
   * `poolHealth().generation !== null` here, which is false while a poisoned
   * pool is rebuilt.
   */
  canTakeJobs?(): boolean;
}

/** How long the pool lives: for the process (o1js >= 2.15), or for each outermost operation (o1js <= 2.14). */
export type ThreadPoolLifetime = 'process' | 'operation';

export interface WithThreadPoolOptions {
  /** Read each time the last caller leaves; `'operation'` if absent. */
  lifetime?(): ThreadPoolLifetime;
}

export interface WithThreadPoolRunner<RecycleOptions = unknown, RecycleResult = unknown> {
  /** Runs `run` with the pool up (started on first use; see `ThreadPoolLifetime` for when it exits). */
  <T>(run: () => T | Promise<T>): Promise<T>;
  /**
   * Shuts the pool down once no caller is inside (now, if none is; otherwise
   * when the last one leaves). Resolves when it is down; a no-op when it is not up.
   */
  exit(): Promise<void>;
  /** Replaces the pool while callers keep running; concurrent calls share one recycle. */
  recycle(options?: RecycleOptions): Promise<RecycleResult>;
  /** The lifecycle state now. */
  state(): ThreadPoolState;
  /** Callers inside `withThreadPool` now. */
  users(): number;
}

export function WithThreadPool<RecycleOptions = unknown, RecycleResult = unknown>(
  lifecycle: ThreadPoolLifecycle<RecycleOptions, RecycleResult>,
  options: WithThreadPoolOptions = {},
): WithThreadPoolRunner<RecycleOptions, RecycleResult> {
  const pool: { state: ThreadPoolState } = { state: 'none' };
  /** Callers of `exit()` waiting for the last user to leave. */
  let exitRequests: { resolve(): void; reject(error: unknown): void }[] = [];
  // The operation behind the current transient state (initializing, recycling, exiting).
  let initializing: Promise<void> | null = null;
  let recycling: Promise<RecycleResult> | null = null;
  /** The options of the recycle in progress: a request with the same options (or none) joins it. */
  let recyclingOptions: RecycleOptions | undefined;
  let exiting: Promise<void> | null = null;
  let users = 0;

  const moveTo = (to: ThreadPoolState) => transition(pool, to, THREAD_POOL_EDGES, 'WithThreadPool');

  function startInit(): Promise<void> {
    moveTo('initializing');
    initializing = (async () => {
      try {
        await lifecycle.initThreadPool();
        moveTo('running');
      } catch (error) {
        moveTo('none'); // the next caller retries
        throw error;
      } finally {
        initializing = null;
      }
    })();
    return initializing;
  }

  function startExit(): Promise<void> {
    moveTo('exiting');
    exiting = (async () => {
      try {
        await lifecycle.exitThreadPool();
        moveTo('none');
      } catch (error) {
        moveTo('running');
        throw error;
      } finally {
        exiting = null;
      }
    })();
    return exiting;
  }

  /** Brings the pool to a state that takes jobs. Loops because another caller may move the state while we wait. */
  async function acquire(): Promise<void> {
    for (;;) {
      switch (pool.state) {
        case 'running':
          return;
        case 'none':
          await startInit();
          return;
        case 'initializing':
          // Concurrent callers share one init; its failure is theirs too.
          await initializing;
          return;
        case 'recycling':
          if (lifecycle.canTakeJobs?.() ?? true) return;
          await recycling?.catch(() => undefined); // a failed recycle is the recycler's error, not ours
          continue;
        case 'exiting':
          await exiting?.catch(() => undefined);
          continue;
      }
    }
  }

  /** Called by each caller as it leaves; the last one out exits the pool (after any recycle) if that is asked for. */
  async function release(): Promise<void> {
    users -= 1;
    if (users > 0) return;
    const lifetime = options.lifetime?.() ?? 'operation';
    if (lifetime === 'process' && exitRequests.length === 0) return;
    await exitWhenIdle();
  }

  /** Exits the pool if no caller is inside, and settles the `exit()` callers waiting for that. */
  async function exitWhenIdle(): Promise<void> {
    while (users === 0 && pool.state === 'recycling') await recycling?.catch(() => undefined);
    if (users > 0) return; // a caller arrived meanwhile: the last one out exits
    const waiting = exitRequests;
    exitRequests = [];
    try {
      if (pool.state === 'running') await startExit();
      else if (pool.state === 'exiting') await exiting;
      for (const request of waiting) request.resolve();
    } catch (error) {
      for (const request of waiting) request.reject(error);
      throw error;
    }
  }

  function exit(): Promise<void> {
    if (pool.state === 'none') return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => exitRequests.push({ resolve, reject }));
    if (users === 0) void exitWhenIdle().catch(() => undefined); // its callers get the error
    return done;
  }

  async function withThreadPool<T>(run: () => T | Promise<T>): Promise<T> {
    users += 1;
    let result: T;
    try {
      await acquire();
      result = await run();
    } catch (error) {
      // The caller's own error wins over a failure to exit behind it.
      await release().catch(() => undefined);
      throw error;
    }
    await release();
    return result;
  }

  /**
   * A recycle. While one is in progress, a request with no options or the
   * same options joins it (and gets its report, marked `joined: true`); a
   * request with other options (say, another thread count) waits for it to
   * settle and then runs its own.
   *
   * The one place on the JS side where joining is decided: the application's
   * `recycleThreadPool`, the coordinator's recycles and rebuilds, and a job
   * waiting out a rebuild all come here (the wasm's flows.rs keeps its own
   * rule for callers of its ABI).
   */
  async function recycle(options?: RecycleOptions): Promise<RecycleResult> {
    const recycleThreadPool = lifecycle.recycleThreadPool;
    if (recycleThreadPool === undefined) {
      throw new Error('WithThreadPool: recycle() needs a recycleThreadPool in the lifecycle; this backend has none');
    }
    for (;;) {
      switch (pool.state) {
        case 'recycling':
          if (options === undefined || sameOptions(options, recyclingOptions)) {
            return (recycling as Promise<RecycleResult>).then(markJoined);
          }
          await recycling?.catch(() => undefined);
          continue;
        case 'initializing':
          await initializing?.catch(() => undefined);
          continue;
        case 'none':
          throw new PoolOperationError(
            'POOL_NOT_INITIALIZED',
            'recycle() was called with no thread pool up; expected a running pool: it starts with the first operation (withThreadPool).',
          );
        case 'exiting':
          throw new PoolOperationError(
            'POOL_EXITING',
            'recycle() was called while the thread pool exits; expected a running pool. Nothing to recycle.',
          );
        case 'running': {
          moveTo('recycling');
          recyclingOptions = options;
          recycling = (async () => {
            try {
              return await recycleThreadPool.call(lifecycle, options);
            } finally {
              // Success or not, the pool is there and serving (a failed recycle keeps the old generation).
              moveTo('running');
              recycling = null;
              recyclingOptions = undefined;
            }
          })();
          return recycling;
        }
      }
    }
  }

  return Object.assign(withThreadPool, {
    exit,
    recycle,
    state: () => pool.state,
    users: () => users,
  });
}

/** Same options, as far as a recycle is concerned: equal as JSON (plain data only). */
function sameOptions(a: unknown, b: unknown): boolean {
  try {
    return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
  } catch {
    return false;
  }
}

/** A joined request's result: the report, marked as joined. */
function markJoined<Result>(result: Result): Result {
  return typeof result === 'object' && result !== null ? ({ ...result, joined: true } as Result) : result;
}
