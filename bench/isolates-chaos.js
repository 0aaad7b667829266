// The long chaos runs over the prover isolate pool with real o1js (issue 20):
// the seeded run of tests/isolates/chaos.test.js (tests/isolates/chaos.js), by
// default 2 seeds x 300 operations with 4 real proofs each and the idle
// scale-down on, each seed in a fresh process (the host whose life is
// checked: it must end by itself). Every job is checked as in the test; a
// failed seed is reported with its replay command and fails the section.
// Printed per seed: jobs, faults injected by kind, outcomes, lost / settled
// twice / hangs, isolates started, and memory: post-warm linear memory
// against the fresh isolates' and the end's (after replacing every serving
// isolate), the peak, and the process RSS post-warm and at the end.
//
//   BENCH_ONLY=isolates-chaos scripts/bench.sh    this part alone
// Knobs (environment): BENCH_ISOLATES_CHAOS (1 | 0: skip it in a full run),
// BENCH_ISOLATES_CHAOS_SEEDS (2), BENCH_ISOLATES_CHAOS_OPERATIONS (300),
// BENCH_ISOLATES_CHAOS_PROOFS (4), BENCH_ISOLATES_CHAOS_SEED (the first seed;
// the others follow it), BENCH_ISOLATES_CHAOS_SCALE_DOWN (1 | 0);
// BENCH_QUICK=1: 1 seed x 40 operations, 1 proof.
//
// tests/isolates/chaos.js is loaded only when the section runs: it needs the
// compiled bindings-js (tsc), which a benchmark without the isolate parts skips.

import { envInteger } from './env.js';

const MiB = 2 ** 20;
const MINUTES = 60_000;

/** The section's config from the environment. */
export function isolatesChaosConfig(env = process.env) {
  const int = (name, normal, small, min = 1) => envInteger(env, name, normal, small, min);
  return {
    enabled: env.BENCH_ISOLATES_CHAOS !== '0',
    seeds: int('BENCH_ISOLATES_CHAOS_SEEDS', 2, 1),
    operations: int('BENCH_ISOLATES_CHAOS_OPERATIONS', 300, 40),
    proofs: int('BENCH_ISOLATES_CHAOS_PROOFS', 4, 1, 0),
    // `null`: the chaos test's default seed.
    firstSeed: env.BENCH_ISOLATES_CHAOS_SEED === undefined ? null : int('BENCH_ISOLATES_CHAOS_SEED', 0, 0, 0),
    scaleDown: env.BENCH_ISOLATES_CHAOS_SCALE_DOWN !== '0',
  };
}

/** Runs every seed, one after the other, each in its own process. */
export async function isolatesChaosSection(config, log) {
  const { DEFAULT_SEED, ISOLATE_ENDING_KINDS, replayCommand, runIsolateChaosProcess } = await import('../tests/isolates/chaos.js');
  const started = performance.now();
  const runs = [];
  for (let i = 0; i < config.seeds; i++) {
    const seed = (config.firstSeed ?? DEFAULT_SEED) + i;
    const options = { seed, operations: config.operations, proofs: config.proofs, scaleDown: config.scaleDown };
    log(`isolates chaos: seed ${seed}, ${config.operations} operations, ${config.proofs} proofs${config.scaleDown ? ', idle scale-down on' : ''}`);
    // A bound that only catches a process that never ends: the run's own waits fail it long before.
    const bound = 60 * MINUTES + config.operations * 20_000 + config.proofs * 5 * MINUTES;
    try {
      // The child prints its progress and, at its end, its figures (describeChaos).
      const stats = await runIsolateChaosProcess(options, bound, (line) => log(line));
      runs.push({ ...stats, isolateEndingFaults: ISOLATE_ENDING_KINDS.reduce((n, kind) => n + (stats.faults[kind] ?? 0), 0) });
    } catch (error) {
      log(`isolates chaos: seed ${seed} FAILED (replay: ${replayCommand(seed, config.operations, config.proofs, config.scaleDown)})\n${error.message}`);
      runs.push({ seed, failed: error.message.split('\n').slice(0, 40).join('\n') });
    }
  }
  const ok = runs.filter((r) => r.failed === undefined);
  const sum = (pick) => ok.reduce((n, r) => n + pick(r), 0);
  const faults = {};
  for (const run of ok) for (const [kind, n] of Object.entries(run.faults)) faults[kind] = (faults[kind] ?? 0) + n;
  return {
    config,
    runs,
    failed: runs.filter((r) => r.failed !== undefined).map((r) => ({ seed: r.seed, failed: r.failed })),
    jobs: sum((r) => r.jobs),
    faults,
    lost: sum((r) => r.lost),
    settledTwice: sum((r) => r.settled.twice + r.settled.jobEndsTwice),
    hangs: runs.filter((r) => /did not end within/.test(r.failed ?? '')).length,
    isolatesStarted: sum((r) => r.isolatesStarted),
    durationS: (performance.now() - started) / 1000,
  };
}

