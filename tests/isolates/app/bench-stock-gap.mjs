// Stock o1js's side of the isolate benchmark's event-loop figure (bench/isolates.js runs it in the
// stock app, as build/o1js-app/stock/isolates/bench-stock-gap.mjs): compile from o1js's cache, one
// warm-up proof, then `proofs` proofs on the main thread, as an app does, while a 5 ms timer measures
// the event loop's gaps (a proof blocks the thread it runs on).
//   node bench-stock-gap.mjs '{"workers":2,"proofs":3,"cacheDir":"…"}'
// Prints one JSON line.
import * as o1js from 'o1js';
import { makeProgram } from '../program.js';

const { workers, proofs, cacheDir } = JSON.parse(process.argv[2]);
o1js.setNumberOfWorkers(workers);
const Program = makeProgram(o1js);
await Program.compile({ cache: o1js.Cache.FileSystem(cacheDir) });
await Program.add(o1js.Field(1), o1js.Field(2));

const gaps = [];
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  gaps.push(now - last);
  last = now;
}, 5);
const proveMs = [];
const started = performance.now();
for (let i = 0; i < proofs; i++) {
  const t = performance.now();
  await Program.add(o1js.Field(i), o1js.Field(7));
  proveMs.push(performance.now() - t);
}
const wallMs = performance.now() - started;
// The gap that a proof's end leaves has not been recorded yet: the timer fires once more.
await new Promise((resolve) => setTimeout(resolve, 20));
clearInterval(timer);
const sorted = [...gaps].sort((a, b) => a - b);
console.log(JSON.stringify({ workers, proofs, proveMs, wallMs, gaps: { ticks: sorted.length, maxMs: sorted.at(-1) ?? 0, p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0, p50Ms: sorted[Math.floor(sorted.length * 0.5)] ?? 0 } }));
