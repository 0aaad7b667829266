// The real-o1js apps for the isolate tests and benchmark: the two apps of the
// real-o1js tests (stock: npm o1js 2.15.0, scripts/prepare-o1js-apps.sh;
// patched: the package, installed by alias from the local registry by
// tests/package/install.test.js), with this directory's app/ copied into each
// as isolates/ (so its modules resolve 'o1js' to that app's o1js and
// '../program.js' to the app's copy of the real-o1js tests' ZkProgram).
// Isolates need the patched app: stock o1js cannot run in a worker_thread.
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
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
      throw new Error(`${app} is not prepared: scripts/prepare-o1js-apps.sh (stock) and tests/package/install.test.js (patched) prepare it; scripts/test.sh runs both`);
    }
    cpSync(APP_FILES, `${app}/isolates`, { recursive: true });
  }
  const manifest = JSON.parse(readFileSync(`${PATCHED}/node_modules/o1js/package.json`, 'utf8'));
  if (manifest.plonkWasmPool === undefined) {
    throw new Error(`${PATCHED}'s o1js is ${manifest.name}, not the package: tests/package/install.test.js installs it`);
  }
  mkdirSync(CACHE, { recursive: true });
  // The app's `o1js/isolates` (Node, ES modules), loaded by the test as the app would load it.
  return { prover: `${PATCHED}/isolates/prover.js`, isolates: pathToFileURL(`${PATCHED}/node_modules/o1js/dist/node/isolates/node.js`).href };
}
