/**
 * Every error the JS side of the pool throws, in one module.
 *
 * Each class has a stable `code` a caller can branch on (never parse the
 * message), the context that explains it, and the original error as `cause`
 * when it wraps one. Messages say what happened, what was expected and what to
 * do. `fromWasmError` turns the errors plonk-wasm throws into these classes.
 */
import type { PoolHealth } from './pool-health.js';

// The wasm's codes (README, "The JS API"), generated from its Rust definitions.
import { WASM_POOL_ERROR_CODES, type WasmPoolErrorCode } from './pool-abi.js';
export { WASM_POOL_ERROR_CODES, type WasmPoolErrorCode };

export type PoolErrorCode =
  | 'POOL_OUT_OF_MEMORY'
  | 'POOL_POISONED'
  | 'POOL_RECYCLE_TIMEOUT'
  | 'POOL_TIMEOUT'
  | 'POOL_HOST_FAILED'
  | 'POOL_INSTANCE_TERMINATED'
  | WasmPoolErrorCode;

/** Base of every pool error: a stable `code`, and `cause` when it wraps one. */
export class PoolError extends Error {
  readonly code: PoolErrorCode;

  constructor(code: PoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    // Set by hand, not through Error's options: o1js compiles for ES2021, whose
    // Error constructor takes no options. Not enumerable, like Error's own.
    if (options?.cause !== undefined) {
      Object.defineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true });
    }
    this.code = code;
    // Subclasses set their own name so stack traces and `String(error)` show it.
    this.name = new.target.name;
  }
}

/** Why memory ran out: the coordinator refused the job, or the job hit the wasm's limit. */
export type PoolMemoryErrorKind = 'admission-refused' | 'job-out-of-memory';

/**
 * `POOL_OUT_OF_MEMORY`: a job was refused because even a fresh pool would not
 * have the configured headroom, or a job ran out of wasm memory (the wasm then
 * released the job's memory and the pool keeps working).
 */
export class PoolMemoryError extends PoolError {
  readonly kind: PoolMemoryErrorKind;
  /** The snapshot that explains the refusal (`null` when none was read). */
  readonly health: PoolHealth | null;
  /** Admission: the headroom the coordinator requires. */
  readonly neededBytes: number | null;
  /** Admission: `linearMaxBytes - allocatorLiveBytes` at the time. */
  readonly availableBytes: number | null;

  constructor(
    message: string,
    context: {
      kind: PoolMemoryErrorKind;
      health?: PoolHealth | null;
      neededBytes?: number | null;
      availableBytes?: number | null;
      cause?: unknown;
    },
  ) {
    super('POOL_OUT_OF_MEMORY', message, { cause: context.cause });
    this.kind = context.kind;
    this.health = context.health ?? null;
    this.neededBytes = context.neededBytes ?? null;
    this.availableBytes = context.availableBytes ?? null;
  }

  /** The coordinator's refusal, with the numbers behind it. */
  static admissionRefused(health: PoolHealth, neededBytes: number, availableBytes: number): PoolMemoryError {
    return new PoolMemoryError(
      `refused a job: even a fresh pool would have ${availableBytes} bytes of wasm linear memory headroom ` +
        `(linearMaxBytes ${health.memory.linearMaxBytes} - allocatorLiveBytes ${health.memory.allocatorLiveBytes}), ` +
        `expected at least admissionHeadroomBytes ${neededBytes}. A recycle cannot free memory held for live data: ` +
        `release caches or keys, lower admissionHeadroomBytes, or use a build with a larger memory maximum.`,
      { kind: 'admission-refused', health, neededBytes, availableBytes },
    );
  }
}

/** `POOL_POISONED`: a worker of the serving generation died; the pool needs a rebuild. */
export class PoolPoisonedError extends PoolError {
  readonly generation: number | null;
  readonly reason: string | null;
  readonly health: PoolHealth | null;

  constructor(
    message: string,
    context: { generation?: number | null; reason?: string | null; health?: PoolHealth | null; cause?: unknown } = {},
  ) {
    super('POOL_POISONED', message, { cause: context.cause });
    this.generation = context.generation ?? null;
    this.reason = context.reason ?? null;
    this.health = context.health ?? null;
  }
}

