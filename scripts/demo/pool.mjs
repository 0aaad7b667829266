// The demo's pool side (run by run.js in build/demo/pool, whose o1js is the
// package): the same program proved in a prover isolate from `o1js/isolates`.
// The main thread only posts jobs and reads health, so its event loop keeps
// running; the isolate is replaced after `replaceEvery` jobs (blue/green: a
// successor warms from o1js's cache, then the old isolate is terminated and
// its memory, wasm instance included, goes back to the OS).
//   node pool.mjs '{"cacheDir":"…","replaceEvery":N}'   (then the go on stdin: side.js)
import { createProverPool } from 'o1js/isolates';
import { expectedOutput } from './program.js';
import { awaitGo, emit, peakRssBytes, proveLoop } from './side.js';

const { cacheDir, replaceEvery } = JSON.parse(process.argv[2]);
let started = performance.now();
const pool = await createProverPool({
  module: new URL('./prover.js', import.meta.url),
  isolates: 1,
  threadsPerIsolate: 1,
  warm: { name: 'compile', args: { cacheDir } },
  limits: { maxJobs: replaceEvery, cooldownMs: 0 },
  // A first compile without o1js's cache takes minutes on a busy machine; run.js bounds the whole start anyway.
  startTimeoutMs: 30 * 60_000,
});

/** Memory of the isolate that ran the last job (the one serving), and of the process. */
let lastIsolateId = null;
pool.on('job-end', (e) => {
  lastIsolateId = e.isolateId;
});
async function memory() {
  const health = await pool.health();
  const isolate = health.isolates.find((i) => i.id === lastIsolateId && i.snapshot !== null) ?? health.isolates.find((i) => i.snapshot !== null);
  return {
    wasmBytes: isolate?.snapshot.memory.linearBytes ?? null,
    isolateId: isolate?.id ?? null,
    isolates: health.isolates.length,
    rssBytes: health.processRssBytes,
    peakRssBytes: peakRssBytes(),
    replacements: health.totals.replacements,
  };
}

const ready = (await pool.health()).isolates[0];
emit('ready', { compileMs: performance.now() - started, isolateStartMs: ready.startMs, loadMs: ready.loadMs, warmMs: ready.warmMs, ...(await memory()) });

let proving = true;
let replaced = () => {};
pool.on('replacement', (r) => {
  replaced();
  if (!proving) return;
  emit('replacement', {
    oldIsolateId: r.oldIsolateId,
    newIsolateId: r.newIsolateId,
    metric: r.metric,
    reason: r.reason,
    oldJobs: r.old.jobs,
    newStartMs: r.newStartMs,
    drainMs: r.drainMs,
    terminateMs: r.terminateMs,
    totalMs: r.totalMs,
    oldWasmBytes: r.old.snapshot?.memory.linearBytes ?? null,
    newWasmBytes: r.new.snapshot?.memory.linearBytes ?? null,
    rssBeforeTerminate: r.processRssBytes?.beforeTerminate ?? null,
    rssAfterTerminate: r.processRssBytes?.afterTerminate ?? null,
  });
});
pool.on('crash', (e) => emit('crash', { isolateId: e.isolateId, error: String(e.error?.message ?? e.error) }));

const go = await awaitGo();
const proofs = [];
const vkHashes = new Set();
const { gaps, failures } = await proveLoop(
  go,
  async (n, x, y) => {
    const result = await pool.run('prove', { x, y });
    proofs.push(result.proof);
    vkHashes.add(result.vkHash);
    return { output: result.output, isolateMs: result.proveMs, ...(await memory()) };
  },
  expectedOutput,
);
// A replacement under way when the budget ran out (the successor still warming) is let finish, so that
// the chart shows the memory it returns; bounded, as a successor that cannot start is retried by the pool.
if ((await pool.health()).isolates.length > 1) {
  emit('finishing-replacement');
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 5 * 60_000);
    replaced = () => resolve(clearTimeout(timer));
  });
}
proving = false;
emit('proved', { gaps, failures, vkHashes: [...vkHashes], ...(await memory()) });

const checked = go.verifyLast === null ? proofs : proofs.slice(-go.verifyLast);
started = performance.now();
const { verified, ms } = checked.length === 0 ? { verified: [], ms: [] } : await pool.run('verify', { proofs: checked });
emit('verified', { verified: verified.filter(Boolean).length, checked: checked.length, of: proofs.length, ms: performance.now() - started, each: ms });
await pool.close();
process.exit(0);
