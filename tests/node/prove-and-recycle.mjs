// Proves, recycles, proves again (the pool's supervisor, two generations of
// Rayon workers), checking each proof against the native snapshots. Run by
// shared-module.test.js in a child process.
import { loadBackend, proveAndCheck } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node', { threads: 2, logLevel: 'error', lifetime: 'process' });
const prove = (label) => backend.withThreadPool(async () => proveAndCheck(backend.wasm, PROOF_CASES[0], label));
await prove('before the recycle');
const report = await backend.recycleThreadPool();
await prove('after the recycle');
console.log(`proved, recycled to generation ${report.toGeneration} with ${report.threads} workers, proved`);
await backend.exitThreadPool();
