// The browser test's page: a pool of prover isolates (Web Workers with o1js's
// web bundle inside, bindings-js/isolates/web.js) proving the real-o1js
// ZkProgram, while the page measures its own event-loop gaps. Everything the
// test asserts is returned as plain data.
import { createProverPool } from '/bindings-js/isolates/web.js';

function gapMonitor() {
  const gaps = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 5);
  return () => {
    clearInterval(timer);
    const sorted = gaps.sort((a, b) => a - b);
    return { ticks: sorted.length, maxMs: sorted.at(-1) ?? 0, p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0 };
  };
}

const nextEvent = (pool, name, where = () => true) =>
  new Promise((resolve) => {
    const off = pool.on(name, (payload) => {
      if (where(payload)) {
        off();
        resolve(payload);
      }
    });
  });

window.runIsolates = async ({ cacheUrl, memoryMaximumBytes, threads }) => {
  const events = [];
  const started = performance.now();
  const pool = await createProverPool({
    module: '/app/isolates/web-prover.js',
    isolates: 1,
    threadsPerIsolate: threads,
    warm: { name: 'compile', args: { cacheUrl } },
    limits: { memoryMaximumBytes },
    startTimeoutMs: 10 * 60_000,
  });
  for (const name of ['isolate-ready', 'isolate-exit', 'job-start', 'job-end']) pool.on(name, (e) => events.push({ event: name, at: performance.now(), ...e, job: e.name }));
  const startMs = performance.now() - started;
  const result = { startMs, events };
  try {
    const stopGaps = gapMonitor();
    // Two proofs; the isolate that made the first is replaced (blue/green) while the second waits or runs.
    const first = pool.run('prove', { x: 1, y: 7 });
    const second = pool.run('prove', { x: 2, y: 7 });
    result.first = await first;
    result.replacement = await pool.replaceIsolate();
    result.second = await second;
    result.gaps = stopGaps();
    result.verified = (await pool.run('verify', { proofs: [result.first.proof, result.second.proof] })).verified;
    result.health = await pool.health();

    // Cancel a running proof: its isolate (a Web Worker and its nested workers) is terminated and replaced.
    const controller = new AbortController();
    const running = nextEvent(pool, 'job-start', (e) => e.name === 'prove');
    const aborted = pool.run('prove', { x: 3, y: 7 }, { signal: controller.signal });
    await running;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const refilled = nextEvent(pool, 'isolate-ready', (e) => e.cause === 'abort');
    const abortedAt = performance.now();
    controller.abort();
    result.abort = await aborted.then(
      () => ({ code: null }),
      (error) => ({ code: error.code, phase: error.phase, afterMs: performance.now() - abortedAt }),
    );
    result.abortReplacement = await refilled;
    result.afterAbort = await pool.run('prove', { x: 4, y: 7 });
  } finally {
    result.close = await pool.close({ drain: false });
  }
  return JSON.parse(JSON.stringify(result));
};
window.pageInfo = () => ({ crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency });
