// Stock o1js's side of the isolate benchmark's memory figure (bench/isolates.js runs it in the stock
// app, as build/o1js-app/stock/isolates/bench-stock-memory.mjs): one long-lived process, as an app
// proves without isolates: compile from o1js's cache, then `proofs` proofs one after another on the
// main thread; after each, the wasm linear memory (kimchi-wasm's get_memory_byte_length, which never
// shrinks) and the process RSS. The pool's side (bench-pool.mjs, mode memory) compiles from its cache
// the same way and proves the same inputs.
// With `budgetMs`, no proof starts once that long has passed since the first one (a busy machine):
// `proofs` then says how many were made.
//   node bench-stock-memory.mjs '{"workers":2,"proofs":100,"cacheDir":"…","budgetMs":null}'
// Prints one JSON line; logs go to stderr.
import * as o1js from 'o1js';
import { makeProgram, expectedOutput } from '../program.js';

const { workers, proofs, cacheDir, budgetMs = null } = JSON.parse(process.argv[2]);
o1js.setNumberOfWorkers(workers);
// o1js's own bindings module (the file `import 'o1js'` loaded): its `wasm`, set once the bindings are
// initialized, is the kimchi-wasm glue.
const bindings = await import(new URL('../node_modules/o1js/dist/node/bindings.js', import.meta.url).href);
const Program = makeProgram(o1js);

let started = performance.now();
await Program.compile({ cache: o1js.Cache.FileSystem(cacheDir) });
const compileMs = performance.now() - started;
const sample = (proof, proveMs) => ({ proof, proveMs, linearBytes: bindings.wasm.get_memory_byte_length(), rssBytes: process.memoryUsage().rss });
const samples = [sample(0, 0)];
const provingStarted = performance.now();
for (let i = 1; i <= proofs; i++) {
  if (budgetMs !== null && performance.now() - provingStarted > budgetMs) break;
  started = performance.now();
  const { proof } = await Program.add(o1js.Field(i), o1js.Field(7));
  const proveMs = performance.now() - started;
  if (proof.publicOutput.toBigInt() !== expectedOutput(i, 7)) throw new Error(`proof ${i} has the wrong output`);
  samples.push(sample(i, proveMs));
  if (i % 10 === 0) process.stderr.write(`[bench-stock-memory] ${i} of ${proofs} proofs; RSS ${(samples.at(-1).rssBytes / 2 ** 20).toFixed(0)} MiB\n`);
}
const made = samples.length - 1;
console.log(JSON.stringify({ workers, proofs: made, proofsAsked: proofs, budgetReached: made < proofs, compileMs, samples }));
