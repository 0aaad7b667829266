/**
 * Inside a browser isolate (a module Web Worker): the environment the
 * isolate runtime needs, and `serveProverIsolate`, which a bundled app's own
 * worker script calls.
 *
 * Memory: o1js's web backend creates the shared memory when its bindings
 * load, with the maximum `configureThreadPool({ memoryMaximumBytes })` set
 * before (o1js/pool, which the module exports as `o1jsPool`): so each isolate
 * can stay under a ceiling, e.g. iOS's 1 GiB. Its health reports the memory's
 * real maximum. No per-thread heap or RSS figures exist in browsers.
 *
 * Channel: the isolate takes one message from its worker scope, the pool's
 * `o1js-isolates:connect` carrying a private MessagePort, and from then on
 * hears and answers the pool only on that port; the worker scope stays the
 * proving module's.
 */
import type { PoolHealth } from '../lib/proof-system/pool-health.js';
import type { IsolateMemory } from './health.js';
import { serveIsolate, type IsolateEnvironment, type ProvingModule } from './isolate-runtime.js';
import type { ProverJobs, ProvingModuleExports } from './jobs.js';
import { CONNECT_TYPE, type InitMessage } from './protocol.js';

/** The parts of a MessagePort used here. */
interface PrivatePort {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  start(): void;
}

interface WorkerScope {
  addEventListener(type: 'message', listener: (event: { readonly data: unknown; readonly ports?: readonly PrivatePort[] }) => void): void;
}

/** The browser environment, loading the proving module with `importModule`. */
function webEnvironment(importModule: (url: string | null) => Promise<unknown>): IsolateEnvironment {
  return {
    platform: 'web',
    fingerprint: () => null,
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
    importModule,
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
}

/** Serves the pool from this worker, loading proving modules with `importModule`. */
export function serveWebIsolate(importModule: (url: string | null) => Promise<unknown>): void {
  const scope = globalThis as unknown as WorkerScope;
  let port: PrivatePort | null = null;
  let handler: (message: unknown) => void = () => undefined;
  scope.addEventListener('message', (event) => {
    const first = event.ports?.[0];
    if (port !== null || (event.data as { type?: unknown } | null)?.type !== CONNECT_TYPE || first === undefined) return;
    port = first;
    port.addEventListener('message', (message) => handler(message.data));
    port.start();
  });
  serveIsolate(
    {
      // Only ever called in answer to a message on the port.
      post: (message) => port?.postMessage(message),
      listen: (listener) => (handler = listener),
    },
    webEnvironment(importModule),
  );
}

/**
 * Makes this Web Worker a prover isolate serving `module`: call it once, at
 * the top level of a worker script that imports its own o1js, for apps whose
 * bundler builds the worker (`new Worker(new URL('./prover.worker.js',
 * import.meta.url), { type: 'module' })`, handed to createProverPool as
 * `worker`):
 *
 *   // prover.worker.js
 *   import * as o1js from 'o1js';
 *   import * as o1jsPool from 'o1js/pool';
 *   import { serveProverIsolate } from 'o1js/isolates';
 *   export const jobs = { async prove(args) { … } };
 *   serveProverIsolate({ jobs, o1js, o1jsPool });
 */
export function serveProverIsolate<Jobs extends ProverJobs>(module: ProvingModuleExports<Jobs>): void {
  if (typeof (globalThis as { document?: unknown }).document !== 'undefined') {
    throw new TypeError('serveProverIsolate() runs in the worker script of a prover isolate, not in a page: pass that script to createProverPool as `worker`');
  }
  serveWebIsolate(async (url) => {
    if (url !== null) throw new TypeError(`this isolate serves the module given to serveProverIsolate(): it cannot also load ${url}`);
    return module;
  });
}
