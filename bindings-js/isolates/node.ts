/**
 * Prover isolates on Node: each isolate is a worker_thread running
 * node-isolate.js, which loads the proving module (its own o1js, its own
 * WebAssembly.Memory, its own patched Rayon pool).
 *
 *   import { createProverPool } from 'o1js/isolates';
 *   import type * as Prover from './prover.js';
 *   const pool = await createProverPool<typeof Prover.jobs>({
 *     module: new URL('./prover.js', import.meta.url),
 *     isolates: 2, threadsPerIsolate: 1,
 *     warm: { name: 'compile', args: { cacheDir } },
 *     limits: { maxJobs: 50, memoryMaximumBytes: 2 ** 31 },
 *   });
 *   const proof = await pool.run('prove', { x: 1 }, { signal });   // typed by Prover.jobs.prove
 *
 * Threads:
 *
 *   main (the caller: never blocks in a proof)
 *    ├─ isolate 1 ── its o1js's supervisor ── its Rayon workers
 *    └─ isolate 2 ── …
 *
 * An isolate keeps the process alive only while it starts or runs a job; an
 * idle pool does not (like o1js's own pool threads).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { ProverPoolOptions } from './config.js';
import { toPlainError } from '../lib/proof-system/kernel/errors.js';
import { workerExecArgv } from '../lib/proof-system/host/worker-exec-argv.js';
import { ProverPoolConfigError, type RemoteError } from './errors.js';
import { ChannelEnd, SYSTEM_CLOCK, type IsolateChannel, type IsolateHandlers, type IsolatePlatform } from './platform.js';
import { NODE_ISOLATE_ROLE, type ToIsolate } from './protocol.js';
import type { ProverJobs, UntypedJobs } from './jobs.js';
import { ProverPool } from './prover-pool.js';

export * from './api.js';

export type NodeProverPoolOptions = Omit<ProverPoolOptions, 'module'> & {
  /** The proving module: a path (absolute, or relative to the working directory), a file: URL string, or a URL. */
  readonly module: string | URL;
  /** V8 limits of each isolate thread (worker_threads' resourceLimits); they do not cover wasm memory. */
  readonly resourceLimits?: ResourceLimits | null;
};

const ISOLATE_SCRIPT = new URL('./node-isolate.js', import.meta.url);

/** Starts a pool of prover isolates; resolves once every isolate is warm (see ProverPool.start). */
export function createProverPool<Jobs extends ProverJobs = UntypedJobs>(options: NodeProverPoolOptions): Promise<ProverPool<Jobs>> {
  if (typeof options !== 'object' || options === null) return Promise.reject(new ProverPoolConfigError('options', options, 'an object of prover pool options'));
  const { resourceLimits = null, module, ...rest } = options;
  if (module === undefined || module === null) {
    return Promise.reject(new ProverPoolConfigError('module', module, 'the proving module: a path, a file: URL string, or a URL'));
  }
  if (resourceLimits !== null && (typeof resourceLimits !== 'object' || Array.isArray(resourceLimits))) {
    return Promise.reject(new ProverPoolConfigError('resourceLimits', resourceLimits, "null, or worker_threads' resourceLimits object"));
  }
  return ProverPool.start<Jobs>(nodePlatform(resourceLimits), { ...rest, module: moduleUrl(module) });
}

function moduleUrl(module: unknown): unknown {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module.length === 0) return module; // refused by the config's rule
  return /^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module) ? module : pathToFileURL(resolve(module)).href;
}

/** The Node platform: worker_threads for isolates, the process's RSS. */
export function nodePlatform(resourceLimits: ResourceLimits | null = null): IsolatePlatform {
  return {
    name: 'node',
    spawn: (isolateId, handlers) => new NodeIsolateChannel(isolateId, handlers, resourceLimits),
    processRssBytes: () => process.memoryUsage.rss(),
    ...SYSTEM_CLOCK,
  };
}

class NodeIsolateChannel implements IsolateChannel {
  readonly #worker: Worker;
  readonly #end: ChannelEnd;

  constructor(isolateId: number, handlers: IsolateHandlers, resourceLimits: ResourceLimits | null) {
    this.#end = new ChannelEnd(handlers);
    this.#worker = new Worker(ISOLATE_SCRIPT, {
      workerData: { role: NODE_ISOLATE_ROLE },
      execArgv: workerExecArgv(process.execArgv),
      name: `prover isolate ${isolateId}`,
      ...(resourceLimits === null ? {} : { resourceLimits }),
    });
    let lastError: RemoteError | null = null;
    this.#worker.on('message', (message) => {
      if (!this.#end.terminating) handlers.message(message);
    });
    // An uncaught error (or a V8 heap out-of-memory) ends the thread: 'error', then 'exit'.
    this.#worker.on('error', (error) => (lastError = toPlainError(error)));
    this.#worker.on('messageerror', (error) => this.#end.end({ kind: 'messageerror', exitCode: null, error: toPlainError(error) }));
    this.#worker.on('exit', (exitCode) => this.#end.end({ kind: 'exit', exitCode, error: lastError }));
  }

  post(message: ToIsolate): void {
    this.#worker.postMessage(message);
  }

  terminate(): Promise<void> {
    return this.#end.terminate(() => this.#worker.terminate().then(() => undefined));
  }

  keepAlive(on: boolean): void {
    if (on) this.#worker.ref();
    else this.#worker.unref();
  }
}
