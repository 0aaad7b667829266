// What both sides of the demo share (copied into each app beside stock.mjs
// and pool.mjs): the line protocol with run.js, the event-loop gap monitor,
// and the proving loop with its budget.
//
// Protocol: a side prints one JSON object per line on stdout ({ event, t, … },
// t in ms since `go`), and reads one line on stdin, the go: { budgetMs, proofs }.
// It starts proving when the go arrives, so both sides start together
// however long each took to compile. Logs go to stderr.
import { createInterface } from 'node:readline';

let goAt = null;

/** One event for run.js. */
export function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, t: goAt === null ? null : performance.now() - goAt, ...fields })}\n`);
}

/** Resolves with run.js's go; exits when run.js is gone (stdin closed) before it. */
export function awaitGo() {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.once('line', (line) => {
      goAt = performance.now();
      resolve(JSON.parse(line));
    });
    lines.once('close', () => {
      if (goAt === null) {
        process.stderr.write('no go from run.js (its stdin closed): exiting\n');
        process.exit(3);
      }
    });
  });
}

/**
 * The caller's event-loop gaps: the time between ticks of a 5 ms timer on
 * this (the main) thread. A thread that runs a proof cannot tick, so a gap
 * as long as the proof shows up when the proof ends.
 */
export function gapMonitor() {
  const gaps = [];
  let last = performance.now();
  let longest = { ms: 0, endedAtMs: null };
  const timer = setInterval(() => {
    const now = performance.now();
    const gap = now - last;
    gaps.push(gap);
    if (gap > longest.ms) longest = { ms: gap, endedAtMs: now - goAt };
    last = now;
  }, 5);
  return {
    longestMs: () => Math.max(longest.ms, performance.now() - last),
    stop() {
      clearInterval(timer);
      const sorted = gaps.sort((a, b) => a - b);
      return { ticks: sorted.length, maxMs: longest.ms, longestEndedAtMs: longest.endedAtMs, p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0, p50Ms: sorted[Math.floor(sorted.length / 2)] ?? 0 };
    },
  };
}

/**
 * Proves until the budget is spent or `proofs` are made, whichever comes
 * first. The first proof always starts, the others before the budget, and
 * once there is a typical proof time (the median after the first, which also
 * sets the prover up and is slower) only when it should end by the budget
 * plus half a proof, so that a run ends near its budget.
 * `proveOne(n, x, y)` resolves with { output, …fields to report } or throws;
 * each output is checked here against `expected(x, y)`. Resolves with the
 * gap statistics and the number of failed proofs.
 */
export async function proveLoop({ budgetMs, proofs }, proveOne, expected) {
  const gaps = gapMonitor();
  let failures = 0;
  const durations = [];
  for (let n = 1; proofs === null || n <= proofs; n++) {
    const typicalMs = durations.length > 1 ? median(durations.slice(1)) : 0;
    if (n > 1 && budgetMs !== null && performance.now() - goAt + typicalMs / 2 > budgetMs) break;
    // A tick between proofs, so that the monitor closes the previous gap at the proof's end, not the next one's.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const x = n;
    const y = 7;
    emit('proving', { n });
    const started = performance.now();
    try {
      const { output, ...fields } = await proveOne(n, x, y);
      const ms = performance.now() - started;
      durations.push(ms);
      const ok = BigInt(output) === expected(x, y);
      if (!ok) failures++;
      emit('proof', { n, ms, ok, output: String(output), expected: String(expected(x, y)), longestGapMs: gaps.longestMs(), ...fields });
    } catch (error) {
      failures++;
      durations.push(performance.now() - started);
      emit('proof', { n, ms: performance.now() - started, ok: false, error: String(error?.stack ?? error), longestGapMs: gaps.longestMs() });
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { gaps: gaps.stop(), failures };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The process's peak RSS so far (getrusage; Node reports KiB). */
export const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;
