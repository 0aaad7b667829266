// The prover-isolate part of the benchmark (bindings-js/isolates): real o1js
// 2.15.0 (the patched app of scripts/prepare-o1js-apps.sh) proving the
// real-o1js tests' ZkProgram in prover isolates, each measurement in a fresh
// process (tests/isolates/app/bench-pool.mjs, bench-stock-gap.mjs,
// bench-stock-memory.mjs), side by side in one run:
//
//  - throughput: proofs per minute, 1 isolate × 2 threads against 2 isolates
//    × 1 thread, alternating which goes first (A B, then B A); each isolate
//    warmed by a compile from o1js's cache and one proof;
//  - memory over a long run: one stock o1js process (2 workers) against the
//    pool (1 isolate × 2 threads) replacing its isolate ahead of every few
//    proofs (limits.replaceAhead): process RSS and wasm linear memory after
//    every proof (the sawtooth); then the same pool with isolation 'process'
//    under limits.rssBudgetBytes = stock's peak (each replacement
//    stop-then-start), and with backend 'native' (a reference, blue/green),
//    RSS counting the isolates' own processes; each proof's latency marked by
//    whether a successor warmed meanwhile (p99 during replacements against
//    without). Every side's RSS is sampled after each proof, peaks included;
//  - replacement cost: an isolate's start with a cold compile against a
//    blue/green replacement whose successor compiles from o1js's cache;
//  - the main thread's event-loop gaps: stock o1js proving on it against the
//    pool's caller while isolates prove (from the throughput runs).
//
// Knobs (environment): BENCH_ISOLATES (1 | 0), BENCH_ISOLATES_ROUNDS (2),
// BENCH_ISOLATES_PROOFS (8 per throughput run), BENCH_ISOLATES_MEMORY_PROOFS
// (100), BENCH_ISOLATES_REPLACE_EVERY (25), BENCH_ISOLATES_COLD (2),
// BENCH_ISOLATES_WARM (3), BENCH_ISOLATES_GAP_PROOFS (3); BENCH_QUICK=1 makes
// each a few. BENCH_ISOLATES_MEMORY_ALONGSIDE=1 runs the two memory runs at
// the same time as each other and as the other parts (the memory figures do
// not depend on timing; the times of everything measured meanwhile do, and
// the table says so): for a machine with no hour to spare. About 60 minutes
// with the defaults on a quiet 2-core machine, plus about 40 for the process
// and native memory runs (the wasm memory runs are 40 of the 60). Each part's result is kept in build/bench/isolates-parts/ as it is
// measured; BENCH_ISOLATES_RESUME=1 reuses the parts found there (same config,
// and the same patched build unless the part measured stock o1js alone)
// instead of measuring them again.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, spread } from './stats.js';
import { envInteger } from './env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 2 ** 20;
const MINUTES = 60_000;
const GAP_GOAL_MS = 50;

/** The section's config from the environment (BENCH_QUICK=1: a smoke run). */
export function isolatesConfig(env = process.env) {
  const quick = env.BENCH_QUICK === '1';
  const int = (name, normal, small) => envInteger(env, name, normal, small);
  return {
    enabled: env.BENCH_ISOLATES !== '0',
    rounds: int('BENCH_ISOLATES_ROUNDS', 2, 1),
    throughputProofs: int('BENCH_ISOLATES_PROOFS', 8, 2),
    memoryProofs: int('BENCH_ISOLATES_MEMORY_PROOFS', 100, 6),
    replaceEvery: int('BENCH_ISOLATES_REPLACE_EVERY', 25, 3),
    coldStarts: int('BENCH_ISOLATES_COLD', 2, 1),
    warmReplacements: int('BENCH_ISOLATES_WARM', 3, 1),
    gapProofs: int('BENCH_ISOLATES_GAP_PROOFS', 3, 1),
    memoryAlongside: env.BENCH_ISOLATES_MEMORY_ALONGSIDE === '1',
    memoryBudgetMinutes: env.BENCH_ISOLATES_MEMORY_BUDGET_MIN === undefined ? null : int('BENCH_ISOLATES_MEMORY_BUDGET_MIN', 0, 0),
    resume: env.BENCH_ISOLATES_RESUME === '1',
    quick,
  };
}

