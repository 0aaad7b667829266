/**
 * Every error the JS side of the pool throws, in one module.
 *
 * Each class has a stable `code` a caller can branch on (never parse the
 * message), the context that explains it, and the original error as `cause`
 * when it wraps one (the base class and the cross-thread codec are the
 * kernel's: kernel/errors.ts). Messages say what happened, what was expected
 * and what to do. `fromWasmError` turns the errors plonk-wasm throws into
 * these classes.
 */
import { CodedError, withMemoryMaximum } from './kernel/errors.js';
import { optionMessage } from './kernel/options.js';
import type { PoolHealth } from './pool-health.js';

// The wasm's codes (docs/api.md, "Errors and codes"), generated from its Rust definitions.
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
export class PoolError extends CodedError<PoolErrorCode> {
  constructor(code: PoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options?.cause);
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
 * `POOL_INSTANCE_TERMINATED`: the instance trapped on the thread that owns it
 * (a wasm trap such as `unreachable` or a stack overflow, not a panic). A trap
 * abandons the call's Rust frames without unwinding, with any lock they held,
 * so no later call into the instance is safe: the backend refuses them all
 * with this error rather than risk one that waits forever. Only a new
 * instance, i.e. a new process or a new worker hosting the prover, recovers
 * (docs/internals.md, "Worker death and traps").
 *
 * Only evidence from the instance makes it: a trap that escaped one of its
 * exports on the calling thread (host/instance-guard.ts sees every call), or a
 * failed health read after it. An error's name is not evidence: a
 * `RuntimeError` thrown by user code or by another wasm module inside
 * `withThreadPool` reaches the caller as it was thrown, and the pool works on.
 */
export class PoolInstanceTerminatedError extends PoolError {
  constructor(message: string, cause?: unknown) {
    super('POOL_INSTANCE_TERMINATED', message, { cause });
  }

