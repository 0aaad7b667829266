// The real-o1js part of the benchmark (bench/run.js calls it; BENCH_O1JS=0
// skips it): npm o1js 2.15.0 as shipped (stock) against the same o1js with
// this patch set (kimchi-wasm built from upstream proof-systems), in the two
// apps scripts/prepare-o1js-apps.sh makes. Every process is fresh, and the
// two variants alternate (stock first in odd pairs, patched first in even
// ones) so that each ratio compares neighbours in time on a noisy machine.
//
//  - prove time at 1 and 2 workers: wall and CPU (the whole process) per
//    proof, after a warm-up proof; the ratio patched / stock per pair, median
//    over pairs;
//  - compile (cold: in the memory runs; from o1js's cache: in the prove runs)
//    and verify times;
//  - memory over a long run: wasm linear memory and RSS after every proof,
//    stock against patched with a recycle every few proofs.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, spread } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APPS = `${ROOT}build/o1js-app`;
const VARIANTS = { stock: `${APPS}/stock`, patched: `${APPS}/patched` };
const MiB = 2 ** 20;

/** Runs `node SCRIPT JSON(options)` in `app` (bounded); resolves its last stdout line as JSON. */
function runApp(app, script, options, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(options)], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`${script} in ${app} ended with ${code ?? signal}: ${stderr.slice(-2000)}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${script} in ${app} printed no JSON: ${last.slice(0, 200)}`));
      }
    });
  });
}

export async function o1jsSection({ pairs, memoryProofs, recycleEvery, workerCounts, quick, memoryRun = true }, log) {
  const prove = {};
  for (const workers of workerCounts) {
    const rows = [];
    for (let pair = 0; pair < pairs; pair++) {
      const order = pair % 2 === 0 ? ['stock', 'patched'] : ['patched', 'stock'];
      const row = {};
      for (const variant of order) {
        log(`o1js prove, ${workers} worker(s), pair ${pair + 1} of ${pairs}: ${variant}`);
        row[variant] = await runApp(
          VARIANTS[variant],
          'bench-prove.mjs',
          { workers, proofs: quick ? 1 : 2, cacheDir: `${APPS}/cache-${variant}` },
          20 * 60_000,
        );
        if (!row[variant].measured.every((m) => m.verified)) throw new Error(`a ${variant} proof did not verify`);
      }
      const per = (variant, key) => median(row[variant].measured.map((m) => m[key]));
      rows.push({
        stockWallMs: per('stock', 'wallMs'),
        patchedWallMs: per('patched', 'wallMs'),
        stockCpuMs: per('stock', 'cpuMs'),
        patchedCpuMs: per('patched', 'cpuMs'),
        stockVerifyMs: per('stock', 'verifyMs'),
        patchedVerifyMs: per('patched', 'verifyMs'),
        stockCompileFromCacheMs: row.stock.compileFromCacheMs,
        patchedCompileFromCacheMs: row.patched.compileFromCacheMs,
        wallRatio: per('patched', 'wallMs') / per('stock', 'wallMs'),
        cpuRatio: per('patched', 'cpuMs') / per('stock', 'cpuMs'),
        stockRssBytes: row.stock.rssBytes,
        patchedRssBytes: row.patched.rssBytes,
        rssRatio: row.patched.rssBytes / row.stock.rssBytes,
      });
    }
    const of = (key) => spread(rows.map((r) => r[key]));
    prove[workers] = {
      pairs: rows.length,
      wallRatio: of('wallRatio'),
      cpuRatio: of('cpuRatio'),
      stockWallMs: of('stockWallMs'),
      patchedWallMs: of('patchedWallMs'),
      stockCpuMs: of('stockCpuMs'),
      patchedCpuMs: of('patchedCpuMs'),
      stockVerifyMs: of('stockVerifyMs'),
      patchedVerifyMs: of('patchedVerifyMs'),
      stockCompileFromCacheMs: of('stockCompileFromCacheMs'),
      patchedCompileFromCacheMs: of('patchedCompileFromCacheMs'),
      // Older results (before RSS was recorded) have none.
      ...(rows.every((r) => Number.isFinite(r.rssRatio)) ? { stockRssBytes: of('stockRssBytes'), patchedRssBytes: of('patchedRssBytes'), rssRatio: of('rssRatio') } : {}),
      rows,
    };
  }
  const speedup = (variant) =>
    workerCounts.includes(1) && workerCounts.includes(2)
      ? prove[1][`${variant}WallMs`].median / prove[2][`${variant}WallMs`].median
      : null;

  // BENCH_ONLY=o1js measures the prove pairs alone: the memory run is the full run's.
  if (!memoryRun) return { prove, speedup: { stock: speedup('stock'), patched: speedup('patched') }, memory: null, memoryProofs: null, recycleEvery: null };
  const memory = {};
  for (const variant of ['stock', 'patched']) {
    log(`o1js memory: ${memoryProofs} proofs in one ${variant} process (2 workers${variant === 'patched' ? `, a recycle every ${recycleEvery}` : ''})`);
    memory[variant] = await runApp(
      VARIANTS[variant],
      'bench-memory.mjs',
      { workers: 2, proofs: memoryProofs, recycleEvery: variant === 'patched' ? recycleEvery : 0 },
      (memoryProofs + 5) * 3 * 60_000,
    );
  }
  return { prove, speedup: { stock: speedup('stock'), patched: speedup('patched') }, memory, memoryProofs, recycleEvery };
}

