// The real-o1js scenario (scenario.js) as a CommonJS application runs it:
// `require('o1js')` (o1js's esbuild bundle, dist/node/index.cjs) and, when
// patched, `require('o1js/pool')`.
//   node prove.cjs '{"proofs":2,"workers":2,"cacheDir":"...","pool":true,"recycleDuring":[0]}'
// Prints one JSON line; logs go to stderr.
'use strict';
const o1js = require('o1js');

const options = JSON.parse(process.argv[2] ?? '{}');
const { proofs = 1, workers = 2, cacheDir, recycleDuring = [] } = options;
const pool = options.pool ? require('o1js/pool') : null;
o1js.setNumberOfWorkers(workers);
const log = (message) => console.error(`[prove.cjs] ${message}`);
// scenario.js is an ES module (shared with the other runs): imported, not required.
import('./scenario.js')
  .then(({ runScenario }) => runScenario(o1js, pool, { proofs, cacheDir, recycleDuring, log }))
  .then((result) => console.log(JSON.stringify({ ...result, commonJs: typeof module !== 'undefined' })));