/**
 * `POOL_WORKER_LOST`: a worker died while this job ran and the job stopped
 * making progress; its result is lost. The generation is poisoned; the
 * coordinator rebuilds it before the next job.
 */
export class PoolWorkerLostError extends PoolError {
  readonly health: PoolHealth | null;

  constructor(message: string, context: { health?: PoolHealth | null; cause?: unknown } = {}) {
    super('POOL_WORKER_LOST', message, { cause: context.cause });
    this.health = context.health ?? null;
  }
}

/**
 * `POOL_INSTANCE_TERMINATED`: a call trapped on the calling thread (a wasm
 * trap such as `unreachable`, not a panic). A trap abandons the call's Rust
 * frames without unwinding, with any lock they held, so no later call into
 * the instance is safe: the backend refuses them all with this error rather
 * than risk one that waits forever. Only a new instance, i.e. a new process or
 * a new worker hosting the prover, recovers (README: worker death and traps).
 * (Newer wasm-bindgen versions mark the instance terminated themselves and
 * throw "Module terminated"; that maps here too.)
 */
export class PoolInstanceTerminatedError extends PoolError {
  constructor(message: string, cause?: unknown) {
    super('POOL_INSTANCE_TERMINATED', message, { cause });
  }
}

/** `POOL_RECYCLE_TIMEOUT`: a recycle did not settle within the coordinator's bound. */
export class PoolRecycleTimeoutError extends PoolError {
  readonly timeoutMs: number;
  readonly health: PoolHealth | null;

  constructor(timeoutMs: number, health: PoolHealth | null = null) {
    super(
      'POOL_RECYCLE_TIMEOUT',
      `the thread pool recycle did not finish within recycleTimeoutMs ${timeoutMs}, expected it to settle ` +
        `within that bound. It may still finish in the background: read poolHealth() for its phase, and raise ` +
        `recycleTimeoutMs if jobs legitimately take longer to drain.`,
    );
    this.timeoutMs = timeoutMs;
    this.health = health;
  }
}

/**
 * `POOL_INVALID_CONFIG`: an option is unknown or out of range (the
 * coordinator's, a host's, a recycle's). Nothing changed. The one message
 * shape: `<subject> <field> is <value as written>: expected <range>`, e.g.
 * `coordinator option cooldownMs is -5: expected …`.
 */
export class PoolConfigError extends PoolError {
  readonly field: string;
  readonly value: unknown;
  readonly expected: string;

  constructor(field: string, value: unknown, expected: string, subject = 'coordinator option') {
    super('POOL_INVALID_CONFIG', `${subject} ${field} is ${describeValue(value)}: expected ${expected}`);
    this.field = field;
    this.value = value;
    this.expected = expected;
  }
}

/**
 * `POOL_INVALID_ARGUMENT` (or `POOL_INVALID_THREAD_COUNT` for a thread count):
 * an export got a value it cannot take; nothing reached the instance. Same
 * message shape as PoolConfigError: `<callee> argument <field> is …`.
 */
export class PoolArgumentError extends PoolError {
  readonly callee: string;
  readonly field: string;
  readonly value: unknown;
  readonly expected: string;

  constructor(
    callee: string,
    field: string,
    value: unknown,
    expected: string,
    code: 'POOL_INVALID_ARGUMENT' | 'POOL_INVALID_THREAD_COUNT' = 'POOL_INVALID_ARGUMENT',
  ) {
    super(code, `${callee} argument ${field} is ${describeValue(value)}: expected ${expected}`);
    this.callee = callee;
    this.field = field;
    this.value = value;
    this.expected = expected;
  }
}

/** `POOL_TIMEOUT`: a bounded wait ran out (the host's start or stop, an exit, a call into the main worker). */
export class PoolTimeoutError extends PoolError {
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number, advice: string) {
    super('POOL_TIMEOUT', `${what} did not finish within ${timeoutMs} ms; ${advice}`);
    this.timeoutMs = timeoutMs;
  }
}

/** `POOL_HOST_FAILED`: a thread of the host itself (the supervisor, the web main worker) failed. */
export class PoolHostError extends PoolError {
  constructor(message: string, cause?: unknown) {
    super('POOL_HOST_FAILED', message, { cause });
  }
}

