/**
 * Prover isolates in browsers: each isolate is a module Web Worker with its
 * own o1js (o1js's web bundle inside: its own shared memory, its own main
 * worker, supervisor and Rayon workers, nested workers of the isolate). Same
 * API as node.ts.
 *
 * With a bundler (Vite, webpack, …), write the isolate's worker script and
 * hand the pool a function that creates it, written so the bundler finds it:
 *
 *   // prover.worker.js: its own o1js, bundled with it
 *   import * as o1js from 'o1js';
 *   import * as o1jsPool from 'o1js/pool';
 *   import { serveProverIsolate } from 'o1js/isolates';
 *   export const jobs = { async prove({ x }) { … return proof.toJSON(); } };
 *   serveProverIsolate({ jobs, o1js, o1jsPool });
 *
 *   // the page
 *   import { createProverPool } from 'o1js/isolates';
 *   import type { jobs } from './prover.worker.js';
 *   const pool = await createProverPool<typeof jobs>({
 *     worker: () => new Worker(new URL('./prover.worker.js', import.meta.url), { type: 'module' }),
 *     isolates: 1, threadsPerIsolate: 2, warm: { name: 'compile' },
 *     limits: { memoryMaximumBytes: 2 ** 30 },   // each isolate under iOS's 1 GiB
 *   });
 *
 * Without a bundler, `module: '/app/prover.js'` (an ES module the browser can
 * import as it is) starts this package's own isolate script, which imports it.
 *
 * The page must be cross-origin isolated (COOP same-origin, COEP
 * require-corp), as o1js requires. The page only posts messages: it never
 * blocks, whatever the isolates do.
 *
 * Channel: each isolate gets a private MessagePort in the first message to
 * its worker (`o1js-isolates:connect`), and the pool and the isolate talk only
 * there; what the proving module posts on its worker scope is a stray
 * message, ignored and counted.
 *
 * Browsers give no exit event for a worker: an isolate is lost when its
 * worker reports an uncaught error or a message that cannot be deserialized
 * (the pool then terminates it), or when its instance traps (its job reports
 * it). `processRssBytes` and the per-isolate heap figures are `null` here.
 */
import type { ProverPoolOptions } from './config.js';
import { ProverPoolConfigError } from './errors.js';
import { autoSplit, DEFAULT_ISOLATE_BUDGET_BYTES, fixedThreads } from './auto-split.js';
import type { ProverJobs, UntypedJobs } from './jobs.js';
import { ChannelEnd, SYSTEM_CLOCK, type IsolateChannel, type IsolateHandlers, type IsolatePlatform } from './platform.js';
import { CONNECT_TYPE, type ToIsolate } from './protocol.js';
import { ProverPool } from './prover-pool.js';

export * from './api.js';
export { serveProverIsolate } from './web-environment.js';

/** The parts of a browser MessagePort used here (a DOM `MessagePort` is one). */
export interface BrowserMessagePort {
  postMessage(message: ToIsolate): void;
  addEventListener(type: 'message' | 'messageerror', listener: (event: BrowserWorkerEvent) => void): void;
  start(): void;
  close(): void;
}

/** The browser's MessageChannel (each isolate's private channel). */
export type BrowserMessageChannel = new () => { readonly port1: BrowserMessagePort; readonly port2: BrowserMessagePort };

/** What a browser can transfer to a worker (the DOM's `Transferable`; here, the isolate's private MessagePort). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface BrowserTransferable {}

/** The parts of the browser's Worker used here (a DOM `Worker` is one). */
export interface BrowserWorker {
  /** Only the first message: `o1js-isolates:connect`, transferring the isolate's private port. */
  postMessage(message: { readonly type: typeof CONNECT_TYPE }, transfer: BrowserTransferable[]): void;
  terminate(): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: BrowserWorkerEvent) => void): void;
}
/** The fields of a worker's `message`, `error` and `messageerror` events read here. */
export interface BrowserWorkerEvent {
  readonly data?: unknown;
  readonly message?: string;
  readonly filename?: string;
  readonly lineno?: number;
}
type BrowserWorkerConstructor = new (url: URL, options: { type: 'module'; name: string }) => BrowserWorker;

