// The seeded chaos run over the prover isolate pool, with real o1js (issue 20):
// the package's `o1js/isolates` (the patched app, as tests/isolates/o1js.test.js
// uses it), 2 isolates x 1 thread warm from o1js's on-disk cache, and a plan of
// random operations drawn from a seed: cheap real-o1js jobs (Field arithmetic,
// Poseidon hashes, a thread blocked for a while, real proofs), jobs that throw,
// that end their isolate (process.exit, an uncaught error, a wasm trap), that
// exhaust their isolate's wasm memory, that post stray and malformed messages
// on their thread's own port; aborts (before run(), at once, on the job's
// start, from inside the pool's job-start listener, after a random delay);
// deadlines that must fire; forced replacements; bursts past maxQueuedJobs;
// pauses. Between operations the run heeds back-pressure as a client would
// (once the queue reached maxQueuedJobs it waits for `drain`; bursts do not).
// The module's jobs are in app/prover.js (`chaos…`).
//
// What it asserts, whatever the interleaving:
//  - every submitted job settles exactly once: its promise, and exactly one
//    `job-end` event per admitted job (none for a job refused at run()), whose
//    outcome agrees with the promise; no `job-end` of a job nobody submitted;
//  - with its correct value (Field arithmetic checked in BigInt, Poseidon hashes
//    equal across isolates and to npm's o1js in the stock app, proofs output the
//    program's rule and verify) or with the typed error its fault calls for:
//    abort: PROVER_POOL_JOB_ABORTED; deadline: PROVER_POOL_JOB_TIMEOUT; exit,
//    uncaught error, trap: PROVER_POOL_ISOLATE_CRASHED (kind exit / exit /
//    instance-terminated); throw: PROVER_POOL_JOB_FAILED with the thrown
//    message, code and field; out of memory: PROVER_POOL_JOB_FAILED, remote
//    code POOL_OUT_OF_MEMORY (also on an isolate that has not proved yet,
//    whose wasm prints no panic line), a message naming the isolate's own
//    memory maximum, and its isolate replaced at once (metric outOfMemory or
//    wasmPanic) without taking another job meanwhile; replaceIsolate()
//    resolves, or rejects with PROVER_POOL_REPLACEMENT_FAILED naming its
//    isolate (never another caller's job error); a refusal
//    only at run(), typed `queue-full`; a job with a random late abort may
//    end either way;
//  - the pool's invariants seen from its events: one job per isolate at a time
//    (I1), an aborted or timed-out running job rejected only after its isolate
//    exited (I10), every crash is a job's crash, no `error` or `slot-given-up`
//    event, no start failure, `needs-drain` and `drain` alternating; its
//    totals equal what the jobs' promises say;
//  - no wait unbounded (each is within a bound; the run as a whole too);
//  - the host process alive (runIsolateChaosProcess runs it in a child process,
//    which must end by itself with code 0) and no unhandled rejection in it;
//    after the chaos the pool serves a job, and close() drains jobs submitted
//    right before it and reports them;
//  - memory: every isolate that started during the run was, after its warm
//    step, within a tolerance of the first isolates' post-warm linear memory
//    (+64 MiB or +15%; measured: equal to the byte); an isolate that exhausted
//    its memory had grown to its maximum; after replacing every serving
//    isolate at the end, each is back within that tolerance (linear memory and
//    allocator live bytes), and the process RSS within +50% of its post-warm
//    level (measured: at most +27%).
//
// A failure names its seed and the command that replays it:
//   CHAOS_SEED=<n> CHAOS_OPERATIONS=<n> CHAOS_PROOFS=<n> [CHAOS_SCALE_DOWN=1] node --test tests/isolates/chaos.test.js
// This file is also the child process of the test and of the benchmark
// (bench/isolates-chaos.js):
//   node tests/isolates/chaos.js --seed <n> --operations <n> [--proofs <n>] [--isolates <n>] [--scale-down] [--lib <url>]
// prints a line `isolate-chaos-result <json>` and exits 0, or prints the
// problems and exits 1.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GiB, MiB, within } from './lib.js';
import { CACHE, STOCK, prepareIsolateApps } from './apps.js';
import { runApp } from '../o1js/apps.js';

const THIS = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MINUTES = 60_000;
export const DEFAULT_SEED = 2_000_003;
export const RESULT_PREFIX = 'isolate-chaos-result ';
/** The modulus of o1js's Field (the Pallas base field). */
const FIELD_MODULUS = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001n;
const expectedOutput = (x, y) => ((BigInt(x) + BigInt(y)) * 3n).toString();

/** The replay command of a run. */
export const replayCommand = (seed, operations, proofs, scaleDown = false) =>
  `CHAOS_SEED=${seed} CHAOS_OPERATIONS=${operations} CHAOS_PROOFS=${proofs}${scaleDown ? ' CHAOS_SCALE_DOWN=1' : ''} node --test tests/isolates/chaos.test.js`;

// ------------------------------------------------------------------ the plan

/** A small seeded PRNG (mulberry32): floats in [0, 1), the same sequence for the same seed. */
export function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Operation kinds every plan holds at least once (a plan shorter than this list holds a random part of it). */
export const REQUIRED_KINDS = Object.freeze([
  'throw',
  'exit',
  'uncaught',
  'trap',
  'oom',
  'stray',
  'abort-now',
  'abort-running',
  'abort-in-listener',
  'abort-late',
  'pre-aborted',
  'deadline',
  'replace',
  'burst',
]);

/** How often each kind is drawn for the rest of a plan: mostly cheap clean jobs; faults that cost an isolate less often. */
const WEIGHTS = Object.freeze({
  field: 24,
  hash: 18,
  block: 10,
  stray: 8,
  burst: 5,
  pause: 5,
  settle: 3,
  throw: 5,
  'abort-late': 5,
  'abort-now': 4,
  'pre-aborted': 2,
  exit: 2,
  uncaught: 1,
  trap: 1,
  oom: 2,
  'abort-running': 2,
  'abort-in-listener': 1,
  deadline: 3,
  replace: 3,
});

/** Kinds whose job ends its isolate (or makes it be replaced), whatever else happens. */
export const ISOLATE_ENDING_KINDS = Object.freeze(['exit', 'uncaught', 'trap', 'oom', 'abort-running', 'abort-in-listener', 'deadline', 'replace']);

/**
 * The plan of a run: `operations` operations drawn from `seed` (pure data, the
 * same for the same arguments), `proofs` of them real proofs, spread out from
 * the second operation on; and the hash jobs' input lists.
 */
