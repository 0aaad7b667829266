// The seeded randomized ("chaos") run, shared by tests/node/chaos.test.js (a
// short run in the suite) and bench/chaos.js (long runs in the benchmark).
//
// planChaos(seed, operations) draws a plan from a seeded PRNG: batches of one
// to three operations, the ones in a batch started together with random
// delays so they interleave (proofs, recycles with and without a thread
// change, out-of-memory and panicking jobs, worker kills, exits and re-inits,
// low coordinator thresholds, a soft memory limit at the live bytes).
// runChaos(backend, plan) runs it against a node backend on the 128 MiB
// build (node-small). Every await is bounded, so a hang fails with the batch
// and operation that hung. Each operation checks its own outcome: a proof
// equals the native snapshot and verifies, a report is consistent, or the
// error is one of the typed errors that operation may get in its batch (a
// job racing a kill may get POOL_WORKER_LOST or POOL_POISONED; an
// out-of-memory job must fail with PoolMemoryError) — never "any error".
// The plan depends only on the seed; the interleaving also depends on the
// machine, so a failure prints the seed and the operations around it.
import assert from 'node:assert/strict';
import { proveAndCheck, within, sleep, MiB } from './backend.js';
import { PROOF_CASES } from './snapshots.js';
import { describeLedger, growthAllowance, measureWorkingSets, memoryLedger } from './chaos-memory.js';

export { growthAllowance };

// Its first 50 operations draw every kind (5 recycles with a thread change, 7 kills, 3 soft limits).
export const DEFAULT_SEED = 7;

/** CHAOS_SEED from the environment (decimal or 0x hex), or the default. */
export function seedFromEnv(env = process.env) {
  const text = env.CHAOS_SEED;
  if (text === undefined || text === '') return DEFAULT_SEED;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new Error(`CHAOS_SEED=${text} is invalid: expected a whole number from 0 to 2^32 - 1`);
  }
  return seed;
}

/** A small seeded PRNG (mulberry32): same seed, same sequence, on every machine. */
export function prng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (list) => list[Math.floor(next() * list.length)];
  /** Draws a key of `weights` ({ key: weight }) in proportion to its weight. */
  const weighted = (weights) => {
    const entries = Object.entries(weights);
    let roll = next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, weight] of entries) {
      roll -= weight;
      if (roll < 0) return key;
    }
    return entries.at(-1)[0];
  };
  return { next, int, pick, weighted };
}

/** How often each kind of operation is drawn. */
export const WEIGHTS = Object.freeze({
  prove: 30,
  recycle: 8,
  'recycle-threads': 8,
  'oom-job': 5,
  'oom-workers': 4,
  panic: 6,
  kill: 8,
  exit: 4,
  thresholds: 5,
  'soft-limit': 3,
});

/** These run alone in their batch: they change what every concurrent job may legitimately get. */
const EXCLUSIVE = new Set(['soft-limit']);

/** The coordinator between threshold operations: no admission refusals, recycles only when asked or a threshold below fires. */
export const BASE_COORDINATOR = Object.freeze({ cooldownMs: 0, maxLinearMemoryFraction: 1, admissionHeadroomBytes: 0 });

/** The 128 MiB build's maximum (node-small): every out-of-memory size below is relative to it. */
export const MEMORY_MAXIMUM = 128 * MiB;

function drawOperation(random) {
  const kind = random.weighted(WEIGHTS);
  switch (kind) {
    case 'prove':
      return { kind, case: random.int(0, PROOF_CASES.length - 1) };
    case 'recycle-threads':
      return { kind, threads: random.int(1, 4) };
    case 'kill':
      return { kind, index: random.int(0, 3), afterMs: random.pick([0, 0, 50, 150, 300]) };
    case 'thresholds':
      return {
        kind,
        ...random.pick([
          { variant: 'jobs', maxJobsPerGeneration: random.int(1, 6) },
          { variant: 'age', maxGenerationAgeMs: random.int(200, 1500), idleCheckIntervalMs: random.int(50, 250) },
          { variant: 'live', aboveLiveMiB: random.int(1, 8) },
          { variant: 'reset' },
        ]),
      };
    case 'soft-limit':
      return { kind, slack: random.pick([0, 64, 4096, 65536]), case: random.int(0, PROOF_CASES.length - 1) };
    default:
      return { kind };
  }
}

