// Where the chaos run's allocator live bytes go, per cause, and how much each
// cause may keep (tests/node/chaos.js; docs/internals.md, "What recycling can
// and cannot reclaim").
//
// Live bytes are split in two at every measure: worker stacks (those of the
// supervisor's workers that hold one, and those set aside for the next start:
// 2 MiB each, so they follow the thread count: 1 to 4 workers here, 4 to 16
// MiB) and the rest. They are measured on the thread that owns the pool before
// and after each batch, once the pool is quiet. Each batch's change of the
// rest goes to one cause, the first of CAUSES that happened in it, from what
// the batch's operations returned and the host's and coordinator's events
// during it (a batch that began with the pool poisoned counts as the kill's
// whose rebuild it runs). The per-cause sums add up to the run's change;
// `events` counts each cause's events in every batch, so a cause that never
// came first in a batch still shows.
//
// What may stay behind, per cause (ALLOWANCE; measured on this build, see
// the constants): a worker that left by itself keeps ~1.8 KiB (thread-local
// state whose destructors never run on wasm threads), one stopped by force
// or lost ~6.8 KiB (all its thread-locals: its stack and TLS block are freed
// by the host); a job lost to a kill keeps what it held when the worker died
// (its pieces never unwind), at most its working set; out of memory, panics,
// recycles, thread changes, exits and proofs keep nothing more.
import { MiB, sleep, within } from './backend.js';

const KiB = 1024;

/** In priority order: a batch's change goes to the first that happened in it. */
export const CAUSES = Object.freeze([
  'job lost to a kill',
  'kill',
  'forced stop',
  'out-of-memory',
  'panic',
  'thread change',
  'recycle',
  'exit/init',
  'proof',
  'other',
]);

/**
 * What the rest of the live bytes (all but worker stacks) may grow by, per
 * cause, with a margin of about two over what this build measured
 * (node-small, 2 to 4 workers: 40 recycles, 40 forced stops and 20 kills each
 * measured alone; the fixture's proofs' working sets at warm-up):
 */
export const ALLOWANCE = Object.freeze({
  /** Lazily initialised state (first out of memory, first panic, log statics): measured under 0.2 MiB. */
  fixedBytes: 1 * MiB,
  /** Each worker that left Rayon's loop and destroyed its thread state itself: measured 1.8 KiB. */
  workerExitedBytes: 4 * KiB,
  /** Each worker stopped by force or lost (its thread-locals never destroyed; stack and TLS freed by the host): measured 6.7–6.9 KiB. */
  workerStoppedBytes: 16 * KiB,
  /**
   * Each job lost to a kill: what its pieces held when they stopped for good
   * (the dead worker's, and the survivors' parked at the fence), which never
   * unwind; at most its working set per piece in flight, so twice the job's
   * measured working set (a lost k=9 proof kept 0.49 and 1.17 MiB; its
   * working set is 1.19 MiB). A lost out-of-memory job holds nothing (its
   * one allocation failed); a lost `oom-workers` job its workers' blocks.
   */
  lostJobFactor: 2,
  lostSmallJobBytes: 64 * KiB,
});

/** Each proof case's working set: the peak of live bytes above where it started (allocator peak reset first). */
export async function measureWorkingSets(wasm, poolHealth, cases, prove) {
  const sets = [];
  for (const c of cases) {
    const before = poolHealth().memory.allocatorLiveBytes;
    wasm.testResetAllocatorPeak();
    prove(c);
    sets.push(poolHealth().memory.allocatorPeakBytes - before);
  }
  return sets;
}

/**
 * A ledger for one run: `coordinator(c)` for every coordinator the run
 * configures, `recycled(report)` for each recycle it asked for, `begin()` /
 * `end(ops)` around each batch; `table()` and, after the final check,
 * `final()`.
 */