const f = (value, digits = 1) => value.toFixed(digits);
const sp = (s, digits = 3) => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
const sec = (s) => `${(s.median / 1000).toFixed(2)} (${(s.min / 1000).toFixed(2)}–${(s.max / 1000).toFixed(2)})`;

export function o1jsTable(o1js) {
  const lines = [];
  const row = (cells) => lines.push(`| ${cells.join(' | ')} |`);
  lines.push(
    '',
    `Real o1js 2.15.0 (npm), a small ZkProgram: stock against patched (kimchi-wasm from upstream proof-systems with this pool), ` +
      'fresh processes, variants alternating; medians over pairs (min–max over pairs)',
  );
  row(['workers', 'pairs', 'prove stock (s)', 'prove patched (s)', 'wall ratio', 'CPU ratio', 'goal <= 1.01 (CPU and wall)']);
  row(Array(7).fill('---'));
  for (const [workers, p] of Object.entries(o1js.prove)) {
    const meets = p.wallRatio.median <= 1.01 && p.cpuRatio.median <= 1.01;
    row([workers, p.pairs, sec(p.stockWallMs), sec(p.patchedWallMs), sp(p.wallRatio), sp(p.cpuRatio), meets ? 'meets' : 'MISSES']);
  }
  row(['', '', '', '', '', '', '']);
  row(['workers', '', 'verify stock (s)', 'verify patched (s)', 'compile from cache stock (s)', 'compile from cache patched (s)', '']);
  for (const [workers, p] of Object.entries(o1js.prove)) {
    row([workers, '', sec(p.stockVerifyMs), sec(p.patchedVerifyMs), sec(p.stockCompileFromCacheMs), sec(p.patchedCompileFromCacheMs), '']);
  }
  if (Object.values(o1js.prove).every((p) => p.rssRatio !== undefined)) {
    lines.push('', 'Process RSS before any recycle: each prove process above at its end (compile from cache, a warm-up proof, the measured proofs); ratio per pair, patched / stock');
    row(['workers', 'pairs', 'stock RSS (MiB)', 'patched RSS (MiB)', 'ratio', 'goal <= 1.05', '']);
    row(Array(7).fill('---'));
    const mib = (s) => `${f(s.median / MiB, 0)} (${f(s.min / MiB, 0)}–${f(s.max / MiB, 0)})`;
    for (const [workers, p] of Object.entries(o1js.prove)) {
      row([workers, p.pairs, mib(p.stockRssBytes), mib(p.patchedRssBytes), sp(p.rssRatio), p.rssRatio.median <= 1.05 ? 'meets' : 'MISSES', '']);
    }
  }
  if (o1js.speedup.stock !== null) {
    lines.push(`speedup 1 → 2 workers (prove wall time): stock ${f(o1js.speedup.stock, 2)}x, patched ${f(o1js.speedup.patched, 2)}x`);
  }
  if (o1js.memory === null) return lines.join('\n');
  const { stock, patched } = o1js.memory;
  const first = (m) => m.samples[1];
  const last = (m) => m.samples.at(-1);
  lines.push('', `Memory over ${o1js.memoryProofs} proofs in one process, 2 workers (patched: a recycle every ${o1js.recycleEvery} proofs)`);
  row(['', 'cold compile (s)', 'linear memory after proof 1 → last (MiB)', 'RSS after proof 1 → last (MiB)', 'recycles', 'prove median (s)']);
  row(Array(6).fill('---'));
  for (const [name, m] of [
    ['stock', stock],
    ['patched', patched],
  ]) {
    row([
      name,
      f(m.compileMs / 1000),
      `${f(first(m).linearBytes / MiB)} → ${f(last(m).linearBytes / MiB)}`,
      `${f(first(m).rssBytes / MiB, 0)} → ${f(last(m).rssBytes / MiB, 0)}`,
      m.recycles.length,
      f(median(m.samples.slice(1).map((s) => s.proveMs)) / 1000, 2),
    ]);
  }
  return lines.join('\n');
}

