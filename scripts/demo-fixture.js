// The fixture demo (scripts/demo.sh --fixture; the main demo is scripts/demo/,
// on real o1js): a long-lived prover under a memory cap. The node backend
// (staged as o1js lays it out) runs on the 128 MiB build; every job proves the
// embedded fixture and leaks on the way:
//   - 4 MiB that belongs to the pool generation (what a prover accumulates
//     per pool and a recycle gives back), every job;
//   - from job 16 on, 3 MiB more that the application keeps (a cache), which
//     no recycle can free.
// The pool health coordinator recycles on allocator live bytes before memory
// runs out, and refuses a job with a typed error once even a fresh pool would
// lack the headroom; the application then drops its cache and retries. Should
// a job still run out of memory (free memory can be too fragmented for a large
// block), that is a typed error too: the job's memory is released, the pool
// keeps working, and the application does the same.
// Every proof must equal the native snapshot and verify; the process exits 1
// if one does not. A timeline goes to build/demo/timeline.svg.
//   node scripts/demo-fixture.js [jobs]      (scripts/demo.sh --fixture [jobs] builds what it needs first)
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { timelineChart } from '../bench/svg.js';
import { PROOF_CASES, expectedProof } from '../tests/node/snapshots.js';

const JOBS = Number(process.argv[2] ?? 80);
const THREADS = 2;
const MiB = 2 ** 20;
const GENERATION_LEAK_BYTES = 4 * MiB;
const APPLICATION_LEAK_BYTES = 3 * MiB;
const APPLICATION_LEAK_FROM_JOB = 16;
const RECYCLE_AT_LIVE_BYTES = 32 * MiB;
const HEADROOM_BYTES = 56 * MiB;
const OUT = fileURLToPath(new URL('../build/demo/', import.meta.url));

const stage = new URL('../build/o1js/node-small/', import.meta.url);
const backend = await import(new URL('bindings/js/node/node-backend.js', stage).href);
const { setNumberOfWorkers } = await import(new URL('lib/proof-system/workers.js', stage).href);
const { PoolMemoryError, fromWasmError } = await import(new URL('lib/proof-system/errors.js', stage).href);
const { wasm, withThreadPool, poolHealth } = backend;
wasm.setPoolLogLevel('error');
setNumberOfWorkers(THREADS);

const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
const began = performance.now();
const seconds = () => (performance.now() - began) / 1000;
const samples = [];
const events = [];
const sample = () => {
  const { memory } = poolHealth();
  samples.push({ t: seconds(), linearBytes: memory.linearBytes, liveBytes: memory.allocatorLiveBytes });
  return memory;
};

const coordinator = backend.configurePoolHealth({
  maxAllocatorLiveBytes: RECYCLE_AT_LIVE_BYTES,
  admissionHeadroomBytes: HEADROOM_BYTES,
  cooldownMs: 0,
  // Linear memory never shrinks: on 128 MiB that threshold would fire once and stay disarmed.
  maxLinearMemoryFraction: 1,
});
coordinator.on('recycle', ({ decision, report }) => {
  events.push({ t: seconds(), kind: 'recycle', label: decision.reason });
  console.log(
    `   ↻ recycle (${describeDecision(decision)}): generation ${report.fromGeneration} → ${report.toGeneration} in ${report.totalMs.toFixed(0)} ms ` +
      `(start ${report.startMs.toFixed(0)}, drain ${report.drainMs.toFixed(0)}, exit ${report.exitMs.toFixed(0)}; ` +
      `workers exited ${report.workers.exited}, forced ${report.workers.forced})`,
  );
  sample();
});
coordinator.on('refuse', ({ decision }) => {
  events.push({ t: seconds(), kind: 'refusal', label: decision.reason });
  console.log(`   ✗ refused: ${describeDecision(decision)}`);
});

/** The numbers behind a coordinator decision, in MiB. */
function describeDecision(decision) {
  if (decision.kind === 'refuse') {
    return `headroom ${mib(decision.availableBytes)} < ${mib(decision.neededBytes)} needed, and a recycle cannot free what the application holds`;
  }
  if (decision.metric === 'allocatorLiveBytes') return `allocator live ${mib(decision.value)} >= ${mib(decision.threshold)}`;
  return decision.reason;
}

