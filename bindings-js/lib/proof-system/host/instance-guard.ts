/**
 * The evidence that the pool's instance trapped on the thread that owns it:
 * every call into the instance goes through its glue's exports (the free
 * functions and the methods of its classes), so the guard wraps them, once,
 * and records a trap that escapes one of them. That is the only evidence the
 * backend takes (errors.ts `PoolInstanceTerminatedError`): an error's name is
 * not, since user code inside `withThreadPool`, or another wasm module, may
 * throw a `RuntimeError` of its own without touching this instance.
 *
 * A trap is what escapes an export: a `WebAssembly.RuntimeError` (a trap in
 * the wasm: `unreachable`, an out-of-bounds access), a stack overflow
 * (`RangeError`, "call stack"), or wasm-bindgen's "Module terminated" (newer
 * versions throw it at the entry of every export once the instance trapped).
 * Other errors escaping an export (a panic mapped to an error, a bad
 * argument) are not traps and are not recorded.
 *
 * The exports are wrapped in place, so every holder of the glue (o1js's
 * bindings, the backend) calls through the guard; wrapping is idempotent per
 * glue object. Wrapped: free functions, and the methods and accessors of the
 * exported classes. Left alone: wasm-bindgen's own `__wbg*`/`__wbindgen*`
 * entries (the instance's imports and internals), `default` and `initSync`
 * (the web glue's loaders, whose properties the backend reads), and statics
 * starting with `__` (`__wrap`: no call into the instance).
 */

/** What the backend learns from the guard. */
export interface InstanceGuard {
  /** The first trap that escaped an export on this thread, or `null`. */
  readonly trap: unknown;
  /** True for an error recorded as a trap of this instance. */
  isTrap(error: unknown): boolean;
  /** Records `error` as a trap of this instance, seen another way (e.g. reported by the thread that ran the call). */
  record(error: unknown): void;
}

const GUARD = Symbol.for('plonk-wasm-pool.instance-guard');

type Callable = (this: unknown, ...args: unknown[]) => unknown;

/** Whether `error`, having escaped an export of the instance, is a trap of it. */
export function isTrapSignature(error: unknown): boolean {
  const RuntimeError = (globalThis as { WebAssembly?: { RuntimeError?: abstract new (...args: never[]) => Error } }).WebAssembly?.RuntimeError;
  if (RuntimeError !== undefined && error instanceof RuntimeError) return true;
  if (error instanceof RangeError && /call stack/i.test(error.message)) return true;
  return error instanceof Error && error.message === 'Module terminated';
}

/** Wraps the exports of `glue` (once) and returns the guard that records their traps. */
export function guardInstanceExports(glue: object): InstanceGuard {
  const holder = glue as { [GUARD]?: InstanceGuard };
  if (holder[GUARD] !== undefined) return holder[GUARD];
  const traps = new WeakSet<object>();
  let first: unknown = null;
  const guard: InstanceGuard = {
    get trap() {
      return first;
    },
    isTrap: (error) => typeof error === 'object' && error !== null && traps.has(error),
    record(error) {
      if (typeof error === 'object' && error !== null) traps.add(error);
      if (first === null) first = error;
    },
  };
  const wrap = (fn: Callable): Callable =>
    function guarded(this: unknown) {
      try {
        return fn.apply(this, arguments as unknown as unknown[]);
      } catch (error) {
        if (isTrapSignature(error)) guard.record(error);
        throw error;
      }
    };
  const exports = glue as Record<string, unknown>;
  for (const name of Object.keys(exports)) {
    const value = exports[name];
    if (typeof value !== 'function' || /^__wbg|^__wbindgen/.test(name) || name === 'default' || name === 'initSync') continue;
    if (isClass(value)) wrapClass(value, wrap);
    else exports[name] = wrap(value as Callable);
  }
  Object.defineProperty(glue, GUARD, { value: guard });
  return guard;
}

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/** Wraps the methods and accessors of a class's prototype, and its static methods but `__*`, in place. */
function wrapClass(cls: Function, wrap: (fn: Callable) => Callable): void {
  const targets: [object, (name: string) => boolean][] = [
    [cls.prototype as object, (name) => name !== 'constructor'],
    [cls, (name) => !['length', 'name', 'prototype'].includes(name) && !name.startsWith('__')],
  ];
  for (const [target, wanted] of targets) {
    for (const name of Object.getOwnPropertyNames(target)) {
      const descriptor = Object.getOwnPropertyDescriptor(target, name);
      if (descriptor === undefined || !descriptor.configurable || !wanted(name)) continue;
      const { value, get, set } = descriptor;
      if (typeof value === 'function') Object.defineProperty(target, name, { ...descriptor, value: wrap(value as Callable) });
      else if (get !== undefined || set !== undefined) {
        Object.defineProperty(target, name, {
          ...descriptor,
          ...(get === undefined ? {} : { get: wrap(get as Callable) }),
          ...(set === undefined ? {} : { set: wrap(set as Callable) }),
        });
      }
    }
  }
}
