/**
 * The messages between the pool and an isolate, shared by both sides and both
 * platforms (worker_threads and Web Workers). Plain, structured-cloneable data.
 *
 *   pool → isolate: init (once, first), run, health
 *   isolate → pool: ready | start-failed (once, answering init),
 *                   result | failed (answering run), health (answering health)
 *
 * They travel on a private channel (I7): a MessagePort the pool creates for
 * each isolate and hands to it (Node: in `workerData`, transferred; web: in a
 * `connect` message, the only one the isolate takes from its worker scope).
 * The thread's own `parentPort` / worker scope, which the proving module and
 * its libraries may post on, carries none of them: what arrives there is a
 * stray message, ignored and counted. On the private channel every `type` is
 * namespaced (`o1js-isolates:…`) and every message carries the isolate's
 * random `token` from `init`; the pool checks each message's shape
 * (protocol-check.ts), and anything malformed is that isolate's crash
 * (`protocol`), never an exception in the pool.
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

/** The argument a process isolate (`isolation: 'process'`) is forked with, so its script knows it was. */
export const PROCESS_ISOLATE_ARG = 'plonk-wasm:prover-isolate-process';

/** The namespace of every message type (`o1js-isolates:ready`, …). */
export const MESSAGE_PREFIX = 'o1js-isolates:';

/** Web: the first message to an isolate's worker scope, carrying the private port (`event.ports[0]`). */
export const CONNECT_TYPE = `${MESSAGE_PREFIX}connect`;

export const TO_ISOLATE = { init: `${MESSAGE_PREFIX}init`, run: `${MESSAGE_PREFIX}run`, health: `${MESSAGE_PREFIX}health-request` } as const;

export const FROM_ISOLATE = {
  ready: `${MESSAGE_PREFIX}ready`,
  startFailed: `${MESSAGE_PREFIX}start-failed`,
  result: `${MESSAGE_PREFIX}result`,
  failed: `${MESSAGE_PREFIX}failed`,
  health: `${MESSAGE_PREFIX}health`,
} as const;

/** A fresh token for one isolate: 128 random bits as hex (Math.random where no crypto exists). */
export function newToken(): string {
  const bytes = new Uint8Array(16);
  const crypto = (globalThis as { crypto?: { getRandomValues?(array: Uint8Array): Uint8Array } }).crypto;
  if (crypto?.getRandomValues !== undefined) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface InitMessage {
  readonly type: typeof TO_ISOLATE.init;
  readonly token: string;
  readonly isolateId: number;
  /** URL of the proving module; `null`: the isolate's script brought its own (web: serveProverIsolate). */
  readonly module: string | null;
  /** The module file's content hash the pool serves (its first isolate's); `null` before it is known. */
  readonly moduleHash: string | null;
  /** o1js's setNumberOfWorkers before its bindings load; `null`: o1js's default. */
  readonly threads: number | null;
  /** The isolate's wasm memory maximum; `null`: the platform's default. */
  readonly memoryMaximumBytes: number | null;
  readonly warm: { readonly name: string; readonly args: unknown } | null;
}

export interface RunMessage {
  readonly type: typeof TO_ISOLATE.run;
  readonly token: string;
  readonly jobId: number;
  readonly name: string;
  readonly args: unknown;
}

export interface HealthRequestMessage {
  readonly type: typeof TO_ISOLATE.health;
  readonly token: string;
  readonly requestId: number;
}

export type ToIsolate = InitMessage | RunMessage | HealthRequestMessage;

export interface ReadyMessage {
  readonly type: typeof FROM_ISOLATE.ready;
  readonly token: string;
  /** The module's jobs (its `jobs` export). */
  readonly jobNames: readonly string[];
  /** The module file's content hash (Node, file: URLs), `null` where it cannot be read. */
  readonly moduleHash: string | null;
  /** Import of the module, o1js's bindings and pool included. */
  readonly loadMs: number;
  /** The warm step; 0 without one. */
  readonly warmMs: number;
  readonly snapshot: IsolateSnapshot;
}

export interface StartFailedMessage {
  readonly type: typeof FROM_ISOLATE.startFailed;
  readonly token: string;
  readonly stage: Extract<StartStage, 'load' | 'warm' | 'module-changed'>;
  readonly error: RemoteError;
}

export interface ResultMessage {
  readonly type: typeof FROM_ISOLATE.result;
  readonly token: string;
  readonly jobId: number;
  readonly value: unknown;
  readonly runMs: number;
  /** `null` when the snapshot after the job could not be taken. */
  readonly snapshot: IsolateSnapshot | null;
}

export interface FailedMessage {
  readonly type: typeof FROM_ISOLATE.failed;
  readonly token: string;
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
  readonly type: typeof FROM_ISOLATE.health;
  readonly token: string;
  readonly requestId: number;
  /** `null` when the snapshot could not be taken (the pool keeps the last one). */
  readonly snapshot: IsolateSnapshot | null;
}

export type FromIsolate = ReadyMessage | StartFailedMessage | ResultMessage | FailedMessage | HealthReplyMessage;

/** A message from an isolate without its token (the runtime adds it). */
export type Unsigned<Message> = Message extends unknown ? Omit<Message, 'token'> : never;