export function planChaos({ seed, operations, proofs = 0 }) {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed ${seed}: expected a whole number >= 0`);
  if (!Number.isSafeInteger(operations) || operations < 1) throw new RangeError(`operations ${operations}: expected a whole number >= 1`);
  if (!Number.isSafeInteger(proofs) || proofs < 0 || proofs > operations) throw new RangeError(`proofs ${proofs}: expected 0 to operations`);
  const random = mulberry32(seed);
  const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = (list) => list[Math.floor(random() * list.length)];
  const shuffle = (list) => {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [list[i], list[j]] = [list[j], list[i]];
    }
    return list;
  };
  const fieldElement = () => {
    let value = 0n;
    for (let i = 0; i < 8; i++) value = (value << 32n) | BigInt(Math.floor(random() * 2 ** 32));
    return (value % FIELD_MODULUS).toString();
  };
  const small = () => String(int(0, 1000));
  const hashInputs = Array.from({ length: 5 }, () => Array.from({ length: int(1, 4) }, () => (random() < 0.5 ? small() : fieldElement())));
  let serial = 0;

  /** A job that returns a value the run checks. */
  const cleanJob = (kind = pick(['field', 'field', 'hash', 'hash', 'block', 'stray'])) => {
    serial++;
    const spec = (() => {
      switch (kind) {
        case 'field':
          return { name: 'chaosField', args: { a: random() < 0.5 ? small() : fieldElement(), b: fieldElement(), c: small(), rounds: int(1, 3000) } };
        case 'hash':
          return { name: 'chaosHash', args: { inputs: pick(hashInputs) } };
        case 'block':
          return { name: 'chaosBlock', args: { ms: int(10, 400) } };
        case 'stray':
          return { name: 'chaosStray', args: { count: int(1, 40), later: int(0, 15), laterMs: int(0, 400), value: `stray ${serial}` } };
        default:
          throw new Error(`not a clean job kind: ${kind}`);
      }
    })();
    // Some clean jobs carry a deadline far beyond what they take: it must not fire.
    return { kind, ...spec, timeoutMs: random() < 0.2 ? 20 * MINUTES : null, abort: null };
  };
  const longBlock = () => ({ name: 'chaosBlock', args: { ms: int(4_000, 8_000) } });

  const operation = (kind) => {
    serial++;
    switch (kind) {
      case 'field':
      case 'hash':
      case 'block':
      case 'stray':
        return { type: 'job', job: cleanJob(kind) };
      case 'throw':
        return { type: 'job', job: { kind, name: 'chaosThrow', args: { message: `chaos throw ${serial}`, code: 'CHAOS_THROWN' }, timeoutMs: null, abort: null } };
      case 'exit':
        return { type: 'job', job: { kind, name: 'chaosExit', args: { code: int(0, 9) }, timeoutMs: null, abort: null } };
      case 'uncaught':
        return { type: 'job', job: { kind, name: 'chaosUncaught', args: { message: `chaos uncaught ${serial}` }, timeoutMs: null, abort: null } };
      case 'trap':
        return { type: 'job', job: { kind, name: 'trap', args: undefined, timeoutMs: null, abort: null } };
      case 'oom':
        return { type: 'job', job: { kind, name: 'chaosExhaustMemory', args: { chunkBytes: pick([16, 64]) * MiB }, timeoutMs: null, abort: null } };
      case 'abort-now':
        return { type: 'job', job: { ...cleanJob(), kind, abort: { mode: 'now' } } };
      case 'abort-late':
        return { type: 'job', job: { ...cleanJob(), kind, abort: { mode: 'after', ms: int(0, 800) } } };
      case 'pre-aborted':
        return { type: 'job', job: { ...cleanJob(), kind, abort: { mode: 'before' } } };
      case 'abort-running':
        return { type: 'job', job: { kind, ...longBlock(), timeoutMs: null, abort: { mode: 'on-start' } } };
      case 'abort-in-listener':
        return { type: 'job', job: { kind, ...longBlock(), timeoutMs: null, abort: { mode: 'in-listener' } } };
      case 'deadline': {
        // It cannot end before its deadline: it blocks its thread for seconds longer, from a start after run().
        const timeoutMs = int(200, 1_500);
        return { type: 'job', job: { kind, name: 'chaosBlock', args: { ms: timeoutMs + int(2_500, 4_000) }, timeoutMs, abort: null } };
      }
      case 'proof':
        return { type: 'job', job: { kind, name: 'prove', args: { x: int(0, 1_000), y: int(1, 1_000) }, timeoutMs: null, abort: null } };
      case 'replace': {
        const r = random();
        return { type: 'replace', target: r < 0.6 ? 'oldest' : r < 0.9 ? 'live' : 'stale' };
      }
      case 'burst':
        return { type: 'burst', jobs: Array.from({ length: int(4, 10) }, () => cleanJob()) };
      case 'pause':
        return { type: 'pause', ms: int(100, 1_500) };
      case 'settle':
        return { type: 'settle' };
      default:
        throw new Error(`unknown operation kind ${kind}`);
    }
  };

  const drawn = shuffle([...REQUIRED_KINDS]).slice(0, Math.max(0, operations - proofs));
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  while (drawn.length < operations - proofs) {
    let r = random() * total;
    for (const [kind, weight] of Object.entries(WEIGHTS)) {
      r -= weight;
      if (r < 0) {
        drawn.push(kind);
        break;
      }
    }
  }
  const kinds = shuffle(drawn);
  for (let i = 0; i < proofs; i++) kinds.splice(Math.min(kinds.length, 1 + Math.floor((i * (operations - 1)) / Math.max(1, proofs))), 0, 'proof');
  const ops = kinds.map((kind) => ({ kind, gapMs: int(0, 250), ...operation(kind) }));
  return { seed, operations, proofs, hashInputs, ops };
}

/** How many of each kind a plan holds. */
export function planCounts(plan) {
  const counts = {};
  for (const op of plan.ops) counts[op.kind] = (counts[op.kind] ?? 0) + 1;
  return counts;
}

// --------------------------------------------------------------- the checks

const mod = (x) => ((x % FIELD_MODULUS) + FIELD_MODULUS) % FIELD_MODULUS;

/** chaosField's value, in BigInt. */
function fieldValue({ a, b, c, rounds }) {
  let x = mod(BigInt(a));
  for (let i = 0; i < rounds; i++) x = mod(x * BigInt(b) + BigInt(c));
  return x;
}

/** The outcome of a settled job, as one word: `completed` or the error's code. */
function outcomeOf(record) {
  if (record.settled === 'value') return 'completed';
  const code = record.error?.code;
  return typeof code === 'string' ? code : `not a pool error: ${record.error?.stack ?? record.error}`;
}

/** A `job-end` outcome for each settlement. */
const END_OUTCOME = {
  completed: 'completed',
  PROVER_POOL_JOB_FAILED: 'failed',
  PROVER_POOL_ISOLATE_CRASHED: 'crashed',
  PROVER_POOL_JOB_ABORTED: 'aborted',
  PROVER_POOL_JOB_TIMEOUT: 'timed-out',
  PROVER_POOL_ADMISSION_REFUSED: 'refused',
  PROVER_POOL_CLOSED: 'closed',
};

/** What its kind normally ends with. */
const BASE_OUTCOME = {
  field: 'completed',
  hash: 'completed',
  block: 'completed',
  stray: 'completed',
  proof: 'completed',
  throw: 'PROVER_POOL_JOB_FAILED',
  oom: 'PROVER_POOL_JOB_FAILED',
  exit: 'PROVER_POOL_ISOLATE_CRASHED',
  uncaught: 'PROVER_POOL_ISOLATE_CRASHED',
  trap: 'PROVER_POOL_ISOLATE_CRASHED',
};

/** The outcomes a job may have: its fault's, or its base outcome, or either when an abort races it. */
function allowedOutcomes(record) {
  const { job } = record;
  if (record.refusedAtRun) return ['PROVER_POOL_ADMISSION_REFUSED'];
  const mode = job.abort?.mode ?? null;
  if (mode === 'before' || mode === 'now' || mode === 'on-start' || mode === 'in-listener') return ['PROVER_POOL_JOB_ABORTED'];
  if (job.kind === 'deadline') return ['PROVER_POOL_JOB_TIMEOUT'];
  const normal = BASE_OUTCOME[job.kind] ?? 'completed'; // the abort kinds' jobs are clean jobs
  return mode === 'after' ? [normal, 'PROVER_POOL_JOB_ABORTED'] : [normal];
}

// --------------------------------------------------------------- the run

/**
 * Runs the plan of `seed` against a fresh pool; resolves with the run's
 * figures, or rejects with every problem found (and the replay command).
 * Options: seed, operations, proofs (real proofs, 1), isolates (2),
 * scaleDown (default false; true: the idle scale-down on, minIsolates 1 and idleTimeoutMs 4 s,
 * with long pauses in the plan), memoryMaximumBytes (2 GiB), lib (the
 * `o1js/isolates` module URL; default the package's in the patched app), log.
 */
export async function runIsolateChaos(options) {
  const { seed, operations, proofs = 1, isolates = 2, scaleDown = false, memoryMaximumBytes = 2 * GiB, lib = null, log = () => {} } = options;
  const began = performance.now();
  const plan = planChaos({ seed, operations, proofs });
  if (scaleDown) for (const op of plan.ops) if (op.type === 'pause' && op.ms > 1_000) op.ms += 5_000; // past idleTimeoutMs
  const replay = replayCommand(seed, operations, proofs, scaleDown);
  log(`seed ${seed}, ${operations} operations (${JSON.stringify(planCounts(plan))}); replay: ${replay}`);

  const { prover, isolates: packageIsolates } = prepareIsolateApps();
  const { createProverPool, ProverPoolError } = await import(lib ?? packageIsolates);

  const problems = [];
  const problem = (text) => {
    problems.push(text);
    log(`PROBLEM: ${text}`);
  };
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(String(reason?.stack ?? reason));
  process.on('unhandledRejection', onUnhandled);

  const config = {
    module: prover,
    isolates,
    threadsPerIsolate: 1,
    warm: { name: 'compile', args: { cacheDir: CACHE } },
    // The first start may compile cold (filling the cache); a busy machine makes every start slow.
    startTimeoutMs: 15 * MINUTES,
    limits: { memoryMaximumBytes, cooldownMs: 0 },
    // Small enough that bursts while isolates restart are refused (typed), large enough that most jobs run.
    maxQueuedJobs: 16 * isolates,
    // Every job has a deadline: the pool's, far beyond any job here (run()'s timeoutMs overrides it).
    jobTimeoutMs: 30 * MINUTES,
    // Crashes are the point here: the breaker must not open, and restarts back off only briefly.
    maxCrashes: 1_000,
    crashWindowMs: 60_000,
    restartDelayMs: 100,
    ...(scaleDown ? { minIsolates: 1, idleTimeoutMs: 4_000, idleCheckIntervalMs: 1_000 } : {}),
  };
  const poolStarted = performance.now();
  const pool = await within(20 * MINUTES, 'the pool to start', createProverPool(config));
  const startMs = performance.now() - poolStarted;

  // What the pool says, as it says it.
  const seen = { starts: new Map(), ends: new Map(), ready: [], exits: [], crashes: [], replacements: [], decisions: [], errors: [], givenUp: [], refusals: [], backPressure: [] };
  const runningOn = new Map(); // isolate id -> job id, from job-start / job-end
  const exited = new Set();
  const live = new Set();
  const onStart = new Map(); // job id -> what to do when it starts
  let order = 0; // job-start and job-end events, in the order they came
  const offs = [
    pool.on('job-start', (payload) => {
      const e = { ...payload, order: ++order };
      if (seen.starts.has(e.jobId)) problem(`job ${e.jobId} started twice (on isolates ${seen.starts.get(e.jobId).isolateId} and ${e.isolateId})`);
      seen.starts.set(e.jobId, e);
      if (runningOn.has(e.isolateId)) problem(`I1: job ${e.jobId} started on isolate ${e.isolateId} while job ${runningOn.get(e.isolateId)} ran there`);
      if (exited.has(e.isolateId)) problem(`job ${e.jobId} started on isolate ${e.isolateId}, which had exited`);
      runningOn.set(e.isolateId, e.jobId);
      onStart.get(e.jobId)?.(e);
    }),
    pool.on('job-end', (payload) => {
      const e = { ...payload, order: ++order };
      const ends = seen.ends.get(e.jobId) ?? [];
      ends.push(e);
      seen.ends.set(e.jobId, ends);
      if (e.isolateId !== null && runningOn.get(e.isolateId) === e.jobId) runningOn.delete(e.isolateId);
      if ((e.outcome === 'aborted' || e.outcome === 'timed-out') && e.runMs !== null && !exited.has(e.isolateId)) {
        problem(`I10: job ${e.jobId} (${e.outcome} while running) was settled before its isolate ${e.isolateId} exited`);
      }
    }),
    pool.on('isolate-ready', (e) => {
      live.add(e.isolateId);
      // The process's RSS as isolates come and go (a trend over many replacements: the benchmark's long runs).
      seen.ready.push({ isolateId: e.isolateId, slot: e.slot, cause: e.cause, warmMs: e.warmMs, linearBytes: e.snapshot.memory.linearBytes, rssBytes: process.memoryUsage.rss(), at: performance.now() - began });
    }),
    pool.on('isolate-exit', (e) => {
      live.delete(e.isolateId);
      exited.add(e.isolateId);
      seen.exits.push({ isolateId: e.isolateId, reason: e.reason, jobs: e.jobs, linearBytes: e.snapshot?.memory.linearBytes ?? null });
    }),
    pool.on('crash', (e) => seen.crashes.push({ isolateId: e.isolateId, kind: e.error.kind, exitCode: e.error.exitCode, jobName: e.error.jobName })),
    pool.on('replacement', (r) => seen.replacements.push({ slot: r.slot, oldIsolateId: r.oldIsolateId, newIsolateId: r.newIsolateId, metric: r.metric, totalMs: r.totalMs })),
    pool.on('decision', (e) => seen.decisions.push({ isolateId: e.isolateId, kind: e.decision.kind, metric: e.decision.metric ?? null })),
    pool.on('error', (e) => seen.errors.push(`${e.context}: ${e.error?.message ?? e.error}`)),
    pool.on('slot-given-up', (e) => seen.givenUp.push(`slot ${e.slot}: ${e.reason} (${e.count})`)),
    pool.on('refuse', (e) => seen.refusals.push({ kind: e.error.kind, needed: e.error.needed, available: e.error.available })),
    pool.on('needs-drain', (e) => seen.backPressure.push(`needs-drain ${e.queued}`)),
    pool.on('drain', (e) => seen.backPressure.push(`drain ${e.queued}`)),
  ];

  const records = [];
  const replacements = [];
  let nextJobId = 1;
  const timers = new Set();
  const later = (ms, fn) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  /** Submits one job of the plan; the record says what it was and how it settled. */
  const submit = (job) => {
    const record = { seq: records.length, job, id: null, refusedAtRun: false, settled: null, value: undefined, error: undefined, settlements: 0 };
    records.push(record);
    const controller = job.abort === null ? null : new AbortController();
    if (job.abort?.mode === 'before') controller.abort(new Error('chaos: aborted before run()'));
    const runOptions = {};
    if (controller !== null) runOptions.signal = controller.signal;
    if (job.timeoutMs !== null) runOptions.timeoutMs = job.timeoutMs;
    // The id the pool gives the job if it admits it (ids count admitted jobs); its start may come inside run().
    const id = nextJobId;
    if (job.abort?.mode === 'on-start') onStart.set(id, () => queueMicrotask(() => controller.abort(new Error('chaos: aborted once running'))));
    if (job.abort?.mode === 'in-listener') onStart.set(id, () => controller.abort(new Error("chaos: aborted inside the pool's job-start listener")));
    const refusalsBefore = seen.refusals.length;
    const promise = pool.run(job.name, job.args, runOptions);
    record.refusedAtRun = seen.refusals.length !== refusalsBefore;
    if (!record.refusedAtRun && job.abort?.mode !== 'before') {
      record.id = id;
      nextJobId++;
    } else {
      onStart.delete(id);
    }
    record.promise = promise.then(
      (value) => {
        record.settlements++;
        record.settled = 'value';
        record.value = value;
      },
      (error) => {
        record.settlements++;
        record.settled = 'error';
        record.error = error;
      },
    );
    if (job.abort?.mode === 'now') controller.abort(new Error('chaos: aborted right after run()'));
    if (job.abort?.mode === 'after') later(job.abort.ms, () => controller.abort(new Error(`chaos: aborted ${job.abort.ms} ms after run()`)));
    return record;
  };

  /** Waits for every job submitted so far (bounded: a job not settled by then is lost or hung). */
  const settleAll = async (what, ms) => {
    const open = records.filter((r) => r.settlements === 0);
    await within(ms, `${open.length} jobs to settle (${what}): ${open.slice(0, 8).map((r) => `#${r.seq} ${r.job.kind} id ${r.id}`).join(', ')}`, Promise.all(open.map((r) => r.promise)));
  };

  /** replaceIsolate() as the plan says; its result is recorded. */
  const replace = (target) => {
    let isolateId;
    if (target === 'live') isolateId = [...live].at(Math.floor(live.size / 2)) ?? undefined;
    if (target === 'stale') isolateId = [...exited].at(0) ?? 999_999;
    const entry = { target, isolateId: isolateId ?? null, outcome: null };
    replacements.push(entry);
    entry.promise = pool.replaceIsolate(isolateId).then(
      (report) => {
        entry.outcome = 'replaced';
        if (isolateId !== undefined && report.oldIsolateId !== isolateId) problem(`replaceIsolate(${isolateId}) reported replacing isolate ${report.oldIsolateId}`);
      },
      (error) => {
        entry.outcome = error instanceof ProverPoolError ? error.code : error instanceof RangeError ? 'RangeError' : `unexpected: ${error?.stack ?? error}`;
        if (target === 'stale' && !(error instanceof RangeError)) problem(`replaceIsolate(${isolateId}) of an isolate that exited rejected with ${error}, expected a RangeError`);
        // Its isolate may go first (a crash, or another caller's abort or deadline there): the replacement's own error says so.
        if (error instanceof ProverPoolError && error.code !== 'PROVER_POOL_REPLACEMENT_FAILED') problem(`replaceIsolate(${isolateId ?? ''}) rejected with ${error.code}: ${error.message}`);
        if (error instanceof ProverPoolError && isolateId !== undefined && error.isolateId !== isolateId) problem(`replaceIsolate(${isolateId}) rejected naming isolate ${error.isolateId}`);
        if (entry.outcome.startsWith('unexpected')) problem(`replaceIsolate(${isolateId ?? ''}) rejected with ${error?.stack ?? error}`);
      },
    );
  };

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const stats = { seed, operations, proofs, isolates, scaleDown, replay, planned: planCounts(plan), startMs };
  let closed = false;
  try {
    const first = await within(2 * MINUTES, 'the first health()', pool.health());
    const postWarm = {
      linearBytes: first.isolates.map((i) => i.snapshot.memory.linearBytes),
      allocatorLiveBytes: first.isolates.map((i) => i.snapshot.memory.allocatorLiveBytes),
      rssBytes: first.processRssBytes,
    };
    for (const i of first.isolates) live.add(i.id);
    // The post-warm level: the lowest of the first isolates' (the first may have compiled cold, filling
    // o1js's cache, which leaves it more; the others read the cache, as every later isolate does).
    const baseline = Math.min(...postWarm.linearBytes);
    // Fresh instances after the same warm step start with the same memory (measured: equal to the byte);
    // the tolerance only absorbs a different cache read. A proof leaves hundreds of MiB, an out of memory
    // the whole maximum: a leak carried across replacements would be far above it.
    const tolerance = Math.max(64 * MiB, Math.round(0.15 * baseline));
    log(`pool started in ${(startMs / 1000).toFixed(1)} s; post-warm linear memory ${postWarm.linearBytes.map((b) => (b / MiB).toFixed(1)).join(', ')} MiB, RSS ${(postWarm.rssBytes / MiB).toFixed(0)} MiB`);

    // The operations, one after another with their gaps; jobs are not awaited (they overlap). As a client
    // that heeds back-pressure, the run waits for the queue's `drain` once it reached maxQueuedJobs, but
    // for bursts, which go on submitting (and are refused, typed).
    let backPressureWaits = 0;
    for (const op of plan.ops) {
      if (op.type !== 'burst' && pool.needsDrain) {
        backPressureWaits++;
        let off;
        await within(20 * MINUTES, "the queue's drain event", new Promise((resolve) => (off = pool.on('drain', resolve)))).finally(() => off());
      }
      if (op.type === 'job') submit(op.job);
      else if (op.type === 'burst') for (const job of op.jobs) submit(job);
      else if (op.type === 'replace') replace(op.target);
      else if (op.type === 'pause') await sleep(op.ms);
      else if (op.type === 'settle') await settleAll('a settle operation', 20 * MINUTES);
      await sleep(op.gapMs);
    }
    log(`all ${plan.ops.length} operations issued after ${((performance.now() - began) / 1000).toFixed(1)} s; waiting for ${records.filter((r) => r.settlements === 0).length} jobs`);
    await settleAll('the end of the plan', 20 * MINUTES);
    await within(20 * MINUTES, 'the forced replacements', Promise.all(replacements.map((r) => r.promise)));
    for (const timer of timers) clearTimeout(timer);

    // Quiet: nothing queued, running or starting, no slot waiting to restart.
    const quietBy = performance.now() + 10 * MINUTES;
    let quiet;
    for (;;) {
      quiet = await within(2 * MINUTES, 'health() while waiting for the pool to be quiet', pool.health());
      const busy = quiet.queued > 0 || quiet.running > 0 || quiet.isolates.some((i) => i.state !== 'idle') || quiet.slots.some((s) => s.state === 'starting' || s.state === 'restarting');
      if (!busy) break;
      if (performance.now() > quietBy) throw new Error(`the pool was not quiet within 10 minutes: ${JSON.stringify({ queued: quiet.queued, running: quiet.running, isolates: quiet.isolates.map((i) => [i.id, i.state]), slots: quiet.slots.map((s) => s.state) })}`);
      await sleep(500);
    }

    // ---- every job: settled once, with an allowed outcome and a correct value.
    const outcomes = {};
    const hashes = new Map(); // inputs (JSON) -> { value, isolates }
    const proofsMade = [];
    const oomIsolates = [];
    for (const record of records) {
      const { job } = record;
      const where = `job #${record.seq} (${job.kind}: ${job.name}${record.id === null ? ', no id' : `, id ${record.id}`})`;
      if (record.settlements !== 1) problem(`${where} settled ${record.settlements} times`);
      const outcome = outcomeOf(record);
      outcomes[job.kind] ??= {};
      outcomes[job.kind][outcome] = (outcomes[job.kind][outcome] ?? 0) + 1;
      const allowed = allowedOutcomes(record);
      if (!allowed.includes(outcome)) problem(`${where} ended with ${outcome}${record.error ? ` (${record.error.message})` : ''}; expected ${allowed.join(' or ')}`);
      const ends = record.id === null ? [] : (seen.ends.get(record.id) ?? []);
      const start = record.id === null ? undefined : seen.starts.get(record.id);
      if (record.id === null) {
        if (outcome !== 'PROVER_POOL_ADMISSION_REFUSED' && outcome !== 'PROVER_POOL_JOB_ABORTED') problem(`${where} got no id but ended with ${outcome}`);
      } else {
        if (ends.length !== 1) problem(`${where}: ${ends.length} job-end events, expected exactly 1`);
        else if (ends[0].outcome !== END_OUTCOME[outcome]) problem(`${where}: job-end says ${ends[0].outcome}, its promise ${outcome}`);
        else if (ends[0].name !== job.name) problem(`${where}: job-end names ${ends[0].name}`);
        if (start !== undefined && start.name !== job.name) problem(`${where}: its job-start names ${start.name} (the ids the pool gave are not the ones counted here)`);
      }
      if (outcome === 'completed') {
        const value = record.value;
        if (value?.jobId !== undefined && value.jobId !== record.id) problem(`${where}: the job ran as id ${value.jobId}`);
        if (job.name === 'chaosField') {
          const expected = fieldValue(job.args);
          if (value.value !== expected.toString()) problem(`${where}: Field arithmetic gave ${value.value}, expected ${expected}`);
          if (expected === 0n ? value.inverse !== null : mod(BigInt(value.inverse) * expected) !== 1n) problem(`${where}: the inverse ${value.inverse} of ${expected} is wrong`);
        } else if (job.name === 'chaosHash') {
          const key = JSON.stringify(job.args.inputs);
          const known = hashes.get(key);
          if (known === undefined) hashes.set(key, { value: value.value, isolates: new Set([value.isolateId]) });
          else if (known.value !== value.value) problem(`${where}: Poseidon.hash(${key}) gave ${value.value} on isolate ${value.isolateId}, ${known.value} before`);
          else known.isolates.add(value.isolateId);
        } else if (job.name === 'chaosBlock') {
          if (!(value.blockedMs >= job.args.ms - 1)) problem(`${where}: blocked ${value.blockedMs} ms, asked ${job.args.ms}`);
        } else if (job.name === 'chaosStray') {
          if (value.value !== job.args.value || value.posted !== job.args.count) problem(`${where}: returned ${JSON.stringify(value)}`);
        } else if (job.name === 'prove') {
          if (value.output !== expectedOutput(job.args.x, job.args.y)) problem(`${where}: proof output ${value.output}, expected ${expectedOutput(job.args.x, job.args.y)}`);
          proofsMade.push({ proof: value.proof, proveMs: value.proveMs });
        }
      } else if (record.settled === 'error') {
        const error = record.error;
        if (!(error instanceof ProverPoolError)) problem(`${where}: rejected with ${error?.stack ?? error}, not a ProverPoolError`);
        if (outcome === 'PROVER_POOL_JOB_FAILED' && job.kind === 'throw') {
          const { remote } = error;
          if (remote.message !== job.args.message || remote.code !== job.args.code || remote.fields?.chaosField !== 'from inside the job') {
            problem(`${where}: the thrown error came back as ${JSON.stringify({ name: remote.name, message: remote.message, code: remote.code, fields: remote.fields })}`);
          }
        }
        if (outcome === 'PROVER_POOL_JOB_FAILED' && job.kind === 'oom') {
          const { remote } = error;
          if (remote.code !== 'POOL_OUT_OF_MEMORY') problem(`${where}: out of memory came back as ${remote.name} [${remote.code}]: ${remote.message}`);
          const stated = /linear memory [\d.]+ MiB of ([\d.]+) MiB/.exec(remote.message)?.[1];
          if (stated !== undefined && Number(stated) !== memoryMaximumBytes / MiB) problem(`${where}: the out-of-memory message names a maximum of ${stated} MiB, the isolate's is ${memoryMaximumBytes / MiB} MiB`);
          oomIsolates.push({ isolateId: error.isolateId, code: remote.code, name: remote.name, endOrder: ends[0]?.order ?? Infinity });
        }
        if (outcome === 'PROVER_POOL_ISOLATE_CRASHED') {
          const expectedKind = job.kind === 'trap' ? 'instance-terminated' : 'exit';
          if (error.kind !== expectedKind) problem(`${where}: crash of kind ${error.kind}, expected ${expectedKind} (${error.message})`);
          if (job.kind === 'exit' && error.exitCode !== job.args.code) problem(`${where}: exit code ${error.exitCode}, the job exited with ${job.args.code}`);
          if (job.kind === 'uncaught' && !(error.exitCode !== 0 && error.exitCode !== null)) problem(`${where}: an uncaught error ended the thread with exit code ${error.exitCode}`);
          if (start !== undefined && error.isolateId !== start.isolateId) problem(`${where}: crash names isolate ${error.isolateId}, the job ran on ${start.isolateId}`);
        }
        if (outcome === 'PROVER_POOL_JOB_ABORTED') {
          if ((job.abort?.mode === 'on-start' || job.abort?.mode === 'in-listener') && error.phase !== 'running') problem(`${where}: aborted once running, but the error says ${error.phase}`);
          if (job.abort?.mode === 'before' && error.phase !== 'queued') problem(`${where}: aborted before run(), but the error says ${error.phase}`);
          if (error.phase === 'running' && start === undefined) problem(`${where}: aborted while running, but it never started`);
        }
        if (outcome === 'PROVER_POOL_JOB_TIMEOUT' && error.timeoutMs !== job.timeoutMs) problem(`${where}: timed out at ${error.timeoutMs} ms, its deadline was ${job.timeoutMs}`);
        if (outcome === 'PROVER_POOL_ADMISSION_REFUSED' && error.kind !== 'queue-full') problem(`${where}: refused (${error.kind}): ${error.message}`);
      }
    }
    const ids = new Set(records.map((r) => r.id).filter((id) => id !== null));
    for (const id of seen.ends.keys()) if (!ids.has(id)) problem(`a job-end for job ${id}, which no one here submitted`);
    for (const id of seen.starts.keys()) if (!ids.has(id)) problem(`a job-start for job ${id}, which no one here submitted`);
    // Back-pressure: edges only, alternating, and the queue emptied since the last needs-drain.
    seen.backPressure.forEach((event, i) => {
      if (!event.startsWith(i % 2 === 0 ? 'needs-drain' : 'drain')) problem(`back-pressure events out of turn: ${seen.backPressure.join(', ')}`);
    });
    if (seen.backPressure.length % 2 !== 0 || quiet.needsDrain) problem(`the queue is empty, but back-pressure says ${seen.backPressure.at(-1)} (needsDrain ${quiet.needsDrain})`);
    for (const refusal of seen.refusals) if (refusal.kind !== 'queue-full' || !(refusal.available >= config.maxQueuedJobs)) problem(`a refusal ${JSON.stringify(refusal)}: expected queue-full with at least ${config.maxQueuedJobs} queued`);

    // ---- faults: each crash is a job's; each out of memory replaced its isolate, which had reached its maximum.
    const crashedJobs = records.filter((r) => outcomeOf(r) === 'PROVER_POOL_ISOLATE_CRASHED').length;
    if (seen.crashes.length !== crashedJobs) problem(`${seen.crashes.length} crash events, but ${crashedJobs} jobs failed with PROVER_POOL_ISOLATE_CRASHED: ${JSON.stringify(seen.crashes)}`);
    const memoryPeaks = [];
    for (const oom of oomIsolates) {
      const { isolateId, code } = oom;
      const exit = seen.exits.find((e) => e.isolateId === isolateId);
      const decided = seen.decisions.find((d) => d.isolateId === isolateId && d.kind === 'replace' && (d.metric === 'outOfMemory' || d.metric === 'wasmPanic'));
      // Replaced blue/green: it may serve (and so be lost to another fault) while its successor warms.
      if (exit === undefined) problem(`isolate ${isolateId} ran out of memory (${code}) but never exited`);
      oom.exitReason = exit?.reason ?? null;
      oom.jobsAfter = [...seen.starts.values()].filter((s) => s.isolateId === isolateId && s.order > oom.endOrder).length;
      // Its successor warms meanwhile (no start fails here): a job waits for it rather than fail on the exhausted instance.
      if (oom.jobsAfter > 0) problem(`isolate ${isolateId} ran out of memory (${code}), then took ${oom.jobsAfter} more jobs while its successor warmed`);
      if (decided === undefined) problem(`isolate ${isolateId} ran out of memory (${code}): no replacement decision for it (${JSON.stringify(seen.decisions.filter((d) => d.isolateId === isolateId))})`);
      if (exit?.linearBytes !== null && exit?.linearBytes !== undefined) {
        memoryPeaks.push(exit.linearBytes);
        if (exit.linearBytes < memoryMaximumBytes - 2 * 64 * MiB) problem(`isolate ${isolateId} ran out of memory with ${(exit.linearBytes / MiB).toFixed(0)} MiB of linear memory, its maximum is ${(memoryMaximumBytes / MiB).toFixed(0)} MiB`);
      }
    }

    // ---- the pool's own view: no error, no give-up, no failed start; totals as the promises say.
    if (seen.errors.length > 0) problem(`error events: ${seen.errors.join('; ')}`);
    if (seen.givenUp.length > 0) problem(`slot-given-up events: ${seen.givenUp.join('; ')}`);
    const count = (code) => records.filter((r) => outcomeOf(r) === code).length;
    const expectedTotals = {
      jobsCompleted: count('completed'),
      jobsFailed: count('PROVER_POOL_JOB_FAILED'),
      jobsCrashed: count('PROVER_POOL_ISOLATE_CRASHED'),
      jobsAborted: count('PROVER_POOL_JOB_ABORTED'),
      jobsTimedOut: count('PROVER_POOL_JOB_TIMEOUT'),
      jobsRefused: count('PROVER_POOL_ADMISSION_REFUSED'),
      crashes: seen.crashes.length,
      replacements: seen.replacements.length,
      startFailures: 0,
    };
    for (const [key, value] of Object.entries(expectedTotals)) {
      if (quiet.totals[key] !== value) problem(`health().totals.${key} is ${quiet.totals[key]}, expected ${value}`);
    }
    const strayPosted = records.filter((r) => r.job.name === 'chaosStray' && seen.starts.has(r.id)).reduce((n, r) => n + r.job.args.count + r.job.args.later, 0);
    if (quiet.totals.strayMessages > strayPosted) problem(`${quiet.totals.strayMessages} stray messages counted, but the jobs that ran posted at most ${strayPosted}`);

    // ---- hashes: equal to npm's o1js (the stock app), computed on the main thread.
    const hashKeys = [...hashes.keys()];
    if (hashKeys.length > 0) {
      const { result } = await runApp(STOCK, 'isolates/chaos-hashes.mjs', { inputs: hashKeys.map((k) => JSON.parse(k)) }, 5 * MINUTES);
      hashKeys.forEach((key, i) => {
        if (hashes.get(key).value !== result.hashes[i]) problem(`Poseidon.hash(${key}) in the isolates is ${hashes.get(key).value}, npm's o1js says ${result.hashes[i]}`);
      });
    }
    // ---- proofs verify (on the pool).
    if (proofsMade.length > 0) {
      const { verified } = await within(10 * MINUTES, 'verifying the proofs', pool.run('verify', { proofs: proofsMade.map((p) => p.proof) }));
      if (!verified.every((v) => v === true)) problem(`the proofs verify as ${JSON.stringify(verified)}`);
    }

    // ---- memory: fresh isolates start where the first ones did; after replacing every serving isolate, all are back there.
    const fresh = seen.ready.filter((r) => r.linearBytes !== null);
    for (const r of fresh) {
      if (r.linearBytes - baseline > tolerance) problem(`isolate ${r.isolateId} (${r.cause}) started with ${(r.linearBytes / MiB).toFixed(1)} MiB of linear memory, the first isolates with ${(baseline / MiB).toFixed(1)} (tolerance ${(tolerance / MiB).toFixed(0)} MiB)`);
    }
    const beforeFinal = await within(2 * MINUTES, 'health() before the final replacements', pool.health());
    const serving = beforeFinal.isolates.filter((i) => i.role === 'serving').map((i) => i.id);
    const lastReplacements = await within(20 * MINUTES, 'replacing every serving isolate', Promise.all(serving.map((id) => pool.replaceIsolate(id))));
    const end = await within(2 * MINUTES, 'health() after the final replacements', pool.health());
    const endLinear = end.isolates.map((i) => i.snapshot?.memory.linearBytes ?? null);
    const allocatorBaseline = Math.min(...postWarm.allocatorLiveBytes);
    for (const i of end.isolates) {
      const linear = i.snapshot?.memory.linearBytes ?? null;
      const live = i.snapshot?.memory.allocatorLiveBytes ?? null;
      if (serving.includes(i.id)) problem(`isolate ${i.id} still serves after it was replaced`);
      if (linear === null || linear - baseline > tolerance) problem(`after the final replacements isolate ${i.id} has ${linear === null ? 'no' : (linear / MiB).toFixed(1)} MiB of linear memory, the post-warm level is ${(baseline / MiB).toFixed(1)} (tolerance ${(tolerance / MiB).toFixed(0)} MiB)`);
      if (live === null || live - allocatorBaseline > tolerance) problem(`after the final replacements isolate ${i.id} has ${live === null ? 'no' : (live / MiB).toFixed(1)} MiB live in its allocator, ${(allocatorBaseline / MiB).toFixed(1)} post-warm`);
    }
    if (end.isolates.length === 0) problem('no isolate serves after the final replacements');
    // The process: RSS back near its post-warm level. Measured: +100-130 MiB per slot once, after the first
    // replacements (the allocator keeps freed thread memory), flat over 16 more; +265 MiB at most over the
    // chaos runs with 2 slots. An isolate whose memory stayed in the process (~400 MiB each) would pass it.
    const rssTolerance = Math.round(0.5 * postWarm.rssBytes);
    if (end.processRssBytes - postWarm.rssBytes > rssTolerance) problem(`RSS ${(end.processRssBytes / MiB).toFixed(0)} MiB after the final replacements, ${(postWarm.rssBytes / MiB).toFixed(0)} MiB post-warm (tolerance ${(rssTolerance / MiB).toFixed(0)} MiB)`);

    // ---- the pool serves after all this; close() drains what is submitted right before it.
    const finalArgs = { a: '12345', b: '678910', c: '11', rounds: 7 };
    const final = await within(10 * MINUTES, 'a job after the chaos', pool.run('chaosField', finalArgs));
    if (final.value !== fieldValue(finalArgs).toString()) problem(`the job after the chaos gave ${final.value}`);
    const drainArgs = [0, 1].map((k) => ({ a: String(k), b: '3', c: '5', rounds: 50 + k }));
    const draining = drainArgs.map((args) => pool.run('chaosField', args));
    const closeReport = await within(10 * MINUTES, 'close() with drain', pool.close({ drain: true, timeoutMs: 5 * MINUTES }));
    closed = true;
    const drained = await within(MINUTES, 'the jobs close() drained', Promise.all(draining));
    drained.forEach((value, k) => {
      if (value.value !== fieldValue(drainArgs[k]).toString()) problem(`job ${k} drained by close() gave ${value.value}`);
    });
    if (closeReport.drained !== 2 || closeReport.rejectedQueued !== 0 || closeReport.cutOffRunning !== 0 || closeReport.timedOut) problem(`close() reported ${JSON.stringify(closeReport)}; expected the 2 jobs drained, nothing cut off`);
    const afterClose = await pool.run('chaosField', finalArgs).then(
      () => 'completed',
      (error) => error.code,
    );
    if (afterClose !== 'PROVER_POOL_CLOSED') problem(`run() after close() ended with ${afterClose}`);
    const closedHealth = await within(MINUTES, 'health() after close()', pool.health());
    if (closedHealth.state !== 'closed' || closedHealth.isolates.length !== 0) problem(`after close() the pool is ${closedHealth.state} with ${closedHealth.isolates.length} isolates`);
    if (unhandled.length > 0) problem(`unhandled rejections in the host: ${unhandled.join('; ')}`);

    const faults = {};
    for (const record of records) if (record.job.kind !== 'field' && record.job.kind !== 'hash' && record.job.kind !== 'block' && record.job.kind !== 'proof') faults[record.job.kind] = (faults[record.job.kind] ?? 0) + 1;
    faults.replace = replacements.length;
    faults.burst = plan.ops.filter((op) => op.type === 'burst').length;
    const replaceOutcomes = {};
    for (const r of replacements) replaceOutcomes[r.outcome] = (replaceOutcomes[r.outcome] ?? 0) + 1;
    Object.assign(stats, {
      jobs: records.length,
      admitted: ids.size,
      outcomes,
      faults,
      replaceOutcomes,
      backPressure: { needsDrain: seen.backPressure.filter((e) => e.startsWith('needs-drain')).length, waits: backPressureWaits },
      settled: {
        once: records.filter((r) => r.settlements === 1).length,
        twice: records.filter((r) => r.settlements > 1).length,
        never: records.filter((r) => r.settlements === 0).length,
        jobEndsOnce: [...ids].filter((id) => (seen.ends.get(id) ?? []).length === 1).length,
        jobEndsTwice: [...ids].filter((id) => (seen.ends.get(id) ?? []).length > 1).length,
        jobEndsNone: [...ids].filter((id) => (seen.ends.get(id) ?? []).length === 0).length,
      },
      lost: records.filter((r) => r.settlements === 0).length,
      hangs: 0,
      totals: quiet.totals,
      hashesChecked: hashKeys.length,
      hashIsolates: Math.max(0, ...[...hashes.values()].map((h) => h.isolates.size)),
      proofTimesMs: proofsMade.map((p) => Math.round(p.proveMs)),
      isolatesStarted: seen.ready.length,
      startCauses: seen.ready.reduce((acc, r) => ({ ...acc, [r.cause]: (acc[r.cause] ?? 0) + 1 }), {}),
      exitReasons: seen.exits.reduce((acc, e) => ({ ...acc, [e.reason]: (acc[e.reason] ?? 0) + 1 }), {}),
      crashKinds: seen.crashes.reduce((acc, c) => ({ ...acc, [c.kind]: (acc[c.kind] ?? 0) + 1 }), {}),
      oom: oomIsolates.map(({ isolateId, code, exitReason, jobsAfter }) => ({ isolateId, code, exitReason, jobsAfter })),
      memory: {
        postWarmLinearBytes: postWarm.linearBytes,
        postWarmAllocatorLiveBytes: postWarm.allocatorLiveBytes,
        baselineBytes: baseline,
        toleranceBytes: tolerance,
        freshLinearBytes: { min: Math.min(...fresh.map((r) => r.linearBytes)), max: Math.max(...fresh.map((r) => r.linearBytes)), count: fresh.length },
        peakLinearBytes: Math.max(0, ...seen.exits.map((e) => e.linearBytes ?? 0)),
        oomPeakLinearBytes: memoryPeaks,
        beforeFinalLinearBytes: beforeFinal.isolates.map((i) => i.snapshot?.memory.linearBytes ?? null),
        endLinearBytes: endLinear,
        postWarmRssBytes: postWarm.rssBytes,
        rssToleranceBytes: Math.round(0.5 * postWarm.rssBytes),
        endAllocatorLiveBytes: end.isolates.map((i) => i.snapshot?.memory.allocatorLiveBytes ?? null),
        rssAtReadyBytes: seen.ready.map((r) => r.rssBytes),
        // Least squares over the second half of the starts: bytes of RSS per isolate started, once the process settled.
        rssSlopeBytesPerStart: slope(seen.ready.slice(Math.floor(seen.ready.length / 2)).map((r, i) => [i, r.rssBytes])),
        beforeFinalRssBytes: beforeFinal.processRssBytes,
        endRssBytes: end.processRssBytes,
        finalReplacements: lastReplacements.length,
      },
      closeReport,
      ms: Math.round(performance.now() - began),
    });
  } finally {
    for (const timer of timers) clearTimeout(timer);
    for (const off of offs) off();
    if (!closed) await within(2 * MINUTES, 'close() without drain after a failure', pool.close({ drain: false })).catch((error) => problem(`close() after a failure: ${error}`));
    process.off('unhandledRejection', onUnhandled);
  }
  if (problems.length > 0) {
    const error = new Error(`isolate chaos, seed ${seed}: ${problems.length} problems:\n  ${problems.join('\n  ')}\nreplay: ${replay}`);
    error.stats = stats;
    throw error;
  }
  return stats;
}