/** Any other error the wasm reports with a code (not initialised, exiting, …); the code is kept. */
export class PoolOperationError extends PoolError {
  constructor(code: WasmPoolErrorCode, message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}

/**
 * A value as the caller wrote it, for messages, without running its code:
 * strings quoted, BigInts with `n`, numbers as JS prints them, symbols with
 * their description, arrays and other objects by kind (the wasm's js_args.rs
 * describes values the same way).
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return `Symbol(${value.description ?? ''})`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** `plonk-wasm [CODE] rest`: how the wasm labels a panic that crossed to JS (PanicError). */
const WASM_PANIC_PREFIX = /^plonk-wasm \[([A-Z_]+)\]\s*/;

function isWasmPoolErrorCode(code: unknown): code is WasmPoolErrorCode {
  return typeof code === 'string' && (WASM_POOL_ERROR_CODES as readonly string[]).includes(code);
}

/** The wasm code of an error: its `.code` property, or the `plonk-wasm [CODE]` prefix of its message. */
export function wasmErrorCode(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return WASM_PANIC_PREFIX.exec(error.message)?.[1] ?? null;
}

/**
 * Maps an error thrown by plonk-wasm to the matching class, with the original
 * as `cause`. Errors that are not the pool's (a bug, a TypeError) come back
 * unchanged, so `throw fromWasmError(e)` never hides them. Already-mapped
 * errors come back unchanged too.
 *
 * `health` (optional) attaches the snapshot the caller read, for context.
 */
export function fromWasmError(error: unknown, context: { health?: PoolHealth | null } = {}): unknown {
  // o1js's OCaml bindings rethrow a JS exception wrapped as [0, tag, error].
  if (Array.isArray(error) && error.length === 3 && error[0] === 0 && error[2] instanceof Error) {
    const unwrapped = fromWasmError(error[2], context);
    if (unwrapped !== error[2]) return unwrapped;
  }
  if (error instanceof PoolError) return error;
  const revived = revivedPoolError(error, context.health ?? null);
  if (revived !== null) return revived;
  if (isInstanceTermination(error)) {
    return new PoolInstanceTerminatedError(
      `the wasm instance is terminated (${(error as Error).name}: ${(error as Error).message}): a call trapped, ` +
        `abandoning its Rust frames and any lock they held, so no later call into this instance is safe. ` +
        `Expected a live instance; restart the process, or the worker that hosts the prover, to get a new one.`,
      error,
    );
  }
  const code = wasmErrorCode(error);
  if (code === null || !(error instanceof Error)) return error;
  const health = context.health ?? null;
  const detail = error.message.replace(WASM_PANIC_PREFIX, '');

  if (code === 'OUT_OF_MEMORY') {
    return new PoolMemoryError(
      `a job ran out of wasm memory (${detail}); expected it to fit in the module's memory maximum. ` +
        `The wasm released the job's memory and the pool still works: retry with a smaller job or fewer ` +
        `threads, or use a build with a larger memory maximum.`,
      { kind: 'job-out-of-memory', health, cause: error },
    );
  }
  if (code === 'POOL_POISONED') {
    return new PoolPoisonedError(
      `the thread pool is poisoned (${detail}); expected a live pool. Recycle it (recycleThreadPool()) to rebuild ` +
        `the workers, then retry the job.`,
      { generation: health?.poisoned?.generation ?? null, reason: health?.poisoned?.reason ?? null, health, cause: error },
    );
  }
  if (code === 'POOL_WORKER_LOST') {
    return new PoolWorkerLostError(
      `a thread pool worker died during this job (${detail}); expected the job to finish. Retry it: the pool is ` +
        `rebuilt before the next job.`,
      { health, cause: error },
    );
  }
  const fields = error as Error & { callee?: unknown; field?: unknown; value?: unknown; expected?: unknown };
  if (
    (code === 'POOL_INVALID_CONFIG' || code === 'POOL_INVALID_ARGUMENT' || code === 'POOL_INVALID_THREAD_COUNT') &&
    typeof fields.callee === 'string' &&
    typeof fields.field === 'string' &&
    typeof fields.expected === 'string'
  ) {
    const typed =
      code === 'POOL_INVALID_CONFIG'
        ? new PoolConfigError(fields.field, fields.value, fields.expected, `${fields.callee} option`)
        : new PoolArgumentError(fields.callee, fields.field, fields.value, fields.expected, code);
    // The wasm's own message: it knows whether the value was an argument or an option, and wrote
    // the value as the caller did (a copy that crossed a thread may have lost its kind).
    typed.message = error.message;
    Object.defineProperty(typed, 'cause', { value: error, writable: true, configurable: true });
    return typed;
  }
  if (isWasmPoolErrorCode(code)) {
    return new PoolOperationError(code, `thread pool operation failed [${code}]: ${detail}`, error);
  }
  return error;
}

/** The class names of this module's errors, as `name` carries them across a thread (protocol.ts). */
const POOL_ERROR_NAMES = new Set([
  'PoolError',
  'PoolMemoryError',
  'PoolPoisonedError',
  'PoolWorkerLostError',
  'PoolInstanceTerminatedError',
  'PoolRecycleTimeoutError',
  'PoolConfigError',
  'PoolArgumentError',
  'PoolTimeoutError',
  'PoolHostError',
  'PoolOperationError',
]);

/**
 * One of our errors thrown on another thread (the supervisor, the web's main
 * worker) and rebuilt there as a plain Error with its name, code, message,
 * stack and context fields (protocol.ts `reviveError`): the same class again,
 * with the same message and fields, the plain copy as `cause`. Null for
 * anything else.
 */
function revivedPoolError(error: unknown, health: PoolHealth | null): PoolError | null {
  if (!(error instanceof Error) || !POOL_ERROR_NAMES.has(error.name)) return null;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return null;
  const fields = error as Error & Record<string, unknown>;
  const text = (key: string): string | null => (typeof fields[key] === 'string' ? (fields[key] as string) : null);
  const count = (key: string): number => (typeof fields[key] === 'number' ? (fields[key] as number) : Number.NaN);
  let typed: PoolError;
  switch (code) {
    case 'POOL_OUT_OF_MEMORY':
      typed = new PoolMemoryError(error.message, {
        kind: text('kind') === 'admission-refused' ? 'admission-refused' : 'job-out-of-memory',
        health: (fields.health as PoolHealth | null | undefined) ?? health,
        neededBytes: typeof fields.neededBytes === 'number' ? fields.neededBytes : null,
        availableBytes: typeof fields.availableBytes === 'number' ? fields.availableBytes : null,
      });
      break;
    case 'POOL_POISONED':
      typed = new PoolPoisonedError(error.message, {
        generation: typeof fields.generation === 'number' ? fields.generation : null,
        reason: text('reason'),
        health,
      });
      break;
    case 'POOL_WORKER_LOST':
      typed = new PoolWorkerLostError(error.message, { health });
      break;
    case 'POOL_INSTANCE_TERMINATED':
      typed = new PoolInstanceTerminatedError(error.message);
      break;
    case 'POOL_RECYCLE_TIMEOUT':
      typed = new PoolRecycleTimeoutError(count('timeoutMs'), health);
      break;
    case 'POOL_TIMEOUT':
      typed = new PoolTimeoutError('', count('timeoutMs'), '');
      break;
    case 'POOL_HOST_FAILED':
      typed = new PoolHostError(error.message);
      break;
    case 'POOL_INVALID_CONFIG':
      typed = new PoolConfigError(text('field') ?? '?', fields.value, text('expected') ?? '?');
      break;
    case 'POOL_INVALID_ARGUMENT':
    case 'POOL_INVALID_THREAD_COUNT':
      typed = new PoolArgumentError(text('callee') ?? '?', text('field') ?? '?', fields.value, text('expected') ?? '?', code);
      break;
    default:
      if (!isWasmPoolErrorCode(code)) return null;
      typed = new PoolOperationError(code, error.message);
  }
  typed.message = error.message;
  if (error.stack !== undefined) typed.stack = error.stack;
  Object.defineProperty(typed, 'cause', { value: error, writable: true, configurable: true });
  return typed;
}

/**
 * wasm-bindgen's "Module terminated" (thrown at the entry of every export once
 * any thread trapped) or a trap surfacing as a `RuntimeError`.
 */
function isInstanceTermination(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.message === 'Module terminated' || error.name === 'RuntimeError';
}

/** True for any error from this module. */
export function isPoolError(error: unknown): error is PoolError {
  return error instanceof PoolError;
}
