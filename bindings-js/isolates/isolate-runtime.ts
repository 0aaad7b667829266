/**
 * The isolate side, the same on every platform: loads the proving module,
 * brings its o1js up (thread count, memory, bindings), runs the warm step,
 * then runs jobs one at a time and reports its health. node-isolate.ts and
 * web-isolate.ts give it a thread's message endpoint and an environment.
 *
 * The proving module (the user's) is an ES module that exports:
 *
 *   export const jobs = { async prove(args, context) { … return proof.toJSON(); }, … };
 *   export * as o1js from 'o1js';             // optional: setNumberOfWorkers(threadsPerIsolate)
 *   export * as o1jsPool from 'o1js/pool';    // optional: health, memory maximum (web)
 *
 * `o1js` and `o1jsPool` are the module's own imports, so the runtime talks to
 * the same o1js the jobs use (the isolate's one instance). Each job gets
 * structured-cloned `args` and a context `{ isolateId, jobId, platform }`,
 * and returns a structured-cloneable value (proofs as JSON).
 *
 * Messages are handled strictly in order, one at a time (a chain of
 * promises): `init` first, then `run` and `health` as they come. While a job
 * runs (a proof blocks this thread anyway) nothing else is handled. The loop
 * cannot stop (I8): each message is handled in its own try/catch; a snapshot
 * that throws is reported as `null`, a reply that cannot be posted (a result
 * or an error field that does not clone) becomes a plain failure, and a
 * failure to handle a message at all is printed and the loop goes on.
 * Messages come only from the pool's private channel and carry this
 * isolate's token (protocol.ts); any other is ignored.
 *
 * The module is pinned (Node, file: URLs): the pool sends the content hash of
 * the module file its first isolate loaded, and an isolate whose file hashes
 * differently fails to start (`module-changed`) before importing it, so a
 * pool never mixes versions of its module. `threadsPerIsolate` needs the
 * module's `o1js` export: without it the start fails rather than ignoring it.
 *
 * A failed job is classified for the pool: a trap (the instance is dead: the
 * isolate is lost), or a fault the instance survived but that calls for a
 * fresh one (out of wasm memory; a Rust panic that left the wasm as a bare
 * WebAssembly.Exception, which carries no message: the panic hook's console
 * line, seen while the job ran, gives it one). Out of memory is also taken on
 * o1js/pool's count of failed allocations rising during the job: the panic
 * hook is installed only once o1js has built an index or proved, so an
 * isolate's first out of memory may print nothing.
 *
 * A trap is taken only on evidence from the instance, the rule o1js/pool's
 * backend follows (errors.ts `PoolInstanceTerminatedError`): the job's error
 * is o1js/pool's POOL_INSTANCE_TERMINATED (the backend saw the trap escape
 * one of the instance's exports), or reading o1js/pool's health right after
 * the job fails. An error's name is not evidence: a `RuntimeError` thrown by
 * the job's own code, or by another wasm module, is the job's failure, and
 * the isolate keeps serving.
 */
import { safeString, toPlainError, withMemoryMaximum } from '../lib/proof-system/kernel/errors.js';
import type { PoolHealth } from '../lib/proof-system/pool-health.js';
import type { RemoteError } from './errors.js';
import type { IsolateMemory, IsolateSnapshot } from './health.js';
import type { JobContext, O1jsModule, O1jsPoolModule, ProverJobs } from './jobs.js';
import { FROM_ISOLATE, TO_ISOLATE, type FromIsolate, type InitMessage, type RunMessage, type Unsigned } from './protocol.js';
import type { JobFault } from './replacement-policy.js';

/** The proving module's exports the runtime uses (validated when it loads). */
export interface ProvingModule {
  readonly jobs: ProverJobs;
  readonly o1js: O1jsModule | null;
  readonly o1jsPool: O1jsPoolModule | null;
}

/** A thread's side of the private channel to the pool. */
export interface IsolateEndpoint {
  post(message: FromIsolate): void;
  listen(handler: (message: unknown) => void): void;
}

/** What differs between platforms inside an isolate. */
export interface IsolateEnvironment {
  readonly platform: 'node' | 'web';
  /** The module file's content hash (Node: file: URLs), `null` where none can be read. */
  fingerprint(url: string | null): string | null;
  /** Before the module loads (Node: the isolate's own WebAssembly.Memory, which o1js then uses). */
  beforeLoad(init: InitMessage): void;
  /** After the module loaded, before o1js's bindings (web: o1js's memory maximum). */
  configure(module: ProvingModule, init: InitMessage): void;
  /** The proving module: imported from `url`, or (`url` null) the one the isolate's script brought. */
  importModule(url: string | null): Promise<unknown>;
  /** The isolate's memory figures, given o1js's pool health (`null` without one). */
  memory(pool: PoolHealth | null, init: InitMessage): IsolateMemory;
  /** `false` when o1js runs a backend without o1js/pool's pool (native); default `true`. */
  readonly poolBackend?: boolean;
}

