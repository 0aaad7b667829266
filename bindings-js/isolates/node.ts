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
import { MessageChannel, Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import { checkOptions, type FieldRules } from '../lib/proof-system/kernel/options.js';
import { toPlainError } from '../lib/proof-system/kernel/errors.js';
import { poolThreadStart } from '../lib/proof-system/host/pool-thread-start.js';
import { refuseWith, type ProverPoolOptions } from './config.js';
import { ProverPoolConfigError, type RemoteError } from './errors.js';
import { ChannelEnd, SYSTEM_CLOCK, type IsolateChannel, type IsolateHandlers, type IsolatePlatform } from './platform.js';
import { NODE_ISOLATE_ROLE, type ToIsolate } from './protocol.js';
import type { ProverJobs, UntypedJobs } from './jobs.js';
import { ProverPool } from './prover-pool.js';

export * from './api.js';

export type NodeProverPoolOptions = Omit<ProverPoolOptions, 'module'> & {
  /** The proving module: a path (absolute, or relative to the working directory), a file: URL string, or a file: URL. */
  readonly module: string | URL;
  /** V8 limits of each isolate thread (worker_threads' resourceLimits); they do not cover wasm memory. */
  readonly resourceLimits?: ResourceLimits | null;
};

const ISOLATE_SCRIPT = new URL('./node-isolate.js', import.meta.url);
const MODULE_EXPECTED = 'the proving module: a path, a file: URL string, or a file: URL (a Node isolate imports it from disk)';

const positiveMb = { expected: 'a positive number of megabytes', accepts: (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0 };
const RESOURCE_LIMIT_RULES: FieldRules<Required<ResourceLimits>> = {
  maxOldGenerationSizeMb: positiveMb,
  maxYoungGenerationSizeMb: positiveMb,
  codeRangeSizeMb: positiveMb,
  stackSizeMb: positiveMb,
};

/**
 * Starts a pool of prover isolates; resolves once every isolate is warm (see
 * ProverPool.start). Never throws: a bad option rejects the promise with a
 * ProverPoolConfigError.
 */
export function createProverPool<Jobs extends ProverJobs = UntypedJobs>(options: NodeProverPoolOptions): Promise<ProverPool<Jobs>> {
  try {
    if (typeof options !== 'object' || options === null) throw new ProverPoolConfigError('options', options, 'an object of prover pool options');
    const { resourceLimits = null, module, ...rest } = options;
    if (resourceLimits !== null) {
      if (typeof resourceLimits !== 'object' || Array.isArray(resourceLimits)) throw new ProverPoolConfigError('resourceLimits', resourceLimits, "null, or worker_threads' resourceLimits object");
      checkOptions(resourceLimits, RESOURCE_LIMIT_RULES, refuseWith('resourceLimits.'));
    }
    return ProverPool.start<Jobs>(nodePlatform(resourceLimits), { ...rest, module: moduleUrl(module) });
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A file: URL for a path or a file: URL; any other scheme is refused. */
function moduleUrl(module: unknown): string {
  if (module instanceof URL) {
    if (module.protocol !== 'file:') throw new ProverPoolConfigError('module', module.href, MODULE_EXPECTED);
    return module.href;
  }
  if (typeof module !== 'string' || module.length === 0) throw new ProverPoolConfigError('module', module, MODULE_EXPECTED);
  const hasScheme = /^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module); // not a Windows drive
  if (!hasScheme) return pathToFileURL(resolve(module)).href;
  if (!/^file:/i.test(module)) throw new ProverPoolConfigError('module', module, MODULE_EXPECTED);
  return new URL(module).href;
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

/**
 * One isolate thread and the pool's private MessagePort to it (the other end
 * goes to the thread in `workerData`): the pool's messages never share
 * `parentPort` with the proving module's.
 */
class NodeIsolateChannel implements IsolateChannel {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #end: ChannelEnd;

  constructor(isolateId: number, handlers: IsolateHandlers, resourceLimits: ResourceLimits | null) {
    this.#end = new ChannelEnd(handlers);
    const { port1, port2 } = new MessageChannel();
    try {
      const start = poolThreadStart(ISOLATE_SCRIPT, process.execArgv);
      this.#worker = new Worker(start.specifier, {
        eval: start.eval,
        workerData: { role: NODE_ISOLATE_ROLE, port: port2 },
        transferList: [port2],
        name: `prover isolate ${isolateId}`,
        ...(resourceLimits === null ? {} : { resourceLimits }),
      });
    } catch (error) {
      port1.close();
      throw error;
    }
    this.#port = port1;
    let lastError: RemoteError | null = null;
    port1.on('message', (message) => {
      if (!this.#end.terminating) handlers.message(message);
    });
    port1.on('messageerror', (error) => this.#end.end({ kind: 'messageerror', exitCode: null, error: toPlainError(error) }));
    // parentPort is the proving module's: whatever arrives there is not the pool's.
    const stray = () => {
      if (!this.#end.terminating) handlers.stray();
    };
    this.#worker.on('message', stray);
    this.#worker.on('messageerror', stray);
    // An uncaught error (or a V8 heap out-of-memory) ends the thread: 'error', then 'exit'.
    this.#worker.on('error', (error) => (lastError = toPlainError(error)));
    // The port is closed by terminate(), which the pool calls for every isolate that ends.
    this.#worker.on('exit', (exitCode) => this.#end.end({ kind: 'exit', exitCode, error: lastError }));
  }

  post(message: ToIsolate): void {
    this.#port.postMessage(message);
  }

  terminate(): Promise<void> {
    return this.#end.terminate(() =>
      this.#worker.terminate().then(
        () => this.#port.close(),
        () => this.#port.close(),
      ),
    );
  }

  keepAlive(on: boolean): void {
    if (on) {
      this.#worker.ref();
      this.#port.ref();
    } else {
      this.#worker.unref();
      this.#port.unref();
    }
  }
}
