// The real-o1js apps for the isolate tests and benchmark: the two apps of the
// real-o1js tests (scripts/prepare-o1js-apps.sh: npm o1js 2.15.0, stock and
// patched), with this directory's app/ copied into each as isolates/ (so its
// modules resolve 'o1js' to that app's npm o1js and '../program.js' to the
// app's copy of the real-o1js tests' ZkProgram). Isolates need the patched
// app: stock o1js cannot run in a worker_thread.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { ROOT } from './lib.js';

export const APPS = `${ROOT}build/o1js-app`;
export const STOCK = `${APPS}/stock`;
export const PATCHED = `${APPS}/patched`;
/** o1js's on-disk cache for the isolates' warm steps (their own: other tests write the apps' caches concurrently). */
export const CACHE = `${APPS}/cache-isolates`;
const APP_FILES = `${ROOT}tests/isolates/app`;

/** Copies tests/isolates/app into both apps (idempotent); throws, saying what to run, when an app is missing. */
export function prepareIsolateApps() {
  for (const app of [STOCK, PATCHED]) {
    if (!existsSync(`${app}/node_modules/o1js/package.json`) || !existsSync(`${app}/program.js`)) {
      throw new Error(`${app} is not prepared: run scripts/prepare-o1js-apps.sh (scripts/test.sh does)`);
    }
    cpSync(APP_FILES, `${app}/isolates`, { recursive: true });
  }
  if (!existsSync(`${PATCHED}/node_modules/o1js/dist/node/pool.js`)) {
    throw new Error(`${PATCHED}'s o1js has no o1js/pool entry: it is not patched; run scripts/prepare-o1js-apps.sh`);
  }
  mkdirSync(CACHE, { recursive: true });
  return { prover: `${PATCHED}/isolates/prover.js` };
}
