/**
 * Prover isolates in browsers: each isolate is a module Web Worker running
 * web-isolate.js, which loads the proving module (o1js's web bundle inside:
 * its own shared memory, its own main worker, supervisor and Rayon workers,
 * nested workers of the isolate). Same API as node.ts.
 *
 *   import { createProverPool } from '…/isolates/web.js';
 *   const pool = await createProverPool({
 *     module: '/app/prover.js', isolates: 1, threadsPerIsolate: 2,
 *     warm: { name: 'compile' },
 *     limits: { memoryMaximumBytes: 2 ** 30 },   // each isolate under iOS's 1 GiB
 *   });
 *
 * The page must be cross-origin isolated (COOP same-origin, COEP
 * require-corp), as o1js requires. The page only posts messages: it never
 * blocks, whatever the isolates do.
 *
 * Browsers give no exit event for a worker: an isolate is lost when its
 * worker reports an uncaught error or a message that cannot be deserialized
 * (the pool then terminates it), or when its instance traps (its job reports
 * it). `processRssBytes` and the per-isolate heap figures are `null` here.
 */
import type { ProverPoolOptions } from './config.js';
import { ProverPoolConfigError } from './errors.js';
import { ChannelEnd, SYSTEM_CLOCK, type IsolateChannel, type IsolateHandlers, type IsolatePlatform } from './platform.js';
import type { ToIsolate } from './protocol.js';
import { ProverPool } from './prover-pool.js';

export { ProverPool } from './prover-pool.js';
export * from './errors.js';
export type * from './health.js';
export type { ReplacementReport, CloseReport, CloseOptions, ProverPoolEvents, RunOptions } from './prover-pool.js';

export type WebProverPoolOptions = Omit<ProverPoolOptions, 'module'> & {
  /** The proving module's URL (relative URLs resolve against the page). */
  readonly module: string | URL;
};

/** The parts of the browser's Worker used here (the project's TS libs have no DOM types). */
interface BrowserWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: BrowserWorkerEvent) => void): void;
}
interface BrowserWorkerEvent {
  readonly data?: unknown;
  readonly message?: string;
  readonly filename?: string;
  readonly lineno?: number;
  readonly error?: unknown;
}
type BrowserWorkerConstructor = new (url: URL, options: { type: 'module'; name: string }) => BrowserWorker;

const ISOLATE_SCRIPT = new URL('./web-isolate.js', import.meta.url);

/** Starts a pool of prover isolates; resolves once every isolate is warm (see ProverPool.start). */
export function createProverPool(options: WebProverPoolOptions): Promise<ProverPool> {
  if (typeof options !== 'object' || options === null) return Promise.reject(new ProverPoolConfigError('options', options, 'an object of prover pool options'));
  const scope = globalThis as unknown as { Worker?: BrowserWorkerConstructor; location?: { href: string }; crossOriginIsolated?: boolean };
  if (scope.Worker === undefined || scope.location === undefined) {
    return Promise.reject(new TypeError('web.js needs a browser page or worker (Worker and location): on Node, use node.js'));
  }
  const { module, ...rest } = options;
  const href = module instanceof URL ? module.href : typeof module === 'string' && module.length > 0 ? new URL(module, scope.location.href).href : module;
  return ProverPool.start(webPlatform(scope.Worker), { ...rest, module: href });
}

/** The browser platform: module Web Workers for isolates. */
export function webPlatform(WorkerClass: BrowserWorkerConstructor): IsolatePlatform {
  return {
    name: 'web',
    spawn: (isolateId, handlers) => new WebIsolateChannel(WorkerClass, isolateId, handlers),
    processRssBytes: () => null,
    ...SYSTEM_CLOCK,
  };
}

class WebIsolateChannel implements IsolateChannel {
  readonly #worker: BrowserWorker;
  readonly #end: ChannelEnd;

  constructor(WorkerClass: BrowserWorkerConstructor, isolateId: number, handlers: IsolateHandlers) {
    this.#end = new ChannelEnd(handlers);
    this.#worker = new WorkerClass(ISOLATE_SCRIPT, { type: 'module', name: `prover isolate ${isolateId}` });
    const end = (kind: 'error' | 'messageerror', name: string, message: string) =>
      this.#end.end({ kind, exitCode: null, error: { name, message, code: null, stack: null } });
    this.#worker.addEventListener('message', (event) => {
      if (this.#end.open) handlers.message(event.data);
    });
    this.#worker.addEventListener('error', (event) => {
      const where = event.filename ? ` (${event.filename}:${event.lineno ?? '?'})` : '';
      end('error', 'ErrorEvent', `${event.message ?? 'the worker failed to load or threw'}${where}`);
    });
    this.#worker.addEventListener('messageerror', () => end('messageerror', 'MessageError', 'a message from the isolate could not be deserialized'));
  }

  post(message: ToIsolate): void {
    this.#worker.postMessage(message);
  }

  terminate(): Promise<void> {
    // Synchronous in browsers: the worker (and its nested workers) stop; their memory goes with them.
    return this.#end.terminate(() => Promise.resolve(this.#worker.terminate()));
  }

  keepAlive(): void {
    // Nothing keeps a page alive.
  }
}
