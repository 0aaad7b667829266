// The page of the Vite app: o1js and its two entries imported as any app
// imports them, and bundled by Vite. The test (tests/package/vite.test.js)
// calls these from Chromium; each returns plain data for it to judge.
//   runPoolScenario: the real-o1js scenario on the page's own o1js, with its
//     pool (o1js/pool): compile, proofs, recycles between and during proofs.
//   runIsolates: a pool of prover isolates (o1js/isolates), each a Web Worker
//     Vite built from prover.worker.js with its own o1js: two proofs with a
//     replacement between, the page's event loop measured meanwhile, then a
//     running proof cancelled.
import * as o1js from 'o1js';
import * as o1jsPool from 'o1js/pool';
import { createProverPool } from 'o1js/isolates';
import { runScenario } from './scenario.js';
import { httpCache } from './http-cache.js';

const log = (message) => console.log(`[vite page] ${message}`);

window.runPoolScenario = (options) => {
  o1js.setNumberOfWorkers(options.workers);
  const cache = options.cacheUrl ? httpCache(options.cacheUrl) : undefined;
  return runScenario(o1js, o1jsPool, { ...options, cache, log });
};

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
    worker: () => new Worker(new URL('./prover.worker.js', import.meta.url), { type: 'module' }),
    isolates: 1,
    threadsPerIsolate: threads,
    warm: { name: 'compile', args: { cacheUrl } },
    limits: { memoryMaximumBytes },
    startTimeoutMs: 10 * 60_000,
  });
  for (const name of ['isolate-ready', 'isolate-exit', 'job-start', 'job-end']) pool.on(name, (e) => events.push({ event: name, at: performance.now(), ...e, job: e.name }));
  const result = { startMs: performance.now() - started, events, jobNames: pool.jobNames };
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
window.pageReady = true;
