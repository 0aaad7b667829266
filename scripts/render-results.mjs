#!/usr/bin/env node
// Writes docs/results.md from what the benchmark published (scripts/bench.sh
// --publish, bench/run.js): docs/bench/results.json and table.md (the pool),
// docs/bench/isolates-results.json and isolates-table.md (prover isolates),
// and docs/bench/chaos-results.json and chaos-table.md when present.
//   node scripts/render-results.mjs
// The page holds the headline figures README quotes, each computed here from
// the JSON with the field it comes from; when and on what each part was
// measured (as the JSON records it: date, machine, load where recorded); the
// goals with the figures that meet or miss them; the tables bench/run.js
// wrote, embedded as they are; and the charts. Nothing in it depends on when
// it is rendered: the same inputs give the same file, byte for byte.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { median, runsStartedAt } from '../bench/stats.js';
import { memorySides } from '../bench/isolates.js';
import { spareCpus } from '../bench/isolates-latency.js';
import { loadsLine } from '../bench/sections.js';

const DOCS = new URL('../docs/', import.meta.url);
const BENCH = new URL('bench/', DOCS);
const OUT = new URL('results.md', DOCS);
const MiB = 2 ** 20;

const readJson = (name) => JSON.parse(readFileSync(new URL(name, BENCH), 'utf8'));
const readText = (name) => readFileSync(new URL(name, BENCH), 'utf8');
const has = (name) => existsSync(new URL(name, BENCH));

for (const name of ['results.json', 'table.md', 'isolates-results.json', 'isolates-table.md']) {
  if (!has(name)) {
    console.error(`docs/bench/${name} is missing: scripts/bench.sh --publish writes it`);
    process.exit(1);
  }
}

const pool = readJson('results.json');
const isolatesFile = readJson('isolates-results.json');
const iso = isolatesFile.isolates;
const chaosFile = has('chaos-results.json') ? readJson('chaos-results.json') : null;
/** A part's own run (BENCH_ONLY=…) published after the full run, which it supersedes for that part; else null. */
function laterRun(name) {
  const run = has(name) ? readJson(name) : null;
  return run !== null && run.meta.date > pool.meta.date ? run : null;
}
// The isolate chaos alone: it replaces the runs table.md embeds.
const isolatesChaosFile = laterRun('isolates-chaos-results.json');
// Real o1js's prove pairs alone: its prove figures replace the full run's (the full run's memory run stands).
const o1jsFile = pool.o1js === undefined ? null : laterRun('o1js-results.json');
// Proof latency during replacements alone (a run of its own only): its goal rows follow the full run's.
const latencyFile = laterRun('isolates-latency-results.json');

// ------------------------------------------------------------ formatting

const f = (value, digits = 1) => value.toFixed(digits);
const range = (s, digits = 1) => `${f(s.min, digits)}–${f(s.max, digits)}`;
const mib = (bytes, digits = 1) => f(bytes / MiB, digits);
const utc = (iso8601) => `${iso8601.slice(0, 10)} ${iso8601.slice(11, 16)} UTC`;
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const machine = (meta) => `Node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}, ${meta.platform})`;

/**
 * What a run's log says that its JSON does not record, keyed by the run's
 * `meta.date`: a note applies to that run only (a new run gets none, and the
 * page then says the load was not recorded).
 */
const RUN_NOTES = {
  '2026-11-30T23:40:51.938Z':
    '*From the run\'s log* (results.json does not record the load): the run shared the machine with other jobs (among them a full test run), and ' +
    'the 1-minute load average was 4–16 on 2 CPUs, so latencies are inflated and spread wide. Ratios are measured side by ' +
    'side (interleaved processes, neighbours in time compared), which cancels most of the load, not all of it.',
};

// ------------------------------------------------------------ the pool (results.json)

const threadCounts = pool.config.threadCounts;
// The thread count the prose quotes: 2 workers (the machine's CPUs), else the first measured.
const two = threadCounts.includes(2) ? 2 : threadCounts[0];
const latency = (n) => pool.recycle.latency[n];
// The standby's RSS cost at n workers, from the run whose process started its pool at n (bench/run.js says why).
const standbyCostAt = (n) => median(runsStartedAt(pool.recycle.runs, n, threadCounts).map((r) => r.byThreads[n].standby.costRssBytes));
const p99s = threadCounts.map((n) => latency(n).total.p99.median);
const p50s = threadCounts.map((n) => latency(n).total.p50.median);
const leak = pool.recycle.leak;
const over = pool.overhead;
const avail = pool.availability;
const web = pool.web?.skipped === undefined ? pool.web : null;
const o1js = pool.o1js === undefined ? null : o1jsFile !== null ? { ...pool.o1js, prove: o1jsFile.o1js.prove, speedup: o1jsFile.o1js.speedup } : pool.o1js;
const memStart = (m) => m.samples[1];
const memEnd = (m) => m.samples[m.samples.length - 1];

