/**
 * The pool's API for applications (`o1js/pool`), whichever copy of o1js they
 * loaded.
 *
 * o1js loads its backend itself (`initializeBindings()` imports
 * node-backend.js, web-backend.js, or an esbuild bundle's inlined copy of
 * one), so an application cannot import the backend module it uses: an ES
 * module import of node-backend.js next to `require('o1js')` would load a
 * second instance. Instead the backend, when o1js loads it, registers its API
 * here, in a process-wide slot (`globalThis`, keyed by a global symbol), and
 * these functions forward to it, for ES modules, CommonJS and the browser
 * alike.
 *
 * One shape on every platform: `poolHealth()` is a Promise on Node as in
 * browsers (a browser page cannot read the pool's memory synchronously), so
 * the same code runs on both.
 *
 * Before o1js's bindings are loaded no backend is registered: the functions
 * then throw `POOL_NOT_INITIALIZED`, except `loadPoolBackend()`, which is
 * handed o1js's own `initializeBindings` by the entry and loads them.
 */
import type { CoordinatorOptions } from './coordinator-config.js';
import { PoolOperationError, fromWasmError } from './errors.js';
import { boundedHealthRead } from './health-read.js';
import type { WorkerHost } from './host/backend.js';
import { channelOf, requester, type Endpoint } from './host/protocol.js';
import type { PoolHealthCoordinator } from './pool-health-coordinator.js';
import type { PoolHealth, RecycleOptions, RecycleReport } from './pool-health.js';
import type { ThreadPoolLifetime, ThreadPoolState } from './workers.js';
import type { MessagePort as NodeMessagePort } from 'node:worker_threads';

export type { CoordinatorOptions, PoolHealthCoordinator, WorkerHost, ThreadPoolLifetime, ThreadPoolState };

/**
 * `configureThreadPool(options)`: the host's options for the next pool start.
 * Every platform has the first five; `workerScript` is Node's, and
 * `memoryMaximumBytes` and `callTimeoutMs` the web's (an option of the other
 * platform is refused with PoolConfigError).
 */
export interface ThreadPoolOptions {
  /** 'process' (the default, as in o1js 2.15): one pool for the process; 'operation': it exits after each outermost operation. */
  readonly lifetime?: ThreadPoolLifetime;
  /** Bound for a generation's workers to report ready (default 30000). */
  readonly startTimeoutMs?: number;
  /** 'destroy' (default): workers free their thread state before they stop; 'terminate': upstream's leaky order, for comparisons. */
  readonly teardown?: 'destroy' | 'terminate';
  /** Bound on `exitThreadPool()` (default 120000). */
  readonly exitTimeoutMs?: number;
  /**
   * Keep a standby generation (default false): workers started ahead and parked, so that a
   * recycle only swaps them in (milliseconds instead of a worker start); costs one more set of
   * idle workers while the pool runs. Takes effect at once in a running pool.
   */
  readonly standby?: boolean;
  /** Node: the worker script (default: o1js's node-backend.js). */
  readonly workerScript?: string;
  /** Web: the shared memory's maximum in bytes, a multiple of 65536 (default `null`: 4 GiB, 1 GiB on iOS); before the bindings load. */
  readonly memoryMaximumBytes?: number | null;
  /** Web: bound on one of o1js's forwarded calls (default 30 minutes). */
  readonly callTimeoutMs?: number;
}

/** The host options in force, as `configureThreadPool` returns them: every platform's, and the platform's own. */
export type ThreadPoolSettings = { readonly [K in 'lifetime' | 'startTimeoutMs' | 'teardown' | 'exitTimeoutMs' | 'standby']-?: Exclude<ThreadPoolOptions[K], undefined> } & Pick<
  ThreadPoolOptions,
  'workerScript' | 'memoryMaximumBytes' | 'callTimeoutMs'
>;

/** o1js's `withThreadPool`: runs `run` with the pool up; plus its lifecycle state and user count. */
export interface WithThreadPool {
  <T>(run: () => T | Promise<T>): Promise<T>;
  /** The WithThreadPool state: `none`, `initializing`, `running`, `recycling`, `exiting`. */
  state(): ThreadPoolState;
  /** Callers inside `withThreadPool` now. */
  users(): number;
}

/**
 * A port to the pool's supervisor thread (Node only: a worker_threads
 * MessagePort): transfer it to another thread and read with `poolHealthReader`.
 */
export type PoolHealthPort = NodeMessagePort;

/** What a backend registers. */
export interface PoolBackendApi {
  readonly platform: 'node' | 'web';
  poolHealth(): Promise<PoolHealth>;
  recycleThreadPool(options?: RecycleOptions): Promise<RecycleReport>;
  exitThreadPool(): Promise<void>;
  configurePoolHealth(options?: CoordinatorOptions): PoolHealthCoordinator;
  configureThreadPool(options: ThreadPoolOptions): ThreadPoolSettings;
  readonly poolHealthCoordinator: PoolHealthCoordinator;
  readonly workerHost: WorkerHost;
  readonly withThreadPool: WithThreadPool;
  /** Node: a port to the supervisor, for reading the health from another thread (see `poolHealthReader`). */
  openPoolHealthPort?(): Promise<PoolHealthPort>;
}

/** A backend's facade as the adapters have it: the API but for the platform's name, and Node reads the health synchronously. */
export type PoolBackendFacade = Omit<PoolBackendApi, 'platform' | 'poolHealth' | 'openPoolHealthPort'> & {
  poolHealth(): PoolHealth | Promise<PoolHealth>;
};

