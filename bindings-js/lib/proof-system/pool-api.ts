/**
 * The pool's API for applications, whichever copy of o1js they loaded.
 *
 * o1js loads its backend itself (`initializeBindings()` imports
 * node-backend.js, web-backend.js, or an esbuild bundle's inlined copy of
 * one), so an application cannot import the backend module it uses: an ES
 * module import of node-backend.js next to `require('o1js')` would load a
 * second instance. Instead the backend, when o1js loads it, registers its API
 * here, in a process-wide slot (`globalThis`, keyed by a global symbol), and
 * these functions forward to it. `o1js/pool` (scripts/install-o1js.sh adds
 * that entry to an npm install of o1js) exports this module, for ES modules,
 * CommonJS and the browser alike.
 *
 * Before o1js's bindings are loaded no backend is registered: the functions
 * then throw `POOL_NOT_INITIALIZED`, except `loadPoolBackend()`, which is
 * handed o1js's own `initializeBindings` by the entry and loads them.
 */
import { PoolOperationError, fromWasmError } from './errors.js';
import type { PoolHealth, RecycleOptions, RecycleReport } from './pool-health.js';
import { channelOf, requester, type Endpoint } from './host/protocol.js';

/** What a backend registers (Node: `poolHealth()` returns the snapshot; web: a Promise of it). */
export interface PoolBackendApi {
  readonly platform: 'node' | 'web';
  poolHealth(): PoolHealth | Promise<PoolHealth>;
  recycleThreadPool(options?: RecycleOptions): Promise<RecycleReport>;
  exitThreadPool(): Promise<void>;
  configurePoolHealth(options?: object): unknown;
  configureThreadPool(options: object): unknown;
  readonly poolHealthCoordinator: unknown;
  readonly workerHost: unknown;
  readonly withThreadPool: unknown;
  /** Node: a port to the supervisor, for reading the health from another thread (see `poolHealthReader`). */
  openPoolHealthPort?(): Promise<unknown>;
}

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
  facade: Omit<PoolBackendApi, 'platform' | 'openPoolHealthPort'>,
  overrides: Partial<Pick<PoolBackendApi, 'configurePoolHealth' | 'openPoolHealthPort'>> = {},
): PoolBackendApi {
  return {
    platform,
    poolHealth: facade.poolHealth,
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

/** The pool's health snapshot (README, "Health fields"); a Promise on the web. */
export function poolHealth(): PoolHealth | Promise<PoolHealth> {
  return poolBackend().poolHealth();
}

/** Replaces the pool with a new generation while jobs keep running; resolves with the recycle report. */
export function recycleThreadPool(options?: RecycleOptions): Promise<RecycleReport> {
  return poolBackend().recycleThreadPool(options);
}

/** Shuts the pool down once no operation runs (a long-lived process need not call it). */
export function exitThreadPool(): Promise<void> {
  return poolBackend().exitThreadPool();
}

/** Replaces the pool health coordinator's options (README, "Coordinator options"); returns the new coordinator. */
export function configurePoolHealth(options?: object): unknown {
  return poolBackend().configurePoolHealth(options);
}

/** Host options for the next pool start (README, "Host options"). */
export function configureThreadPool(options: object): unknown {
  return poolBackend().configureThreadPool(options);
}

/** The coordinator in use: `.on('decision' | 'recycle' | 'refuse' | 'error', listener)`, `.state`, `.config`. */
export function poolHealthCoordinator(): unknown {
  return poolBackend().poolHealthCoordinator;
}

/** The pool's worker threads as the host sees them, an outside kill for fault drills, and host events. */
export function workerHost(): unknown {
  return poolBackend().workerHost;
}

/**
 * Node: a MessagePort to the pool's supervisor, to hand to another thread
 * (transfer it in `postMessage` or `workerData`) that reads the health while
 * the thread that owns the pool is blocked in a proof, e.g. a metrics endpoint.
 */
export function openPoolHealthPort(): Promise<unknown> {
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
export function poolHealthReader(port: Endpoint): () => Promise<PoolHealth> {
  const requests = requester(channelOf(port));
  return async () => {
    try {
      return (await requests.ask('health')) as PoolHealth;
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