class StartFailure extends Error {
  constructor(
    readonly stage: 'load' | 'warm' | 'module-changed',
    readonly original: unknown,
  ) {
    super('start failure');
  }
}

/** Serves the pool from inside an isolate until the thread is terminated. */
export function serveIsolate(endpoint: IsolateEndpoint, environment: IsolateEnvironment): void {
  let init: InitMessage | null = null;
  let module: ProvingModule | null = null;
  let jobsRun = 0;
  /** o1js/pool's count of failed allocations at the last snapshot (`null`: unknown). */
  let failedAllocations: number | null = null;
  let chain: Promise<void> = Promise.resolve();
  const panics = watchPanicLines();

  const post = (message: Unsigned<FromIsolate>): void => endpoint.post({ ...message, token: (init as InitMessage).token } as FromIsolate);
  /** Posts `message`; returns what stopped it (e.g. a DataCloneError), or `null` once sent. */
  const tryPost = (message: Unsigned<FromIsolate>): unknown => {
    try {
      post(message);
      return null;
    } catch (error) {
      return error ?? new Error('posting failed');
    }
  };

  const snapshot = async (): Promise<IsolateSnapshot> => {
    let pool: PoolHealth | null = null;
    let poolError: string | null = null;
    if (module?.o1jsPool?.poolHealth !== undefined) {
      try {
        pool = await module.o1jsPool.poolHealth();
      } catch (error) {
        poolError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
    const count = (pool as { memory?: { failedAllocations?: unknown } } | null)?.memory?.failedAllocations;
    failedAllocations = typeof count === 'number' ? count : null;
    return { timestampMs: Date.now(), pool, poolError, memory: environment.memory(pool, init as InitMessage), jobsRun };
  };
  /** A snapshot, or `null` when taking it threw (e.g. o1js/pool's health of an unexpected shape). */
  const trySnapshot = (): Promise<IsolateSnapshot | null> => snapshot().catch(() => null);

  const load = async (message: InitMessage): Promise<string | null> => {
    const moduleHash = environment.fingerprint(message.module);
    if (message.moduleHash !== null && moduleHash !== null && moduleHash !== message.moduleHash) {
      const error = new Error(
        `the proving module ${message.module} changed since the pool started (content hash ${message.moduleHash.slice(0, 12)}… → ${moduleHash.slice(0, 12)}…): ` +
          'a pool serves the module it started with. Create a new pool to deploy the new version, and close this one once the new one is ready',
      );
      throw new StartFailure('module-changed', error);
    }
    environment.beforeLoad(message);
    const loaded = validateModule(await environment.importModule(message.module), message.module);
    // Another backend (native): o1js/pool has no pool to load or read, and its absence is no evidence of a trap.
    module = environment.poolBackend === false ? { ...loaded, o1jsPool: null } : loaded;
    if (message.threads !== null) {
      const o1js = module.o1js;
      if (typeof o1js?.setNumberOfWorkers !== 'function') {
        throw new TypeError(
          `threadsPerIsolate ${message.threads} needs the proving module to export o1js as \`o1js\` (export * as o1js from 'o1js'): ` +
            "its setNumberOfWorkers sets the isolate's Rayon threads. Export it, or leave threadsPerIsolate unset (o1js's default)",
        );
      }
      o1js.setNumberOfWorkers(message.threads);
    }
    environment.configure(module, message);
    await module.o1jsPool?.loadPoolBackend?.();
    return moduleHash;
  };

  const start = async (message: InitMessage): Promise<void> => {
    init = message;
    const loadStarted = performance.now();
    let warmMs = 0;
    try {
      let moduleHash: string | null;
      try {
        moduleHash = await load(message);
      } catch (error) {
        throw error instanceof StartFailure ? error : new StartFailure('load', error);
      }
      const loadMs = performance.now() - loadStarted;
      const ready = module as ProvingModule;
      if (message.warm !== null) {
        const warmStarted = performance.now();
        try {
          const job = ready.jobs[message.warm.name];
          if (job === undefined) throw new Error(`the warm step names job '${message.warm.name}', which the module's \`jobs\` export does not have`);
          await job(message.warm.args as never, { isolateId: message.isolateId, jobId: null, platform: environment.platform });
        } catch (error) {
          throw new StartFailure('warm', error);
        }
        warmMs = performance.now() - warmStarted;
      }
      // Taken after the warm step: the memory a fresh isolate serves with.
      post({ type: FROM_ISOLATE.ready, jobNames: Object.keys(ready.jobs), moduleHash, loadMs, warmMs, snapshot: await snapshot() });
    } catch (error) {
      const failure = error instanceof StartFailure ? error : new StartFailure('load', error);
      post({ type: FROM_ISOLATE.startFailed, stage: failure.stage, error: plainError(failure.original) });
    }
  };

  const run = async (message: RunMessage): Promise<void> => {
    const started = performance.now();
    const job = (module as ProvingModule).jobs[message.name];
    const context: JobContext = { isolateId: (init as InitMessage).isolateId, jobId: message.jobId, platform: environment.platform };
    // Jobs run one at a time, so the count at the last snapshot is the count before this job.
    const failedAllocationsBefore = failedAllocations;
    let thrown: unknown;
    panics.reset();
    try {
      if (job === undefined) throw new Error(`the module has no job '${message.name}'`);
      const value = await job(message.args as never, context);
      jobsRun++;
      const runMs = performance.now() - started;
      const notSent = tryPost({ type: FROM_ISOLATE.result, jobId: message.jobId, value, runMs, snapshot: await trySnapshot() });
      if (notSent === null) return;
      thrown = notSent; // the value could not be cloned
    } catch (error) {
      jobsRun++;
      thrown = error;
    }
    const after = await trySnapshot();
    const { failure, fault, reportedTerminated } = classifyFailure(thrown, {
      panicLine: panics.last(),
      // Evidence of out of memory even when the wasm gave no message (a panic before o1js installed its hook).
      allocationFailed: failedAllocationsBefore !== null && failedAllocations !== null && failedAllocations > failedAllocationsBefore,
      memory: after?.memory ?? null,
    });
    // The evidence: o1js/pool said so, or its health read failed right after the job.
    const healthReadFailed = module?.o1jsPool?.poolHealth !== undefined && after !== null && after.pool === null;
    const instanceDead = reportedTerminated || healthReadFailed;
    const failed = { type: FROM_ISOLATE.failed, jobId: message.jobId, instanceDead, fault: instanceDead ? null : fault, runMs: performance.now() - started } as const;
    const notSent = tryPost({ ...failed, error: failure, snapshot: after });
    if (notSent === null) return;
    // The failure itself did not clone (an error field, the snapshot's pool health): a plain one instead.
    const why = `the job failed (${failure.name}: ${failure.message}), and its failure could not be posted (${describeError(notSent)})`;
    post({ ...failed, error: { name: 'Error', message: why, code: failure.code, stack: null, fields: {} }, snapshot: null });
  };

  const handle = async (message: unknown): Promise<void> => {
    if (typeof message !== 'object' || message === null) return;
    const { type, token } = message as { type?: unknown; token?: unknown };
    if (type === TO_ISOLATE.init && init === null) return start(message as InitMessage);
    if (init === null || token !== init.token || module === null) return; // not the pool's, not started, or the start failed
    if (type === TO_ISOLATE.run) return run(message as RunMessage);
    if (type === TO_ISOLATE.health) {
      const requestId = (message as { requestId: number }).requestId;
      // A snapshot that does not clone (o1js/pool's health of an unexpected shape): answered without one.
      if (tryPost({ type: FROM_ISOLATE.health, requestId, snapshot: await trySnapshot() }) !== null) post({ type: FROM_ISOLATE.health, requestId, snapshot: null });
    }
  };

  endpoint.listen((message) => {
    // I8: one message's failure never stops the loop.
    chain = chain
      .then(() => handle(message))
      .catch((error) => console.error(`o1js/isolates: isolate ${init?.isolateId ?? '?'} could not handle a message: ${describeError(error)}`));
  });
}

/**
 * What a job's failure was, for the pool: the error as plain data, the fault
 * that calls for a fresh instance, and whether o1js/pool reported a trap.
 * A bare WebAssembly.Exception (a Rust panic) gets its message from the
 * panic line seen while the job ran; it is out of memory when that line says
 * so or an allocation failed during the job. An out-of-memory message gets
 * the isolate's real memory maximum.
 */
function classifyFailure(
  thrown: unknown,
  seen: { panicLine: string | null; allocationFailed: boolean; memory: IsolateMemory | null },
): { failure: RemoteError; fault: JobFault | null; reportedTerminated: boolean } {
  let failure = plainError(thrown);
  const reportedTerminated = failure.code === 'POOL_INSTANCE_TERMINATED';
  let fault: JobFault | null = null;
  const { panicLine, allocationFailed, memory } = seen;
  if (isWasmException(thrown)) {
    const outOfMemory = /\[OUT_OF_MEMORY\]/.test(panicLine ?? '') || allocationFailed;
    const linear = memory === null ? '' : `; linear memory ${memory.linearBytes} of ${memory.linearMaxBytes} bytes`;
    const said = panicLine ?? (allocationFailed ? 'no panic message was printed, but an allocation failed during the job (o1js/pool health)' : '(no panic message was printed)');
    failure = {
      name: 'WasmPanic',
      message: `a Rust panic left the wasm as a WebAssembly.Exception: ${said}${linear}`,
      code: outOfMemory ? 'POOL_OUT_OF_MEMORY' : 'POOL_JOB_PANICKED',
      stack: null,
      fields: {},
    };
    fault = 'wasmPanic';
  }
  if (isOutOfMemory(thrown) || failure.code === 'POOL_OUT_OF_MEMORY' || allocationFailed) {
    fault = 'outOfMemory';
    failure = { ...failure, message: withMemoryMaximum(failure.message, memory?.linearMaxBytes ?? null) };
  }
  return { failure, fault, reportedTerminated };
}

/** Anything thrown, as plain data; never throws (an error whose fields throw when read is described instead). */
function plainError(error: unknown): RemoteError {
  try {
    return toPlainError(error);
  } catch (unreadable) {
    return { name: 'Error', message: `the job threw an error that could not be read (${describeError(unreadable)})`, code: null, stack: null, fields: {} };
  }
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? `${safeString(error.name)}: ${safeString(error.message)}` : safeString(error);
  } catch {
    return 'an unreadable error';
  }
}

/** Checks the module's shape; throws a TypeError naming what is missing. */
function validateModule(exports: unknown, url: string | null): ProvingModule {
  const record = exports as { jobs?: unknown; o1js?: unknown; o1jsPool?: unknown } | null;
  const jobs = record?.jobs;
  if (typeof jobs !== 'object' || jobs === null || Object.keys(jobs).length === 0) {
    throw new TypeError(`the proving module ${url ?? "given to serveProverIsolate()"} exports no \`jobs\`: expected \`export const jobs = { name: async (args, context) => result, … }\``);
  }
  for (const [name, job] of Object.entries(jobs)) {
    if (typeof job !== 'function') throw new TypeError(`the proving module's jobs.${name} is not a function`);
  }
  const optional = (value: unknown) => (typeof value === 'object' && value !== null ? value : null);
  return { jobs: jobs as ProvingModule['jobs'], o1js: optional(record?.o1js), o1jsPool: optional(record?.o1jsPool) };
}

/**
 * Remembers the last console.error line of a Rust panic (`panicked at …`,
 * printed by the wasm's panic hook) while it passes it on unchanged.
 */
function watchPanicLines(): { reset(): void; last(): string | null } {
  let last: string | null = null;
  const original = console.error;
  console.error = (...args: unknown[]) => {
    try {
      const text = args.map(String).join(' ');
      const at = text.indexOf('panicked at');
      if (at >= 0) last = text.slice(at, at + 600).split('\n\nStack:')[0].replace(/\s+/g, ' ').trim();
    } catch {
      // Never let the watch break logging.
    }
    original.apply(console, args);
  };
  return { reset: () => (last = null), last: () => last };
}

/** A bare WebAssembly.Exception: a Rust panic that unwound out of a wasm export. */
function isWasmException(error: unknown): boolean {
  const Exception = (globalThis as { WebAssembly?: { Exception?: new (...args: never[]) => unknown } }).WebAssembly?.Exception;
  return Exception !== undefined && error instanceof Exception;
}

/**
 * The wasm ran out of memory and said so (the patched build turns an
 * exhausted allocation into an error: o1js/pool's PoolMemoryError, code
 * POOL_OUT_OF_MEMORY, or its `plonk-wasm [OUT_OF_MEMORY]` message when o1js
 * rethrew it without the code).
 */
function isOutOfMemory(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (error as { code?: unknown }).code === 'POOL_OUT_OF_MEMORY' || /\[OUT_OF_MEMORY\]|ran out of wasm memory/.test(error.message);
}