/** The least-squares slope of points [x, y] (null for fewer than 3). */
function slope(points) {
  if (points.length < 3) return null;
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return Math.round(points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx);
}

/** The run's figures as text lines. */
export function describeChaos(stats) {
  const mib = (b) => (b === null || b === undefined ? '-' : (b / MiB).toFixed(1));
  const m = stats.memory;
  const join = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `seed ${stats.seed}: ${stats.operations} operations, ${stats.jobs} jobs (${stats.admitted} admitted) in ${(stats.ms / 1000).toFixed(0)} s (pool start ${(stats.startMs / 1000).toFixed(0)} s)`,
    `faults injected: ${join(stats.faults)}`,
    `outcomes: ${Object.entries(stats.outcomes).map(([kind, o]) => `${kind} {${join(o)}}`).join('; ')}`,
    `settled once ${stats.settled.once}, twice ${stats.settled.twice}, never ${stats.settled.never}; job-end once ${stats.settled.jobEndsOnce}, twice ${stats.settled.jobEndsTwice}, none ${stats.settled.jobEndsNone}; lost ${stats.lost}, hangs ${stats.hangs}`,
    `forced replacements: ${join(stats.replaceOutcomes)}; isolates started ${stats.isolatesStarted} (${join(stats.startCauses)}); exits: ${join(stats.exitReasons)}; crashes: ${join(stats.crashKinds)}; ` +
      `out of memory: ${stats.oom.map((o) => `isolate ${o.isolateId} ${o.code}, then ${o.jobsAfter} jobs on it, ${o.exitReason}`).join('; ')}`,
    `back-pressure: needs-drain ${stats.backPressure.needsDrain} times, the run waited for drain ${stats.backPressure.waits} times; ` +
      `totals: completed ${stats.totals.jobsCompleted}, failed ${stats.totals.jobsFailed}, crashed ${stats.totals.jobsCrashed}, aborted ${stats.totals.jobsAborted}, timed out ${stats.totals.jobsTimedOut}, refused ${stats.totals.jobsRefused}, replacements ${stats.totals.replacements}, stray messages ${stats.totals.strayMessages}`,
    `checked: ${stats.hashesChecked} hashes equal to npm's o1js (up to ${stats.hashIsolates} isolates each), ${stats.proofTimesMs.length} proofs verified (${stats.proofTimesMs.map((ms) => (ms / 1000).toFixed(0)).join(', ')} s)`,
    `memory (MiB): post-warm linear ${m.postWarmLinearBytes.map(mib).join(', ')} (tolerance ${mib(m.toleranceBytes)}); fresh isolates ${mib(m.freshLinearBytes.min)}–${mib(m.freshLinearBytes.max)} (${m.freshLinearBytes.count}); ` +
      `peak at an exit ${mib(m.peakLinearBytes)}, out of memory at ${m.oomPeakLinearBytes.map(mib).join(', ')}; before the final replacements ${m.beforeFinalLinearBytes.map(mib).join(', ')}, after ${m.endLinearBytes.map(mib).join(', ')}; ` +
      `allocator live post-warm ${m.postWarmAllocatorLiveBytes.map(mib).join(', ')}, end ${m.endAllocatorLiveBytes.map(mib).join(', ')}; ` +
      `RSS post-warm ${mib(m.postWarmRssBytes)}, before the final replacements ${mib(m.beforeFinalRssBytes)}, end ${mib(m.endRssBytes)} (tolerance +${mib(m.rssToleranceBytes)}); ` +
      `at each isolate's start ${m.rssAtReadyBytes.map(mib).join(' ')} (second half: ${mib(m.rssSlopeBytesPerStart)} MiB per start)`,
    `close(): ${JSON.stringify(stats.closeReport)}`,
  ];
}

