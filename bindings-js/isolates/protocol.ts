/**
 * The messages between the pool and an isolate, shared by both sides and both
 * platforms (worker_threads and Web Workers). Plain, structured-cloneable data.
 *
 *   pool → isolate: init (once, first), run, health
 *   isolate → pool: ready | start-failed (once, answering init),
 *                   result | failed (answering run), health (answering health)
 *
 * The pool sends `run` only to an idle isolate, so an isolate runs one job at a
 * time. An isolate handles messages in order, one at a time: a `health` sent
 * while a job runs is answered after the job (the job blocks the thread).
 */
import type { RemoteError, StartStage } from './errors.js';
import type { IsolateSnapshot } from './health.js';
import type { JobFault } from './replacement-policy.js';

/**
 * Node: the `workerData.role` of an isolate thread. o1js's patched backend
 * treats a thread whose role is not one of its own pool's as a prover of its
 * own (its own instance, on `workerData.memory`).
 */
export const NODE_ISOLATE_ROLE = 'plonk-wasm:prover-isolate';

export interface InitMessage {
  readonly type: 'init';
  readonly isolateId: number;
  /** URL of the proving module; `null`: the isolate's script brought its own (web: serveProverIsolate). */
  readonly module: string | null;
  /** o1js's setNumberOfWorkers before its bindings load; `null`: o1js's default. */
  readonly threads: number | null;
  /** The isolate's wasm memory maximum; `null`: the platform's default. */
  readonly memoryMaximumBytes: number | null;
  readonly warm: { readonly name: string; readonly args: unknown } | null;
}

export interface RunMessage {
  readonly type: 'run';
  readonly jobId: number;
  readonly name: string;
  readonly args: unknown;
}

export interface HealthRequestMessage {
  readonly type: 'health';
  readonly requestId: number;
}

export type ToIsolate = InitMessage | RunMessage | HealthRequestMessage;

export interface ReadyMessage {
  readonly type: 'ready';
  /** The module's jobs (its `jobs` export). */
  readonly jobNames: readonly string[];
  /** Import of the module, o1js's bindings and pool included. */
  readonly loadMs: number;
  /** The warm step; 0 without one. */
  readonly warmMs: number;
  readonly snapshot: IsolateSnapshot;
}

export interface StartFailedMessage {
  readonly type: 'start-failed';
  readonly stage: Extract<StartStage, 'load' | 'warm'>;
  readonly error: RemoteError;
}

export interface ResultMessage {
  readonly type: 'result';
  readonly jobId: number;
  readonly value: unknown;
  readonly runMs: number;
  readonly snapshot: IsolateSnapshot;
}

export interface FailedMessage {
  readonly type: 'failed';
  readonly jobId: number;
  readonly error: RemoteError;
  /**
   * The instance is dead: the error was a wasm trap (or o1js's
   * POOL_INSTANCE_TERMINATED), or o1js/pool's poolHealth() threw right after.
   * The pool fails the job as a crash and replaces the isolate.
   */
  readonly instanceDead: boolean;
  /**
   * A fault the instance survived but that calls for a fresh one (the pool
   * replaces the isolate, blue/green): `outOfMemory` (o1js/pool's
   * POOL_OUT_OF_MEMORY, or a panic with `[OUT_OF_MEMORY]`: its linear memory
   * has grown to the maximum), `wasmPanic` (a Rust panic left the wasm as a
   * WebAssembly.Exception).
   */
  readonly fault: JobFault | null;
  readonly runMs: number;
  readonly snapshot: IsolateSnapshot | null;
}

export interface HealthReplyMessage {
  readonly type: 'health';
  readonly requestId: number;
  readonly snapshot: IsolateSnapshot;
}

export type FromIsolate = ReadyMessage | StartFailedMessage | ResultMessage | FailedMessage | HealthReplyMessage;

const FROM_ISOLATE_TYPES = ['ready', 'start-failed', 'result', 'failed', 'health'];

/** A message from an isolate has a known `type` (anything else is a protocol error, treated as a crash). */
export function isFromIsolate(message: unknown): message is FromIsolate {
  return typeof message === 'object' && message !== null && FROM_ISOLATE_TYPES.includes((message as { type?: unknown }).type as string);
}