const poolDuration = pool.meta.durationS / 60;
const poolEnd = pool.meta.date;
const poolStart = new Date(Date.parse(poolEnd) - pool.meta.durationS * 1000).toISOString();

// ------------------------------------------------------------ prover isolates (isolates-results.json)

const parts = Object.entries(iso.loads);
const isoFrom = new Date(Math.min(...parts.map(([, l]) => Date.parse(l.startedAt)))).toISOString();
const isoTo = new Date(Math.max(...parts.map(([, l]) => Date.parse(l.endedAt)))).toISOString();
const loads = parts.flatMap(([, l]) => [l.loadAverage1m.before, l.loadAverage1m.after]);
const { stock: stockMem, pool: poolMem } = iso.memory;
const common = Math.min(stockMem.samples.length, poolMem.samples.length) - 1;
const at = (m, proof) => m.samples[proof];
const peak = (m, key) => Math.max(...m.samples.slice(1, common + 1).map((s) => s[key]));
const released = poolMem.replacements.map((r) => (r.rssBeforeTerminate - r.rssAfterTerminate) / MiB);
// One isolate's own linear memory, over every sample and isolate; and the pool's total (two instances during a swap).
const perIsolate = poolMem.samples
  .slice(1, common + 1)
  .flatMap((s) => s.isolates.map((i) => i.linearBytes))
  .filter((b) => typeof b === 'number');
const poolTotalPeak = Math.max(...poolMem.samples.slice(1, common + 1).map((s) => s.linearBytes));
const cold = iso.replacement.coldStarts;
const warm = iso.replacement.warmStarts;
const gaps = iso.gaps;

// Whether other work loaded the machine: the run's note says so, or a recorded load average passed the CPU count.
const poolLoads = Object.values(pool.meta.loads ?? {}).flatMap((l) => [l.loadAverage1m.before, l.loadAverage1m.after]);
const loaded = RUN_NOTES[pool.meta.date] !== undefined || Math.max(...loads, ...poolLoads) > isolatesFile.meta.cpus;
const gapMax = Math.max(...gaps.pool.runs, gaps.poolMemoryRun.maxMs);
// Whether o1js's linear memory grew about as much with recycles as without (more than half as much).
const growth = (m) => memEnd(m).linearBytes - memStart(m).linearBytes;
const recyclingKeepsGrowing = o1js !== null && growth(o1js.memory.patched) > 0.5 * growth(o1js.memory.stock);

// ------------------------------------------------------------ the page

const lines = [];
const out = (...text) => lines.push(...text);
const row = (cells) => out(`| ${cells.join(' | ')} |`);

out(
  '# Results',
  '',
  '<!-- generated by scripts/render-results.mjs from docs/bench/*.json and the tables bench/run.js writes: do not edit; run `node scripts/render-results.mjs` -->',
  '',
  'Every figure on this page comes from the files `scripts/bench.sh --publish` wrote to',
  '`docs/bench/`: [`results.json`](bench/results.json) and [`table.md`](bench/table.md)',
  '(the pool), [`isolates-results.json`](bench/isolates-results.json) and',
  `[\`isolates-table.md\`](bench/isolates-table.md) (prover isolates)${chaosFile ? ', [`chaos-results.json`](bench/chaos-results.json) and [`chaos-table.md`](bench/chaos-table.md) (chaos)' : ''};`,
  "a note marked *from the run's log* gives what the JSON does not record.",
  'A figure is the median over runs (or pairs), min–max in brackets, unless it says otherwise.',
  `**Read them with the conditions below**: the machine had ${pool.meta.cpus} CPUs` +
    (loaded ? ' and was shared with other work, so times are slower and spread wider than on a quiet machine.' : '.'),
  '',
  'To measure again:',
  '',
  '```sh',
  'scripts/bench.sh --publish                      # everything (hours on 2 cores); docs/bench/',
  'BENCH_ONLY=isolates scripts/bench.sh --publish  # the prover isolates part alone',
  "BENCH_ONLY=o1js scripts/bench.sh --publish      # real o1js's stock/patched prove pairs alone",
  'BENCH_ONLY=isolates-latency scripts/bench.sh --publish  # proof latency during replacements, 2 threads and 1',
  'BENCH_QUICK=1 scripts/bench.sh                  # a smoke run, seconds of measuring (build/bench/ only)',
  'node scripts/render-results.mjs                 # this page, from docs/bench/',
  '```',
  '',
);

// --- conditions
out('## When and on what', '');
out(
  `**The pool** (\`results.json\`): ${machine(pool.meta)}; measured ${utc(poolStart)} – ${poolEnd.slice(11, 16)} UTC ` +
    `(${f(poolDuration, 0)} minutes); ${pool.config.runs} runs of ${pool.config.recycles} recycles per thread count, ` +
    `k=${pool.config.k} fixture proofs, ${over.pairs} overhead pairs; real o1js: ${pool.config.o1js.pairs} stock/patched pairs per worker count, ` +
    `${pool.config.o1js.memoryProofs} proofs in the memory run. Builds: ` +
    Object.values(pool.meta.builds)
      .map((b) => `\`${b.variant}\` (${b.instrumented ? 'instrumented' : 'uninstrumented'} allocator, maximum ${mib(b.maxMemoryBytes, 0)} MiB)`)
      .join(', ') +
    '.',
  '',
  RUN_NOTES[pool.meta.date] ?? (pool.meta.loads === undefined ? 'results.json does not record the load of this run.' : loadsLine(pool.meta.loads)),
  '',
  `**Prover isolates** (\`isolates-results.json\`): ${machine(isolatesFile.meta)}; measured ${utc(isoFrom)} – ${isoTo.slice(11, 16)} UTC; ` +
    `real o1js ${iso.patchedO1js.version} (patched) proving the real-o1js tests' ZkProgram. ` +
    `1-minute load average at the start and end of its parts: **${f(Math.min(...loads))}–${f(Math.max(...loads))} on ${isolatesFile.meta.cpus} CPUs**.` +
    (iso.config.memoryAlongside ? ` The two ${iso.config.memoryProofs}-proof memory runs ran at the same time as each other and as the other parts (\`BENCH_ISOLATES_MEMORY_ALONGSIDE=1\`): every time was measured beside them.` : '') +
    ` Amounts: throughput ${plural(iso.config.rounds, 'run')} of ${iso.config.throughputProofs} proofs per layout, ${plural(iso.config.coldStarts, 'cold start')}, ` +
    `${plural(iso.config.warmReplacements, 'warm replacement')}, ${iso.config.memoryProofs} proofs per memory run, the pool's isolate replaced every ${iso.config.replaceEvery} proofs.`,
  '',
);
row(['part', 'started (UTC)', 'ended (UTC)', 'load average before → after']);
row(['---', '---', '---', '---']);
for (const [name, l] of parts) row([name, l.startedAt.slice(11, 19), l.endedAt.slice(11, 19), `${f(l.loadAverage1m.before, 2)} → ${f(l.loadAverage1m.after, 2)}`]);
out('');
if (chaosFile) out(`**Chaos** (\`chaos-results.json\`): ${machine(chaosFile.meta)}; measured ${utc(chaosFile.meta.date)} (end).`, '');
if (o1jsFile !== null) {
  out(
    `**Real o1js prove pairs** (\`o1js-results.json\`): ${machine(o1jsFile.meta)}; measured ${utc(o1jsFile.meta.date)} (end, ${f(o1jsFile.meta.durationS / 60, 0)} minutes), ` +
      `${o1jsFile.o1js.prove[Object.keys(o1jsFile.o1js.prove)[0]].pairs} pairs per worker count, 1-minute load average ${f(o1jsFile.meta.loadAverage1m.before, 1)} → ${f(o1jsFile.meta.loadAverage1m.after, 1)}, ` +
      "by a run of its own after the full run: its prove times, CPU and RSS ratios replace the full run's (the pool's table below still shows those; see its own table at the end); the memory run is the full run's.",
    '',
  );
}
if (latencyFile !== null) {
  const { config: c, layouts } = latencyFile.isolatesLatency;
  out(
    `**Proof latency during replacements** (\`isolates-latency-results.json\`): ${machine(latencyFile.meta)}; measured ${utc(layouts[0].startedAt)} – ${layouts.at(-1).endedAt.slice(11, 16)} UTC, ` +
      `1-minute load average ${layouts.map((l) => `${f(l.loadAverage1m.before, 1)} → ${f(l.loadAverage1m.after, 1)}`).join(', then ')}; ${c.proofs} proofs per layout, replaced every ${c.replaceEvery}; ` +
      "by a run of its own (`BENCH_ONLY=isolates-latency`) after the full run, on the build of its date; its rows follow the full run's in the goals (see its own table at the end).",
    '',
  );
}
if (isolatesChaosFile !== null) {
  out(
    `**Prover isolates under chaos** (\`isolates-chaos-results.json\`): ${machine(isolatesChaosFile.meta)}; measured ${utc(isolatesChaosFile.meta.date)} (end), ` +
      "by a run of its own after the full run: it replaces the isolate chaos runs that the pool's table below embeds (see its own table at the end).",
    '',
  );
}

