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
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import { checkOptions, type FieldRules } from '../lib/proof-system/kernel/options.js';
import { toPlainError } from '../lib/proof-system/kernel/errors.js';
import { poolThreadStart } from '../lib/proof-system/host/pool-thread-start.js';
import { refuseWith, type ProverPoolOptions } from './config.js';
import { ProverPoolConfigError, type RemoteError } from './errors.js';
import { ChannelEnd, SYSTEM_CLOCK, type IsolateChannel, type IsolateExit, type IsolateHandlers, type IsolatePlatform } from './platform.js';
import { NODE_ISOLATE_ROLE, PROCESS_ISOLATE_ARG, type ToIsolate } from './protocol.js';
import type { ProverJobs, UntypedJobs } from './jobs.js';
import { ProverPool } from './prover-pool.js';
import { autoSplit, DEFAULT_ISOLATE_BUDGET_BYTES, fixedThreads } from './auto-split.js';

export * from './api.js';

export type NodeProverPoolOptions = Omit<ProverPoolOptions, 'module' | 'isolates'> & {
  /** The proving module: a path (absolute, or relative to the working directory), a file: URL string, or a file: URL. */
  readonly module: string | URL;
  /**
   * Isolates serving at once, or 'auto': one per core as long as free memory
   * holds them and a replacement's successor (each budgeted its
   * `limits.memoryMaximumBytes`, or `limits.maxRssBytes`, else 1.5 GiB), with
   * the cores left over as threads (auto-split.ts); `threadsPerIsolate`, when
   * given, is kept. The pool's `config` says what was chosen.
   */
  readonly isolates?: number | 'auto';
  /** V8 limits of each isolate thread (worker_threads' resourceLimits); they do not cover wasm memory. */
  readonly resourceLimits?: ResourceLimits | null;
  /**
   * 'thread' (default): each isolate is a worker_thread of this process.
   * 'process': each isolate is that same thread in a child process of its
   * own, so that ending it gives back everything it held, including what a
   * thread leaves in its process (its Node environment, malloc arenas); costs
   * a Node process per isolate.
   */
  readonly isolation?: NodeIsolation;
  /**
   * 'wasm' (default): o1js's wasm backend, with this project's pool.
   * 'native': o1js's native backend (`@o1js/native`, installed beside o1js),
   * faster per proof; its memory is native, the process's, so each isolate is
   * a process of its own (isolation 'process', the default with it) and its
   * memory limit is `limits.maxRssBytes`, not the wasm memory maximum.
   */
  readonly backend?: NodeBackend;
};

export type NodeIsolation = 'thread' | 'process';
export type NodeBackend = 'wasm' | 'native';

/** What a child process of an isolate is told (node-process-isolate.ts). */
interface ProcessIsolateOptions {
  readonly resourceLimits: ResourceLimits | null;
  readonly backend: NodeBackend;
  /** Its Rayon threads (native: RAYON_NUM_THREADS), when set. */
  readonly threads: number | null;
}