/** Parts that measure stock o1js alone: the patched build they are kept with does not matter. */
const stockOnly = (name) => name.startsWith('stock-') || name === 'memory-stock';

/** Compiles bindings-js (tsc, as scripts/test.sh does) when the isolate module's output is missing or older than its sources. */
function ensureCompiled(log) {
  const out = `${ROOT}build/ts/bindings-js/isolates/`;
  const sources = `${ROOT}bindings-js/isolates/`;
  const newest = Math.max(...readdirSync(sources).map((f) => statSync(`${sources}${f}`).mtimeMs));
  if (existsSync(`${out}node.js`) && statSync(`${out}node.js`).mtimeMs >= newest) return out;
  log('isolates: compiling bindings-js (npx tsc -p tsconfig.json)');
  const tsc = spawnSync('npx', ['--no-install', 'tsc', '-p', `${ROOT}tsconfig.json`], { cwd: ROOT, encoding: 'utf8', timeout: 5 * MINUTES });
  if (!existsSync(`${out}node.js`)) throw new Error(`isolates: tsc did not produce ${out}node.js: ${tsc.stdout}${tsc.stderr}`);
  return out;
}

/** The real-o1js apps, prepared, and `pool(options)`: one run of tests/isolates/app/bench-pool.mjs in the patched app, in a fresh process. */
export async function isolateApps(log) {
  const compiled = ensureCompiled(log);
  const apps = await import('../tests/isolates/apps.js');
  const { runApp } = await import('../tests/o1js/apps.js');
  apps.prepareIsolateApps();
  const lib = pathToFileURL(`${compiled}node.js`).href;
  const pool = async (options, timeoutMs) => (await runApp(apps.PATCHED, 'isolates/bench-pool.mjs', { lib, ...options }, timeoutMs)).result;
  return { ...apps, runApp, pool };
}