// --- headline figures
out(
  '## Headline figures',
  '',
  'The figures [README](../README.md) quotes, each with the field of the JSON it is computed from.',
  '',
);
row(['figure', 'measured', 'from']);
row(['---', '---', '---']);
const headline = (figure, value, from) => row([figure, value, from]);
headline(
  `recycle latency p99, Node, ${threadCounts.join(' / ')} workers`,
  `${p99s.map((v) => f(v, 0)).join(' / ')} ms`,
  '`results.json` `recycle.latency[n].total.p99.median`',
);
headline(
  `recycle latency p50, Node, ${threadCounts.join(' / ')} workers (of which the new workers' start)`,
  `${p50s.map((v) => f(v)).join(' / ')} ms (start ${threadCounts.map((n) => f(latency(n).phasesP50.start.median)).join(' / ')} ms)`,
  '`recycle.latency[n].total.p50.median`, `.phasesP50.start.median`',
);
headline(
  `a job submitted during a recycle, submission to result, p99 (${avail.workers} workers)`,
  `${f(avail.during.p99.median, 2)} ms (${range(avail.during.p99, 2)}); with no recycle ${f(avail.idle.p99.median, 2)} ms`,
  '`availability.during.p99`, `availability.idle.p99`',
);
headline(
  `instrumentation overhead, k=${over.k} proof, ${over.workers} workers, instrumented / baseline`,
  `CPU ${f(over.pooledCpuRatio, 3)}, wall ${f(over.pooledRatio, 3)} (median of ${over.pairs} pairs; every pair's CPU ratio ${range(over.allPairCpuRatios, 3)})`,
  '`overhead.pooledCpuRatio`, `.pooledRatio`, `.allPairCpuRatios`',
);
headline(
  `leak per worker per recycle, ${leak.workers} workers`,
  `allocator live ${f(leak.ours.allocatorBytesPerWorkerRecycle.median, 0)} bytes (runs ${range(leak.ours.allocatorBytesPerWorkerRecycle, 0)}), linear memory ${f(leak.ours.linearBytesPerWorkerRecycle.median, 0)} bytes; upstream's teardown order: ${mib(leak.upstreamStyle.linearBytesPerWorkerRecycle.median)} MiB of linear memory`,
  '`recycle.leak.ours`, `recycle.leak.upstreamStyle`',
);
if (web) {
  headline(
    `recycle latency p99, Chromium, ${threadCounts.join(' / ')} workers (one run)`,
    `${threadCounts.map((n) => f(web.byThreads[n].total.p99)).join(' / ')} ms`,
    '`web.byThreads[n].total.p99`',
  );
}
if (o1js) {
  const prove = o1js.prove;
  const counts = Object.keys(prove);
  headline(
    `real o1js prove, patched / stock, ${counts.join(' / ')} workers`,
    `CPU ${counts.map((n) => f(prove[n].cpuRatio.median, 3)).join(' / ')}; wall ${counts.map((n) => f(prove[n].wallRatio.median, 3)).join(' / ')} (${counts.map((n) => prove[n].pairs).join(' / ')} pairs)`,
    '`o1js.prove[n].cpuRatio`, `.wallRatio`',
  );
  headline(
    `real o1js prove time, stock vs patched, ${counts.join(' / ')} workers`,
    counts.map((n) => `${f(prove[n].stockWallMs.median / 1000, 2)} vs ${f(prove[n].patchedWallMs.median / 1000, 2)} s`).join(' / '),
    '`o1js.prove[n].stockWallMs`, `.patchedWallMs`',
  );
  const { stock, patched } = o1js.memory;
  headline(
    `real o1js, linear memory after proof 1 → ${memEnd(stock).proof}, one process, ${stock.workers} workers`,
    `stock ${mib(memStart(stock).linearBytes)} → ${mib(memEnd(stock).linearBytes)} MiB; patched, recycled every ${patched.recycleEvery} proofs (${patched.recycles.length} recycles): ${mib(memStart(patched).linearBytes)} → ${mib(memEnd(patched).linearBytes)} MiB`,
    '`o1js.memory.{stock,patched}.samples[].linearBytes`',
  );
}
headline(
  `prover isolates: wasm linear memory after proof 1 → ${common}, stock o1js (one process)`,
  `${mib(at(stockMem, 1).linearBytes)} → ${mib(at(stockMem, common).linearBytes)} MiB`,
  '`isolates-results.json` `isolates.memory.stock.samples[].linearBytes`',
);
headline(
  `prover isolates: one isolate's linear memory over ${common} proofs, replaced every ${poolMem.replaceEvery} (${poolMem.replacements.length} replacements)`,
  `${mib(Math.min(...perIsolate))}–${mib(Math.max(...perIsolate))} MiB; ${mib(poolTotalPeak)} MiB in all at a swap (two instances)`,
  '`isolates.memory.pool.samples[].isolates[].linearBytes`, `.samples[].linearBytes`',
);
headline(
  "prover isolates: RSS the old isolate's terminate gave back",
  `median ${f(median(released), 0)} MiB (${f(Math.min(...released), 0)}–${f(Math.max(...released), 0)}), ${released.length} replacements`,
  '`isolates.memory.pool.replacements[]`: `rssBeforeTerminate - rssAfterTerminate`',
);
headline(
  `prover isolates: process RSS after proof 1 → ${common} (peak)`,
  `stock ${mib(at(stockMem, 1).rssBytes, 0)} → ${mib(at(stockMem, common).rssBytes, 0)} MiB (${mib(peak(stockMem, 'rssBytes'), 0)}); pool ${mib(at(poolMem, 1).rssBytes, 0)} → ${mib(at(poolMem, common).rssBytes, 0)} MiB (${mib(peak(poolMem, 'rssBytes'), 0)}, during a swap)`,
  '`isolates.memory.{stock,pool}.samples[].rssBytes`',
);
headline(
  `prover isolates: proofs per minute, ${iso.config.throughputProofs} proofs at once, ${isolatesFile.meta.cpus} CPUs`,
  `1 isolate × 2 threads ${f(iso.throughput.proofsPerMinute['1x2'].median, 2)}, 2 isolates × 1 thread ${f(iso.throughput.proofsPerMinute['2x1'].median, 2)}: ratio ${f(iso.throughput.ratio.median, 2)} (${plural(iso.throughput.ratio.runs.length, 'run')} each)`,
  '`isolates.throughput.proofsPerMinute`, `.ratio`',
);
headline(
  'prover isolates: a new isolate from spawn to ready, warm (o1js cache) vs cold compile',
  `${f(median(warm.map((c) => c.startMs)) / 1000)} s vs ${f(median(cold.map((c) => c.startMs)) / 1000)} s; first / second proof on the new isolate ${f(median(warm.map((c) => c.firstProofMs)) / 1000)} / ${f(median(warm.map((c) => c.secondProofMs)) / 1000)} s`,
  '`isolates.replacement.warmStarts[]`, `.coldStarts[]`',
);
headline(
  "prover isolates: the caller's longest event-loop gap while proving (goal ≤ 50 ms)",
  `stock o1js ${f(gaps.stock.gaps.maxMs, 0)} ms (it proves on the caller's thread); pool ${gaps.pool.runs.map((v) => f(v, 0)).join(' and ')} ms (throughput runs), ${f(gaps.poolMemoryRun.maxMs, 0)} ms (${poolMem.proofs}-proof memory run); pool p99 ${f(Math.min(gaps.poolP99.min, gaps.poolMemoryRun.p99Ms))}–${f(Math.max(gaps.poolP99.max, gaps.poolMemoryRun.p99Ms))} ms`,
  '`isolates.gaps.stock.gaps.maxMs`, `.pool.runs`, `.poolMemoryRun`, `.poolP99`',
);
out('');

