// The long chaos runs (issue 12): the seeded randomized run of
// tests/node/chaos.test.js (tests/node/chaos.js), 300 operations x 5 seeds
// by default, each seed in a fresh process on the 128 MiB build
// (build/o1js/node-small). Every operation checks its own outcome, and after
// each run the pool must prove correctly, be healthy and not have grown
// (checkAfterChaos); a failed run is reported with its seed and replay
// command, and fails the section.
//
//   node bench/chaos.js        this part alone (also BENCH_ONLY=chaos scripts/bench.sh)
// Knobs (environment): BENCH_CHAOS (1 | 0: skip it in a full run),
// BENCH_CHAOS_SEEDS (5), BENCH_CHAOS_OPERATIONS (300), BENCH_CHAOS_SEED (the
// first seed; the others follow it); BENCH_QUICK=1: 2 seeds x 40 operations.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CAUSES } from '../tests/node/chaos-memory.js';
import { envInteger } from './env.js';

const THIS = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 2 ** 20;
const RESULT = 'chaos-result ';

/** The section's config from the environment. */
export function chaosConfig(env = process.env) {
  const int = (name, normal, small, min = 1) => envInteger(env, name, normal, small, min);
  return {
    enabled: env.BENCH_CHAOS !== '0',
    seeds: int('BENCH_CHAOS_SEEDS', 5, 2),
    operations: int('BENCH_CHAOS_OPERATIONS', 300, 40),
    firstSeed: int('BENCH_CHAOS_SEED', 1_200_012, 1_200_012, 0),
  };
}

/** One seed in a fresh process: resolves with its stats, or `{ seed, failed }`. */
function runSeed(seed, operations, log) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [THIS, '--seed', String(seed), '--operations', String(operations)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    // A run's own bounds fail it long before this; this only catches a process that never ends.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(RESULT));
      if (code === 0 && line !== undefined) {
        const stats = JSON.parse(line.slice(RESULT.length));
        log(`chaos seed ${seed}: ${stats.operations} operations in ${(stats.ms / 1000).toFixed(0)} s, ${stats.proofsChecked} proofs checked`);
        resolve(stats);
      } else {
        const failed = `${signal ?? `exit code ${code}`}: ${(err || out).trim().split('\n').slice(-30).join('\n')}`;
        log(`chaos seed ${seed} FAILED (replay: CHAOS_SEED=${seed} CHAOS_OPERATIONS=${operations} node --test tests/node/chaos.test.js)\n${failed}`);
        resolve({ seed, failed });
      }
    });
  });
}

/** Runs every seed, one after the other; the totals across them. */
export async function chaosSection(config, log) {
  const started = performance.now();
  const runs = [];
  for (let i = 0; i < config.seeds; i++) runs.push(await runSeed(config.firstSeed + i, config.operations, log));
  const ok = runs.filter((r) => r.failed === undefined);
  const outcomes = {};
  for (const run of ok) {
    for (const [kind, counts] of Object.entries(run.outcomes)) {
      outcomes[kind] ??= {};
      for (const [outcome, n] of Object.entries(counts)) outcomes[kind][outcome] = (outcomes[kind][outcome] ?? 0) + n;
    }
  }
  const sum = (key) => ok.reduce((n, r) => n + r[key], 0);
  return {
    config,
    runs,
    failed: runs.filter((r) => r.failed !== undefined).map((r) => ({ seed: r.seed, failed: r.failed })),
    operations: sum('operations'),
    concurrentBatches: sum('concurrentBatches'),
    proofsChecked: sum('proofsChecked'),
    recycles: sum('recycles'),
    threadChanges: sum('threadChanges'),
    coordinatorRecycles: sum('coordinatorRecycles'),
    losses: sum('losses'),
    outcomes,
    durationS: (performance.now() - started) / 1000,
  };
}

/** The section as text lines for bench/run.js's table (and for a run alone). */
export function chaosTable(chaos) {
  const lines = [
    '',
    `Chaos (issue 12): ${chaos.config.seeds} seeds x ${chaos.config.operations} random operations, each seed in a fresh process (node-small, 2 workers); ` +
      `${chaos.durationS.toFixed(0)} s`,
    '| seed | operations | concurrent batches | proofs checked | recycles asked (thread changes) | by the coordinator | workers lost | time (s) | allocator live (MiB, min–max) | growth but worker stacks (MiB, allowed) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const run of chaos.runs) {
    if (run.failed !== undefined) {
      lines.push(`| ${run.seed} | FAILED | | | | | | | | |`);
      continue;
    }
    const lives = run.memory.map((m) => m.live);
    lines.push(
      `| ${run.seed} | ${run.operations} | ${run.concurrentBatches} | ${run.proofsChecked} | ${run.recycles} (${run.threadChanges}) | ` +
        `${run.coordinatorRecycles} | ${run.losses} | ${(run.ms / 1000).toFixed(0)} | ` +
        `${(Math.min(...lives) / MiB).toFixed(1)}–${(Math.max(...lives) / MiB).toFixed(1)} | ${(run.growthBytes / MiB).toFixed(2)} (${(run.maxGrowthBytes / MiB).toFixed(2)}) |`,
    );
  }
  lines.push(...memoryTable(chaos.runs.filter((r) => r.failed === undefined)));
  lines.push('', 'Outcomes by operation (all seeds):');
  for (const [kind, counts] of Object.entries(chaos.outcomes).sort()) {
    lines.push(`- ${kind}: ${Object.entries(counts).map(([outcome, n]) => `${outcome} ${n}`).join(', ')}`);
  }
  lines.push(
    `Totals: ${chaos.operations} operations, ${chaos.proofsChecked} proofs equal to the snapshots, ${chaos.recycles} recycles asked ` +
      `(${chaos.threadChanges} with a thread change), ${chaos.coordinatorRecycles} by the coordinator, ${chaos.losses} workers lost; ` +
      (chaos.failed.length === 0 ? 'no run failed.' : `${chaos.failed.length} runs FAILED (seeds ${chaos.failed.map((f) => f.seed).join(', ')}).`),
  );
  return lines.join('\n');
}

