/**
 * The script of a browser isolate (a module Web Worker started by web.ts):
 * serves the pool through isolate-runtime.ts.
 *
 * Memory: o1js's web backend creates the shared memory when its bindings
 * load, with the maximum `configureThreadPool({ memoryMaximumBytes })` set
 * before (o1js/pool, which the module exports as `o1jsPool`): so each isolate
 * can stay under a ceiling, e.g. iOS's 1 GiB. Its health reports the memory's
 * real maximum. No per-thread heap or RSS figures exist in browsers.
 */
import type { PoolHealth } from '../lib/proof-system/pool-health.js';
import type { IsolateMemory } from './health.js';
import { serveIsolate, type IsolateEnvironment, type ProvingModule } from './isolate-runtime.js';
import type { InitMessage } from './protocol.js';

interface WorkerScope {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

const environment: IsolateEnvironment = {
  platform: 'web',
  beforeLoad() {
    // The memory is o1js's, created when its bindings load (configure, below).
  },
  configure(module: ProvingModule, init: InitMessage) {
    if (init.memoryMaximumBytes === null) return;
    const configureThreadPool = module.o1jsPool?.configureThreadPool;
    if (configureThreadPool === undefined) {
      throw new TypeError(
        'limits.memoryMaximumBytes needs the proving module to export o1js/pool as `o1jsPool` (export * as o1jsPool from ...): ' +
          "its configureThreadPool sets the memory's maximum before o1js's bindings load",
      );
    }
    configureThreadPool({ memoryMaximumBytes: init.memoryMaximumBytes });
  },
  importModule: (url) => import(url),
  memory(pool: PoolHealth | null, init: InitMessage): IsolateMemory {
    return {
      linearBytes: pool?.memory.linearBytes ?? null,
      linearMaxBytes: pool?.memory.linearMaxBytes ?? init.memoryMaximumBytes,
      allocatorLiveBytes: pool?.memory.allocatorLiveBytes ?? null,
      v8HeapBytes: null,
      rssShareBytes: null,
    };
  },
};

const scope = globalThis as unknown as WorkerScope;
serveIsolate(
  {
    post: (message) => scope.postMessage(message),
    listen: (handler) => scope.addEventListener('message', (event) => handler(event.data)),
  },
  environment,
);