/**
 * Runs one seed in a child process (this file), as the host whose life is
 * checked: resolves with its figures once it ended by itself with code 0;
 * rejects (killing it past `timeoutMs`) with its problems and stderr.
 */
export function runIsolateChaosProcess({ seed, operations, proofs = 1, isolates = 2, scaleDown = false }, timeoutMs, onLine = () => {}) {
  const args = [THIS, '--seed', String(seed), '--operations', String(operations), '--proofs', String(proofs), '--isolates', String(isolates)];
  if (scaleDown) args.push('--scale-down');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pendingLine = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      pendingLine += chunk;
      const lines = pendingLine.split('\n');
      pendingLine = lines.pop();
      for (const line of lines) if (!line.startsWith(RESULT_PREFIX)) onLine(line);
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the chaos process (seed ${seed}) did not end within ${timeoutMs} ms: a hang; replay: ${replayCommand(seed, operations, proofs, scaleDown)}\n${tail(stdout + stderr)}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line !== undefined) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)));
      const how = signal !== null ? `was killed by ${signal}: the host process died` : `ended with code ${code}`;
      reject(new Error(`the chaos process (seed ${seed}) ${how}; replay: ${replayCommand(seed, operations, proofs, scaleDown)}\n${tail(stdout + stderr)}`));
    });
  });
}