/**
 * The plan for `seed`: `operations` operations in batches. Each operation has
 * `delayMs`, how long after its batch starts it begins.
 */
export function planChaos(seed, operations) {
  const random = prng(seed);
  const batches = [];
  let drawn = 0;
  while (drawn < operations) {
    const first = drawOperation(random);
    const batch = [{ ...first, delayMs: 0 }];
    if (!EXCLUSIVE.has(first.kind)) {
      const size = Math.min(operations - drawn, Number(random.weighted({ 1: 4, 2: 4, 3: 3 })));
      while (batch.length < size) {
        const next = drawOperation(random);
        if (!EXCLUSIVE.has(next.kind)) batch.push({ ...next, delayMs: random.int(0, 400) });
      }
    }
    drawn += batch.length;
    batches.push(batch);
  }
  return batches;
}

/** One line for an operation of the plan. */
export function describeOperation(op) {
  const { kind, delayMs, ...params } = op;
  const shown = Object.entries(params).map(([key, value]) => `${key}=${value}`);
  return `${kind}${shown.length > 0 ? `(${shown.join(', ')})` : ''} +${delayMs} ms`;
}

// Typed errors by the code a caller branches on, and the class it must come with.
const CLASS_OF = {
  POOL_OUT_OF_MEMORY: 'PoolMemoryError',
  POOL_WORKER_LOST: 'PoolWorkerLostError',
  POOL_POISONED: 'PoolPoisonedError',
  POOL_RECYCLE_TIMEOUT: 'PoolRecycleTimeoutError',
  POOL_TIMEOUT: 'PoolTimeoutError',
  POOL_HOST_FAILED: 'PoolHostError',
};

/** What a job (or recycle) in a batch with a kill may get besides its own outcome: the loss, or the poisoned pool it left. */
const AFTER_A_KILL = ['POOL_WORKER_LOST', 'POOL_POISONED'];

/**
 * Runs `plan` against `backend` (loadBackend('node-small', { lifetime:
 * 'process' })). Resolves with the counts; rejects with an AssertionError (or
 * a timeout) naming the batch and operation, with `trace` (the operations run
 * so far) attached.
 */
