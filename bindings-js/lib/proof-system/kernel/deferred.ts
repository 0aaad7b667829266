/**
 * A promise settled from outside, and a bounded wait on any promise: the two
 * building blocks of every wait in the host (a worker's start, a generation's
 * stop, a recycle, an isolate's start and terminate, a close).
 *
 * Shippable: the supervisor runs in a worker built from function sources, so
 * these functions use only their arguments and globals.
 */

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export interface DeferredOptions {
  /**
   * The rejection is observed where it matters, or not at all (a start that
   * failed, reported by an event): it must not count as an unhandled
   * rejection. Leave it off for a promise handed to a caller.
   */
  readonly rejectionHandled?: boolean;
}

/** A promise and the functions that settle it. */
export function deferred<T>(options: DeferredOptions = {}): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  if (options.rejectionHandled === true) promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Resolves `true` once `promise` settles (fulfilled or rejected) within `ms`,
 * `false` when `ms` passes first; the timer never outlives the wait.
 */
export function settlesWithin(ms: number, promise: Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true, () => true), late]).finally(() => clearTimeout(timer));
}

/**
 * `promise`, or a rejection with `timeoutError()` when `ms` passes first; the
 * timer never outlives the wait.
 */
export function rejectAfter<T>(ms: number, promise: Promise<T>, timeoutError: () => unknown): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timeoutError()), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