/** Schemes a browser isolate may import its module from. */
const MODULE_SCHEMES = ['http:', 'https:', 'blob:'];

/** Where each isolate's script comes from: exactly one of `module` and `worker`. */
export type WebIsolateSource =
  | {
      /** The proving module's URL (relative URLs resolve against the page), imported by this package's isolate script. */
      readonly module: string | URL;
      readonly worker?: undefined;
    }
  | {
      /** Creates one isolate's Web Worker, whose script calls serveProverIsolate (bundlers: `new Worker(new URL(…, import.meta.url), { type: 'module' })`). */
      readonly worker: () => BrowserWorker;
      readonly module?: undefined;
    };

export type WebProverPoolOptions = Omit<ProverPoolOptions, 'module' | 'isolates'> &
  WebIsolateSource & {
    /**
     * Isolates serving at once, or 'auto': one per core
     * (navigator.hardwareConcurrency) as long as the device's memory
     * (navigator.deviceMemory, half of it, when the browser tells) holds them
     * and a replacement's successor, each budgeted its
     * `limits.memoryMaximumBytes` or 1.5 GiB (auto-split.ts).
     */
    readonly isolates?: number | 'auto';
  };

/** `isolates: 'auto'` on this device: its cores, and half its memory when the browser tells. */
function autoSplitHere(options: { readonly threadsPerIsolate?: unknown; readonly limits?: unknown }): { isolates: number; threadsPerIsolate: number } {
  const device = (globalThis as { navigator?: { hardwareConcurrency?: number; deviceMemory?: number } }).navigator ?? {};
  const maximum = (options.limits as { memoryMaximumBytes?: unknown } | undefined)?.memoryMaximumBytes;
  const budget = typeof maximum === 'number' && maximum > 0 ? maximum : DEFAULT_ISOLATE_BUDGET_BYTES;
  const freeMemoryBytes = typeof device.deviceMemory === 'number' ? (device.deviceMemory * 2 ** 30) / 2 : null;
  const { isolates, threadsPerIsolate } = autoSplit({ cores: device.hardwareConcurrency ?? 1, freeMemoryBytes }, budget, fixedThreads(options.threadsPerIsolate));
  return { isolates, threadsPerIsolate };
}

/**
 * Starts a pool of prover isolates; resolves once every isolate is warm (see
 * ProverPool.start). Never throws: a bad option rejects the promise with a
 * ProverPoolConfigError.
 */
