// Shared by the isolate tests: where the compiled module is (tsc's output of
// bindings-js/isolates, build/ts/…; scripts/test.sh compiles it first;
// ISOLATES_COMPILED=<dir> points elsewhere), a bounded wait, a deferred
// promise.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const COMPILED = process.env.ISOLATES_COMPILED ?? `${ROOT}build/ts/bindings-js/isolates/`;

if (!existsSync(`${COMPILED}prover-pool.js`)) {
  throw new Error(`${COMPILED}prover-pool.js is missing: compile the TypeScript first (npx tsc -p tsconfig.json; scripts/test.sh does)`);
}

/** Imports a compiled module of bindings-js/isolates by name (e.g. 'node.js'). */
export const load = (name) => import(`${COMPILED}${name}`);

/** Rejects with a loud error if `promise` does not settle within `ms`. */
export async function within(ms, what, promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves with the next `event` of `pool` whose payload passes `where`, within `ms`. */
export function nextEvent(pool, event, where = () => true, ms = 10_000) {
  const seen = deferred();
  const off = pool.on(event, (payload) => {
    if (where(payload)) seen.resolve(payload);
  });
  return within(ms, `the pool's '${event}' event`, seen.promise).finally(off);
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;