export async function isolatesSection(config, log) {
  const { pool, runApp, PATCHED, STOCK, APPS, CACHE } = await isolateApps(log);
  const STOCK_CACHE = `${APPS}/cache-isolates-stock`;
  // Which patched o1js proves (the package's record: o1js version and its key), read at the start and
  // at the end: a reinstall in between would mix two builds.
  const installed = () => {
    const { plonkWasmPool } = JSON.parse(readFileSync(`${PATCHED}/node_modules/o1js/package.json`, 'utf8'));
    return { o1js: plonkWasmPool.o1js, key: plonkWasmPool.key };
  };
  const installAtStart = installed();

  // Each part is kept as it is measured (and reused with BENCH_ISOLATES_RESUME=1 under the same config).
  const PARTS = `${ROOT}build/bench/isolates-parts/`;
  mkdirSync(PARTS, { recursive: true });
  const { resume, ...measured } = config;
  const configKey = JSON.stringify(measured);
  const part = async (name, measure) => {
    const file = `${PARTS}${name}.json`;
    if (resume && existsSync(file)) {
      const kept = JSON.parse(readFileSync(file, 'utf8'));
      // A part is reused only under the same config and, unless it measured stock o1js alone, the same patched build.
      const sameBuild = stockOnly(name) || kept.installKey?.atEnd === installed().key;
      if (kept.configKey === configKey && sameBuild) {
        log(`isolates: ${name}: reusing ${file} (measured ${kept.measuredAt})`);
        return kept;
      }
      log(`isolates: ${name}: measuring again (${file} was measured ${kept.configKey === configKey ? 'with another patched build' : 'under another config'})`);
    }
    const startedAt = new Date().toISOString();
    const before = os.loadavg()[0];
    const installKeyAtStart = installed().key;
    const result = await measure();
    const kept = {
      configKey,
      startedAt,
      measuredAt: new Date().toISOString(),
      loadAverage1m: { before, after: os.loadavg()[0] },
      // The patched o1js's patch-set key when the part started and ended (another job may reinstall it).
      installKey: { atStart: installKeyAtStart, atEnd: installed().key },
      result,
    };
    writeFileSync(file, `${JSON.stringify(kept, null, 2)}\n`);
    return kept;
  };
  const loads = {};
  const timed = async (name, measure) => {
    const kept = await part(name, measure);
    loads[name] = { startedAt: kept.startedAt ?? null, endedAt: kept.measuredAt, loadAverage1m: kept.loadAverage1m, installKey: kept.installKey ?? null };
    return kept.result;
  };

  const memoryTimeout = (config.memoryProofs + 10) * 3 * MINUTES;
  const budgetMs = config.memoryBudgetMinutes === null ? null : config.memoryBudgetMinutes * MINUTES;
  const stockMemoryRun = () =>
    timed('memory-stock', async () => {
      log(`isolates: memory over ${config.memoryProofs} proofs: one stock o1js process (2 workers)`);
      return (await runApp(STOCK, 'isolates/bench-stock-memory.mjs', { workers: 2, proofs: config.memoryProofs, cacheDir: STOCK_CACHE, budgetMs }, memoryTimeout)).result;
    });
  const poolMemoryRun = () =>
    timed('memory-pool', () => {
      log(`isolates: memory over ${config.memoryProofs} proofs: the pool (1 isolate x 2 threads, replaced ahead of every ${config.replaceEvery} proofs)`);
      return pool({ mode: 'memory', isolates: 1, threads: 2, proofs: config.memoryProofs, replaceEvery: config.replaceEvery, replaceAhead: true, cacheDir: CACHE, budgetMs }, memoryTimeout);
    });
  // The same run with each isolate in a process of its own under an RSS budget of stock o1js's peak in
  // this run (so no two instances ever run: each replacement stops the old process first), and with
  // o1js's native backend (a process of its own too).
  const processMemoryRun = (stockMemory) =>
    timed('memory-pool-process-budget', () => {
      const rssBudgetBytes = peakOver(stockMemory);
      log(`isolates: memory over ${config.memoryProofs} proofs: the pool with isolation 'process', limits.rssBudgetBytes ${(rssBudgetBytes / MiB).toFixed(0)} MiB (stock's peak)`);
      return pool({ mode: 'memory', isolates: 1, threads: 2, proofs: config.memoryProofs, replaceEvery: config.replaceEvery, replaceAhead: true, isolation: 'process', rssBudgetBytes, cacheDir: CACHE, budgetMs }, memoryTimeout);
    });
  const nativeMemoryRun = () =>
    timed('memory-native', () => {
      log(`isolates: memory over ${config.memoryProofs} proofs: the pool with backend 'native' (reference)`);
      return pool({ mode: 'memory', isolates: 1, threads: 2, proofs: config.memoryProofs, replaceEvery: config.replaceEvery, replaceAhead: true, backend: 'native', cacheDir: `${CACHE}-native`, budgetMs }, memoryTimeout);
    });
  // Alongside: both memory runs start now and run while the other parts are measured.
  const memoryAlongside = config.memoryAlongside ? Promise.all([stockMemoryRun(), poolMemoryRun()]) : null;
  memoryAlongside?.catch(() => undefined); // awaited below; a failure there is reported there

  // First the replacement cost: its first pool fills o1js's cache for the isolates (a cold compile, the
  // first time), so every later warm step measures a compile from the cache.
  const replacement = await timed('replacement', () => {
    log(`isolates: replacement cost (${config.coldStarts} cold starts, ${config.warmReplacements} warm replacements)`);
    return pool({ mode: 'replacement', threads: 2, cacheDir: CACHE, cold: config.coldStarts, warm: config.warmReplacements }, 60 * MINUTES);
  });

  // The two splits of 2 cores, and isolates: 'auto' (the pool's own pick), each round in another order.
  const throughput = { '1x2': [], '2x1': [], auto: [] };
  const configs = { '1x2': { isolates: 1, threads: 2 }, '2x1': { isolates: 2, threads: 1 }, auto: { isolates: 'auto' } };
  for (let round = 0; round < config.rounds; round++) {
    const layouts = Object.keys(configs);
    const order = layouts.map((_, i) => layouts[(i + round) % layouts.length]);
    for (const name of order) {
      throughput[name].push(
        await timed(`throughput-${round + 1}-${name}`, () => {
          log(`isolates: throughput round ${round + 1} of ${config.rounds}: ${name} (${config.throughputProofs} proofs)`);
          return pool({ mode: 'throughput', ...configs[name], proofs: config.throughputProofs, cacheDir: CACHE }, 60 * MINUTES);
        }),
      );
    }
  }
  const ratios = throughput['2x1'].map((r, i) => r.proofsPerMinute / throughput['1x2'][i].proofsPerMinute);
  // 'auto' against the better of the two splits measured in the same round (goal >= 0.95).
  const autoRatios = throughput.auto.map((r, i) => r.proofsPerMinute / Math.max(throughput['1x2'][i].proofsPerMinute, throughput['2x1'][i].proofsPerMinute));

  const stockGap = await timed('stock-gap', async () => {
    log(`isolates: stock o1js proving on the main thread (event-loop gaps, ${config.gapProofs} proofs)`);
    return (await runApp(STOCK, 'isolates/bench-stock-gap.mjs', { workers: 2, proofs: config.gapProofs, cacheDir: STOCK_CACHE }, 30 * MINUTES)).result;
  });

  let stockMemory;
  let poolMemory;
  if (memoryAlongside !== null) {
    log('isolates: waiting for the two memory runs (alongside)');
    [stockMemory, poolMemory] = await memoryAlongside;
  } else {
    stockMemory = await stockMemoryRun();
    poolMemory = await poolMemoryRun();
  }
  const processMemory = await processMemoryRun(stockMemory);
  const nativeMemory = await nativeMemoryRun();

  const install = installed();
  const installedAt = () => {
    const marker = [`${PATCHED}/node_modules/o1js/.plonk-wasm-pool/state.json`, `${PATCHED}/node_modules/o1js/package.json`].find((file) => existsSync(file));
    return marker === undefined ? null : statSync(marker).mtime.toISOString();
  };
  // A reinstall by another job on the machine mixes two builds in the isolates started after it: said in the table.
  // Parts that ran stock o1js alone did not load the patched build, whatever was installed meanwhile.
  const patchedParts = Object.entries(loads).filter(([name]) => !stockOnly(name));
  const keys = patchedParts.flatMap(([, l]) => (l.installKey === null ? [] : [l.installKey.atStart, l.installKey.atEnd]));
  const first = keys[0] ?? installAtStart.key;
  const changed = keys.find((k) => k !== first) ?? (install.key !== first ? install.key : null);
  const reinstalled = changed === null ? null : { from: first, to: changed, at: installedAt() };
  if (reinstalled !== null) log(`isolates: WARNING: the patched o1js was reinstalled during the benchmark at ${reinstalled.at} (key ${reinstalled.from} → ${reinstalled.to})`);
  return {
    config,
    patchedO1js: { version: install.o1js, key: reinstalled?.from ?? install.key, reinstalled },
    /** The 1-minute load average before and after each part (other work on the machine shows here). */
    loads,
    throughput: {
      runs: throughput,
      proofsPerMinute: Object.fromEntries(Object.entries(throughput).map(([name, runs]) => [name, spread(runs.map((r) => r.proofsPerMinute))])),
      ratio: spread(ratios),
      autoRatio: spread(autoRatios),
    },
    gaps: {
      stock: stockGap,
      pool: spread([...throughput['1x2'], ...throughput['2x1']].map((r) => r.gaps.maxMs)),
      poolP99: spread([...throughput['1x2'], ...throughput['2x1']].map((r) => r.gaps.p99Ms)),
      poolMemoryRun: poolMemory.gaps,
    },
    replacement,
    memory: { stock: stockMemory, pool: poolMemory, process: processMemory, native: nativeMemory },
  };
}