export function createProverPool<Jobs extends ProverJobs = UntypedJobs>(options: WebProverPoolOptions): Promise<ProverPool<Jobs>> {
  try {
    if (typeof options !== 'object' || options === null) throw new ProverPoolConfigError('options', options, 'an object of prover pool options');
    const scope = globalThis as unknown as { Worker?: BrowserWorkerConstructor; MessageChannel?: BrowserMessageChannel; location?: { href: string } };
    if (scope.Worker === undefined || scope.MessageChannel === undefined || scope.location === undefined) {
      return Promise.reject(new TypeError("o1js/isolates' browser entry needs a browser page or worker (Worker, MessageChannel and location): on Node, import it under Node"));
    }
    const { module, worker, ...rest } = options;
    if ((module === undefined) === (worker === undefined)) {
      throw new ProverPoolConfigError(module === undefined ? 'module' : 'worker', module ?? worker, 'exactly one of `module` (the proving module\'s URL) and `worker` (a function creating the isolate\'s Web Worker)');
    }
    if (worker !== undefined && typeof worker !== 'function') {
      throw new ProverPoolConfigError('worker', worker, "a function creating the isolate's Web Worker, e.g. () => new Worker(new URL('./prover.worker.js', import.meta.url), { type: 'module' })");
    }
    const href = module === undefined ? null : moduleUrl(module, scope.location.href);
    const create = worker ?? ((name: string) => moduleIsolateWorker(scope.Worker as BrowserWorkerConstructor, name));
    const core = rest.isolates === 'auto' ? { ...rest, ...autoSplitHere(rest) } : rest;
    return ProverPool.start<Jobs>(webPlatform(create, scope.MessageChannel), { ...core, module: href });
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The module's absolute URL (relative ones resolve against the page): http:, https: or blob:. */
function moduleUrl(module: unknown, base: string): string {
  const expected = `the proving module's URL: a non-empty string or a URL, with a scheme among ${MODULE_SCHEMES.join(', ')}`;
  if (!(module instanceof URL) && (typeof module !== 'string' || module.length === 0)) throw new ProverPoolConfigError('module', module, expected);
  let url: URL;
  try {
    url = module instanceof URL ? module : new URL(module, base);
  } catch {
    throw new ProverPoolConfigError('module', module, expected);
  }
  if (!MODULE_SCHEMES.includes(url.protocol)) throw new ProverPoolConfigError('module', url.href, expected);
  return url.href;
}

/** This package's isolate script, importing the proving module it is sent (written so that bundlers find the script). */
function moduleIsolateWorker(Worker: BrowserWorkerConstructor, name: string): BrowserWorker {
  return new Worker(new URL('./web-isolate.js', import.meta.url), { type: 'module', name });
}

/** The browser platform: module Web Workers for isolates, made by `create`, each with a private MessagePort. */
export function webPlatform(create: (name: string) => BrowserWorker, Channel: BrowserMessageChannel): IsolatePlatform {
  return {
    name: 'web',
    spawn: (isolateId, handlers) => new WebIsolateChannel(create(`prover isolate ${isolateId}`), new Channel(), handlers),
    processRssBytes: () => null,
    isolateProcesses: false,
    ...SYSTEM_CLOCK,
  };
}

class WebIsolateChannel implements IsolateChannel {
  readonly #worker: BrowserWorker;
  readonly #port: BrowserMessagePort;
  readonly #end: ChannelEnd;

  constructor(worker: BrowserWorker, channel: InstanceType<BrowserMessageChannel>, handlers: IsolateHandlers) {
    this.#end = new ChannelEnd(handlers);
    this.#worker = worker;
    this.#port = channel.port1;
    const end = (kind: 'error' | 'messageerror', name: string, message: string) =>
      this.#end.end({ kind, exitCode: null, error: { name, message, code: null, stack: null, fields: {} } });
    this.#port.addEventListener('message', (event) => {
      if (this.#end.open) handlers.message(event.data);
    });
    this.#port.addEventListener('messageerror', () => end('messageerror', 'MessageError', 'a message from the isolate could not be deserialized'));
    this.#port.start();
    // The worker scope is the proving module's: whatever it posts there is not the pool's.
    const stray = () => {
      if (this.#end.open) handlers.stray();
    };
    this.#worker.addEventListener('message', stray);
    this.#worker.addEventListener('messageerror', stray);
    this.#worker.addEventListener('error', (event) => {
      const where = event.filename ? ` (${event.filename}:${event.lineno ?? '?'})` : '';
      end('error', 'ErrorEvent', `${event.message ?? 'the worker failed to load or threw'}${where}`);
    });
    this.#worker.postMessage({ type: CONNECT_TYPE }, [channel.port2]);
  }

  post(message: ToIsolate): void {
    this.#port.postMessage(message);
  }

  terminate(): Promise<void> {
    // Synchronous in browsers: the worker (and its nested workers) stop; their memory goes with them.
    return this.#end.terminate(() => {
      this.#worker.terminate();
      this.#port.close();
      return Promise.resolve();
    });
  }

  keepAlive(): void {
    // Nothing keeps a page alive.
  }
}