const tail = (text) => text.trim().split('\n').slice(-60).join('\n');

// ------------------------------------------------------------ as a process

if (process.argv[1] === THIS) {
  const argv = process.argv.slice(2);
  const value = (name, fallback) => {
    const at = argv.indexOf(name);
    if (at < 0) return fallback;
    const n = Number(argv[at + 1]);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} ${argv[at + 1]}: expected a whole number`);
    return n;
  };
  const options = {
    seed: value('--seed', DEFAULT_SEED),
    operations: value('--operations', 30),
    proofs: value('--proofs', 1),
    isolates: value('--isolates', 2),
    scaleDown: argv.includes('--scale-down'),
    // Another build of `o1js/isolates` (a module URL, e.g. tsc's output of bindings-js/isolates/node.ts).
    lib: argv.includes('--lib') ? argv[argv.indexOf('--lib') + 1] : null,
    log: (line) => console.log(`[isolates/chaos] ${line}`),
  };
  try {
    const stats = await runIsolateChaos(options);
    for (const line of describeChaos(stats)) console.log(`[isolates/chaos] ${line}`);
    console.log(`${RESULT_PREFIX}${JSON.stringify(stats)}`);
  } catch (error) {
    console.error(error?.stack ?? error);
    if (error?.stats?.memory !== undefined) for (const line of describeChaos(error.stats)) console.error(`[isolates/chaos] ${line}`);
    process.exitCode = 1;
  }
}