/** Proof latency (submission to result) of the proofs made while a replacement's successor warmed, against the others. */
export function replacementLatency(m) {
  const proofs = m.samples.slice(1).filter((s) => s.latencyMs !== undefined);
  const p99 = (xs) => {
    const sorted = xs.map((s) => s.latencyMs).sort((a, b) => a - b);
    return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
  };
  const during = proofs.filter((s) => s.duringReplacement);
  const without = proofs.filter((s) => !s.duringReplacement);
  const ratio = p99(during) === null || p99(without) === null ? null : p99(during) / p99(without);
  return { during: during.length, without: without.length, p99DuringMs: p99(during), p99WithoutMs: p99(without), ratio };
}

// A memory run's largest RSS over proofs 1..upTo (sample 0 is taken before the warm step).
const peakOver = (m, upTo = m.samples.length - 1) => Math.max(...m.samples.slice(1, upTo + 1).map((s) => s.rssBytes));

/**
 * The memory runs side by side over the proofs all of them made: stock o1js,
 * worker isolates, process isolates (under the RSS budget when it was set) and
 * native isolates. Per side: RSS after the first and last proof, the peak
 * (and whether it stays within stock's), the worst RSS right after a swap
 * against the first post-warm RSS, the median prove time, and the proof
 * latency during replacements against without (not for stock).
 */
