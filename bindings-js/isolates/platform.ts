/**
 * What the pool core (prover-pool.ts) needs from a platform: spawn an isolate
 * thread and talk to it. node.ts implements it with worker_threads, web.ts
 * with Web Workers; tests implement it in-process.
 *
 * Contract of a channel:
 *   - `handlers.message` gets every message the isolate posts, in order.
 *   - `handlers.exit` is called at most once, when the isolate ends or fails
 *     by itself (its thread exited, an uncaught error, a message that could
 *     not be deserialized), and never after `terminate()` was called.
 *   - `terminate()` stops the thread, whatever it is doing (a running proof
 *     included), and resolves once it has stopped; calling it again returns
 *     the same promise. Its memory is released with the thread.
 *   - `keepAlive(on)`: Node: whether the isolate keeps the process alive
 *     (the pool turns it on while the isolate starts or runs a job); no-op in
 *     browsers.
 */
import type { RemoteError } from './errors.js';
import type { ToIsolate } from './protocol.js';

export interface IsolateExit {
  readonly kind: 'exit' | 'error' | 'messageerror';
  /** The thread's exit code (Node), `null` when unknown. */
  readonly exitCode: number | null;
  /** The error that ended it, if any. */
  readonly error: RemoteError | null;
}

export interface IsolateHandlers {
  message(message: unknown): void;
  exit(exit: IsolateExit): void;
}

export interface IsolateChannel {
  /** Posts a message; throws when it cannot be cloned (e.g. a function in a job's arguments). */
  post(message: ToIsolate): void;
  terminate(): Promise<void>;
  keepAlive(on: boolean): void;
}

export interface IsolatePlatform {
  readonly name: 'node' | 'web';
  /** Starts an isolate thread running the isolate runtime; throws when the thread cannot be created. */
  spawn(isolateId: number, handlers: IsolateHandlers): IsolateChannel;
  /** The whole process's resident set (Node), `null` where unknown (browsers). */
  processRssBytes(): number | null;
  /** Epoch ms. */
  now(): number;
  /** In [0, 1): jitter draws. */
  random(): number;
}