// --- goals
out('## Goals: met and missed', '');
row(['goal', 'measured', '']);
row(['---', '---', '---']);
const meets = (ok) => (ok ? 'met' : '**missed**');
row([
  'recycle p99 < 100 ms (Node)',
  `${threadCounts.map((n, i) => `${f(p99s[i], 0)} ms at ${n}`).join(', ')}`,
  `${meets(p99s.every((v) => v < 100))}: almost all of a recycle is the new workers' start, which grows with the load`,
]);
row(['a job submitted during a recycle waits p99 < 5 ms', `${f(avail.during.p99.median, 2)} ms`, meets(avail.during.p99.median < 5)]);
row(['instrumentation overhead ≤ 2% (CPU)', `${f(over.pooledCpuRatio, 3)}`, meets(over.pooledCpuRatio <= 1.02)]);
row([
  'leak ≤ 4 KiB per worker per recycle',
  `${f(leak.ours.allocatorBytesPerWorkerRecycle.median, 0)} bytes (runs ${range(leak.ours.allocatorBytesPerWorkerRecycle, 0)})`,
  `${meets(leak.ours.allocatorBytesPerWorkerRecycle.median <= 4096)} on the median; the runs disagree widely under this load`,
]);
if (o1js) {
  const prove = o1js.prove;
  const ok = Object.values(prove).every((p) => p.cpuRatio.median <= 1.01 && p.wallRatio.median <= 1.01);
  row([
    'real o1js prove, patched / stock ≤ 1.01 (CPU and wall)',
    Object.entries(prove).map(([n, p]) => `${plural(Number(n), 'worker')}: CPU ${f(p.cpuRatio.median, 3)}, wall ${f(p.wallRatio.median, 3)} (wall pairs ${range(p.wallRatio, 3)})`).join('; '),
    `${meets(ok)} on the medians`,
  ]);
}
issue21Goals();
row([
  "prover isolates: the caller's longest event-loop gap ≤ 50 ms",
  `${gaps.pool.runs.map((v) => f(v, 0)).join(', ')} and ${f(gaps.poolMemoryRun.maxMs, 0)} ms (p99 ${f(gaps.poolMemoryRun.p99Ms)} ms)`,
  `${meets(gapMax <= 50)} at a load of ${f(Math.min(...loads))}–${f(Math.max(...loads))} on ${isolatesFile.meta.cpus} CPUs; stock o1js: ${f(gaps.stock.gaps.maxMs, 0)} ms`,
]);
out('');