export function memorySides(memory) {
  const { stock } = memory;
  const present = [
    ['stock o1js (one process)', stock],
    ['worker isolates (blue/green)', memory.pool],
    [
      memory.process?.rssBudgetBytes == null
        ? 'process isolates'
        : `process isolates, rssBudgetBytes ${(memory.process.rssBudgetBytes / MiB).toFixed(0)} MiB = stock's peak (${memory.process.stopThenStart} stop-then-start)`,
      memory.process,
    ],
    ['native isolates (reference, blue/green)', memory.native],
  ].filter(([, m]) => m !== undefined);
  const upTo = Math.min(...present.map(([, m]) => m.samples.length)) - 1;
  const stockPeak = peakOver(stock, upTo);
  const sides = present.map(([label, m]) => {
    const firstPostWarm = m.samples[1].rssBytes;
    const afterSwaps = (m.replacements ?? []).filter((r) => r.afterProof < upTo).map((r) => m.samples[r.afterProof + 1]?.rssBytes ?? null).filter((x) => x !== null);
    return {
      label,
      isStock: m === stock,
      firstRssBytes: firstPostWarm,
      lastRssBytes: m.samples[upTo].rssBytes,
      peakRssBytes: peakOver(m, upTo),
      peakMeets: m === stock ? null : peakOver(m, upTo) <= stockPeak,
      worstAfterSwap: afterSwaps.length === 0 ? null : Math.max(...afterSwaps.map((x) => x / firstPostWarm - 1)),
      proveMedianMs: median(m.samples.slice(1, upTo + 1).map((x) => x.proveMs)),
      // Each successor's first job (the proof after the swap): steady-state speed when its warm step proved once.
      firstOnSuccessorMs: (() => {
        const firsts = (m.replacements ?? []).filter((r) => r.afterProof < upTo).map((r) => m.samples[r.afterProof + 1]?.proveMs).filter((x) => x !== undefined);
        return firsts.length === 0 ? null : median(firsts);
      })(),
      latency: m === stock ? null : replacementLatency(m),
    };
  });
  return { upTo, sides };
}

const f = (value, digits = 1) => value.toFixed(digits);
const sp = (s, digits = 2) => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
const secs = (ms) => (ms / 1000).toFixed(1);

