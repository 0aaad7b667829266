// The benchmark (scripts/bench.sh runs it after building): recycle latency,
// availability during a recycle, instrumentation overhead, leak per recycle
// against an upstream-style teardown, proof time across thread counts, and,
// optionally, recycles in Chromium. Prints a table and writes results.json
// and SVG charts to build/bench/ (`--publish` also copies them to docs/bench/).
//
// Every figure is the median over repeated runs, with the spread (min–max)
// in brackets; every comparison is measured side by side in the same run
// (interleaved processes or interleaved requests), because the machines are
// noisy. Knobs (environment): BENCH_RUNS (3), BENCH_RECYCLES (100),
// BENCH_K (10, the fixture's size for proofs), BENCH_PAIRS (12 per run),
// BENCH_WEB (auto | 0 | 1), BENCH_QUICK=1 (a smoke run: few of everything);
// real o1js (bench/o1js.js): BENCH_O1JS (1 | 0), BENCH_O1JS_PAIRS (5 per
// worker count), BENCH_O1JS_PROOFS (50, the memory run), BENCH_O1JS_RECYCLE_EVERY (5);
// BENCH_ONLY=o1js runs its prove pairs alone (no memory run) and writes only
// o1js-results.json and o1js-table.md;
// prover isolates (bench/isolates.js): BENCH_ISOLATES (1 | 0) and its knobs there.
// BENCH_ONLY=isolates runs the prover-isolate part alone: it writes (and with
// --publish copies) only its own files, isolates-results.json,
// isolates-table.md and isolates-*.svg, leaving the full run's results.json
// and table.md as they are. A full run writes those isolate files too.
// Chaos (bench/chaos.js, issue 12): seeded randomized runs of the chaos test,
// 300 operations x 5 seeds, each in a fresh process on the 128 MiB build:
// BENCH_CHAOS (1 | 0) and its knobs there; BENCH_ONLY=chaos runs it alone
// and writes only chaos-results.json and chaos-table.md.
// Isolate chaos (bench/isolates-chaos.js, issue 20): seeded chaos runs over the
// prover isolate pool with real o1js, 300 operations x 2 seeds, each in a fresh
// process; part of the isolate part of a full run (BENCH_ISOLATES_CHAOS=0
// skips it); BENCH_ONLY=isolates-chaos runs it alone and writes only
// isolates-chaos-results.json and isolates-chaos-table.md.
// Proof latency during replacements (bench/isolates-latency.js, issue 21): a
// run of its own only, BENCH_ONLY=isolates-latency, writing
// isolates-latency-results.json and isolates-latency-table.md.
// Each section of a full run is kept as it is measured (bench/sections.js);
// BENCH_RESUME=1 reuses those measured from the same committed sources.
import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, copyFileSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { distribution, acrossRuns, spread, median, formatSpread, runsStartedAt } from './stats.js';
import { barChart, stackedBarChart, timelineChart } from './svg.js';
import { o1jsCharts, o1jsSection, o1jsTable } from './o1js.js';
import { isolatesCharts, isolatesConfig, isolatesSection, isolatesTable } from './isolates.js';
import { chaosConfig, chaosSection, chaosTable } from './chaos.js';
import { isolatesChaosConfig, isolatesChaosSection, isolatesChaosTable } from './isolates-chaos.js';
import { isolatesLatencyConfig, isolatesLatencySection, isolatesLatencyTable } from './isolates-latency.js';
import { memoryDiscardSection } from './memory-discard.js';
import { loadsLine, sectionKeeper } from './sections.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = `${ROOT}build/bench/`;
const DOCS = `${ROOT}docs/bench/`;
const quick = process.env.BENCH_QUICK === '1';
const only = process.env.BENCH_ONLY ?? '';
const ONLY = ['isolates', 'chaos', 'isolates-chaos', 'isolates-latency', 'o1js'];
if (only !== '' && !ONLY.includes(only)) throw new Error(`BENCH_ONLY=${only} is invalid: expected one of ${ONLY.map((o) => `'${o}'`).join(', ')}, or unset`);
const intFromEnv = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name}=${process.env[name]} is invalid: expected a positive integer`);
  return value;
};
const config = {
  runs: intFromEnv('BENCH_RUNS', quick ? 1 : 3),
  recycles: intFromEnv('BENCH_RECYCLES', quick ? 10 : 100),
  warmUp: quick ? 2 : 5,
  upstreamRecycles: quick ? 5 : 50,
  availabilityRecycles: quick ? 3 : 20,
  k: intFromEnv('BENCH_K', quick ? 8 : 10),
  pairsPerRun: intFromEnv('BENCH_PAIRS', quick ? 1 : 12),
  scalingReps: quick ? 1 : 5,
  threadCounts: [1, 2, 4],
  web: process.env.BENCH_WEB ?? 'auto',
  o1js: {
    enabled: process.env.BENCH_O1JS !== '0',
    pairs: intFromEnv('BENCH_O1JS_PAIRS', quick ? 1 : 5),
    memoryProofs: intFromEnv('BENCH_O1JS_PROOFS', quick ? 3 : 50),
    recycleEvery: intFromEnv('BENCH_O1JS_RECYCLE_EVERY', quick ? 2 : 5),
    workerCounts: [1, 2],
    quick,
    memoryRun: only !== 'o1js',
  },
  isolates: isolatesConfig(process.env),
  chaos: chaosConfig(process.env),
  isolatesChaos: isolatesChaosConfig(process.env),
  only,
  publish: process.argv.includes('--publish'),
};
const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
const oversubscribed = (n) => n > cpus; // the calling thread waits inside a proof; the workers compute
const workersLabel = (n) => `${n} worker${n === 1 ? '' : 's'}${oversubscribed(n) ? ' (oversubscribed)' : ''}`;
const KiB = 1024;
const MiB = 1024 * 1024;
const log = (line) => process.stderr.write(`INFO: ${line}\n`);
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);
const began = performance.now();

// ------------------------------------------------------------------ probes

/** Forks bench/probe.js on a staged variant; `call(op, args)` is bounded. */
async function openProbe(variant) {
  const child = fork(fileURLToPath(new URL('probe.js', import.meta.url)), [variant], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const pending = new Map();
  let nextId = 1;
  let exited = null;
  const ready = new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.ready) return resolve();
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(new Error(`probe ${variant}: ${message.error}`));
    });
    child.on('exit', (code, signal) => {
      exited = `exited with ${signal ?? `code ${code}`}`;
      const error = new Error(`probe ${variant} ${exited}`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });
  await bounded(60_000, `probe ${variant} to load`, ready);
  const call = (op, args = {}, timeoutMs = 300_000) => {
    if (exited !== null) return Promise.reject(new Error(`probe ${variant} ${exited}`));
    const id = nextId++;
    const reply = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    child.send({ id, op, args });
    return bounded(timeoutMs, `probe ${variant}: ${op}`, reply);
  };
  let closing = null;
  const close = () => {
    closing ??= exited === null ? call('stop', {}, 60_000).catch(() => child.kill()) : Promise.resolve();
    return closing;
  };
  return { call, close };
}

async function bounded(ms, what, promise) {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function withProbe(variant, startArgs, use) {
  const probe = await openProbe(variant);
  try {
    await probe.call('start', startArgs, 60_000);
    return await use(probe);
  } finally {
    await probe.close();
  }
}

// ---------------------------------------------------------------- sections

/** Per-worker-per-recycle growth of linear memory and allocator live bytes. */
function leakOf({ before, after, reports }, threads) {
  const per = reports.length * threads;
  return {
    linearBytesPerWorkerRecycle: (after.linearBytes - before.linearBytes) / per,
    allocatorBytesPerWorkerRecycle: (after.allocatorLiveBytes - before.allocatorLiveBytes) / per,
    forced: reports.reduce((sum, r) => sum + r.workers.forced, 0),
  };
}

/**
 * Recycle latency at 1, 2 and 4 workers (one process a run, thread counts
 * in rotated order), and in the same run, the leak of an upstream-style
 * teardown (another process, 2 workers) next to ours at 2 workers.
 */
async function recycleSection() {
  const runs = [];
  for (let run = 0; run < config.runs; run++) {
    const order = rotate(config.threadCounts, run);
    log(`recycles, run ${run + 1} of ${config.runs}: ${config.recycles} recycles at ${order.join(', ')} workers, then upstream-style teardown`);
    const byThreads = {};
    await withProbe('node', { threads: order[0] }, async (probe) => {
      for (const threads of order) {
        await probe.call('recycles', { count: config.warmUp, threads });
        const batch = await probe.call('recycles', { count: config.recycles });
        const pick = (key) => batch.reports.map((r) => r[key]);
        // The same pool with a standby (each recycle finds it ready): only a swap.
        const standby = await probe.call('standbyRecycles', { count: config.recycles });
        byThreads[threads] = {
          total: distribution(pick('totalMs')),
          start: distribution(pick('startMs')),
          drain: distribution(pick('drainMs')),
          exit: distribution(pick('exitMs')),
          leak: leakOf(batch, threads),
          standby: {
            total: distribution(standby.reports.map((r) => r.totalMs)),
            swap: distribution(standby.reports.map((r) => r.startMs)),
            exit: distribution(standby.reports.map((r) => r.exitMs)),
            costRssBytes: standby.standbyCost.rssBytes,
            costLinearBytes: standby.standbyCost.linearBytes,
          },
        };
      }
    });
    const upstream = await withProbe('node', { threads: 2, teardown: 'terminate' }, async (probe) => {
      await probe.call('recycles', { count: config.warmUp });
      return leakOf(await probe.call('recycles', { count: config.upstreamRecycles }), 2);
    });
    runs.push({ byThreads, upstream, firstThreads: order[0] });
  }
  const latency = {};
  for (const n of config.threadCounts) {
    const of = (phase) => runs.map((r) => r.byThreads[n][phase]);
    latency[n] = {
      oversubscribed: oversubscribed(n),
      total: { p50: acrossRuns(of('total'), 'p50'), p95: acrossRuns(of('total'), 'p95'), p99: acrossRuns(of('total'), 'p99') },
      phasesP50: {
        start: acrossRuns(of('start'), 'p50'),
        drain: acrossRuns(of('drain'), 'p50'),
        exit: acrossRuns(of('exit'), 'p50'),
      },
      phasesP99: {
        start: acrossRuns(of('start'), 'p99'),
        drain: acrossRuns(of('drain'), 'p99'),
        exit: acrossRuns(of('exit'), 'p99'),
      },
      forcedWorkers: runs.reduce((sum, r) => sum + r.byThreads[n].leak.forced, 0),
      standby: {
        total: {
          p50: acrossRuns(runs.map((r) => r.byThreads[n].standby.total), 'p50'),
          p99: acrossRuns(runs.map((r) => r.byThreads[n].standby.total), 'p99'),
        },
        swapP99: acrossRuns(runs.map((r) => r.byThreads[n].standby.swap), 'p99'),
        exitP99: acrossRuns(runs.map((r) => r.byThreads[n].standby.exit), 'p99'),
        // Measured in each process at every thread count, the standby's on/off difference tracked the size the process
        // started its pool with, not the standby's own size: the cost at n is taken where n started the process.
        costRssBytes: spread(runsStartedAt(runs, n, config.threadCounts).map((r) => r.byThreads[n].standby.costRssBytes)),
      },
    };
  }
  const leakField = (pick) => spread(runs.map(pick));
  const leak = {
    workers: 2,
    ours: {
      linearBytesPerWorkerRecycle: leakField((r) => r.byThreads[2].leak.linearBytesPerWorkerRecycle),
      allocatorBytesPerWorkerRecycle: leakField((r) => r.byThreads[2].leak.allocatorBytesPerWorkerRecycle),
      recyclesPerRun: config.recycles,
    },
    upstreamStyle: {
      linearBytesPerWorkerRecycle: leakField((r) => r.upstream.linearBytesPerWorkerRecycle),
      allocatorBytesPerWorkerRecycle: leakField((r) => r.upstream.allocatorBytesPerWorkerRecycle),
      recyclesPerRun: config.upstreamRecycles,
    },
    /** Upstream-style / ours, allocator live bytes per worker per recycle, each run's pair. */
    allocatorRatio: leakField((r) => r.upstream.allocatorBytesPerWorkerRecycle / r.byThreads[2].leak.allocatorBytesPerWorkerRecycle),
    oursByThreads: Object.fromEntries(
      config.threadCounts.map((n) => [
        n,
        {
          linearBytesPerWorkerRecycle: leakField((r) => r.byThreads[n].leak.linearBytesPerWorkerRecycle),
          allocatorBytesPerWorkerRecycle: leakField((r) => r.byThreads[n].leak.allocatorBytesPerWorkerRecycle),
        },
      ]),
    ),
  };
  return { latency, leak, runs };
}

/** How long a tiny job submitted during a recycle takes, next to the same job with no recycle. */
async function availabilitySection() {
  const runs = [];
  for (let run = 0; run < config.runs; run++) {
    log(`availability, run ${run + 1} of ${config.runs}: jobs submitted during ${config.availabilityRecycles} recycles of 2 workers`);
    const result = await withProbe('node', { threads: 2 }, (probe) =>
      probe.call('availability', { recycles: config.availabilityRecycles }),
    );
    runs.push({ during: distribution(result.during), idle: distribution(result.idle), phasesSeen: result.phasesSeen });
  }
  const of = (key) => runs.map((r) => r[key]);
  return {
    workers: 2,
    during: { p50: acrossRuns(of('during'), 'p50'), p99: acrossRuns(of('during'), 'p99'), jobs: median(runs.map((r) => r.during.n)) },
    idle: { p50: acrossRuns(of('idle'), 'p50'), p99: acrossRuns(of('idle'), 'p99') },
    phasesSeen: runs.map((r) => r.phasesSeen),
  };
}

/**
 * Instrumentation overhead and proof time across thread counts. Two
 * processes side by side, 2 workers each: the instrumented build through
 * withThreadPool (coordinator check before the job) and the uninstrumented
 * baseline build called directly. Proofs alternate A B B A, so each ratio
 * compares neighbours in time. The instrumented process then proves at 1, 2
 * and 4 workers in rotated order.
 */
async function proofSection() {
  const { k } = config;
  const instrumented = await openProbe('node');
  const baseline = await openProbe('node-baseline');
  try {
    const started = {
      instrumented: await instrumented.call('start', { threads: 2 }),
      baseline: await baseline.call('start', { threads: 2 }),
    };
    if (!started.instrumented.instrumented || started.baseline.instrumented) {
      throw new Error(`expected build/o1js/node instrumented and build/o1js/node-baseline not: got ${JSON.stringify(started)}`);
    }
    log(`overhead: key generation for k=${k} in both processes`);
    const proveTimed = async (probe, via, seed) => {
      const result = await probe.call('prove', { k, seed, via });
      if (!result.verified) throw new Error(`a k=${k} proof (seed ${seed}) did not verify`);
      return result;
    };
    const prove = async (probe, via, seed) => (await proveTimed(probe, via, seed)).ms;
    await prove(instrumented, 'withThreadPool', 1);
    await prove(baseline, 'direct', 1);
    const runs = [];
    let seed = 100;
    for (let run = 0; run < config.runs; run++) {
      log(`overhead, run ${run + 1} of ${config.runs}: ${config.pairsPerRun} pairs of k=${k} proofs, A B B A`);
      const pairs = [];
      for (let p = 0; p < config.pairsPerRun; p++) {
        seed++;
        const first = p % 2 === 0 ? 'instrumented' : 'baseline';
        const times = {};
        for (const side of first === 'instrumented' ? ['instrumented', 'baseline'] : ['baseline', 'instrumented']) {
          times[side] = side === 'instrumented' ? await proveTimed(instrumented, 'withThreadPool', seed) : await proveTimed(baseline, 'direct', seed);
        }
        pairs.push({
          instrumented: times.instrumented.ms,
          baseline: times.baseline.ms,
          instrumentedCpu: times.instrumented.cpuMs,
          baselineCpu: times.baseline.cpuMs,
          ratio: times.instrumented.ms / times.baseline.ms,
          cpuRatio: times.instrumented.cpuMs / times.baseline.cpuMs,
        });
      }
      runs.push({
        pairs,
        ratio: median(pairs.map((p) => p.ratio)),
        cpuRatio: median(pairs.map((p) => p.cpuRatio)),
        instrumentedMs: median(pairs.map((p) => p.instrumented)),
        baselineMs: median(pairs.map((p) => p.baseline)),
        instrumentedCpuMs: median(pairs.map((p) => p.instrumentedCpu)),
        baselineCpuMs: median(pairs.map((p) => p.baselineCpu)),
      });
    }
    const allPairs = runs.flatMap((r) => r.pairs);
    const overhead = {
      k,
      workers: 2,
      ratio: spread(runs.map((r) => r.ratio)),
      cpuRatio: spread(runs.map((r) => r.cpuRatio)),
      instrumentedMs: spread(runs.map((r) => r.instrumentedMs)),
      baselineMs: spread(runs.map((r) => r.baselineMs)),
      instrumentedCpuMs: spread(runs.map((r) => r.instrumentedCpuMs)),
      baselineCpuMs: spread(runs.map((r) => r.baselineCpuMs)),
      allPairRatios: spread(allPairs.map((p) => p.ratio)),
      allPairCpuRatios: spread(allPairs.map((p) => p.cpuRatio)),
      // Over every pair of every run: the figure whose spread the goal is judged by.
      pooledRatio: median(allPairs.map((p) => p.ratio)),
      pooledCpuRatio: median(allPairs.map((p) => p.cpuRatio)),
      pairs: allPairs.length,
      runs,
    };
    await baseline.close();

    const reps = [];
    for (let rep = 0; rep < config.scalingReps; rep++) {
      const order = rotate(config.threadCounts, rep);
      log(`proof time across thread counts, repetition ${rep + 1} of ${config.scalingReps}: k=${k} at ${order.join(', ')} workers`);
      const times = {};
      for (const threads of order) {
        await instrumented.call('recycles', { count: 1, threads });
        times[threads] = await prove(instrumented, 'withThreadPool', 200 + rep);
      }
      reps.push(times);
    }
    const scaling = {
      k,
      byThreads: Object.fromEntries(
        config.threadCounts.map((n) => [
          n,
          {
            ms: spread(reps.map((r) => r[n])),
            speedup: spread(reps.map((r) => r[1] / r[n])),
            oversubscribed: oversubscribed(n),
          },
        ]),
      ),
      reps,
    };
    return { overhead, scaling };
  } finally {
    await baseline.close();
    await instrumented.close();
  }
}

/**
 * The fixture's scaling natively (plonk-wasm/examples/scaling.rs): 1 and 2
 * threads through our pool and on a plain Rayon pool, with CPU time per
 * proof. Tells halo2's own scaling apart from the pool's.
 */
function nativeScalingSection() {
  const reps = quick ? 2 : 10;
  log(`native scaling: k=${config.k}, ${reps} proofs at 1 and 2 threads, our pool and a plain Rayon pool (cargo example 'scaling')`);
  const run = spawnSync(
    'cargo',
    ['run', '--release', '-q', '-p', 'plonk_wasm', '--features', 'fixture', '--example', 'scaling', '--', String(config.k), String(reps)],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (run.status !== 0) throw new Error(`the native scaling example failed (exit ${run.status})`);
  const byThreads = Object.fromEntries(
    run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .map((r) => [r.threads, r]),
  );
  return { k: config.k, reps, byThreads };
}

/** Optional: recycles of the web backend in headless Chromium (build/o1js/web must be staged). */
async function webSection() {
  const staged = existsSync(`${ROOT}build/o1js/web/bindings/js/web/web-backend.js`);
  const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (config.web === '0' || (config.web === 'auto' && (!staged || !existsSync(chromium)))) {
    return { skipped: config.web === '0' ? 'BENCH_WEB=0' : `needs build/o1js/web staged and ${chromium}` };
  }
  const { openHarness } = await import('../tests/web/browser.js');
  const byThreads = {};
  for (const threads of config.threadCounts) {
    log(`web (optional): ${config.recycles} recycles of ${threads} workers in Chromium`);
    const harness = await openHarness({ threads });
    try {
      const result = await harness.run(
        `${config.recycles} recycles in the page`,
        async (h, { recycles, warmUp }) =>
          h.backend.withThreadPool(async () => {
            for (let i = 0; i < warmUp; i++) await h.backend.recycleThreadPool();
            const before = (await h.backend.poolHealth()).memory;
            const reports = [];
            for (let i = 0; i < recycles; i++) {
              const { totalMs, startMs, drainMs, exitMs, workers } = await h.backend.recycleThreadPool();
              reports.push({ totalMs, startMs, drainMs, exitMs, workers });
            }
            const after = (await h.backend.poolHealth()).memory;
            // The same pool with a standby, each recycle finding it ready: only a swap.
            h.backend.configureThreadPool({ standby: true });
            const standby = [];
            for (let i = 0; i < recycles; i++) {
              for (let wait = 0; (await h.backend.poolHealth()).standby?.phase !== 'ready'; wait++) {
                if (wait > 2400) throw new Error('no ready standby within 60 s');
                await new Promise((resolve) => setTimeout(resolve, 25));
              }
              const report = await h.backend.recycleThreadPool();
              if (!report.standby) throw new Error(`recycle ${i} did not swap in the standby`);
              standby.push({ totalMs: report.totalMs, startMs: report.startMs });
            }
            h.backend.configureThreadPool({ standby: false });
            return { reports, before, after, standby };
          }),
        { recycles: config.recycles, warmUp: config.warmUp },
        240_000,
      );
      const pick = (key) => result.reports.map((r) => r[key]);
      byThreads[threads] = {
        oversubscribed: oversubscribed(threads),
        total: distribution(pick('totalMs')),
        startP50: median(pick('startMs')),
        drainP50: median(pick('drainMs')),
        exitP50: median(pick('exitMs')),
        leak: leakOf(result, threads),
        standby: { total: distribution(result.standby.map((r) => r.totalMs)), swap: distribution(result.standby.map((r) => r.startMs)) },
      };
    } finally {
      await harness.close();
    }
  }
  return { runs: 1, recycles: config.recycles, byThreads };
}

// ------------------------------------------------------------------ output

const ms = (s, digits = 1) => formatSpread(s, digits);
const verdict = (ok) => (ok ? 'meets' : 'MISSES');

function table(results) {
  const { latency, leak } = results.recycle;
  const { availability, overhead, scaling, web } = results;
  const lines = [];
  const row = (cells) => lines.push(`| ${cells.join(' | ')} |`);
  lines.push(
    `plonk-wasm pool benchmark: Node ${process.versions.node}, ${cpus} CPUs (${os.platform()} ${os.arch()}), ` +
      `${config.runs} runs; figures are medians over runs, (min–max) over runs`,
  );
  const load = results.meta.loads === undefined ? null : loadsLine(results.meta.loads);
  if (load !== null) lines.push(load);
  if (config.threadCounts.some(oversubscribed)) {
    lines.push(
      `NOTE: ${cpus} CPUs: ${config.threadCounts.filter(oversubscribed).join(', ')} workers oversubscribe this machine ` +
        '(more workers than cores); their figures include waiting for a core.',
    );
  }
  lines.push('', `Recycle latency, Node, ${config.recycles} recycles a run (ms)`);
  row(['workers', 'p50', 'p95', 'p99', 'start p50', 'drain p50', 'exit p50', 'p99 goal < 100 (aim < 50)']);
  row(Array(8).fill('---'));
  for (const n of config.threadCounts) {
    const l = latency[n];
    row([
      workersLabel(n),
      ms(l.total.p50),
      ms(l.total.p95),
      ms(l.total.p99),
      ms(l.phasesP50.start),
      ms(l.phasesP50.drain, 2),
      ms(l.phasesP50.exit),
      `${verdict(l.total.p99.median < 100)}${l.total.p99.median < 50 ? ' (and the aim)' : ''}`,
    ]);
  }
  lines.push('', `Recycle latency with a standby (configureThreadPool({ standby: true })), Node, ${config.recycles} recycles a run, each finding the standby ready (ms)`);
  row(['workers', 'p50', 'p99', 'swap p99', 'exit p99', 'standby cost (RSS MiB)', 'p99 goal <= 10 (quiet machine)']);
  row(Array(7).fill('---'));
  for (const n of config.threadCounts) {
    const s = latency[n].standby;
    row([
      workersLabel(n),
      ms(s.total.p50),
      ms(s.total.p99),
      ms(s.swapP99, 3),
      ms(s.exitP99),
      formatSpread({ median: s.costRssBytes.median / 2 ** 20, min: s.costRssBytes.min / 2 ** 20, max: s.costRssBytes.max / 2 ** 20 }, 1),
      verdict(s.total.p99.median <= 10),
    ]);
  }
  lines.push('', `Availability: a tiny pool job submitted during a recycle (2 workers, ${config.availabilityRecycles} recycles a run), submission to result (ms)`);
  row(['', 'p50', 'p99', 'p99 goal < 5']);
  row(Array(4).fill('---'));
  row(['during a recycle', ms(availability.during.p50, 2), ms(availability.during.p99, 2), verdict(availability.during.p99.median < 5)]);
  row(['no recycle (reference)', ms(availability.idle.p50, 2), ms(availability.idle.p99, 2), '']);
  lines.push(
    '',
    `Instrumentation overhead: k=${overhead.k} proof, 2 workers, ${config.pairsPerRun} A-B pairs a run, interleaved processes`,
  );
  row(['build', 'proof wall (ms)', 'proof CPU (ms)', 'wall ratio instrumented / baseline', 'CPU ratio', 'goal <= 1.02']);
  row(Array(6).fill('---'));
  row(['baseline (uninstrumented allocator, no coordinator check)', ms(overhead.baselineMs, 0), ms(overhead.baselineCpuMs, 0), '', '', '']);
  row([
    'instrumented (counting allocator, telemetry, coordinator check)',
    ms(overhead.instrumentedMs, 0),
    ms(overhead.instrumentedCpuMs, 0),
    `${formatSpread(overhead.ratio, 3)}; every pair ${overhead.allPairRatios.min.toFixed(3)}–${overhead.allPairRatios.max.toFixed(3)}`,
    `${formatSpread(overhead.cpuRatio, 3)}; every pair ${overhead.allPairCpuRatios.min.toFixed(3)}–${overhead.allPairCpuRatios.max.toFixed(3)}`,
    verdict(overhead.ratio.median <= 1.02 && overhead.cpuRatio.median <= 1.02),
  ]);
  lines.push(`median over all ${overhead.pairs} pairs: wall ${overhead.pooledRatio.toFixed(3)}, CPU ${overhead.pooledCpuRatio.toFixed(3)}`);
  lines.push('', `Leak per recycle, ${leak.workers} workers: growth per worker per recycle after ${config.warmUp} warm-up recycles`);
  row(['teardown', 'recycles a run', 'linear memory (bytes)', 'allocator live (bytes)', 'goal <= 4 KiB (ours)']);
  row(Array(5).fill('---'));
  row([
    'ours (leave Rayon, destroy thread, then stop)',
    leak.ours.recyclesPerRun,
    ms(leak.ours.linearBytesPerWorkerRecycle, 0),
    ms(leak.ours.allocatorBytesPerWorkerRecycle, 0),
    verdict(Math.max(leak.ours.linearBytesPerWorkerRecycle.median, leak.ours.allocatorBytesPerWorkerRecycle.median) <= 4 * KiB),
  ]);
  row([
    'upstream-style (terminate first, no thread destroy)',
    leak.upstreamStyle.recyclesPerRun,
    ms(leak.upstreamStyle.linearBytesPerWorkerRecycle, 0),
    ms(leak.upstreamStyle.allocatorBytesPerWorkerRecycle, 0),
    '',
  ]);
  lines.push(
    `upstream-style / ours, allocator live bytes (same run, side by side): ${formatSpread(leak.allocatorRatio, 0)}`,
    `ours at 1 / 2 / 4 workers, linear memory bytes per worker per recycle: ` +
      config.threadCounts.map((n) => leak.oursByThreads[n].linearBytesPerWorkerRecycle.median.toFixed(0)).join(' / ') +
      '; allocator live: ' +
      config.threadCounts.map((n) => leak.oursByThreads[n].allocatorBytesPerWorkerRecycle.median.toFixed(0)).join(' / '),
  );
  lines.push('', `Proof time across thread counts: k=${scaling.k}, ${config.scalingReps} repetitions, thread counts interleaved`);
  row(['workers', 'proof (ms)', 'speedup vs 1 worker']);
  row(Array(3).fill('---'));
  for (const n of config.threadCounts) {
    const s = scaling.byThreads[n];
    row([workersLabel(n), ms(s.ms, 0), formatSpread(s.speedup, 2)]);
  }
  const native = results.nativeScaling;
  lines.push(
    '',
    `Why 1 → 2 is superlinear: the same k=${native.k} proof natively, ${native.reps} proofs each, through our pool and on a plain Rayon pool (ms per proof)`,
  );
  row(['threads', 'our pool: wall', 'our pool: CPU', 'plain Rayon: wall', 'plain Rayon: CPU']);
  row(Array(5).fill('---'));
  for (const n of [1, 2]) {
    const r = native.byThreads[n];
    row([n, r.ourPoolMs.toFixed(0), r.ourPoolCpuMs.toFixed(0), r.plainRayonMs.toFixed(0), r.plainRayonCpuMs.toFixed(0)]);
  }
  lines.push(
    `speedup 1 → 2 threads: our pool ${(native.byThreads[1].ourPoolMs / native.byThreads[2].ourPoolMs).toFixed(2)}x, ` +
      `plain Rayon ${(native.byThreads[1].plainRayonMs / native.byThreads[2].plainRayonMs).toFixed(2)}x; CPU per proof at 1 thread / at 2: ` +
      `${(native.byThreads[1].plainRayonCpuMs / native.byThreads[2].plainRayonCpuMs).toFixed(2)} (halo2 does more work on one thread, with or without our pool)`,
  );
  if (results.o1js !== undefined) lines.push(o1jsTable(results.o1js));
  if (results.isolates !== undefined) lines.push(isolatesTable(results.isolates));
  if (results.chaos !== undefined) lines.push(chaosTable(results.chaos));
  if (results.isolatesChaos !== undefined) lines.push(isolatesChaosTable(results.isolatesChaos));
  lines.push('', 'Web (optional): recycles of the web backend in headless Chromium, one run (ms)');
  if (web.skipped) {
    lines.push(`skipped: ${web.skipped}`);
  } else {
    row(['workers', 'p50', 'p95', 'p99', 'start / drain / exit p50', 'linear memory bytes per worker per recycle', 'with a standby: p50 / p99 (swap p99)', 'standby p99 goal <= 10']);
    row(Array(8).fill('---'));
    for (const n of config.threadCounts) {
      const w = web.byThreads[n];
      row([
        workersLabel(n),
        w.total.p50.toFixed(1),
        w.total.p95.toFixed(1),
        w.total.p99.toFixed(1),
        `${w.startP50.toFixed(1)} / ${w.drainP50.toFixed(2)} / ${w.exitP50.toFixed(1)}`,
        w.leak.linearBytesPerWorkerRecycle.toFixed(0),
        `${w.standby.total.p50.toFixed(1)} / ${w.standby.total.p99.toFixed(1)} (${w.standby.swap.p99.toFixed(3)})`,
        verdict(w.standby.total.p99 <= 10),
      ]);
    }
  }
  lines.push('', 'Memory discard (memory.discard of the memory-control proposal): can freed linear memory go back to the OS without a new instance?');
  const discard = results.memoryDiscard;
  if (discard.skipped) {
    lines.push(`skipped: ${discard.skipped}`);
  } else {
    row(['engine', 'flags', 'JS method', 'instruction (plain / shared memory)', 'RSS returned of 448 MiB (plain / shared)']);
    row(Array(5).fill('---'));
    const returned = (entry) => (entry?.rssReturnedMiB === undefined ? '-' : `${entry.rssReturnedMiB} MiB`);
    const instruction = (entry) => (entry?.instruction === 'compiles' ? 'compiles' : 'refused');
    for (const e of discard.engines) {
      if (e.skipped) {
        row([e.engine, '', e.skipped, '', '']);
        continue;
      }
      row([e.engine, e.flags, e.method ? 'present' : 'absent', `${instruction(e.plain)} / ${instruction(e.shared)}`, `${returned(e.plain)} / ${returned(e.shared)}`]);
    }
    lines.push(discard.usable.length > 0 ? `usable on: ${discard.usable.join(', ')}` : 'usable on none of these: nothing to adopt (fresh instances, i.e. isolates, are what gives memory back)');
  }
  return lines.join('\n');
}

function charts(results) {
  const { latency, leak } = results.recycle;
  const { availability, overhead, scaling, web } = results;
  const groups = config.threadCounts.map(workersLabel);
  const runsNote = `median of ${config.runs} runs, whiskers min–max over runs; ${cpus}-CPU machine`;
  const files = {
    'recycle-latency.svg': barChart({
      title: 'Recycle latency, Node',
      subtitle: `${config.recycles} recycles a run; ${runsNote}`,
      unit: 'ms',
      groups,
      series: ['p50', 'p95', 'p99'].map((p) => ({ name: p, values: config.threadCounts.map((n) => latency[n].total[p]) })),
      goals: [
        { value: 100, label: 'goal: p99 < 100 ms at 4 workers' },
        { value: 50, label: 'aim: < 50 ms' },
      ],
      labelDigits: 1,
    }),
    'recycle-phases.svg': stackedBarChart({
      title: 'Where a recycle spends its time (Node, medians)',
      subtitle: 'start: new generation up (old one still serves); drain: old jobs finish; exit: old workers leave and stop',
      unit: 'ms',
      groups,
      segments: ['start', 'drain', 'exit'].map((phase) => ({
        name: phase,
        values: config.threadCounts.map((n) => latency[n].phasesP50[phase].median),
      })),
    }),
    'availability.svg': barChart({
      title: 'Availability: a job submitted during a recycle',
      subtitle: `tiny pool job, submission to result, 2 workers; ${runsNote}`,
      unit: 'ms',
      groups: ['p50', 'p99'],
      series: [
        { name: 'no recycle (reference)', values: [availability.idle.p50, availability.idle.p99] },
        { name: 'during a recycle', values: [availability.during.p50, availability.during.p99] },
      ],
      goals: [{ value: 5, label: 'goal: p99 < 5 ms' }],
      labelDigits: 2,
    }),
    'overhead.svg': barChart({
      title: `Instrumentation overhead: instrumented / baseline = ${overhead.ratio.median.toFixed(3)} (goal <= 1.02)`,
      subtitle: `k=${overhead.k} proof, 2 workers, interleaved A-B pairs; ratio over runs ${overhead.ratio.min.toFixed(3)}–${overhead.ratio.max.toFixed(3)}; ${runsNote}`,
      unit: 'ms',
      groups: ['proof time'],
      series: [
        { name: 'baseline (uninstrumented)', values: [overhead.baselineMs] },
        { name: 'instrumented (allocator, telemetry, coordinator)', values: [overhead.instrumentedMs] },
      ],
      labelDigits: 0,
    }),
    'leak.svg': barChart({
      title: 'Leak per recycle: ours vs upstream-style teardown (2 workers)',
      subtitle: `growth per worker per recycle, after warm-up; ${runsNote}`,
      unit: 'KiB per worker per recycle',
      groups: ['linear memory', 'allocator live bytes'],
      series: [
        {
          name: 'ours: leave Rayon, destroy the thread, then stop',
          values: [leak.ours.linearBytesPerWorkerRecycle, leak.ours.allocatorBytesPerWorkerRecycle].map(toKiB),
        },
        {
          name: 'upstream-style: terminate first',
          values: [leak.upstreamStyle.linearBytesPerWorkerRecycle, leak.upstreamStyle.allocatorBytesPerWorkerRecycle].map(toKiB),
        },
      ],
      goals: [{ value: 4, label: 'goal (ours): <= 4 KiB' }],
      labelDigits: 1,
      log: { floor: 0.1 },
    }),
    'proof-scaling.svg': barChart({
      title: `Proof time across thread counts (k=${scaling.k}, Node)`,
      subtitle: `speedup vs 1 worker: ${config.threadCounts.map((n) => `${n}: ${scaling.byThreads[n].speedup.median.toFixed(2)}x`).join(', ')}; median of ${config.scalingReps} repetitions, whiskers min–max`,
      unit: 'ms',
      groups,
      series: [{ name: 'proof time', values: config.threadCounts.map((n) => scaling.byThreads[n].ms) }],
      labelDigits: 0,
    }),
  };
  if (!web.skipped) {
    const single = (value) => ({ median: value, min: value, max: value });
    files['web-recycle-latency.svg'] = barChart({
      title: 'Recycle latency, Chromium (optional figure, one run)',
      subtitle: `${web.recycles} recycles of the web backend in headless Chromium; ${cpus}-CPU machine`,
      unit: 'ms',
      groups,
      series: ['p50', 'p95', 'p99'].map((p) => ({ name: p, values: config.threadCounts.map((n) => single(web.byThreads[n].total[p])) })),
      goals: [{ value: 100, label: 'goal (Node): p99 < 100 ms' }],
      labelDigits: 1,
    });
  }
  if (results.o1js !== undefined) Object.assign(files, o1jsCharts(results.o1js, { barChart, timelineChart }));
  return files;
}

const toKiB = (s) => ({ median: s.median / KiB, min: s.min / KiB, max: s.max / KiB });

// -------------------------------------------------------------------- main

log(`benchmark: ${JSON.stringify(config)}`);
const machine = () => ({
  date: new Date().toISOString(),
  node: process.versions.node,
  cpus,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  platform: `${os.platform()} ${os.arch()}`,
});

/** Writes `files` ({ name: text }) to build/bench/, and with --publish copies them to docs/bench/. */
function writeOut(files) {
  mkdirSync(OUT, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(`${OUT}${name}`, text);
  if (config.publish) {
    mkdirSync(DOCS, { recursive: true });
    for (const name of Object.keys(files)) copyFileSync(`${OUT}${name}`, `${DOCS}${name}`);
  }
}

/** The prover-isolate part's own files: its results, its table (with the machine) and its charts. */
function isolatesFiles(isolates, meta) {
  // When the parts were measured (a resumed run reuses kept parts: its own duration says nothing).
  const parts = Object.values(isolates.loads);
  const from = new Date(Math.min(...parts.map((l) => Date.parse(l.startedAt ?? l.endedAt))));
  const to = new Date(Math.max(...parts.map((l) => Date.parse(l.endedAt))));
  const header =
    `Prover isolates benchmark: Node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}, ${meta.platform}); ` +
    `measured ${from.toISOString().slice(0, 16)}–${to.toISOString().slice(11, 16)} UTC (${((to - from) / 60_000).toFixed(0)} minutes)`;
  return {
    'isolates-results.json': `${JSON.stringify({ meta, isolates }, null, 2)}\n`,
    'isolates-table.md': `${header}\n${isolatesTable(isolates)}\n`,
    ...isolatesCharts(isolates, { barChart, timelineChart, stackedBarChart }),
  };
}

async function runIsolates() {
  const started = performance.now();
  const isolates = await isolatesSection(config.isolates, log);
  return { ...isolates, durationS: (performance.now() - started) / 1000 };
}

/** The chaos part's own files: its results and its table, with the machine. */
function chaosFiles(chaos, meta) {
  const header = `Chaos benchmark: Node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}, ${meta.platform}), ${meta.date}`;
  return {
    'chaos-results.json': `${JSON.stringify({ meta, chaos }, null, 2)}\n`,
    'chaos-table.md': `${header}\n${chaosTable(chaos)}\n`,
  };
}

/** The isolate chaos part's own files: its results and its table, with the machine. */
function isolatesChaosFiles(section, meta) {
  const header = `Prover isolates chaos benchmark: Node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}, ${meta.platform}), ${meta.date}`;
  return {
    'isolates-chaos-results.json': `${JSON.stringify({ meta, isolatesChaos: section }, null, 2)}\n`,
    'isolates-chaos-table.md': `${header}\n${isolatesChaosTable(section)}\n`,
  };
}

/** The replacement latency part's own files (a run of its own only): its results and its table, with the machine. */
function isolatesLatencyFiles(section, meta) {
  const header = `Proof latency during replacements alone (BENCH_ONLY=isolates-latency): Node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}, ${meta.platform}), ${meta.date}`;
  return {
    'isolates-latency-results.json': `${JSON.stringify({ meta, isolatesLatency: section }, null, 2)}\n`,
    'isolates-latency-table.md': `${header}\n${isolatesLatencyTable(section)}\n`,
  };
}

/** Ends a BENCH_ONLY run: writes (and with --publish copies) its files, prints its table, exits 1 unless `ok`. */
function finishOnly(files, table, ok = true) {
  writeOut(files);
  console.log(files[table]);
  console.log(`\nbenchmark (BENCH_ONLY=${only}) took ${((performance.now() - began) / 1000).toFixed(0)} s; wrote ${Object.keys(files).map((f) => `${OUT}${f}`).join(', ')}`);
  if (config.publish) console.log(`copied them to ${DOCS}`);
  process.exit(ok ? 0 : 1);
}

/** Real o1js's prove pairs run alone: its results and its table, with the machine and the load around it. */
function o1jsFiles(section, meta) {
  const header =
    `Real o1js prove pairs alone (BENCH_ONLY=o1js): Node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}, ${meta.platform}), ${meta.date}; ` +
    `1-minute load average ${meta.loadAverage1m.before.toFixed(1)} at the start, ${meta.loadAverage1m.after.toFixed(1)} at the end; no memory run (the full run's stands)`;
  return { 'o1js-results.json': `${JSON.stringify({ meta, o1js: section }, null, 2)}\n`, 'o1js-table.md': `${header}\n${o1jsTable(section)}\n` };
}