function progress(done) {
  const width = 20;
  const filled = Math.round((done / JOBS) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(done).padStart(String(JOBS).length)}/${JOBS}`;
}

function healthLine(ms) {
  const h = poolHealth();
  const m = h.memory;
  return (
    `${ms.toFixed(0).padStart(4)} ms | gen ${String(h.generation).padStart(2)} ${h.state} ${h.threads}w | ` +
    `linear ${mib(m.linearBytes)}/${mib(m.linearMaxBytes)} | live ${mib(m.allocatorLiveBytes).padStart(8)} | ` +
    `held ${mib(held)} | recycles ${h.recycles}`
  );
}

let held = 0;
let proved = 0;
let verified = 0;
let refusals = 0;
let outOfMemory = 0;
let released = 0;
const failures = [];

/** One job: the leaks, then a fixture proof checked against the native snapshot. */
const job = (c) =>
  withThreadPool(async () => {
    wasm.testGrowGenerationScoped(GENERATION_LEAK_BYTES);
    const started = performance.now();
    const proof = Buffer.from(wasm.fixtureProve(c.k, c.seed));
    const ms = performance.now() - started;
    proved++;
    const ok = proof.equals(expectedProof(c)) && wasm.fixtureVerify(c.k, proof);
    if (ok) verified++;
    else failures.push(`k=${c.k} seed=${c.seed}: the proof ${proof.equals(expectedProof(c)) ? 'does not verify' : 'differs from the native snapshot'}`);
    return { ms, ok };
  });

console.log(
  `A long-lived prover on the ${mib(poolHealth().memory.linearMaxBytes ?? 0)} build, ${THREADS} workers, ${JOBS} jobs: ` +
    `each leaks ${mib(GENERATION_LEAK_BYTES)} into its pool generation, and from job ${APPLICATION_LEAK_FROM_JOB} on the application keeps ` +
    `${mib(APPLICATION_LEAK_BYTES)} more. Coordinator: recycle at ${mib(RECYCLE_AT_LIVE_BYTES)} allocator live bytes, ` +
    `refuse below ${mib(HEADROOM_BYTES)} headroom.`,
);

// The outer session keeps the pool up between jobs, as a server would.
await withThreadPool(async () => {
  sample();
  for (let i = 1; i <= JOBS; i++) {
    const c = PROOF_CASES[i % PROOF_CASES.length];
    let result;
    try {
      if (i >= APPLICATION_LEAK_FROM_JOB) {
        wasm.testHoldMemory(APPLICATION_LEAK_BYTES);
        held += APPLICATION_LEAK_BYTES;
      }
      result = await job(c);
    } catch (thrown) {
      // withThreadPool maps errors already; the application's own call (testHoldMemory) is mapped here.
      const error = fromWasmError(thrown);
      if (!(error instanceof PoolMemoryError)) throw error;
      if (error.kind === 'admission-refused') {
        refusals++; // the coordinator printed it
      } else {
        outOfMemory++;
        events.push({ t: seconds(), kind: 'oom', label: error.message });
        console.log(`   ✗ out of memory in job ${i}, a typed error (${error.code}): ${error.cause?.message ?? error.message}`);
      }
      // The application drops its cache and retries.
      const freed = wasm.testReleaseHeldMemory();
      released += freed;
      held = 0;
      events.push({ t: seconds(), kind: 'release', label: `application released ${mib(freed)}` });
      console.log(`   ↓ the application releases its cache (${mib(freed)}) and retries job ${i}`);
      sample();
      result = await job(c);
    }
    sample();
    console.log(`${progress(i)} k=${c.k} ${result.ok ? 'ok  ' : 'FAIL'} ${healthLine(result.ms)}`);
  }
});

const end = poolHealth();
const peakLinear = Math.max(...samples.map((s) => s.linearBytes));
const peakLive = end.memory.allocatorPeakBytes;
const recycles = events.filter((e) => e.kind === 'recycle').length;
mkdirSync(OUT, { recursive: true });
const svg = timelineChart({
  title: `Demo: a leaking prover under a ${mib(end.memory.linearMaxBytes)} cap`,
  subtitle: `${verified} of ${proved} proofs verified; ${recycles} recycles; ${refusals} refusals; ${THREADS} workers`,
  xLabel: 'seconds',
  unit: 'MiB',
  series: [
    { name: 'linear memory', points: samples.map((s) => [s.t, s.linearBytes / MiB]) },
    { name: 'allocator live bytes', points: samples.map((s) => [s.t, s.liveBytes / MiB]) },
  ],
  markers: events.map((e) => ({ x: e.t, kind: e.kind, label: e.label })),
  kinds: {
    recycle: { name: 'recycle', color: '#59a14f', dash: '4 3' },
    refusal: { name: 'refusal', color: '#e15759', dash: '1 0' },
    oom: { name: 'out-of-memory error', color: '#000000', dash: '1 0' },
    release: { name: 'application frees its cache', color: '#b07aa1', dash: '1 3' },
  },
  references: [
    { value: end.memory.linearMaxBytes / MiB, label: `memory maximum ${mib(end.memory.linearMaxBytes)}` },
    { value: RECYCLE_AT_LIVE_BYTES / MiB, label: `recycle at ${mib(RECYCLE_AT_LIVE_BYTES)} live` },
    { value: (end.memory.linearMaxBytes - HEADROOM_BYTES) / MiB, label: `refuse above ${mib(end.memory.linearMaxBytes - HEADROOM_BYTES)} live` },
  ],
});
writeFileSync(`${OUT}timeline.svg`, svg);
writeFileSync(`${OUT}timeline.json`, `${JSON.stringify({ samples, events }, null, 2)}\n`);

console.log(
  `\nSummary after ${seconds().toFixed(1)} s: proofs verified ${verified} of ${proved} (every one byte-identical to the native snapshot: ${failures.length === 0}); ` +
    `recycles ${recycles}; refusals ${refusals}; out-of-memory errors ${outOfMemory}; the application released ${mib(released)} in all; ` +
    `peak linear memory ${mib(peakLinear)} of ${mib(end.memory.linearMaxBytes)}, peak allocator live ${mib(peakLive)}; ` +
    `failed allocations ${end.memory.failedAllocations}.\nTimeline: ${OUT}timeline.svg`,
);
for (const failure of failures) console.error(`ERROR: ${failure}`);
// Exit explicitly: the backend's supervisor thread must not keep the demo alive.
process.exit(failures.length === 0 && proved === JOBS ? 0 : 1);
