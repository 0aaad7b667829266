// One process of the isolate benchmark (bench/isolates.js runs it in the
// patched app, as build/o1js-app/patched/isolates/bench-pool.mjs):
//   node bench-pool.mjs '{"lib":"file:///…/isolates/node.js","mode":"throughput", …}'
// Modes:
//   throughput   { isolates (or 'auto'), threads, proofs, cacheDir }: warm isolates (compile from the cache and
//                one proof each), then `proofs` proofs submitted at once; wall time to the last one,
//                each proof's time, and the main thread's event-loop gaps meanwhile.
//   memory       { isolates, threads, proofs, replaceEvery, cacheDir, isolation?, backend?, replaceAhead?, rssBudgetBytes? }:
//                `proofs` proofs one after another,
//                replacing an isolate after `replaceEvery` proofs (limits.maxJobs; blue/green; the warm
//                step compiles from the cache and proves once); after each proof, the process RSS and
//                every isolate's memory (a fresh health read). The stock side is bench-stock-memory.mjs.
//                With `budgetMs`, no proof starts once that long has passed since the first one;
//                `proofs` then says how many were made. `isolation: 'process'` / `backend: 'native'`:
//                RSS is this process's plus each isolate process's (measured there). Each proof's latency
//                (submission to result) is marked by whether a replacement's successor was warming meanwhile.
//                `rssBudgetBytes`: limits.rssBudgetBytes (a replacement the budget forbids as blue/green
//                stops the old isolate first: counted in `stopThenStart`, each replacement's `order`).
//   replacement  { threads, cacheDir, cold, warm }: `cold` pool starts whose warm step compiles
//                without a cache, then `warm` replaceIsolate() whose successor compiles from the cache;
//                after each, the new isolate's first proof (slower: o1js finishes setting up keys in it)
//                and a second one.
// Prints one JSON line; logs go to stderr.
const options = JSON.parse(process.argv[2]);
const { createProverPool } = await import(options.lib);
const prover = new URL('./prover.js', import.meta.url);
const log = (line) => process.stderr.write(`[bench-pool] ${line}\n`);

/** The main thread's event-loop gaps: intervals between ticks of a 5 ms timer, with when each ended. */
function gapMonitor() {
  const gaps = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push([now, now - last]);
    last = now;
  }, 5);
  return () => {
    clearInterval(timer);
    const sorted = gaps.map(([, g]) => g).sort((a, b) => a - b);
    const longest = gaps.reduce((a, b) => (b[1] > a[1] ? b : a), [0, 0]);
    return { ticks: sorted.length, maxMs: sorted.at(-1) ?? 0, p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0, p50Ms: sorted[Math.floor(sorted.length * 0.5)] ?? 0, longestEndedAtMs: longest[0] };
  };
}

const memoryOf = (health, ownProcesses = false) => {
  const serving = health.isolates.filter((i) => i.snapshot !== null);
  const sum = (key) => serving.reduce((n, i) => n + (i.snapshot.memory[key] ?? 0), 0);
  return {
    // Isolates in processes of their own hold their memory there: measured by each (rssShareBytes).
    rssBytes: health.processRssBytes + (ownProcesses ? sum('rssShareBytes') : 0),
    linearBytes: sum('linearBytes'),
    allocatorLiveBytes: sum('allocatorLiveBytes'),
    v8HeapBytes: sum('v8HeapBytes'),
    isolates: health.isolates.map((i) => ({ id: i.id, state: i.state, linearBytes: i.snapshot?.memory.linearBytes ?? null, v8HeapBytes: i.snapshot?.memory.v8HeapBytes ?? null })),
  };
};

async function throughput({ isolates, threads, proofs, cacheDir }) {
  let started = performance.now();
  // isolates 'auto': the pool picks the split (bindings-js/isolates/auto-split.ts); reported as chosen.
  const pool = await createProverPool({
    module: prover,
    isolates,
    ...(threads === undefined ? {} : { threadsPerIsolate: threads }),
    warm: { name: 'compile', args: { cacheDir, proveOnce: true } },
    startTimeoutMs: 15 * 60_000,
  });
  const startMs = performance.now() - started;
  const chosen = { isolates: pool.config.isolates, threads: pool.config.threadsPerIsolate };
  try {
    const events = [];
    pool.on('job-end', (e) => events.push({ at: performance.now(), isolateId: e.isolateId, runMs: e.runMs }));
    const stopGaps = gapMonitor();
    started = performance.now();
    const results = await Promise.all(Array.from({ length: proofs }, (_, i) => pool.run('prove', { x: i, y: 7 })));
    const wallMs = performance.now() - started;
    const gaps = stopGaps();
    log(`${isolates} (${chosen.isolates}) x ${chosen.threads}: ${proofs} proofs in ${(wallMs / 1000).toFixed(1)} s; longest gap ${gaps.maxMs.toFixed(1)} ms`);
    return { isolates, threads, chosen, proofs, startMs, wallMs, proofsPerMinute: (proofs * 60_000) / wallMs, proveMs: results.map((r) => r.proveMs), gaps };
  } finally {
    await pool.close();
  }
}