export function isolatesTable(results) {
  const lines = [];
  const row = (cells) => lines.push(`| ${cells.join(' | ')} |`);
  const { throughput, gaps, replacement, memory } = results;
  const runs = throughput.runs['1x2'].length;

  lines.push('', `Prover isolates (bench/isolates.js), real o1js ${results.patchedO1js.version} patched (kimchi-wasm with this pool), the real-o1js tests' ZkProgram.`);
  const loadRange = Object.values(results.loads).flatMap((l) => [l.loadAverage1m.before, l.loadAverage1m.after]);
  lines.push(`1-minute load average at the start and end of the parts: ${Math.min(...loadRange).toFixed(1)}–${Math.max(...loadRange).toFixed(1)} on ${os.availableParallelism?.() ?? os.cpus().length} CPUs (other work on the machine; every comparison is side by side within this run).`);
  const { reinstalled } = results.patchedO1js;
  if (reinstalled) {
    const at = Date.parse(reinstalled.at);
    const parts = Object.entries(results.loads);
    const names = (keep) => parts.filter(([, l]) => keep(Date.parse(l.startedAt), Date.parse(l.endedAt))).map(([name]) => name).join(', ') || 'none';
    lines.push(
      `NOTE: another job on the machine reinstalled the patched o1js at ${reinstalled.at?.slice(11, 19) ?? "an unknown time"} UTC (patch-set key ${reinstalled.from.slice(0, 12)} → ` +
        `${reinstalled.to.slice(0, 12)}, a newer revision of this pool): isolates started after that loaded the second build. Before it: ` +
        `${names((s, e) => e <= at)}; across it: ${names((s, e) => s < at && e > at)}; after it: ${names((s) => s >= at)}. Stock o1js runs are unaffected.`,
    );
  }
  if (results.config.memoryAlongside) {
    lines.push(
      'NOTE: BENCH_ISOLATES_MEMORY_ALONGSIDE=1: the two memory runs ran at the same time as each other and as the other parts. Memory figures ' +
        'do not depend on timing; every time in this table was measured beside them (slower than on a quiet machine), the two sides of each comparison alike.',
    );
  }
  lines.push('', `Prover isolates, real o1js 2.15.0: throughput (${results.config.throughputProofs} proofs submitted at once per run, ${runs} runs each, alternating; medians (min–max))`);
  row(['layout', 'proofs per minute', 'median proof (s)', 'pool start (s)']);
  row(Array(4).fill('---'));
  const autoRuns = throughput.runs.auto ?? [];
  const picked = [...new Set(autoRuns.map((r) => `${r.chosen.isolates} × ${r.chosen.threads}`))].join(', ');
  const layouts = [['1x2', '1 isolate × 2 threads'], ['2x1', '2 isolates × 1 thread'], ...(autoRuns.length > 0 ? [['auto', `isolates: 'auto' (picked ${picked})`]] : [])];
  for (const [name, label] of layouts) {
    const r = throughput.runs[name];
    row([label, sp(throughput.proofsPerMinute[name]), secs(median(r.flatMap((x) => x.proveMs))), secs(median(r.map((x) => x.startMs)))]);
  }
  lines.push(`throughput ratio 2 × 1 / 1 × 2: ${sp(throughput.ratio)} (per run, side by side)`);
  if (autoRuns.length > 0) {
    const meets = throughput.autoRatio.median >= 0.95 ? 'meets' : 'MISSES';
    lines.push(`'auto' / the better split of the same round: ${sp(throughput.autoRatio)} (goal >= 0.95: ${meets})`);
  }

  const cold = replacement.coldStarts;
  const warm = replacement.warmStarts;
  lines.push('', 'Replacement cost: a new isolate from spawn to ready (2 threads); then its first and second proof');
  row(['start', 'n', 'total (s)', 'load o1js (s)', 'warm step (s)', 'old isolate terminated (ms)', 'RSS released (MiB)', 'first / second proof (s)']);
  row(Array(8).fill('---'));
  row(['cold (compile without cache)', cold.length, secs(median(cold.map((c) => c.startMs))), secs(median(cold.map((c) => c.loadMs))), secs(median(cold.map((c) => c.warmMs))), '', '', '']);
  row([
    'warm (compile from o1js cache), blue/green',
    warm.length,
    secs(median(warm.map((c) => c.startMs))),
    secs(median(warm.map((c) => c.loadMs))),
    secs(median(warm.map((c) => c.warmMs))),
    f(median(warm.map((c) => c.terminateMs)), 0),
    f(median(warm.map((c) => c.rssReleasedBytes)) / MiB, 0),
    `${secs(median(warm.map((c) => c.firstProofMs)))} / ${secs(median(warm.map((c) => c.secondProofMs)))}`,
  ]);

  lines.push('', `Main thread's event loop while proving (goal: longest gap <= ${GAP_GOAL_MS} ms)`);
  row(['', 'longest gap (ms)', 'p99 gap (ms)', 'proofs']);
  row(Array(4).fill('---'));
  row(['stock o1js (proves on the main thread)', f(gaps.stock.gaps.maxMs, 0), f(gaps.stock.gaps.p99Ms, 1), gaps.stock.proofs]);
  row(['pool (throughput runs, per run)', sp(gaps.pool, 1), sp(gaps.poolP99, 1), results.config.throughputProofs * runs * 2]);
  row(['pool (memory run)', f(gaps.poolMemoryRun.maxMs, 1), f(gaps.poolMemoryRun.p99Ms, 1), memory.pool.proofs]);

  const { stock, pool } = memory;
  const first = (m) => m.samples[1];
  // Side by side at the same proof: the last one both runs made (they differ when a time budget ended them).
  const common = Math.min(stock.samples.length, pool.samples.length) - 1;
  const last = (m) => m.samples[common];
  if (stock.proofs !== pool.proofs || stock.budgetReached || pool.budgetReached) {
    lines.push(
      '',
      `NOTE: BENCH_ISOLATES_MEMORY_BUDGET_MIN=${results.config.memoryBudgetMinutes}: the memory runs stopped at the time budget, ` +
        `stock after ${stock.proofs} proofs, the pool after ${pool.proofs} (of ${results.config.memoryProofs} asked); the table compares them at proof ${common}.`,
    );
  }
  lines.push('', `Memory over ${common} proofs (stock: one process, 2 workers; pool: 1 isolate × 2 threads, replaced every ${pool.replaceEvery} proofs; both compile from o1js's cache, prove the same inputs one after another)`);
  row(['', `RSS after proof 1 → ${common} (MiB)`, 'RSS peak (MiB)', `linear memory after proof 1 → ${common} (MiB)`, 'replacements', 'prove median (s)']);
  row(Array(6).fill('---'));
  for (const [name, m] of [['stock o1js', stock], ['isolate pool', pool]]) {
    row([
      name,
      `${f(first(m).rssBytes / MiB, 0)} → ${f(last(m).rssBytes / MiB, 0)}`,
      f(peakOver(m, common) / MiB, 0),
      `${f(first(m).linearBytes / MiB)} → ${f(last(m).linearBytes / MiB)}`,
      m.replacements?.filter((r) => r.afterProof <= common).length ?? 0,
      secs(median(m.samples.slice(1, common + 1).map((s) => s.proveMs))),
    ]);
  }
  if (pool.replacements.length > 0) {
    const released = pool.replacements.map((r) => (r.rssBeforeTerminate - r.rssAfterTerminate) / MiB);
    lines.push(`pool: RSS released at each old isolate's terminate: median ${f(median(released), 0)} MiB (${f(Math.min(...released), 0)}–${f(Math.max(...released), 0)})`);
  }

  // Isolation side by side, and the native backend as a reference: RSS counts the isolates' own processes.
  const { upTo, sides } = memorySides(memory);
  lines.push('', `RSS over ${upTo} proofs, every process counted, sampled after each proof on every side (replaced ahead of every ${pool.replaceEvery} proofs); goals: pool peak <= stock peak; after each swap within 10 % of its first post-warm RSS`);
  row(['', 'RSS after proof 1 → last (MiB)', 'peak (MiB)', 'peak <= stock', 'after swaps: worst vs first (%)', 'prove median (s)', "a successor's first proof, median (s)", 'proof p99 during / without replacement (s)', 'ratio (goal <= 1.05)']);
  row(Array(9).fill('---'));
  for (const side of sides) {
    const { latency } = side;
    row([
      side.label,
      `${f(side.firstRssBytes / MiB, 0)} → ${f(side.lastRssBytes / MiB, 0)}`,
      f(side.peakRssBytes / MiB, 0),
      side.peakMeets === null ? '' : side.peakMeets ? 'meets' : 'MISSES',
      side.worstAfterSwap === null ? '' : `${f(side.worstAfterSwap * 100, 1)} ${side.worstAfterSwap <= 0.1 ? 'meets' : 'MISSES'}`,
      secs(side.proveMedianMs),
      side.firstOnSuccessorMs === null ? '' : secs(side.firstOnSuccessorMs),
      latency === null || latency.p99DuringMs === null ? '' : `${secs(latency.p99DuringMs)} / ${secs(latency.p99WithoutMs)} (${latency.during} / ${latency.without} proofs)`,
      latency?.ratio == null ? '' : `${f(latency.ratio, 3)} ${latency.ratio <= 1.05 ? 'meets' : 'MISSES'}`,
    ]);
  }
  return lines.join('\n');
}

