// The real-o1js scenario (scenario.js) as an application runs it with ES
// modules: `import ... from 'o1js'` and, when patched, `from 'o1js/pool'`.
//   node prove.mjs '{"proofs":6,"workers":2,"cacheDir":"...","pool":true,"recycleDuring":[1,3]}'
// Prints one JSON line with everything measured; logs go to stderr. The
// process must end by itself (the pool's threads never keep it alive).
import * as o1js from 'o1js';
import { runScenario } from './scenario.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const { proofs = 1, workers = 2, cacheDir, recycleDuring = [] } = options;
const pool = options.pool ? await import('o1js/pool') : null;
o1js.setNumberOfWorkers(workers);
const log = (message) => console.error(`[prove.mjs] ${message}`);
console.log(JSON.stringify(await runScenario(o1js, pool, { proofs, cacheDir, recycleDuring, log })));
