// The test page: loads the staged web backend as o1js would load it and
// exposes it to the tests as `window.harness`. Query parameters:
// `threads` (pool workers, default 2), `memoryMaximumBytes` (override),
// `logLevel` (the pool's tracing level, default warn), `lifetime` (the
// pool's: these tests drive its mechanics one operation at a time, so
// 'operation' unless they ask for o1js's 'process').
import * as backend from '/o1js/bindings/js/web/web-backend.js';
import * as errors from '/o1js/lib/proof-system/errors.js';
import { setNumberOfWorkers } from '/o1js/lib/proof-system/workers.js';

const params = new URLSearchParams(location.search);

/** Everything that went wrong on the page that nobody handled: the tests fail on any. */
const pageErrors = [];
addEventListener('unhandledrejection', (event) => pageErrors.push(`unhandled rejection: ${event.reason?.stack ?? event.reason}`));
addEventListener('error', (event) => pageErrors.push(`uncaught: ${event.error?.stack ?? event.message}`));

if (params.has('memoryMaximumBytes')) {
  backend.configureThreadPool({ memoryMaximumBytes: Number(params.get('memoryMaximumBytes')) });
}
setNumberOfWorkers(Number(params.get('threads') ?? 2));
backend.configureThreadPool({ lifetime: params.get('lifetime') ?? 'operation' });

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (hex) => Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` every `everyMs` until `done()` resolves; returns what it read. */
async function pollWhile(pending, read, everyMs) {
  let settled = false;
  pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  const samples = [];
  while (!settled) {
    samples.push(await read());
    await sleep(everyMs);
  }
  return samples;
}

/** Waits for `condition` (polled every 5 ms), at most `ms`, naming what it waited for. */
async function until(what, condition, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms / 1000} s`);
    await sleep(5);
  }
}

const ready = (async () => {
  await backend.initializeBindings();
  await backend.callInWorker('setPoolLogLevel', params.get('logLevel') ?? 'warn');
  return true;
})();
ready.catch((error) => pageErrors.push(`initializeBindings failed: ${error?.stack ?? error}`));

window.harness = { backend, errors, setNumberOfWorkers, pageErrors, ready, toHex, fromHex, sleep, pollWhile, until };
