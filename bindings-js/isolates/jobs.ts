/**
 * The types of a proving module's jobs, and how `pool.run()` takes them from
 * the module: `createProverPool<typeof jobs>(…)` gives a pool whose
 * `run('prove', args)` checks `args` against the job's parameter and resolves
 * with its (awaited) return type. Types only: no runtime code.
 *
 *   // prover.ts (the proving module)
 *   export const jobs = {
 *     async prove({ x, y }: { x: number; y: number }, context: JobContext) { … return proof.toJSON(); },
 *   };
 *   // the caller
 *   import type * as Prover from './prover.js';
 *   const pool = await createProverPool<typeof Prover.jobs>({ module: new URL('./prover.js', import.meta.url) });
 *   const json = await pool.run('prove', { x: 1, y: 2 });       // typed: the return type of jobs.prove
 *
 * Arguments and results cross a thread: they must be structured-cloneable
 * (plain data, typed arrays, Maps, Dates…; no functions, no class instances
 * with methods: a proof crosses as `proof.toJSON()`).
 */
import type { PoolBackendApi, ThreadPoolOptions, ThreadPoolSettings } from '../lib/proof-system/pool-api.js';
import type { PoolHealth } from '../lib/proof-system/pool-health.js';

/** What a job gets besides its arguments. */
export interface JobContext {
  /** The isolate running it. */
  readonly isolateId: number;
  /** The job's id; `null` for the warm step. */
  readonly jobId: number | null;
  readonly platform: 'node' | 'web';
}

/** A proving module's `jobs` export: named functions of (args, context). */
export type ProverJobs = { readonly [name: string]: (args: never, context: JobContext) => unknown };

/** A pool created without a type argument: any job name, arguments and result not checked. */
export type UntypedJobs = { readonly [name: string]: (args?: unknown, context?: JobContext) => unknown };

/** The names of `Jobs`. */
export type JobName<Jobs> = Extract<keyof Jobs, string>;

/** A job's argument type (`undefined` for a job without parameters). */
export type JobArgs<Job> = Job extends (...parameters: infer P) => unknown ? (P extends [] ? undefined : P[0]) : never;

/** A job's result: its return type, awaited. */
export type JobResult<Job> = Job extends (...parameters: never[]) => infer R ? Awaited<R> : never;

/** `run()`'s options. */
export interface RunOptions {
  /** Aborts the job: a queued one leaves the queue; a running one's isolate is terminated and replaced (the job is rejected once it is stopped). */
  readonly signal?: AbortSignal;
  /**
   * The job's deadline, in whole ms from run() (1 to 2^31 − 1; default the
   * pool's jobTimeoutMs): past it, a queued job leaves the queue, a running
   * one's isolate is terminated and replaced; it rejects with
   * PROVER_POOL_JOB_TIMEOUT.
   */
  readonly timeoutMs?: number | null;
}

/** `run(name, …)`'s remaining arguments: `args` may be left out when the job accepts `undefined`. */
export type RunArguments<Job> = undefined extends JobArgs<Job> ? [args?: JobArgs<Job>, options?: RunOptions] : [args: JobArgs<Job>, options?: RunOptions];

/** The o1js a proving module exports as `o1js` (`export * as o1js from 'o1js'`): what the isolate calls on it. */
export interface O1jsModule {
  setNumberOfWorkers?(numWorkers: number): void;
}

/** The `o1js/pool` a proving module exports as `o1jsPool`: what the isolate calls on it. */
export interface O1jsPoolModule {
  /** Only its settling matters here: the backend is read through the other functions. */
  loadPoolBackend?(): Promise<Pick<PoolBackendApi, 'platform'>>;
  poolHealth?(): Promise<PoolHealth>;
  configureThreadPool?(options: ThreadPoolOptions): ThreadPoolSettings;
}

/** A proving module's exports, as the isolate reads them. */
export interface ProvingModuleExports<Jobs extends ProverJobs = ProverJobs> {
  readonly jobs: Jobs;
  /** Optional: the isolate calls its setNumberOfWorkers(threadsPerIsolate) before o1js's bindings load. */
  readonly o1js?: O1jsModule;
  /** Optional: the isolate reads its health and (web) sets its memory maximum through it. */
  readonly o1jsPool?: O1jsPoolModule;
}
