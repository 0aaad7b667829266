// The real-o1js scenario (the app's scenario.js) in a page: o1js's web bundle
// from the patched npm install (dist/web/index.js, the patched kimchi-wasm
// inlined) and its `o1js/pool` entry (dist/web/pool.js), as a bundler would
// resolve `import 'o1js'` and `import 'o1js/pool'` for the browser.
import * as o1js from '/o1js/dist/web/index.js';
import * as pool from '/o1js/dist/web/pool.js';
import { runScenario } from '/app/scenario.js';

window.runScenario = (options) => {
  o1js.setNumberOfWorkers(options.workers);
  return runScenario(o1js, options.pool ? pool : null, { ...options, log: (message) => console.log(`[page] ${message}`) });
};
window.pageInfo = () => ({ crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency });
