/**
 * What the pool core (prover-pool.ts) needs from a platform: spawn an isolate
 * thread and talk to it. node.ts implements it with worker_threads, web.ts
 * with Web Workers; tests implement it in-process.
 *
 * Contract of a channel:
 *   - `handlers.message` gets every message the isolate posts on the pool's
 *     private channel (a MessagePort handed to it), in order.
 *   - `handlers.stray` is called for a message on the thread's own public
 *     port (`parentPort`, the worker scope): the proving module's or its
 *     libraries', never the pool's. It carries nothing the pool acts on.
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
  stray(): void;
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
  /** Each isolate runs in a process of its own: its RSS is not in processRssBytes (its snapshot's rssShareBytes measures it). */
  readonly isolateProcesses: boolean;
  /** Epoch ms. */
  now(): number;
  /** In [0, 1): jitter draws. */
  random(): number;
}

/** The system's clock and randomness, which both adapters give. */
export const SYSTEM_CLOCK: Pick<IsolatePlatform, 'now' | 'random'> = Object.freeze({
  now: () => Date.now(),
  random: () => Math.random(),
});

/**
 * The end of one isolate's channel as the contract above wants it: `exit`
 * reported at most once and never after `terminate()`, which stops the thread
 * once and hands every caller the same promise. Each adapter keeps one per
 * channel and feeds it its platform's events.
 */
export class ChannelEnd {
  readonly #handlers: IsolateHandlers;
  #terminated: Promise<void> | null = null;
  #ended = false;

  constructor(handlers: IsolateHandlers) {
    this.#handlers = handlers;
  }

  /** `terminate()` was called. */
  get terminating(): boolean {
    return this.#terminated !== null;
  }

  /** Neither terminated nor ended. */
  get open(): boolean {
    return this.#terminated === null && !this.#ended;
  }

  /** The isolate ended by itself: reported unless it was terminated or already ended. */
  end(exit: IsolateExit): void {
    if (!this.open) return;
    this.#ended = true;
    this.#handlers.exit(exit);
  }

  /** Stops the thread with `stop` the first time; the same promise every time. */
  terminate(stop: () => Promise<void>): Promise<void> {
    this.#terminated ??= stop();
    return this.#terminated;
  }
}
