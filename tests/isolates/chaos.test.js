// The seeded chaos run over the prover isolate pool with real o1js (issue 20),
// short: one seed, 30 operations and one real proof by default, in a child
// process (tests/isolates/chaos.js: the plan, what it injects, and every check
// it makes), which must end by itself with code 0. About 3 minutes on a busy
// 2-core machine: most jobs are cheap real-o1js work; every fault that ends an
// isolate costs a warm start from o1js's cache. The benchmark runs long ones
// (BENCH_ONLY=isolates-chaos scripts/bench.sh).
//   CHAOS_SEED=<n> CHAOS_OPERATIONS=<n> CHAOS_PROOFS=<n> [CHAOS_SCALE_DOWN=1] node --test tests/isolates/chaos.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SEED, REQUIRED_KINDS, replayCommand, runIsolateChaosProcess } from './chaos.js';

const MINUTES = 60_000;
const fromEnv = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name}=${process.env[name]}: expected a whole number`);
  return value;
};
const seed = fromEnv('CHAOS_SEED', DEFAULT_SEED);
const operations = fromEnv('CHAOS_OPERATIONS', 30);
const proofs = fromEnv('CHAOS_PROOFS', 1);
const scaleDown = process.env.CHAOS_SCALE_DOWN === '1'; // the idle scale-down on (the benchmark's long runs)
const log = (line) => console.log(`[isolates/chaos] ${line}`);
log(`seed ${seed}, ${operations} operations, ${proofs} real proofs; replay: ${replayCommand(seed, operations, proofs, scaleDown)}`);

test(
  'seeded chaos over the isolate pool with real o1js: no job lost or settled twice, each with its value or its typed error, no hang, the host alive, memory back to its post-warm level after replacements',
  { timeout: 40 * MINUTES },
  async () => {
    // The child's own waits are bounded far below this; this one catches a process that never ends.
    const stats = await runIsolateChaosProcess({ seed, operations, proofs, scaleDown }, 35 * MINUTES, (line) => console.log(line));

    // The child asserted every job, event and total (it exits 1 listing its problems otherwise); its figures say so.
    assert.equal(stats.seed, seed);
    assert.equal(stats.lost, 0, 'no job lost');
    assert.deepEqual(
      [stats.settled.twice, stats.settled.never, stats.settled.jobEndsTwice, stats.settled.jobEndsNone],
      [0, 0, 0, 0],
      'every job settled exactly once, with exactly one job-end event',
    );
    assert.equal(stats.settled.once, stats.jobs);
    assert.equal(stats.settled.jobEndsOnce, stats.admitted);
    // Every kind the plan must hold was injected (a short plan holds a part of them).
    if (operations - proofs >= REQUIRED_KINDS.length) {
      const missing = REQUIRED_KINDS.filter((kind) => !(stats.faults[kind] >= 1));
      assert.deepEqual(missing, [], `kinds not injected: ${missing.join(', ')}`);
    }
    // A job lost with its isolate was followed by a new isolate (the chaos pool's breaker never opens).
    if (stats.totals.jobsCrashed > 0) assert.ok((stats.startCauses.crash ?? 0) >= 1, `isolates started after crashes: ${JSON.stringify(stats.startCauses)}`);

    // Memory: after replacing every serving isolate, each is back at the post-warm level, within the tolerance.
    const { baselineBytes, toleranceBytes, endLinearBytes, finalReplacements } = stats.memory;
    assert.ok(endLinearBytes.length >= 1 && finalReplacements >= 1, `${finalReplacements} isolates replaced at the end, ${endLinearBytes.length} serving`);
    for (const linear of endLinearBytes) assert.ok(linear - baselineBytes <= toleranceBytes, `linear memory ${linear} after the final replacements, post-warm ${baselineBytes}`);
    // The host: close() drained the two jobs submitted right before it, and the process ended by itself.
    assert.equal(stats.closeReport.drained, 2);
    assert.equal(stats.closeReport.timedOut, false);
  },
);