const SLOT = Symbol.for('plonk-wasm-pool.backend');

type Registry = { [SLOT]?: PoolBackendApi };

/** Called by a backend as o1js loads it (main thread, page). The last one registered wins. */
export function registerPoolBackend(api: PoolBackendApi): void {
  (globalThis as Registry)[SLOT] = api;
}

/**
 * The API a backend registers, from its facade (host/backend.ts `createBackend`):
 * the same for Node and the web but for `overrides` (the adapter's own
 * `configurePoolHealth`, which also updates its exported coordinator; Node's
 * `openPoolHealthPort`).
 */
export function poolApiOf(
  platform: PoolBackendApi['platform'],
  facade: PoolBackendFacade,
  overrides: Partial<Pick<PoolBackendApi, 'configurePoolHealth' | 'openPoolHealthPort'>> = {},
): PoolBackendApi {
  return {
    platform,
    // One shape everywhere: a Promise (a synchronous read's error becomes its rejection).
    poolHealth: async () => facade.poolHealth(),
    recycleThreadPool: facade.recycleThreadPool,
    exitThreadPool: facade.exitThreadPool,
    configurePoolHealth: overrides.configurePoolHealth ?? facade.configurePoolHealth,
    configureThreadPool: facade.configureThreadPool,
    get poolHealthCoordinator() {
      return facade.poolHealthCoordinator;
    },
    workerHost: facade.workerHost,
    withThreadPool: facade.withThreadPool,
    ...(overrides.openPoolHealthPort === undefined ? {} : { openPoolHealthPort: overrides.openPoolHealthPort }),
  };
}

/** The registered backend, or `POOL_NOT_INITIALIZED` saying how to load one. */
export function poolBackend(): PoolBackendApi {
  const api = (globalThis as Registry)[SLOT];
  if (api === undefined) {
    throw new PoolOperationError(
      'POOL_NOT_INITIALIZED',
      "o1js's bindings are not loaded, so there is no thread pool backend yet: expected `await initializeBindings()` " +
        "(from 'o1js') or any compile, prove or verify first, or `await loadPoolBackend()` from 'o1js/pool'",
    );
  }
  return api;
}

/** The pool's health snapshot (docs/api.md, "Health fields"). */
export async function poolHealth(): Promise<PoolHealth> {
  return poolBackend().poolHealth();
}

/** Replaces the pool with a new generation while jobs keep running; resolves with the recycle report. */
export async function recycleThreadPool(options?: RecycleOptions): Promise<RecycleReport> {
  return poolBackend().recycleThreadPool(options);
}

/** Shuts the pool down once no operation runs (a long-lived process need not call it). */
export async function exitThreadPool(): Promise<void> {
  return poolBackend().exitThreadPool();
}

/** Replaces the pool health coordinator's options (docs/api.md, "Coordinator options"); returns the new coordinator. */
export function configurePoolHealth(options?: CoordinatorOptions): PoolHealthCoordinator {
  return poolBackend().configurePoolHealth(options);
}

/** Host options for the next pool start (docs/api.md, "Host options"); returns the options in force. */
export function configureThreadPool(options: ThreadPoolOptions): ThreadPoolSettings {
  return poolBackend().configureThreadPool(options);
}

/** The coordinator in use: `.on('decision' | 'recycle' | 'refuse' | 'error', listener)`, `.state`, `.config`. */
export function poolHealthCoordinator(): PoolHealthCoordinator {
  return poolBackend().poolHealthCoordinator;
}

/** The pool's worker threads as the host sees them, an outside kill for fault drills, and host events. */
export function workerHost(): WorkerHost {
  return poolBackend().workerHost;
}

/** o1js's `withThreadPool` with its state: what o1js wraps every prover call in. */
export function withThreadPool(): WithThreadPool {
  return poolBackend().withThreadPool;
}

/**
 * Node: a MessagePort to the pool's supervisor, to hand to another thread
 * (transfer it in `postMessage` or `workerData`) that reads the health while
 * the thread that owns the pool is blocked in a proof, e.g. a metrics endpoint.
 */
export async function openPoolHealthPort(): Promise<PoolHealthPort> {
  const backend = poolBackend();
  if (backend.openPoolHealthPort === undefined) {
    throw new PoolOperationError('POOL_NOT_INITIALIZED', `openPoolHealthPort is for Node; on the ${backend.platform} poolHealth() already reads through the supervisor`);
  }
  return backend.openPoolHealthPort();
}

/**
 * In any thread, given a port from `openPoolHealthPort`: a function that
 * reads the pool's health through the supervisor, which answers even while
 * the pool's own thread proves. Each read resolves with a snapshot.
 */
export function poolHealthReader(port: PoolHealthPort | Endpoint): () => Promise<PoolHealth> {
  const requests = requester(channelOf(port));
  return async () => {
    try {
      return (await boundedHealthRead(requests.ask('health'), 'a pool health port')) as PoolHealth;
    } catch (error) {
      throw fromWasmError(error);
    }
  };
}

/**
 * Loads o1js's bindings with `initializeBindings` (the entry passes o1js's
 * own) and returns the backend they registered.
 */
export async function loadPoolBackendWith(initializeBindings: () => Promise<void>): Promise<PoolBackendApi> {
  await initializeBindings();
  return poolBackend();
}