export function memoryLedger(backend) {
  const rows = Object.fromEntries(CAUSES.map((cause) => [cause, { batches: 0, events: 0, bytes: 0, stacks: 0, largest: 0 }]));
  const steps = [];
  const lostJobs = [];
  const workers = { exited: 0, stopped: 0 };
  let window = null;
  let first = null;
  let last = null;
  const lostByGeneration = new Map();

  /**
   * Live bytes, split into worker stacks and the rest. Read once the pool is
   * quiet (no start, recycle or exit under way, the supervisor holding only
   * the current generation), so both halves describe one moment.
   */
  const sample = async () => {
    const deadline = performance.now() + 60_000;
    for (;;) {
      const list = await within(10_000, 'the worker list', backend.workerHost.list());
      // Synchronous from here: nothing of the pool changes on this thread meanwhile.
      const h = backend.poolHealth();
      const [setAside, stackBytes] = backend.wasm.testThreadStacks();
      const current = h.generation ?? h.poisoned?.generation ?? null;
      const quiet = h.recycle === null && ['running', 'poisoned', 'uninit'].includes(h.state) && list.every((w) => w.generation === current);
      if (quiet) {
        const holding = list.filter((w) => ['starting', 'running', 'lost'].includes(w.state)).length;
        const stacks = setAside + holding * stackBytes;
        const live = h.memory.allocatorLiveBytes;
        return { live, stacks, rest: live - stacks, poisoned: h.state === 'poisoned', threads: h.threads };
      }
      if (performance.now() > deadline) throw new Error(`the pool did not come to rest within 60 s to be measured (${h.state}, ${JSON.stringify(list)})`);
      await sleep(20);
    }
  };

  const event = (key, n = 1) => {
    if (window !== null) window[key] = (window[key] ?? 0) + n;
  };
  /** A sign of a cause that is not one of its events (a rebuild is the kill's, counted once as its loss). */
  const sign = (key) => window !== null && (window.signs ??= new Set()).add(key);
  const note = (line) => window !== null && (window.host ??= []).push(line);
  backend.workerHost.on((e) => {
    if (e.type === 'worker-lost') {
      lostByGeneration.set(e.generation, (lostByGeneration.get(e.generation) ?? 0) + 1);
      event('kill');
      note(`lost ${e.generation}/${e.index}`);
    }
    if (e.type === 'workers-stopped') {
      workers.exited += e.exited;
      workers.stopped += e.forced;
      // `forced` counts every worker that did not leave by itself: the lost ones too.
      const live = e.forced - (lostByGeneration.get(e.generation) ?? 0);
      if (live > 0) event('forced stop', live);
      lostByGeneration.delete(e.generation);
      note(`stopped ${e.generation}: ${e.exited} exited, ${e.forced} forced, ${e.reclaimed} reclaimed`);
    }
  });
  let lastThreads = null;
  const recycled = (report) => {
    if (report.joined) return;
    if (report.cause === 'poisoned') sign('kill');
    else if (lastThreads !== null && report.threads !== lastThreads) event('thread change');
    else event('recycle');
    lastThreads = report.threads;
  };

  return {
    coordinator(coordinator) {
      coordinator.on('recycle', ({ report }) => recycled(report));
    },
    recycled,
    async begin() {
      // Where the last batch's measure ended: nothing falls between two batches.
      const before = last ?? (first = await sample());
      lastThreads ??= before.threads;
      window = { before };
    },
    /** `ops`: [{ kind, outcome, case? }] of the batch. */
    async end(ops, label) {
      const w = window;
      const after = await sample();
      last = after;
      window = null;
      const add = (key) => (w[key] = (w[key] ?? 0) + 1);
      for (const op of ops) {
        if (op.outcome === 'POOL_WORKER_LOST') {
          add('job lost to a kill');
          lostJobs.push({ kind: op.kind, case: op.case, label });
        } else if (op.outcome === 'POOL_OUT_OF_MEMORY') add('out-of-memory');
        else if (op.kind === 'panic' && op.outcome === 'POOL_JOB_PANICKED') add('panic');
        else if (op.kind === 'exit') add('exit/init');
        else if (op.kind === 'prove' && op.outcome === 'ok') add('proof');
      }
      const cause = CAUSES.find((c) => (w[c] ?? 0) > 0 || w.signs?.has(c) || (c === 'kill' && w.before.poisoned)) ?? 'other';
      const delta = after.rest - w.before.rest;
      const row = rows[cause];
      row.batches++;
      row.bytes += delta;
      row.stacks += after.stacks - w.before.stacks;
      if (Math.abs(delta) > Math.abs(row.largest)) row.largest = delta;
      for (const c of CAUSES) rows[c].events += w[c] ?? 0;
      steps.push({ label, cause, delta, ops: `${ops.map((o) => `${o.kind}→${o.outcome}`).join(' || ')} [${(w.host ?? []).join('; ')}]` });
    },
    /** Per cause: batches given to it, its events in all batches, the bytes those batches changed, the largest step; what may stay. */
    table: () => ({ rows, largestSteps: [...steps].sort((a, b) => b.delta - a.delta).slice(0, 6), lostJobs, workers: { ...workers } }),
    /**
     * After the run's final check: what it changed since the last batch, the
     * whole run's change since the first, and the workers counted by then.
     */
    async final() {
      const end = await sample();
      return {
        rest: end.rest - last.rest,
        stacks: end.stacks - last.stacks,
        run: { rest: end.rest - first.rest, stacks: end.stacks - first.stacks, live: end.live - first.live },
        workers: { ...workers },
      };
    },
  };
}