/**
 * Allocator live bytes by cause (tests/node/chaos-memory.js): per cause and
 * seed, what the batches it came first in changed, all but worker stacks
 * (which follow the thread count), and its events; then what the seeds'
 * allowances were made of.
 */
function memoryTable(runs) {
  if (runs.length === 0) return [];
  const mb = (bytes) => `${bytes >= 0 ? '+' : ''}${(bytes / MiB).toFixed(2)}`;
  const lines = [
    '',
    'Allocator live bytes but worker stacks, by cause (MiB changed in the batches each cause came first in; its events in all batches):',
    `| cause | ${runs.map((r) => `seed ${r.seed}`).join(' | ')} |`,
    `| --- | ${runs.map(() => '---').join(' | ')} |`,
  ];
  for (const cause of CAUSES) {
    const cells = runs.map((r) => r.memoryByCause.rows[cause]);
    if (cells.every((c) => c.batches === 0 && c.events === 0)) continue;
    lines.push(`| ${cause} | ${cells.map((c) => `${mb(c.bytes)} (${c.events})`).join(' | ')} |`);
  }
  lines.push(`| the final check | ${runs.map((r) => mb(r.memoryByCause.final.rest)).join(' | ')} |`);
  lines.push(`| the run (allowed) | ${runs.map((r) => `${mb(r.memoryByCause.final.run.rest)} (${mb(r.memoryByCause.allowance.total)})`).join(' | ')} |`);
  for (const r of runs) {
    const { allowance, lostJobs } = r.memoryByCause;
    lines.push(
      `- seed ${r.seed} allowed: ${Object.entries(allowance.byCause).map(([cause, bytes]) => `${cause} ${mb(bytes)}`).join(', ')}` +
        (lostJobs.length > 0 ? `; lost jobs: ${lostJobs.map((j) => `${j.kind}${j.case === undefined ? '' : ` case ${j.case}`}`).join(', ')}` : ''),
    );
  }
  return lines;
}

/** In the child: one seed, printed as a `chaos-result {json}` line. */
async function child(seed, operations) {
  const { loadBackend } = await import('../tests/node/backend.js');
  const { planChaos, runChaos, summarize, warmUp, checkAfterChaos } = await import('../tests/node/chaos.js');
  const { describeLedger } = await import('../tests/node/chaos-memory.js');
  const backend = await loadBackend('node-small', { threads: 2, logLevel: 'error', lifetime: 'process' });
  backend.configureThreadPool({ exitTimeoutMs: 60_000 });
  const baseline = await warmUp(backend);
  let stats;
  try {
    stats = await runChaos(backend, planChaos(seed, operations), { seed });
  } catch (error) {
    console.error(`seed ${seed}: failing batch: ${(error.batch ?? []).join(' || ')}`);
    for (const line of error.trace ?? []) console.error(`  ran: ${line}`);
    throw error;
  }
  for (const { during, error } of stats.coordinatorErrors) {
    if (!(error instanceof backend.errors.PoolError)) throw new Error(`a coordinator ${during} failed untyped: ${error?.stack ?? error}`);
  }
  const { growth, allowance, final } = await checkAfterChaos(backend, { baseline, threads: 2, label: `seed ${seed}`, stats });
  console.error(summarize(stats));
  console.error(describeLedger(stats.memoryByCause, { final, allowance }));
  const coordinatorErrors = stats.coordinatorErrors.map(({ during, error }) => `${during}: ${error?.code}`);
  const memoryByCause = { ...stats.memoryByCause, final, allowance };
  console.log(`${RESULT}${JSON.stringify({ ...stats, memoryByCause, coordinatorErrors, growthBytes: final.run.rest, liveGrowthBytes: growth, maxGrowthBytes: allowance.total })}`);
  await backend.exitThreadPool();
  process.exit(0);
}

if (process.argv[1] === THIS) {
  const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
  if (process.argv.includes('--seed')) {
    await child(Number(arg('--seed')), Number(arg('--operations')));
  } else {
    // Alone: the section with the environment's config, its table, and build/bench/chaos-results.json.
    const log = (line) => process.stderr.write(`INFO: ${line}\n`);
    const chaos = await chaosSection(chaosConfig(), log);
    const out = `${ROOT}build/bench/`;
    mkdirSync(out, { recursive: true });
    writeFileSync(`${out}chaos-results.json`, `${JSON.stringify(chaos, null, 2)}\n`);
    console.log(chaosTable(chaos));
    console.log(`\nwrote ${out}chaos-results.json`);
    process.exit(chaos.failed.length === 0 ? 0 : 1);
  }
}
