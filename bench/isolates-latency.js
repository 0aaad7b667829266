// Proof latency during blue/green replacements (issue 21, item 2), side by
// side in one run: one worker isolate proving the real-o1js tests' ZkProgram
// one proof after another, replaced ahead of every few proofs
// (limits.replaceAhead; the successor's warm step compiles from o1js's cache
// and proves once), with
//  - 2 threads: the isolate uses both CPUs of the machine (the memory run's
//    layout), so the successor's start and warm proof take CPU from it;
//  - 1 thread: a CPU is left to the successor.
// Each proof's latency (submission to result) is marked by whether a
// successor warmed meanwhile; the goal is p99 during ≤ 1.05 × p99 without,
// per layout. Each layout runs in a fresh process (tests/isolates/app/bench-pool.mjs).
//
//   BENCH_ONLY=isolates-latency scripts/bench.sh [--publish]
// Knobs (environment): BENCH_ISOLATES_LATENCY_PROOFS (40 per layout),
// BENCH_ISOLATES_LATENCY_EVERY (10: proofs per isolate); BENCH_QUICK=1: 6 and 3.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { envInteger } from './env.js';
import { isolateApps, replacementLatency } from './isolates.js';
import { median } from './stats.js';

const MINUTES = 60_000;
const GOAL = 1.05;

/** The section's config from the environment. */
export function isolatesLatencyConfig(env = process.env) {
  return {
    proofs: envInteger(env, 'BENCH_ISOLATES_LATENCY_PROOFS', 40, 6),
    replaceEvery: envInteger(env, 'BENCH_ISOLATES_LATENCY_EVERY', 10, 3),
  };
}

export async function isolatesLatencySection(config, log) {
  const { pool, CACHE, PATCHED } = await isolateApps(log);
  // Which patched build proved (the package's record), as the isolates part records it.
  const { plonkWasmPool } = JSON.parse(readFileSync(`${PATCHED}/node_modules/o1js/package.json`, 'utf8'));
  const layouts = [];
  for (const threads of [2, 1]) {
    const startedAt = new Date().toISOString();
    const before = os.loadavg()[0];
    log(`isolates latency: 1 isolate x ${threads} thread(s), ${config.proofs} proofs, replaced ahead of every ${config.replaceEvery}`);
    const run = await pool({ mode: 'memory', isolates: 1, threads, proofs: config.proofs, replaceEvery: config.replaceEvery, replaceAhead: true, cacheDir: CACHE }, (config.proofs + 10) * 4 * MINUTES);
    const after = os.loadavg()[0];
    layouts.push({ threads, startedAt, endedAt: new Date().toISOString(), loadAverage1m: { before, after }, latency: replacementLatency(run), run });
  }
  return { config, patchedO1js: { version: plonkWasmPool.o1js, key: plonkWasmPool.key }, cpus: os.availableParallelism?.() ?? os.cpus().length, layouts };
}

const secs = (ms) => (ms / 1000).toFixed(1);

/** What a layout of `threads` leaves to a warming successor on `cpus` CPUs, in words. */
export function spareCpus(threads, cpus) {
  const spare = cpus - threads;
  return spare > 0 ? `${spare} CPU${spare === 1 ? '' : 's'} left to the successor` : 'the successor competes for every CPU';
}

/** Per layout: what a replacement cost the proofs made meanwhile, against the goal. */
export function isolatesLatencyTable(section) {
  const { config, cpus, layouts } = section;
  const lines = [
    '',
    `Proof latency during replacements: 1 worker isolate proving one proof after another, replaced ahead of every ${config.replaceEvery} proofs ` +
      `(blue/green; the successor's warm step compiles from o1js's cache and proves once), ${config.proofs} proofs per layout, on ${cpus} CPUs`,
    '| layout | 1-minute load (start–end) | prove median (s) | replacements | successor ready after, median (s) | a successor\'s first proof, median (s) | proof p99 during / without replacement (s) | ratio (goal <= 1.05) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { threads, loadAverage1m, latency, run } of layouts) {
    const proofs = run.samples.slice(1);
    const firsts = run.replacements.map((r) => run.samples[r.afterProof + 1]?.proveMs).filter((ms) => ms !== undefined);
    const label = `1 isolate × ${threads} thread${threads === 1 ? '' : 's'} (${spareCpus(threads, cpus)})`;
    lines.push(
      `| ${[
        label,
        `${loadAverage1m.before.toFixed(1)}–${loadAverage1m.after.toFixed(1)}`,
        secs(median(proofs.map((s) => s.proveMs))),
        run.replacements.length,
        run.replacements.length === 0 ? '' : secs(median(run.replacements.map((r) => r.newStartMs))),
        firsts.length === 0 ? '' : secs(median(firsts)),
        latency.ratio === null ? `${latency.during} / ${latency.without} proofs: no ratio` : `${secs(latency.p99DuringMs)} / ${secs(latency.p99WithoutMs)} (${latency.during} / ${latency.without} proofs)`,
        latency.ratio === null ? '' : `${latency.ratio.toFixed(3)} ${latency.ratio <= GOAL ? 'meets' : 'MISSES'}`,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}
