// A script whose only pending work is one request to the supervisor, awaited
// at top level (worker list, a kill, a health port): the process must stay
// alive until the answer comes, then print it and end by itself. Run by
// lifetime.test.js in a child process: argv[2] is the request.
import { loadBackend } from './backend.js';

const backend = await loadBackend('node', { threads: 2, logLevel: 'error', lifetime: 'process' });
await backend.withThreadPool(async () => {}); // the pool is up, and idle
const request = process.argv[2];
if (request === 'list') {
  const workers = await backend.workerHost.list();
  console.log(`listed ${workers.length} workers`);
} else if (request === 'kill') {
  await backend.workerHost.kill(backend.poolHealth().generation, 0);
  console.log('kill scheduled');
} else if (request === 'health-port') {
  const port = await backend.openPoolHealthPort();
  port.close();
  console.log('health port open');
} else {
  throw new Error(`unknown request '${request}': expected list, kill or health-port`);
}
await backend.exitThreadPool();