export function isolatesCharts(results, { barChart, timelineChart, stackedBarChart }) {
  const { throughput, gaps, replacement, memory } = results;
  const toSpread = (s) => ({ median: s.median, min: s.min, max: s.max });
  const files = {};
  files['isolates-throughput.svg'] = barChart({
    title: `Prover isolates: proofs per minute, ratio 2×1 / 1×2 = ${throughput.ratio.median.toFixed(2)}`,
    subtitle: `real o1js ZkProgram, ${results.config.throughputProofs} proofs at once per run; median over ${throughput.runs['1x2'].length} runs, whiskers min–max`,
    unit: 'proofs/min',
    groups: ['1 isolate × 2 threads', '2 isolates × 1 thread', ...(throughput.proofsPerMinute.auto ? ["isolates: 'auto'"] : [])],
    series: [{ name: 'proofs per minute', values: ['1x2', '2x1', 'auto'].filter((n) => throughput.proofsPerMinute[n]).map((n) => toSpread(throughput.proofsPerMinute[n])) }],
    labelDigits: 2,
  });

  const series = [];
  for (const [name, m] of [['stock', memory.stock], ['pool', memory.pool]]) {
    series.push({ name: `${name}: RSS`, points: m.samples.map((s) => [s.proof, s.rssBytes / MiB]) });
    series.push({ name: `${name}: wasm linear memory`, points: m.samples.map((s) => [s.proof, s.linearBytes / MiB]) });
  }
  files['isolates-memory.svg'] = timelineChart({
    title: `Memory over ${Math.max(memory.stock.proofs, memory.pool.proofs)} proofs: stock o1js vs isolate pool (replaced every ${memory.pool.replaceEvery})`,
    subtitle: 'process RSS and wasm linear memory after each proof; pool: sum over its isolates (two during a swap)',
    xLabel: 'proofs',
    unit: 'MiB',
    series,
    markers: memory.pool.replacements.map((r) => ({ x: r.afterProof, kind: 'replacement' })),
    kinds: { replacement: { name: 'pool: old isolate terminated', color: '#888' } },
  });

  const cold = replacement.coldStarts;
  const warm = replacement.warmStarts;
  files['isolates-replacement.svg'] = stackedBarChart({
    title: `Isolate start: cold compile ${secs(median(cold.map((c) => c.startMs)))} s vs warm from cache ${secs(median(warm.map((c) => c.startMs)))} s`,
    subtitle: 'medians; the rest is spawning the worker_thread and reporting ready',
    unit: 's',
    groups: ['cold (no cache)', 'warm (o1js cache)'],
    segments: [
      { name: 'load o1js', values: [median(cold.map((c) => c.loadMs)) / 1000, median(warm.map((c) => c.loadMs)) / 1000] },
      { name: 'warm step (compile)', values: [median(cold.map((c) => c.warmMs)) / 1000, median(warm.map((c) => c.warmMs)) / 1000] },
      {
        name: 'spawn and handshake',
        values: [
          median(cold.map((c) => c.startMs - c.loadMs - c.warmMs)) / 1000,
          median(warm.map((c) => c.startMs - c.loadMs - c.warmMs)) / 1000,
        ],
      },
    ],
  });

  const stockGap = gaps.stock.gaps.maxMs;
  files['isolates-event-loop.svg'] = barChart({
    title: `Main thread's longest event-loop gap while proving: stock ${f(stockGap, 0)} ms, pool ${f(gaps.pool.median, 1)} ms`,
    subtitle: `log scale; pool: median over throughput runs, whiskers min–max; goal <= ${GAP_GOAL_MS} ms`,
    unit: 'ms',
    groups: ['stock o1js', 'isolate pool'],
    series: [{ name: 'longest gap', values: [{ median: stockGap, min: stockGap, max: stockGap }, toSpread(gaps.pool)] }],
    goals: [{ value: GAP_GOAL_MS, label: `goal ${GAP_GOAL_MS} ms` }],
    labelDigits: 0,
    log: { floor: 1 },
  });
  return files;
}