export function o1jsCharts(o1js, { barChart, timelineChart }) {
  const workers = Object.keys(o1js.prove);
  const files = {
    'o1js-prove.svg': barChart({
      title: `Real o1js prove time, stock vs patched: wall ratio ${workers.map((w) => `${w}w ${o1js.prove[w].wallRatio.median.toFixed(3)}`).join(', ')}`,
      subtitle: `CPU ratio ${workers.map((w) => `${w}w ${o1js.prove[w].cpuRatio.median.toFixed(3)}`).join(', ')}; median over ${o1js.prove[workers[0]].pairs} pairs, whiskers min–max`,
      unit: 's',
      groups: workers.map((w) => `${w} worker${w === '1' ? '' : 's'}`),
      series: [
        { name: 'stock o1js 2.15.0', values: workers.map((w) => toSeconds(o1js.prove[w].stockWallMs)) },
        { name: 'patched (this pool)', values: workers.map((w) => toSeconds(o1js.prove[w].patchedWallMs)) },
      ],
      labelDigits: 2,
    }),
  };
  if (o1js.memory === null) return files;
  const series = [];
  for (const [name, m] of Object.entries(o1js.memory)) {
    series.push({ name: `${name}: linear memory`, points: m.samples.map((s) => [s.proof, s.linearBytes / MiB]) });
    series.push({ name: `${name}: RSS`, points: m.samples.map((s) => [s.proof, s.rssBytes / MiB]) });
  }
  files['o1js-memory.svg'] = timelineChart({
    title: `Real o1js: memory over ${o1js.memoryProofs} proofs, stock vs patched (a recycle every ${o1js.recycleEvery})`,
    subtitle: 'wasm linear memory (never shrinks) and process RSS after each proof; 2 workers',
    xLabel: 'proofs',
    unit: 'MiB',
    series,
    markers: o1js.memory.patched.recycles.map((r) => ({ x: r.afterProof, kind: 'recycle' })),
    kinds: { recycle: { name: 'patched: recycle', color: '#888' } },
  });
  return files;
}

const toSeconds = (s) => ({ median: s.median / 1000, min: s.min / 1000, max: s.max / 1000 });
