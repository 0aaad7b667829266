/**
 * Health reads through another thread (the supervisor, the web's main worker,
 * a health port) are bounded: a thread that does not answer fails the read,
 * typed, instead of leaving its reader (the coordinator's idle timer, a
 * metrics endpoint) waiting for ever. A read on the pool's own thread needs
 * no bound: it is a call into the instance.
 */
import { PoolTimeoutError } from './errors.js';
import { rejectAfter } from './kernel/deferred.js';

export const HEALTH_READ_TIMEOUT_MS = 10_000;

export function boundedHealthRead<T>(read: Promise<T>, through: string): Promise<T> {
  return rejectAfter(
    HEALTH_READ_TIMEOUT_MS,
    read,
    () =>
      new PoolTimeoutError(
        `a health read through ${through}`,
        HEALTH_READ_TIMEOUT_MS,
        'that thread did not answer (stuck, or the machine is overloaded); the next read asks again',
      ),
  );
}