/** The performance goals of issue 21, each from the run's JSON; a goal the run did not measure is left out. */
function issue21Goals() {
  const standby = threadCounts.filter((n) => latency(n).standby !== undefined);
  if (standby.length > 0) {
    const p99 = standby.map((n) => latency(n).standby.total.p99.median);
    const webP99 = web === null ? [] : standby.filter((n) => web.byThreads[n]?.standby !== undefined).map((n) => [n, web.byThreads[n].standby.total.p99]);
    row([
      'recycle p99 ≤ 10 ms with a standby, Node and Chromium, 1 / 2 / 4 workers',
      `Node ${standby.map((n, i) => `${f(p99[i])} ms at ${n}`).join(', ')}` +
        (webP99.length === 0 ? '' : `; Chromium ${webP99.map(([n, v]) => `${f(v)} ms at ${n}`).join(', ')}`) +
        `; the standby costs ${standby.map((n) => `${mib(standbyCostAt(n))}`).join(' / ')} MiB of RSS (Node, each measured in the process that started at that size)`,
      meets(p99.every((v) => v <= 10) && webP99.every(([, v]) => v <= 10)),
    ]);
  }
  const rss = o1js === null ? [] : Object.entries(o1js.prove).filter(([, p]) => p.rssRatio !== undefined);
  if (rss.length > 0) {
    row([
      "the patched build's process RSS before any recycle ≤ 1.05 × stock's (real o1js)",
      rss.map(([n, p]) => `${plural(Number(n), 'worker')}: ${f(p.rssRatio.median, 3)} (pairs ${range(p.rssRatio, 3)})`).join('; '),
      meets(rss.every(([, p]) => p.rssRatio.median <= 1.05)),
    ]);
  }
  if (iso.throughput.autoRatio !== undefined) {
    row([
      "isolates: 'auto' ≥ 0.95 × the better split of the same round (proofs per minute)",
      `${f(iso.throughput.autoRatio.median, 3)} (rounds ${range(iso.throughput.autoRatio, 3)})`,
      meets(iso.throughput.autoRatio.median >= 0.95),
    ]);
  }
  if (iso.memory.process !== undefined || iso.memory.native !== undefined) {
    const { upTo, sides } = memorySides(iso.memory);
    const worker = sides.find((side) => side.label.startsWith('worker'));
    if (worker?.latency?.ratio != null) {
      row([
        'proof latency p99 during replacements ≤ 1.05 × without (worker isolates, replaced ahead)',
        `${f(worker.latency.ratio, 3)} (${f(worker.latency.p99DuringMs / 1000)} s over ${worker.latency.during} proofs / ${f(worker.latency.p99WithoutMs / 1000)} s over ${worker.latency.without})` +
          (worker.firstOnSuccessorMs === null ? '' : `; a successor's first proof ${f(worker.firstOnSuccessorMs / 1000)} s (median) against ${f(worker.proveMedianMs / 1000)} s for all`),
        meets(worker.latency.ratio <= 1.05),
      ]);
    }
    for (const { threads, latency: l, run } of latencyFile?.isolatesLatency.layouts ?? []) {
      if (l.ratio === null) continue;
      // The medians beside the p99s: with a dozen proofs on a side, one slow stretch decides a p99.
      const medianOf = (during) => median(run.samples.slice(1).filter((x) => x.duringReplacement === during).map((x) => x.latencyMs)) / 1000;
      const [during, without] = [medianOf(true), medianOf(false)];
      row([
        `proof latency p99 during replacements ≤ 1.05 × without, measured alone (BENCH_ONLY=isolates-latency): 1 worker isolate × ${plural(threads, 'thread')} on ${latencyFile.meta.cpus} CPUs (${spareCpus(threads, latencyFile.meta.cpus)})`,
        `${f(l.ratio, 3)} (${f(l.p99DuringMs / 1000)} s over ${l.during} proofs / ${f(l.p99WithoutMs / 1000)} s over ${l.without}); ` +
          `medians ${f(during)} / ${f(without)} s = ${f(during / without, 2)}`,
        meets(l.ratio <= 1.05),
      ]);
    }
    for (const side of sides.filter((x) => !x.isStock)) {
      row([
        `${side.label}: peak RSS ≤ stock's; RSS after each swap within 10 % of the first post-warm (${upTo} proofs)`,
        `peak ${mib(side.peakRssBytes, 0)} MiB against stock's ${mib(sides[0].peakRssBytes, 0)} MiB; after swaps ${side.worstAfterSwap === null ? 'none' : `at worst ${f(side.worstAfterSwap * 100, 1)} %`}; prove median ${f(side.proveMedianMs / 1000)} s`,
        `${meets(side.peakMeets)} / ${side.worstAfterSwap === null ? 'no swap' : meets(side.worstAfterSwap <= 0.1)}`,
      ]);
    }
  }
  const discard = pool.memoryDiscard;
  if (discard !== undefined && discard.skipped === undefined) {
    row([
      'memory discard: freed linear-memory pages returned to the OS without a new instance (investigated, Node and Chromium)',
      discard.usable.length === 0 ? `no engine here can: ${discard.engines.map((e) => e.engine + (e.flags && e.flags !== 'none' ? ` (${e.flags})` : '')).join(', ')}` : `usable: ${discard.usable.join(', ')}`,
      'reported',
    ]);
  }
}

