// One process of the o1js memory benchmark (bench/o1js.js): a cold compile
// (no cache), then `proofs` proofs in one long-lived process, sampling after
// each the wasm linear memory (kimchi-wasm's own get_memory_byte_length, the
// same export in stock and patched o1js) and the process's RSS. With
// `recycleEvery` (patched o1js only), the pool is recycled after every that
// many proofs, and the allocator's live bytes are sampled too.
//   node bench-memory.mjs '{"workers":2,"proofs":50,"recycleEvery":5}'
// Prints one JSON line.
import * as o1js from 'o1js';
import { makeProgram } from './program.js';

const { workers, proofs, recycleEvery = 0 } = JSON.parse(process.argv[2]);
o1js.setNumberOfWorkers(workers);
// o1js's own bindings module (the same file `import 'o1js'` loaded): its `wasm`, set once the bindings
// are initialized, is the kimchi-wasm glue.
const bindings = await import(new URL('./node_modules/o1js/dist/node/bindings.js', import.meta.url).href);
const pool = recycleEvery > 0 ? await import('o1js/pool') : null;
const Program = makeProgram(o1js);

let started = performance.now();
await Program.compile({ cache: o1js.Cache.None });
const compileMs = performance.now() - started;
const sample = async (proof, proveMs) => ({
  proof,
  proveMs,
  linearBytes: bindings.wasm.get_memory_byte_length(),
  rssBytes: process.memoryUsage().rss,
  allocatorLiveBytes: pool === null ? null : (await pool.poolHealth()).memory.allocatorLiveBytes,
});
const samples = [await sample(0, 0)];
const recycles = [];
for (let i = 1; i <= proofs; i++) {
  started = performance.now();
  const { proof } = await Program.add(o1js.Field(i), o1js.Field(7));
  const proveMs = performance.now() - started;
  if (!(await Program.verify(proof))) throw new Error(`proof ${i} does not verify`);
  samples.push(await sample(i, proveMs));
  if (pool !== null && i % recycleEvery === 0 && i < proofs) {
    const report = await pool.recycleThreadPool();
    recycles.push({ afterProof: i, totalMs: report.totalMs, allocatorBytesReleased: report.allocatorBytesReleased });
  }
}
console.log(JSON.stringify({ workers, compileMs, recycleEvery, samples, recycles }));
