// Prover isolates as an app uses them, from the package's `o1js/isolates`:
// a pool of one warm isolate proves once, the proof verifies in the pool,
// and the pool closes.
//   node run-pool.mjs '{"threads":2,"cacheDir":"..."}'
// Prints one JSON line; logs go to stderr.
import { createProverPool } from 'o1js/isolates';

const { threads = 2, cacheDir } = JSON.parse(process.argv[2] ?? '{}');
const started = performance.now();
const pool = await createProverPool({
  module: new URL('./prover.js', import.meta.url),
  threadsPerIsolate: threads,
  warm: { name: 'compile', args: { cacheDir } },
  startTimeoutMs: 10 * 60_000,
});
const startMs = performance.now() - started;
try {
  const proof = await pool.run('prove', { x: 5, y: 7 });
  const { verified } = await pool.run('verify', { proofs: [proof.proof] });
  const health = await pool.health();
  console.log(JSON.stringify({ startMs, output: proof.output, proveMs: proof.proveMs, verified, health }));
} finally {
  await pool.close();
}