// --- what the numbers say (each sentence from the figures above)
out('## What the numbers say', '');
out(
  `- **${latency(two).phasesP50.start.median > 0.8 * latency(two).total.p50.median ? 'Recycling is almost all start.' : 'Recycling.'}** A recycle's p50 at ${two} workers is ${f(latency(two).total.p50.median)} ms, of which ${f(latency(two).phasesP50.start.median)} ms is starting the new workers; ` +
    `the old generation serves meanwhile, so a job submitted during a recycle waited p99 ${f(avail.during.p99.median, 2)} ms. ` +
    `Drain is ${f(latency(two).phasesP50.drain.median, 2)} ms because the benchmark recycles between jobs, as the coordinator does before a job.` +
    (web ? ` Chromium starts Web Workers faster: p99 ${f(web.byThreads[two].total.p99)} ms at ${two} workers.` : ''),
  `- **${recyclingKeepsGrowing ? "Recycling does not give o1js's memory back." : "Recycling and o1js's memory."}**${o1js ? ` Over ${memEnd(o1js.memory.stock).proof} proofs, linear memory grew from ${mib(memStart(o1js.memory.stock).linearBytes)} to ${mib(memEnd(o1js.memory.stock).linearBytes)} MiB in stock o1js and from ${mib(memStart(o1js.memory.patched).linearBytes)} to ${mib(memEnd(o1js.memory.patched).linearBytes)} MiB with a recycle every ${o1js.memory.patched.recycleEvery} proofs.` : ''} ` +
    (recyclingKeepsGrowing ? "That memory lives in the instance's main heap, not in the workers; wasm linear memory never shrinks." : ''),
  `- **Replacing the instance does.** Stock o1js's linear memory went from ${mib(at(stockMem, 1).linearBytes)} to ${mib(at(stockMem, common).linearBytes)} MiB over ${common} proofs; ` +
    `in the isolate pool, each isolate stayed within ${mib(Math.min(...perIsolate))}–${mib(Math.max(...perIsolate))} MiB, and each old isolate's terminate returned ` +
    `${f(Math.min(...released), 0)}–${f(Math.max(...released), 0)} MiB of RSS to the OS. ` +
    (peak(poolMem, 'rssBytes') > peak(stockMem, 'rssBytes')
      ? `Worker isolates are **not** cheaper in RSS at this size: each is a thread with its own Node environment, and a swap briefly holds two instances ` +
        `(RSS peak ${mib(peak(poolMem, 'rssBytes'), 0)} MiB against stock's ${mib(peak(stockMem, 'rssBytes'), 0)} MiB). `
      : `Its RSS peak was ${mib(peak(poolMem, 'rssBytes'), 0)} MiB against stock's ${mib(peak(stockMem, 'rssBytes'), 0)} MiB. `) +
    'What replacement buys is a bound: the instance that grows is dropped.' +
    (() => {
      if (iso.memory.process?.rssBudgetBytes == null) return '';
      const side = memorySides(iso.memory).sides.find((x) => x.label.startsWith('process isolates'));
      return (
        ` In processes of their own under \`rssBudgetBytes\` = stock's peak (${mib(iso.memory.process.rssBudgetBytes, 0)} MiB), isolates never ran two at once: ` +
        `peak ${mib(side.peakRssBytes, 0)} MiB, RSS after each swap at worst ${f(side.worstAfterSwap * 100, 1)} % above the first post-warm, ` +
        `and the price is the swap's gap: a proof waited p99 ${f(side.latency.p99DuringMs / 1000)} s during the ${iso.memory.process.stopThenStart} stop-then-start swaps against ${f(side.latency.p99WithoutMs / 1000)} s without.`
      );
    })(),
  `- **Throughput** of two single-threaded isolates was ${f(iso.throughput.ratio.median, 2)}× that of one isolate with 2 threads on ${isolatesFile.meta.cpus} CPUs (${plural(iso.throughput.ratio.runs.length, 'run')} each, side by side): ` +
    (o1js ? `o1js itself proves ${f(o1js.speedup.patched, 2)}× faster on 2 workers than on 1, so two single-threaded provers can make at most about 2 / ${f(o1js.speedup.patched, 2)} = ${f(2 / o1js.speedup.patched, 2)}× the proofs. ` : '') +
    (iso.throughput.ratio.runs.length === 1 ? `One pair of runs${loaded ? ' on a loaded machine' : ''} is an indication, not a settled ratio.` : ''),
  `- **A replacement costs** its successor's start (${f(median(warm.map((c) => c.startMs)) / 1000)} s warm from o1js's cache against ${f(median(cold.map((c) => c.startMs)) / 1000)} s for a cold compile) ` +
    `and a slower first proof on the new isolate (${f(median(warm.map((c) => c.firstProofMs)) / 1000)} s against ${f(median(warm.map((c) => c.secondProofMs)) / 1000)} s for the next).`,
  `- **The caller's event loop**: stock o1js blocks it for the whole proof (${f(gaps.stock.gaps.maxMs / 1000)} s here). With isolates the caller only posts messages: ` +
    `p99 gaps ${f(Math.min(gaps.poolP99.min, gaps.poolMemoryRun.p99Ms))}–${f(Math.max(gaps.poolP99.max, gaps.poolMemoryRun.p99Ms))} ms, and the longest gaps (${gapMax >= 1000 ? `${f(Math.min(...gaps.pool.runs, gaps.poolMemoryRun.maxMs) / 1000)}–${f(gapMax / 1000)} s` : `${f(Math.min(...gaps.pool.runs, gaps.poolMemoryRun.maxMs), 0)}–${f(gapMax, 0)} ms`}) ${gapMax > 50 ? `miss the 50 ms goal${loaded ? ' on this loaded machine' : ''}` : 'meet the 50 ms goal'}. ` +
    'The test suite asserts what is guaranteed: a gap far below a proof (`tests/isolates/o1js.test.js`: under a tenth of the fastest proof).',
  '',
);