export async function runChaos(backend, plan, { seed, boundMs = 60_000, onBatch = () => {} } = {}) {
  const { wasm, withThreadPool, recycleThreadPool, exitThreadPool, poolHealth, workerHost, errors } = backend;
  const outcomes = {};
  const trace = [];
  const memory = [];
  let proofsChecked = 0;
  let recycles = 0;
  let threadChanges = 0;
  let coordinatorRecycles = 0;
  const coordinatorErrors = [];
  let losses = 0;
  let baseMemory = null;
  const started = performance.now();

  const count = (kind, outcome) => {
    outcomes[kind] ??= {};
    outcomes[kind][outcome] = (outcomes[kind][outcome] ?? 0) + 1;
  };
  workerHost.on((event) => event.type === 'worker-lost' && losses++);
  const ledger = memoryLedger(backend);

  let coordinator;
  const configure = (options) => {
    coordinator = backend.configurePoolHealth({ ...BASE_COORDINATOR, ...options });
    ledger.coordinator(coordinator);
    coordinator.on('recycle', () => coordinatorRecycles++);
    coordinator.on('error', (event) => coordinatorErrors.push({ during: event.during, error: event.error }));
  };
  configure({});

  /** `error` must be a typed pool error with one of `codes`; returns its code. */
  const expectTyped = (label, error, codes) => {
    const code = error?.code;
    if (!(error instanceof errors.PoolError) || !codes.includes(code)) {
      assert.fail(`${label}: expected one of ${codes.join(', ')} (typed), got ${error?.stack ?? error}`);
    }
    const className = CLASS_OF[code] ?? 'PoolOperationError';
    assert.ok(error instanceof errors[className], `${label}: ${code} comes as ${className}, got ${error.name}`);
    return code;
  };

  const liveWorker = async (generation, index) =>
    (await workerHost.list()).some((w) => w.generation === generation && w.index === index && (w.state === 'starting' || w.state === 'running'));

  async function runOperation(op, label, context) {
    await sleep(op.delayMs);
    const extra = context.kill ? AFTER_A_KILL : [];
    // A job that must succeed, unless the batch's kill got in its way.
    const job = async (run, check) => {
      try {
        const value = await within(boundMs, label, withThreadPool(run));
        check?.(value);
        return 'ok';
      } catch (error) {
        if (extra.length === 0 || error instanceof assert.AssertionError) throw error;
        return expectTyped(label, error, extra);
      }
    };
    // A job that must fail with one of `codes` (or a kill's errors).
    const failingJob = async (run, codes, check) => {
      let value;
      try {
        value = await within(boundMs, label, withThreadPool(run));
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        const code = expectTyped(label, error, [...codes, ...extra]);
        check?.(error);
        return code;
      }
      if (value === 'allowed') return 'ok';
      assert.fail(`${label}: expected ${codes.join(' or ')}, but the job succeeded (${value})`);
    };

    switch (op.kind) {
      case 'prove':
        return job(() => {
          proveAndCheck(wasm, PROOF_CASES[op.case], label);
          proofsChecked++;
        });
      case 'recycle':
      case 'recycle-threads': {
        const options = op.threads === undefined ? undefined : { threads: op.threads };
        return job(
          () => recycleThreadPool(options),
          (report) => {
            assert.ok(report.toGeneration > report.fromGeneration, `${label}: a new generation (${JSON.stringify(report)})`);
            if (options !== undefined) assert.equal(report.threads, op.threads, `${label}: the new generation has the threads asked for`);
            ledger.recycled(report);
            if (!report.joined) recycles++;
            if (options !== undefined && !report.joined) threadChanges++;
          },
        );
      }
      case 'oom-job':
        return failingJob(
          () => wasm.testAllocateInJob(MEMORY_MAXIMUM + 64 * MiB),
          ['POOL_OUT_OF_MEMORY'],
          (error) => error.code === 'POOL_OUT_OF_MEMORY' && assert.equal(error.kind, 'job-out-of-memory', `${label}: the job's own memory ran out`),
        );
      case 'oom-workers':
        // Every worker holds 70 MiB at once (a barrier keeps them overlapping):
        // past the maximum with 2 or more workers. With 1 worker it fits.
        return failingJob(
          () => {
            const threads = poolHealth().threads;
            wasm.testAllocateOnWorkers(70 * MiB, false);
            if (threads === 1) return 'allowed';
            return `${threads} workers`;
          },
          ['POOL_OUT_OF_MEMORY'],
        );
      case 'panic':
        return failingJob(() => wasm.testPanicOnWorker(`chaos panic (${label})`), ['POOL_JOB_PANICKED'], (error) => {
          if (error.code === 'POOL_JOB_PANICKED') assert.match(error.message, /chaos panic/, `${label}: the panic's message reaches the caller`);
        });
      case 'kill':
        return within(boundMs, label, withThreadPool(async () => {
          const health = poolHealth();
          if (health.generation === null || health.threads === 0) return 'no-generation';
          const generation = health.generation;
          const index = op.index % health.threads;
          try {
            await workerHost.kill(generation, index, { afterMs: op.afterMs });
          } catch (error) {
            // The generation was retired between the read and the kill (a recycle in the batch).
            expectTyped(label, error, ['POOL_INVALID_ARGUMENT']);
            assert.match(error.message, /^workerHost\.kill argument index is \d+: expected a live worker of generation/, `${label}: a kill that missed says why`);
            return 'missed';
          }
          await sleep(op.afterMs);
          // The kill landed once the supervisor no longer counts the worker as live (lost, exited or stopped).
          const deadline = performance.now() + 15_000;
          while (await liveWorker(generation, index)) {
            if (performance.now() > deadline) assert.fail(`${label}: worker ${index} of generation ${generation} still live 15 s after the kill`);
            await sleep(10);
          }
          return 'landed';
        }));
      case 'exit':
        await within(boundMs, label, exitThreadPool());
        return 'ok';
      case 'thresholds': {
        const { kind: _k, delayMs: _d, variant, aboveLiveMiB, ...options } = op;
        if (variant === 'live') {
          const live = poolHealth().memory.allocatorLiveBytes;
          options.maxAllocatorLiveBytes = live + aboveLiveMiB * MiB;
        }
        configure(variant === 'reset' ? {} : options);
        return variant;
      }
      case 'soft-limit':
        return within(boundMs, label, withThreadPool(async () => {
          const live = poolHealth().memory.allocatorLiveBytes;
          wasm.setAllocatorSoftLimit(live + op.slack);
          try {
            await withThreadPool(() => proveAndCheck(wasm, PROOF_CASES[op.case], label));
          } catch (error) {
            if (error instanceof assert.AssertionError) throw error;
            return expectTyped(label, error, ['POOL_OUT_OF_MEMORY']);
          } finally {
            wasm.setAllocatorSoftLimit(0);
          }
          assert.fail(`${label}: a proof under a soft limit ${op.slack} bytes above the live bytes succeeded`);
        }));
      default:
        throw new Error(`unknown operation ${op.kind}`);
    }
  }

  for (const [b, batch] of plan.entries()) {
    const context = { kill: batch.some((op) => op.kind === 'kill') };
    const labels = batch.map((op, i) => `seed ${seed} batch ${b} op ${i}: ${describeOperation(op)}`);
    await ledger.begin();
    const results = await Promise.allSettled(
      batch.map(async (op, i) => {
        const opStarted = performance.now();
        const outcome = await runOperation(op, labels[i], context);
        count(op.kind, outcome);
        trace.push(`${labels[i]} → ${outcome} (${(performance.now() - opStarted).toFixed(0)} ms)`);
        return outcome;
      }),
    );
    const failure = results.find((r) => r.status === 'rejected');
    if (failure !== undefined) {
      const error = failure.reason;
      error.trace = trace.slice(-12);
      error.batch = labels;
      throw error;
    }
    await ledger.end(batch.map((op, i) => ({ kind: op.kind, case: op.case, outcome: results[i].value })), `batch ${b}`);
    const health = poolHealth();
    if (health.state !== 'uninit') {
      if (baseMemory === null) baseMemory = health.memory;
      memory.push({ batch: b, live: health.memory.allocatorLiveBytes, linear: health.memory.linearBytes, threads: health.threads });
    }
    onBatch(b, plan.length);
  }
  configure({});
  const exits = outcomes.exit?.ok ?? 0;
  const stats = {
    seed,
    // New generations, exits and lost workers.
    poolEvents: recycles + coordinatorRecycles + exits + losses,
    operations: plan.reduce((n, batch) => n + batch.length, 0),
    batches: plan.length,
    concurrentBatches: plan.filter((batch) => batch.length > 1).length,
    outcomes,
    proofsChecked,
    recycles,
    threadChanges,
    coordinatorRecycles,
    coordinatorErrors,
    losses,
    memory,
    memoryByCause: ledger.table(),
    ms: performance.now() - started,
  };
  // For after the final check (ledger.final()); not part of the data.
  Object.defineProperty(stats, 'ledger', { value: ledger, enumerable: false });
  return stats;
}