/**
 * What the live bytes may have grown by over a run (ledger `table()` and
 * `final()`, the warm-up's `workingSets` per proof case): each cause's
 * allowance, and their sum.
 */
export function growthAllowance(table, final, { workingSets, threadsMax = 4 }) {
  const w = final?.workers ?? table.workers;
  const lostJob = (job) => {
    if (job.kind === 'prove' || job.kind === 'soft-limit') return ALLOWANCE.lostJobFactor * workingSets[job.case];
    if (job.kind === 'oom-workers') return 70 * MiB * threadsMax;
    return ALLOWANCE.lostSmallJobBytes;
  };
  const byCause = {
    'lazily initialised state': ALLOWANCE.fixedBytes,
    [`${w.exited} workers that left by themselves`]: w.exited * ALLOWANCE.workerExitedBytes,
    [`${w.stopped} workers stopped by force or lost`]: w.stopped * ALLOWANCE.workerStoppedBytes,
    [`${table.lostJobs.length} jobs lost to a kill`]: table.lostJobs.reduce((sum, job) => sum + lostJob(job), 0),
  };
  return { byCause, total: Object.values(byCause).reduce((a, b) => a + b, 0) };
}

/** The ledger's table as text lines (the test's log, the benchmark's output). */
export function describeLedger({ rows, largestSteps, lostJobs }, { final = null, allowance = null } = {}) {
  const mb = (bytes) => `${bytes >= 0 ? '+' : ''}${(bytes / MiB).toFixed(2)}`;
  const lines = [
    '| cause | batches | events | live bytes but stacks (MiB) | worker stacks (MiB) | largest step but stacks (MiB) |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  let rest = 0;
  let stacks = 0;
  for (const cause of CAUSES) {
    const r = rows[cause];
    rest += r.bytes;
    stacks += r.stacks;
    if (r.batches === 0 && r.events === 0) continue;
    lines.push(`| ${cause} | ${r.batches} | ${r.events} | ${mb(r.bytes)} | ${mb(r.stacks)} | ${mb(r.largest)} |`);
  }
  lines.push(`| all batches | | | ${mb(rest)} | ${mb(stacks)} | |`);
  if (final !== null) {
    lines.push(`| the final check (back to the warm-up's size, proofs) | | | ${mb(final.rest)} | ${mb(final.stacks)} | |`);
    lines.push(`| the run | | | ${mb(rest + final.rest)} | ${mb(stacks + final.stacks)} | |`);
  }
  if (lostJobs.length > 0) lines.push(`jobs lost to a kill: ${lostJobs.map((j) => `${j.kind}${j.case === undefined ? '' : ` case ${j.case}`} (${j.label})`).join(', ')}`);
  if (allowance !== null) {
    lines.push(`allowed: ${Object.entries(allowance.byCause).map(([cause, bytes]) => `${cause} ${mb(bytes)}`).join(', ')}; total ${mb(allowance.total)} MiB`);
  }
  lines.push('largest steps but stacks:');
  for (const s of largestSteps) lines.push(`  ${mb(s.delta)} MiB (${s.cause}) ${s.label}: ${s.ops}`);
  return lines.join('\n');
}