  /** The error for the trap `trap` (what the instance threw), saying what it means and what to do. */
  static forTrap(trap: unknown): PoolInstanceTerminatedError {
    const { name, message } = (trap ?? {}) as { name?: unknown; message?: unknown };
    return new PoolInstanceTerminatedError(
      `the wasm instance is terminated (${String(name)}: ${String(message)}): a call trapped, ` +
        `abandoning its Rust frames and any lock they held, so no later call into this instance is safe. ` +
        `Expected a live instance; restart the process, or the worker that hosts the prover, to get a new one.`,
      trap,
    );
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
 * shape (kernel/options.ts): `<who> option <field> is <value as written>:
 * expected <range>`, e.g. `coordinator option cooldownMs is -5: expected …`.
 */
export class PoolConfigError extends PoolError {
  readonly field: string;
  readonly value: unknown;
  readonly expected: string;

  constructor(field: string, value: unknown, expected: string, who = 'coordinator') {
    super('POOL_INVALID_CONFIG', optionMessage(who, field, value, expected));
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
    super(code, optionMessage(callee, field, value, expected, 'argument'));
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

/** What `fromWasmError` knows besides the error. */
export interface WasmErrorContext {
  /** The snapshot the caller read, attached for context. */
  readonly health?: PoolHealth | null;
  /**
   * The evidence that an error is a trap of the instance: true only for one
   * that escaped the instance's exports (host/instance-guard.ts). Without it,
   * no error maps to PoolInstanceTerminatedError, whatever its name.
   */
  readonly isInstanceTrap?: (error: unknown) => boolean;
}

/**
 * Maps an error thrown by plonk-wasm to the matching class, with the original
 * as `cause`. Errors that are not the pool's (a bug, a TypeError, a
 * RuntimeError of another module) come back unchanged, so `throw
 * fromWasmError(e)` never hides them. Already-mapped errors come back
 * unchanged too.
 */
export function fromWasmError(error: unknown, context: WasmErrorContext = {}): unknown {
  // o1js's OCaml bindings rethrow a JS exception wrapped as [0, tag, error].
  if (Array.isArray(error) && error.length === 3 && error[0] === 0 && error[2] instanceof Error) {
    const unwrapped = fromWasmError(error[2], context);
    if (unwrapped !== error[2]) return unwrapped;
  }
  if (error instanceof PoolError) return error;
  if (context.isInstanceTrap?.(error) === true) return PoolInstanceTerminatedError.forTrap(error);
  const health = context.health ?? null;
  const revived = revivedPoolError(error, health);
  if (revived !== null) return revived;
  const code = wasmErrorCode(error);
  if (code === null || !(error instanceof Error)) return error;
  const detail = error.message.replace(WASM_PANIC_PREFIX, '');

  if (code === 'OUT_OF_MEMORY') {
    return new PoolMemoryError(
      `a job ran out of wasm memory (${withMemoryMaximum(detail, health?.memory.linearMaxBytes ?? null)}); expected it to fit in the module's memory maximum. ` +
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
        ? new PoolConfigError(fields.field, fields.value, fields.expected, fields.callee)
        : new PoolArgumentError(fields.callee, fields.field, fields.value, fields.expected, code);
    // The wasm's own message: it knows whether the value was an argument or an option, and wrote
    // the value as the caller did (a copy that crossed a thread may have lost its kind).
    return keepingOriginal(typed, error);
  }
  if (isWasmPoolErrorCode(code)) {
    return new PoolOperationError(code, `thread pool operation failed [${code}]: ${detail}`, error);
  }
  return error;
}

/** How each of this module's classes is rebuilt from the plain copy of one that crossed a thread (kernel `fromPlainError`). */
const REVIVERS: { readonly [Name: string]: (fields: Record<string, unknown>, message: string, health: PoolHealth | null) => PoolError | null } = {
  PoolMemoryError: (f, m, h) =>
    new PoolMemoryError(m, {
      kind: f.kind === 'admission-refused' ? 'admission-refused' : 'job-out-of-memory',
      health: (f.health as PoolHealth | null | undefined) ?? h,
      neededBytes: numberOrNull(f.neededBytes),
      availableBytes: numberOrNull(f.availableBytes),
    }),
  PoolPoisonedError: (f, m, h) => new PoolPoisonedError(m, { generation: numberOrNull(f.generation), reason: textOrNull(f.reason), health: h }),
  PoolWorkerLostError: (_, m, h) => new PoolWorkerLostError(m, { health: h }),
  PoolInstanceTerminatedError: (_, m) => new PoolInstanceTerminatedError(m),
  PoolRecycleTimeoutError: (f, _, h) => new PoolRecycleTimeoutError(numberOrNull(f.timeoutMs) ?? Number.NaN, h),
  PoolTimeoutError: (f) => new PoolTimeoutError('', numberOrNull(f.timeoutMs) ?? Number.NaN, ''),
  PoolHostError: (_, m) => new PoolHostError(m),
  PoolConfigError: (f) => new PoolConfigError(textOrNull(f.field) ?? '?', f.value, textOrNull(f.expected) ?? '?'),
  PoolArgumentError: (f) =>
    new PoolArgumentError(textOrNull(f.callee) ?? '?', textOrNull(f.field) ?? '?', f.value, textOrNull(f.expected) ?? '?', f.code === 'POOL_INVALID_THREAD_COUNT' ? 'POOL_INVALID_THREAD_COUNT' : 'POOL_INVALID_ARGUMENT'),
  PoolOperationError: (f, m) => (isWasmPoolErrorCode(f.code) ? new PoolOperationError(f.code, m) : null),
  PoolError: (f, m) => (isWasmPoolErrorCode(f.code) ? new PoolOperationError(f.code, m) : null),
};

/**
 * One of our errors thrown on another thread (the supervisor, the web's main
 * worker) and rebuilt there as a plain Error with its name, code, message,
 * stack and context fields: the same class again, with the same message and
 * fields, the plain copy as `cause`. Null for anything else.
 */
function revivedPoolError(error: unknown, health: PoolHealth | null): PoolError | null {
  if (!(error instanceof Error) || !Object.prototype.hasOwnProperty.call(REVIVERS, error.name)) return null;
  const fields = error as Error & Record<string, unknown>;
  if (typeof fields.code !== 'string') return null;
  const typed = REVIVERS[error.name]!(fields, error.message, health);
  if (typed === null) return null;
  if (error.stack !== undefined) typed.stack = error.stack;
  return keepingOriginal(typed, error);
}

/** `typed` with `original`'s message and `original` as its cause. */
function keepingOriginal(typed: PoolError, original: Error): PoolError {
  typed.message = original.message;
  Object.defineProperty(typed, 'cause', { value: original, writable: true, configurable: true });
  return typed;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** True for any error from this module. */
export function isPoolError(error: unknown): error is PoolError {
  return error instanceof PoolError;
}