/** The run's counts on a few lines. */
export function summarize(stats) {
  const byKind = Object.entries(stats.outcomes)
    .map(([kind, outcomes]) => `${kind} ${Object.entries(outcomes).map(([o, n]) => `${o}:${n}`).join('/')}`)
    .join(', ');
  const lives = stats.memory.map((m) => m.live);
  const live = lives.length === 0 ? 'no samples' : `allocator live ${(Math.min(...lives) / MiB).toFixed(1)}–${(Math.max(...lives) / MiB).toFixed(1)} MiB`;
  return (
    `seed ${stats.seed}: ${stats.operations} operations in ${stats.batches} batches (${stats.concurrentBatches} concurrent) in ${(stats.ms / 1000).toFixed(1)} s; ` +
    `${stats.proofsChecked} proofs equal to the snapshots; ${stats.recycles} recycles asked (${stats.threadChanges} with a thread change), ` +
    `${stats.coordinatorRecycles} by the coordinator, ${stats.losses} workers lost; ${live}\n  outcomes: ${byKind}` +
    (stats.coordinatorErrors.length > 0
      ? `\n  coordinator errors (${stats.coordinatorErrors.length}): ` +
        stats.coordinatorErrors.slice(0, 5).map(({ during, error }) => `${during}: ${error?.code ?? error?.name}: ${error?.message}`).join(' | ')
      : '')
  );
}