async function memory({ isolates, threads, proofs, replaceEvery, cacheDir, budgetMs = null, isolation = 'thread', backend = 'wasm', replaceAhead = false, rssBudgetBytes = null }) {
  const maxJobs = replaceEvery; // one job per proof
  const ownProcesses = isolation === 'process' || backend === 'native';
  const pool = await createProverPool({
    module: prover,
    isolates,
    threadsPerIsolate: threads,
    warm: { name: 'compile', args: { cacheDir, proveOnce: true } },
    limits: { maxJobs, cooldownMs: 0, replaceAhead, rssBudgetBytes },
    startTimeoutMs: 15 * 60_000,
    ...(ownProcesses ? { isolation: 'process' } : {}),
    ...(backend === 'native' ? { backend } : {}),
  });
  try {
    const replacements = [];
    let warming = 0;
    let warmedDuring = false;
    let stopThenStart = 0;
    pool.on('stop-then-start', () => stopThenStart++);
    pool.on('isolate-start', (e) => {
      if (e.cause !== 'replacement') return;
      warming++;
      warmedDuring = true;
    });
    pool.on('isolate-ready', (e) => {
      if (e.cause === 'replacement') warming--;
    });
    let done = 0;
    pool.on('replacement', (r) =>
      replacements.push({
        afterProof: done,
        order: r.order,
        oldIsolateId: r.oldIsolateId,
        newIsolateId: r.newIsolateId,
        newStartMs: r.newStartMs,
        newWarmMs: r.newWarmMs,
        drainMs: r.drainMs,
        terminateMs: r.terminateMs,
        rssBeforeTerminate: r.processRssBytes.beforeTerminate,
        rssAfterTerminate: r.processRssBytes.afterTerminate,
        oldLinearBytes: r.old.snapshot?.memory.linearBytes ?? null,
      }),
    );
    const samples = [{ proof: 0, proveMs: 0, ...memoryOf(await pool.health(), ownProcesses) }];
    const stopGaps = gapMonitor();
    const provingStarted = performance.now();
    for (let i = 1; i <= proofs; i++) {
      if (budgetMs !== null && performance.now() - provingStarted > budgetMs) break;
      warmedDuring = warming > 0;
      const submitted = performance.now();
      const result = await pool.run('prove', { x: i, y: 7 });
      const latencyMs = performance.now() - submitted;
      done = i;
      samples.push({ proof: i, proveMs: result.proveMs, latencyMs, duringReplacement: warmedDuring, ...memoryOf(await pool.health(), ownProcesses) });
      if (i % 10 === 0) log(`memory: ${i} of ${proofs} proofs; RSS ${(samples.at(-1).rssBytes / 2 ** 20).toFixed(0)} MiB`);
    }
    const made = samples.length - 1;
    return { isolates, threads, isolation: ownProcesses ? 'process' : 'thread', backend, replaceAhead, rssBudgetBytes, stopThenStart, proofs: made, proofsAsked: proofs, budgetReached: made < proofs, replaceEvery, maxJobs, samples, replacements, gaps: stopGaps() };
  } finally {
    await pool.close();
  }
}

async function replacement({ threads, cacheDir, cold, warm }) {
  const coldStarts = [];
  for (let i = 0; i < cold; i++) {
    const pool = await createProverPool({ module: prover, threadsPerIsolate: threads, warm: { name: 'compile', args: { cacheDir: null } }, startTimeoutMs: 15 * 60_000 });
    const { isolates } = await pool.health();
    coldStarts.push({ startMs: isolates[0].startMs, loadMs: isolates[0].loadMs, warmMs: isolates[0].warmMs });
    await pool.close();
    log(`cold start ${i + 1}: ${(coldStarts.at(-1).startMs / 1000).toFixed(1)} s`);
  }
  const pool = await createProverPool({ module: prover, threadsPerIsolate: threads, warm: { name: 'compile', args: { cacheDir } }, startTimeoutMs: 15 * 60_000 });
  const warmStarts = [];
  try {
    await pool.run('prove', { x: 1, y: 1 }); // an isolate that proved, as in service
    for (let i = 0; i < warm; i++) {
      const report = await pool.replaceIsolate();
      const firstProof = await pool.run('prove', { x: 2, y: i + 1 });
      const secondProof = await pool.run('prove', { x: 3, y: i + 1 });
      warmStarts.push({
        firstProofMs: firstProof.proveMs,
        secondProofMs: secondProof.proveMs,
        startMs: report.newStartMs,
        loadMs: report.newLoadMs,
        warmMs: report.newWarmMs,
        totalMs: report.totalMs,
        terminateMs: report.terminateMs,
        rssReleasedBytes: report.processRssBytes.beforeTerminate - report.processRssBytes.afterTerminate,
      });
      log(`warm replacement ${i + 1}: new isolate ready in ${(report.newStartMs / 1000).toFixed(1)} s`);
    }
  } finally {
    await pool.close();
  }
  return { threads, coldStarts, warmStarts };
}

const modes = { throughput, memory, replacement };
console.log(JSON.stringify(await modes[options.mode](options)));
