// A seeded randomized run (tests/node/chaos.js) on the 128 MiB build: proofs
// checked against the snapshots, recycles with and without a thread change,
// out-of-memory and panicking jobs, worker kills, exits and re-inits, low
// coordinator thresholds, some of them concurrent. Each operation asserts its
// own allowed outcomes; afterwards the pool proves correctly, its health is
// sane, no worker of an old generation is left, and memory did not grow.
//   CHAOS_SEED=<n> CHAOS_OPERATIONS=<n> node --test tests/node/chaos.test.js
// (defaults: seed 7, 50 operations: about a minute on 2 cores at a load
// average of 9; longer beside two CPU-bound processes on a machine that busy:
// 60 operations took 148 s so). The benchmark runs longer ones
// (bench/chaos.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, mib } from './backend.js';
import { planChaos, runChaos, seedFromEnv, summarize, warmUp, checkAfterChaos } from './chaos.js';
import { describeLedger } from './chaos-memory.js';

const seed = seedFromEnv();
const operations = Number(process.env.CHAOS_OPERATIONS ?? 50);
if (!Number.isSafeInteger(operations) || operations < 1) throw new Error(`CHAOS_OPERATIONS=${process.env.CHAOS_OPERATIONS} is invalid: expected a positive integer`);
const THREADS = 2;

const backend = await loadBackend('node-small', { threads: THREADS, logLevel: 'error', lifetime: 'process' });
backend.configureThreadPool({ exitTimeoutMs: 60_000 });

const replay = `CHAOS_SEED=${seed} CHAOS_OPERATIONS=${operations} node --test tests/node/chaos.test.js`;

test(`chaos: ${operations} random operations (seed ${seed}); the pool proves correctly afterwards, healthy, without growth`, { timeout: 240_000 }, async (t) => {
  const plan = planChaos(seed, operations);
  const baseline = await warmUp(backend);
  let stats;
  try {
    stats = await runChaos(backend, plan, { seed, boundMs: 60_000 });
  } catch (error) {
    t.diagnostic(`chaos failed; replay with: ${replay}`);
    if (error.batch) t.diagnostic(`failing batch: ${error.batch.join(' || ')}`);
    for (const line of error.trace ?? []) t.diagnostic(`  ran: ${line}`);
    console.error(`chaos failed (seed ${seed}); replay with: ${replay}`);
    throw error;
  } finally {
    backend.wasm.setAllocatorSoftLimit(0);
  }
  console.log(summarize(stats));
  for (const { during, error } of stats.coordinatorErrors) {
    assert.ok(error instanceof backend.errors.PoolError, `a coordinator ${during} failed untyped: ${error?.stack ?? error} (replay: ${replay})`);
  }
  const { health, growth, allowance, final } = await checkAfterChaos(backend, { baseline, threads: THREADS, label: `seed ${seed} (replay: ${replay})`, stats });
  console.log(
    `after chaos: allocator live ${mib(baseline.allocatorLiveBytes)} → ${mib(health.memory.allocatorLiveBytes)} ` +
      `(${growth >= 0 ? '+' : ''}${mib(growth)}; without worker stacks ${mib(final.run.rest)}, allowed ${mib(allowance.total)}), ` +
      `linear ${mib(baseline.linearBytes)} → ${mib(health.memory.linearBytes)}; generation ${health.generation}\n` +
      `allocator live bytes by cause (seed ${seed}):\n${describeLedger(stats.memoryByCause, { final, allowance })}`,
  );
});