/**
 * Before a run: proving keys cached, both proofs checked, one recycle (from
 * the first recycle on, the retired workers' stacks stay set aside for the
 * next start, 2 MiB per worker: live bytes, but not growth); the memory
 * baseline, with each proof case's working set (what a job lost to a kill
 * may keep: chaos-memory.js).
 */
export async function warmUp(backend) {
  const { wasm, withThreadPool, recycleThreadPool, poolHealth } = backend;
  return within(120_000, 'the warm-up', withThreadPool(async () => {
    for (const c of PROOF_CASES) proveAndCheck(wasm, c, 'warm-up');
    const workingSets = await measureWorkingSets(wasm, poolHealth, PROOF_CASES, (c) => proveAndCheck(wasm, c, 'working set'));
    await recycleThreadPool();
    return { ...poolHealth().memory, workingSets };
  }));
}

/**
 * After a run: back to `threads` workers and the base coordinator, both
 * proofs equal to the snapshots; the pool running with nothing in flight or
 * half done, no caller inside, the supervisor holding exactly the serving
 * generation's workers; the worker stacks back to the warm-up's (they follow
 * the thread count), and the rest of the live bytes grown by no more than
 * each cause may keep (chaos-memory.js `growthAllowance`). Returns the final
 * health, the growth, the allowance and the ledger's final row.
 */
export async function checkAfterChaos(backend, { baseline, threads, label, stats }) {
  const { wasm, withThreadPool, recycleThreadPool, poolHealth, workerHost } = backend;
  wasm.setAllocatorSoftLimit(0);
  await within(120_000, `${label}: the final proofs`, withThreadPool(async () => {
    backend.configurePoolHealth(BASE_COORDINATOR);
    // Back to the warm-up's size, so memory compares like with like: twice,
    // so that as many stacks stay set aside as after the warm-up's recycle
    // (those of the last retired generation, up to its size).
    for (let i = 0; i < 2; i++) {
      const report = await recycleThreadPool({ threads });
      assert.equal(report.threads, threads);
    }
    for (const c of PROOF_CASES) proveAndCheck(wasm, c, `${label}: after chaos`);
  }));

  const health = poolHealth();
  assert.equal(health.state, 'running', `${label}: the pool runs (${JSON.stringify(health.poisoned)})`);
  assert.equal(health.inFlight, 0, `${label}: no job is left in flight`);
  assert.equal(health.poisoned, null, `${label}: not poisoned`);
  assert.equal(health.recycle, null, `${label}: no recycle is left half done`);
  assert.equal(withThreadPool.users(), 0, `${label}: no caller is left inside withThreadPool`);
  const workers = await within(10_000, `${label}: the worker list`, workerHost.list());
  assert.deepEqual(
    workers.map((w) => `${w.generation}/${w.index}/${w.state}`).sort(),
    Array.from({ length: threads }, (_, i) => `${health.generation}/${i}/running`),
    `${label}: the supervisor holds the serving generation's workers and no other`,
  );
  const final = await stats.ledger.final();
  const allowance = growthAllowance(stats.memoryByCause, final, { workingSets: baseline.workingSets });
  const growth = health.memory.allocatorLiveBytes - baseline.allocatorLiveBytes;
  // A stack not freed (a killed worker's, one stopped by force) is in the rest, not here.
  assert.equal(final.run.stacks, 0, `${label}: the worker stacks (running and set aside) are back to the warm-up's, with its thread count`);
  assert.ok(
    final.run.rest <= allowance.total,
    `${label}: allocator live bytes but worker stacks grew by ${(final.run.rest / MiB).toFixed(2)} MiB, more than the ` +
      `${(allowance.total / MiB).toFixed(2)} MiB its causes may keep (${JSON.stringify(allowance.byCause)})\n` +
      describeLedger(stats.memoryByCause, { final, allowance }),
  );
  return { health, growth, allowance, final };
}
