/**
 * The message protocol between the host's threads: a request names an
 * operation and carries its fields; the reply carries the value, or the error
 * the operation threw, as plain data with its name, code and context fields
 * (the kernel's codec, kernel/errors.ts: `fromPlainError` gives a plain Error
 * with all of them; errors.ts `fromWasmError`, which the backend applies to
 * every error it surfaces, gives it its class again). The same on
 * Node (worker_threads) and on the web (Web Workers, MessagePorts): a
 * `Channel` hides how messages are sent and heard.
 *
 * Shippable: the web backend builds its workers from function sources
 * (`srcFromFunctionModule`), so every function here uses only its arguments,
 * globals and the functions listed in its `deps`.
 */
import { fromPlainError, toPlainError, type PlainError } from '../kernel/errors.js';

/** A message endpoint: a Worker, a worker's parent port, a MessagePort. */
export interface Channel {
  send(message: unknown, transfer?: unknown[]): void;
  listen(listener: (message: unknown) => void): void;
}

export interface Request {
  readonly type: 'plonk-wasm:request';
  readonly op: string;
  readonly id: number;
  readonly [field: string]: unknown;
}

export interface Reply {
  readonly type: 'plonk-wasm:reply';
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: PlainError;
}

export interface Requester {
  /** Runs `op` on the other side; resolves its value or rejects with its error, revived. */
  ask(op: string, fields?: Record<string, unknown>, transfer?: unknown[]): Promise<unknown>;
  /** Rejects everything still waiting (the other side is gone). */
  failAll(error: unknown): void;
  readonly pending: number;
}

/**
 * A message endpoint of either platform: Node's Worker, parentPort or
 * MessagePort (`on('message')`, the data) or the web's Worker, worker scope or
 * MessagePort (`addEventListener`, an event). `postMessage` is declared loosely
 * (each platform types its transfer list its own way).
 */
export interface Endpoint {
  postMessage(message: any, transfer?: any): void;
  on?(event: 'message', listener: (data: unknown) => void): unknown;
  addEventListener?(event: 'message', listener: (event: any) => void): void;
  start?(): void;
}

/** An endpoint of either platform as a `Channel`. */
export function channelOf(endpoint: Endpoint): Channel {
  return {
    send: (message, transfer) => endpoint.postMessage(message, transfer),
    listen(listener) {
      if (typeof endpoint.on === 'function') endpoint.on('message', listener);
      else {
        endpoint.addEventListener!('message', (event: { data: unknown }) => listener(event.data));
        endpoint.start?.();
      }
    },
  };
}

/**
 * Asks `channel` to run operations served by `serve` on the other side.
 * Replies are matched by id; others are ignored (a channel may carry events too).
 */
export function requester(channel: Channel): Requester {
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  let nextId = 1;
  channel.listen((message) => {
    const reply = message as Reply | null;
    if (reply?.type !== 'plonk-wasm:reply') return;
    const waiter = waiting.get(reply.id);
    if (waiter === undefined) return;
    waiting.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(fromPlainError(reply.error));
  });
  return {
    ask(op, fields = {}, transfer = []) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        channel.send({ ...fields, type: 'plonk-wasm:request', op, id }, transfer);
      });
    },
    failAll(error) {
      for (const [id, waiter] of waiting) {
        waiting.delete(id);
        waiter.reject(error);
      }
    },
    get pending() {
      return waiting.size;
    },
  };
}
requester.deps = [fromPlainError];

/**
 * The requests made through the result keep `handle` alive (a Node worker:
 * `ref()` while any of them is pending, `unref()` when the last one is
 * answered); requests made on `requests` directly do not count. Node only: an
 * idle supervisor must not keep the process alive, a request to it must.
 */
export function keepingAlive(requests: Pick<Requester, 'ask'>, handle: { ref(): void; unref(): void }): Pick<Requester, 'ask'> {
  let asking = 0;
  return {
    async ask(op, fields, transfer) {
      if (asking++ === 0) handle.ref();
      try {
        return await requests.ask(op, fields, transfer);
      } finally {
        if (--asking === 0) handle.unref();
      }
    },
  };
}

/**
 * Answers `requester` requests on `channel` with `operations[op](request)`.
 * Only `operations`' own entries are operations (never `constructor` or
 * `__proto__`, which every object has); any other op is refused with
 * `refuse(op, known)`, by default an error naming the known ones.
 */
export function serve(
  channel: Channel,
  operations: Record<string, (request: Request) => unknown>,
  refuse: (op: unknown, known: string[]) => Error = (op, known) => new Error(`unknown request '${String(op)}': expected one of ${known.join(', ')}`),
): void {
  channel.listen(async (message) => {
    const request = message as Request | null;
    if (request?.type !== 'plonk-wasm:request') return;
    try {
      const op = request.op;
      if (typeof op !== 'string' || !Object.prototype.hasOwnProperty.call(operations, op)) throw refuse(op, Object.keys(operations));
      const value = await operations[op]!(request);
      channel.send({ type: 'plonk-wasm:reply', id: request.id, ok: true, value });
    } catch (error) {
      channel.send({ type: 'plonk-wasm:reply', id: request.id, ok: false, error: toPlainError(error) });
    }
  });
}
serve.deps = [toPlainError];