const ISOLATE_SCRIPT = new URL('./node-isolate.js', import.meta.url);
const PROCESS_ISOLATE_SCRIPT = new URL('./node-process-isolate.js', import.meta.url);
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
    const { resourceLimits = null, backend = 'wasm', isolation: asked, module, ...rest } = options;
    if (resourceLimits !== null) {
      if (typeof resourceLimits !== 'object' || Array.isArray(resourceLimits)) throw new ProverPoolConfigError('resourceLimits', resourceLimits, "null, or worker_threads' resourceLimits object");
      checkOptions(resourceLimits, RESOURCE_LIMIT_RULES, refuseWith('resourceLimits.'));
    }
    if (backend !== 'wasm' && backend !== 'native') throw new ProverPoolConfigError('backend', backend, "'wasm' or 'native'");
    const isolation = asked ?? (backend === 'native' ? 'process' : 'thread');
    if (isolation !== 'thread' && isolation !== 'process') throw new ProverPoolConfigError('isolation', isolation, "'thread' or 'process'");
    if (backend === 'native') {
      if (isolation !== 'process') {
        throw new ProverPoolConfigError('isolation', isolation, "'process' with backend 'native' (native memory is its process's: only ending the process gives it back)");
      }
      const maximum = (rest.limits as { memoryMaximumBytes?: unknown } | undefined)?.memoryMaximumBytes;
      if (maximum !== undefined && maximum !== null) {
        throw new ProverPoolConfigError('limits.memoryMaximumBytes', maximum, "null with backend 'native' (a native isolate has no wasm memory: bound it with limits.maxRssBytes)");
      }
    }
    const split = rest.isolates === 'auto' ? autoSplitHere(rest) : {};
    const core = { ...rest, ...split };
    const threads = typeof core.threadsPerIsolate === 'number' ? core.threadsPerIsolate : null;
    return ProverPool.start<Jobs>(nodePlatform(resourceLimits, isolation, { resourceLimits, backend, threads }), { ...core, module: moduleUrl(module) });
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `isolates: 'auto'` on this machine: its cores and free memory (a bad threadsPerIsolate is left to the pool's own check). */
function autoSplitHere(options: { readonly threadsPerIsolate?: unknown; readonly limits?: unknown }): { isolates: number; threadsPerIsolate: number } {
  const limits = (typeof options.limits === 'object' && options.limits !== null ? options.limits : {}) as { memoryMaximumBytes?: unknown; maxRssBytes?: unknown };
  const budget = [limits.memoryMaximumBytes, limits.maxRssBytes].find((v): v is number => typeof v === 'number' && v > 0) ?? DEFAULT_ISOLATE_BUDGET_BYTES;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const { isolates, threadsPerIsolate } = autoSplit({ cores, freeMemoryBytes: os.freemem() }, budget, fixedThreads(options.threadsPerIsolate));
  return { isolates, threadsPerIsolate };
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

/** The Node platform: isolates as worker_threads, or as those threads in child processes; the process's RSS. */
export function nodePlatform(
  resourceLimits: ResourceLimits | null = null,
  isolation: NodeIsolation = 'thread',
  processOptions: ProcessIsolateOptions = { resourceLimits, backend: 'wasm', threads: null },
): IsolatePlatform {
  return {
    name: 'node',
    spawn: (isolateId, handlers) =>
      isolation === 'process' ? new ProcessIsolateChannel(isolateId, handlers, processOptions) : new NodeIsolateChannel(isolateId, handlers, resourceLimits),
    processRssBytes: () => process.memoryUsage.rss(),
    isolateProcesses: isolation === 'process',
    ...SYSTEM_CLOCK,
  };
}

/**
 * This process's Node options for a child: those that run code of their own
 * instead of the script (`--eval`, `--print`, `--input-type`) or belong to
 * the test runner (`--test`, `--test-*`, `--watch`) are left out with their
 * values, so the child runs the isolate's script with everything else (V8
 * flags, loaders, conditions). In execArgv, an entry that does not start with
 * '-' is always the value of the option before it (the script is not there).
 */
export function childExecArgv(execArgv: readonly string[]): string[] {
  const takesValue = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
  const dropped = (name: string) => takesValue.has(name) || name === '--test' || name.startsWith('--test-') || name.startsWith('--watch') || ['-i', '--interactive', '-c', '--check'].includes(name);
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const [name] = arg.split('=') as [string];
    if (!dropped(name)) {
      kept.push(arg);
      continue;
    }
    const next = execArgv[i + 1];
    const valueFollows = !arg.includes('=') && next !== undefined && (takesValue.has(name) || !next.startsWith('-'));
    if (valueFollows) i++;
  }
  return kept;
}

/**
 * One isolate in a child process of its own (node-process-isolate.js runs the
 * isolate thread there and relays its private port over IPC). Terminating it
 * kills the process, which returns everything the isolate held to the OS.
 */
class ProcessIsolateChannel implements IsolateChannel {
  readonly #child: ChildProcess;
  readonly #end: ChannelEnd;
  readonly #exited: Promise<void>;

  constructor(isolateId: number, handlers: IsolateHandlers, options: ProcessIsolateOptions) {
    this.#end = new ChannelEnd(handlers);
    const args = [PROCESS_ISOLATE_ARG, JSON.stringify({ resourceLimits: options.resourceLimits, backend: options.backend })];
    // o1js picks its backend from O1JS_BACKEND when it loads: each isolate gets the one asked for, whatever this process's is.
    const env: NodeJS.ProcessEnv = { ...process.env, O1JS_BACKEND: options.backend };
    if (options.backend === 'native' && options.threads !== null) env.RAYON_NUM_THREADS = String(options.threads);
    this.#child = fork(new URL(PROCESS_ISOLATE_SCRIPT), args, {
      env,
      execArgv: childExecArgv(process.execArgv),
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // 'close', not 'exit': by then every message the process sent has been delivered.
    this.#exited = new Promise((resolve) => this.#child.once('close', () => resolve()));
    let reported: IsolateExit | null = null;
    this.#child.on('message', (message: unknown) => {
      if (this.#end.terminating || !Array.isArray(message)) return;
      if (message[0] === 'message') handlers.message(message[1]);
      else if (message[0] === 'stray') handlers.stray();
      else if (message[0] === 'exit') reported = message[1] as IsolateExit;
    });
    // A process that cannot be started, or whose IPC broke: it is ended (once) as a thread that failed would be.
    this.#child.on('error', (error) => {
      this.#end.end({ kind: 'error', exitCode: null, error: toPlainError(error) });
      this.#child.kill('SIGKILL');
    });
    this.#child.on('close', (exitCode, signal) => {
      const error = signal === null ? null : toPlainError(new Error(`isolate ${isolateId}'s process was ended by ${signal}`));
      this.#end.end(reported ?? { kind: 'exit', exitCode, error });
    });
  }

  post(message: ToIsolate): void {
    // Cloned now, as a worker's postMessage does, so that an argument that cannot be sent throws to the caller.
    this.#child.send(['message', structuredClone(message)]);
  }

  terminate(): Promise<void> {
    return this.#end.terminate(() => {
      if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
      return this.#exited;
    });
  }

  keepAlive(on: boolean): void {
    const channel = this.#child.channel as { ref(): void; unref(): void } | null | undefined;
    if (on) {
      this.#child.ref();
      channel?.ref();
    } else {
      this.#child.unref();
      channel?.unref();
    }
  }
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
