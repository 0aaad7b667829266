/**
 * The base of every error the pool and the prover isolates throw, and the one
 * way an error crosses a thread.
 *
 * `CodedError` carries a stable `code` (callers branch on it, never on the
 * message), the context that explains it (each subclass's own fields) and the
 * error it wraps as `cause`. PoolError (lib/proof-system/errors.ts) and
 * ProverPoolError (isolates/errors.ts) extend it.
 *
 * Across a thread (postMessage) an Error loses its class and its own fields,
 * so it crosses as plain data: `toPlainError` on the side that threw,
 * `fromPlainError` on the side that hears it, which rebuilds an Error with
 * the same name, message, code, stack and context fields. The owner of the
 * class (errors.ts `fromWasmError`) gives it its class again.
 *
 * Shippable: the web backend builds its workers from function sources, so the
 * codec's functions use only their arguments, globals and their `deps`.
 */

/** Base of every error: a stable `code`, the context in its own fields, and `cause` when it wraps one. */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, cause?: unknown) {
    super(message);
    // Set by hand, not through Error's options: o1js compiles for ES2021, whose
    // Error constructor takes no options. Not enumerable, like Error's own.
    if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, writable: true, configurable: true });
    this.code = code;
    // Each subclass's name, so stack traces and `String(error)` show it.
    this.name = new.target.name;
  }
}

/** An error as plain, structured-cloneable data. */
export interface PlainError {
  readonly name: string;
  readonly message: string;
  /** The error's `code` when it has a string one (e.g. `POOL_INSTANCE_TERMINATED`). */
  readonly code: string | null;
  readonly stack: string | null;
  /** Its own context fields (field, expected, kind, generation, …), each cloneable or described. */
  readonly fields: { readonly [field: string]: unknown };
}

/** Anything thrown, as plain data. Never throws. */
export function toPlainError(error: unknown): PlainError {
  if (!(error instanceof Error)) return { name: 'NonError', message: safeString(error), code: null, stack: null, fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    // The error's own name (CodedError sets it) and the rest travel in their own places; a cause stays behind.
    if (!['name', 'message', 'stack', 'code', 'cause'].includes(key)) fields[key] = cloneableCopy(value);
  }
  const code = (error as { code?: unknown }).code;
  return {
    name: safeString(error.name),
    message: safeString(error.message),
    code: typeof code === 'string' ? code : null,
    stack: typeof error.stack === 'string' ? error.stack : null,
    fields,
  };
}
toPlainError.deps = [cloneableCopy, safeString];

/**
 * Puts the memory's real maximum into an out-of-memory message. The wasm
 * writes the maximum its module declares (4 GiB): wasm cannot read its
 * memory's own. Whoever made the memory (a page's configured maximum, an
 * isolate's limit) knows the real one; without it the message is unchanged.
 */
export function withMemoryMaximum(message: string, maximumBytes: number | null): string {
  if (maximumBytes === null) return message;
  const mib = (maximumBytes / 2 ** 20).toFixed(1);
  return message.replace(/(linear memory [\d.]+ MiB of )[\d.]+ MiB/g, `$1${mib} MiB`);
}

/**
 * An Error rebuilt from `toPlainError`'s data: name, message, code and stack,
 * and the context fields as own properties. Data that crossed a thread is
 * not trusted to shape the error: a field may not replace the prototype
 * (a cloned `__proto__` key) nor overwrite name, message, code, stack or cause.
 */
export function fromPlainError(data: PlainError | undefined): Error {
  const text = (value: unknown, fallback: string) => (typeof value === 'string' ? value : fallback);
  const error = new Error(text(data?.message, String(data)));
  const own = (key: string, value: unknown, enumerable: boolean) =>
    Object.defineProperty(error, key, { value, writable: true, enumerable, configurable: true });
  own('name', text(data?.name, 'Error'), false);
  if (typeof data?.stack === 'string') own('stack', data.stack, false);
  const reserved = ['name', 'message', 'code', 'stack', 'cause', '__proto__', 'constructor'];
  const fields = data?.fields;
  if (typeof fields === 'object' && fields !== null) {
    for (const key of Object.keys(fields)) {
      if (!reserved.includes(key)) own(key, (fields as Record<string, unknown>)[key], true);
    }
  }
  if (typeof data?.code === 'string') own('code', data.code, true);
  return error;
}

/** `value` if it can cross to another thread (structured clone), else how it would print. */
export function cloneableCopy(value: unknown): unknown {
  if (value === null || ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof value)) return value;
  if (typeof value === 'symbol') return `Symbol(${value.description ?? ''})`;
  try {
    return structuredClone(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** `String(value)`, or its tag when converting it throws (an object whose toString throws). */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