/** The section as text lines (bench/run.js's table, and the section's own file). */
export function isolatesChaosTable(section) {
  const mib = (b) => (b === null || b === undefined ? '-' : (b / MiB).toFixed(0));
  const { config } = section;
  const lines = [
    '',
    `Prover isolates under chaos (issue 20): ${config.seeds} seeds x ${config.operations} random operations (${config.proofs} real proofs each` +
      `${config.scaleDown ? ', idle scale-down on' : ''}), 2 isolates x 1 thread, each seed in a fresh process; ${section.durationS.toFixed(0)} s`,
    '| seed | jobs (admitted) | faults injected | of them ending an isolate | lost | settled twice | isolates started | replacements | crashes | stray messages | time (s) | post-warm linear (MiB) | fresh isolates (MiB) | peak (MiB) | end linear (MiB) | RSS post-warm → end (MiB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const run of section.runs) {
    if (run.failed !== undefined) {
      lines.push(`| ${run.seed} | FAILED | | | | | | | | | | | | | | |`);
      continue;
    }
    const m = run.memory;
    const injected = Object.values(run.faults).reduce((a, b) => a + b, 0);
    lines.push(
      `| ${run.seed} | ${run.jobs} (${run.admitted}) | ${injected} | ${run.isolateEndingFaults} | ${run.lost} | ${run.settled.twice + run.settled.jobEndsTwice} | ${run.isolatesStarted} | ` +
        `${run.totals.replacements} | ${run.totals.crashes} | ${run.totals.strayMessages} | ${(run.ms / 1000).toFixed(0)} | ${m.postWarmLinearBytes.map(mib).join(', ')} | ` +
        `${mib(m.freshLinearBytes.min)}–${mib(m.freshLinearBytes.max)} | ${mib(m.peakLinearBytes)} | ${m.endLinearBytes.map(mib).join(', ')} | ${mib(m.postWarmRssBytes)} → ${mib(m.endRssBytes)} |`,
    );
  }
  lines.push('', 'Faults injected by kind (all seeds): ' + Object.entries(section.faults).sort().map(([kind, n]) => `${kind} ${n}`).join(', '));
  for (const run of section.runs.filter((r) => r.failed === undefined)) {
    lines.push(`Outcomes, seed ${run.seed}: ` + Object.entries(run.outcomes).sort().map(([kind, o]) => `${kind} {${Object.entries(o).map(([k, n]) => `${k.replace('PROVER_POOL_', '')} ${n}`).join(', ')}}`).join('; '));
  }
  lines.push(
    `Totals: ${section.jobs} jobs, lost ${section.lost}, settled twice ${section.settledTwice}, hangs ${section.hangs}, ${section.isolatesStarted} isolates started; ` +
      (section.failed.length === 0 ? 'no seed failed.' : `${section.failed.length} seeds FAILED (${section.failed.map((f) => f.seed).join(', ')}).`),
  );
  return lines.join('\n');
}