if (only === 'isolates-chaos') {
  const section = await isolatesChaosSection(config.isolatesChaos, log);
  finishOnly(isolatesChaosFiles(section, machine()), 'isolates-chaos-table.md', section.failed.length === 0);
}

if (only === 'isolates-latency') {
  const section = await isolatesLatencySection(isolatesLatencyConfig(process.env), log);
  finishOnly(isolatesLatencyFiles(section, machine()), 'isolates-latency-table.md');
}

if (only === 'o1js') {
  const loadAverage1m = { before: os.loadavg()[0] };
  const section = await o1jsSection(config.o1js, log);
  loadAverage1m.after = os.loadavg()[0];
  finishOnly(o1jsFiles(section, { ...machine(), loadAverage1m, durationS: (performance.now() - began) / 1000 }), 'o1js-table.md');
}

if (only === 'chaos') {
  const chaos = await chaosSection(config.chaos, log);
  finishOnly(chaosFiles(chaos, machine()), 'chaos-table.md', chaos.failed.length === 0);
}

if (only === 'isolates') {
  const isolates = await runIsolates();
  finishOnly(isolatesFiles(isolates, { ...machine(), durationS: (performance.now() - began) / 1000 }), 'isolates-table.md');
}

const results = { meta: {}, config };
const { section: keptSection, loads } = sectionKeeper({ root: ROOT, config, resume: process.env.BENCH_RESUME === '1', log });
results.recycle = await keptSection('recycle', recycleSection);
results.availability = await keptSection('availability', availabilitySection);
Object.assign(results, await keptSection('proof', proofSection));
results.nativeScaling = await keptSection('native-scaling', async () => nativeScalingSection());
// An optional section that failed is reported as skipped, and not kept.
results.web = await keptSection('web', webSection).catch((error) => ({ skipped: `failed: ${error.message}` }));
results.memoryDiscard = await keptSection('memory-discard', memoryDiscardSection).catch((error) => ({ skipped: `failed: ${error.message}` }));
if (config.o1js.enabled) results.o1js = await keptSection('o1js', () => o1jsSection(config.o1js, log));
if (config.isolates.enabled) results.isolates = await runIsolates();
if (config.chaos.enabled) results.chaos = await keptSection('chaos', () => chaosSection(config.chaos, log));
if (config.isolates.enabled && config.isolatesChaos.enabled) results.isolatesChaos = await keptSection('isolates-chaos', () => isolatesChaosSection(config.isolatesChaos, log));
results.meta = {
  ...machine(),
  loads: loads(),
  builds: Object.fromEntries(
    ['node', 'node-baseline'].map((v) => [v, JSON.parse(readFileSync(`${ROOT}build/o1js/${v}/bindings/compiled/node_bindings/build-info.json`, 'utf8'))]),
  ),
  durationS: (performance.now() - began) / 1000,
};

const text = table(results);
const svgs = charts(results);
const files = {
  'results.json': `${JSON.stringify(results, null, 2)}\n`,
  'table.md': `${text}\n`,
  ...svgs,
  ...(results.isolates === undefined ? {} : isolatesFiles(results.isolates, results.meta)),
  ...(results.chaos === undefined ? {} : chaosFiles(results.chaos, results.meta)),
  ...(results.isolatesChaos === undefined ? {} : isolatesChaosFiles(results.isolatesChaos, results.meta)),
};
writeOut(files);
console.log(text);
console.log(`\nbenchmark took ${results.meta.durationS.toFixed(0)} s; wrote ${OUT}${Object.keys(files).join(', ')}`);
if (config.publish) console.log(`copied them to ${DOCS}`);
// Explicitly: a leftover handle (Chromium's, a probe's) must not keep the benchmark alive.
process.exit(0);