// --- charts
const charts = [
  ['recycle-latency.svg', 'Recycle latency, Node'],
  ['recycle-phases.svg', 'Recycle phases'],
  ['availability.svg', 'A job submitted during a recycle'],
  ['overhead.svg', 'Instrumentation overhead'],
  ['leak.svg', 'Leak per recycle'],
  ['proof-scaling.svg', 'Proof time across thread counts'],
  ['web-recycle-latency.svg', 'Recycle latency, Chromium'],
  ['o1js-prove.svg', 'Real o1js prove time, stock against patched'],
  ['o1js-memory.svg', 'Real o1js memory over proofs, stock against patched'],
  ['isolates-memory.svg', 'Prover isolates: memory, stock o1js against the isolate pool'],
  ['isolates-throughput.svg', 'Prover isolates: throughput'],
  ['isolates-replacement.svg', 'Prover isolates: isolate start, cold vs warm'],
  ['isolates-event-loop.svg', "Prover isolates: the caller's event loop"],
].filter(([file]) => has(file));
out('## Charts', '');
for (const [file, title] of charts) out(`![${title}](bench/${file})`, '');

// --- the tables bench/run.js wrote
/** A table file as markdown, its text unchanged: blank lines around each table, each caption or note line a paragraph. */
function embed(text) {
  const result = [];
  let inTable = false;
  for (const line of text.replace(/\n+$/, '').split('\n')) {
    const isRow = line.startsWith('|');
    // A caption or note is a paragraph of its own; a table starts after a blank line.
    if ((!isRow || !inTable) && result.length > 0 && result[result.length - 1] !== '') result.push('');
    result.push(line);
    inTable = isRow;
  }
  return result.join('\n').replace(/\n{3,}/g, '\n\n');
}
out('## The tables, as bench/run.js wrote them', '');
out('### The pool ([`docs/bench/table.md`](bench/table.md))', '', embed(readText('table.md')), '');
out('### Prover isolates ([`docs/bench/isolates-table.md`](bench/isolates-table.md))', '', embed(readText('isolates-table.md')), '');
if (has('chaos-table.md')) out('### Chaos ([`docs/bench/chaos-table.md`](bench/chaos-table.md))', '', embed(readText('chaos-table.md')), '');
if (isolatesChaosFile !== null) out('### Prover isolates under chaos ([`docs/bench/isolates-chaos-table.md`](bench/isolates-chaos-table.md))', '', embed(readText('isolates-chaos-table.md')), '');
if (latencyFile !== null) out('### Proof latency during replacements ([`docs/bench/isolates-latency-table.md`](bench/isolates-latency-table.md))', '', embed(readText('isolates-latency-table.md')), '');
if (o1jsFile !== null) out('### Real o1js prove pairs ([`docs/bench/o1js-table.md`](bench/o1js-table.md))', '', embed(readText('o1js-table.md')), '');

const text = `${lines.join('\n').replace(/\n{3,}/g, '\n\n').replace(/\n+$/, '')}\n`;
writeFileSync(OUT, text);
console.log('docs/results.md written');
