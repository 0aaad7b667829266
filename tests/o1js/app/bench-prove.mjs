// One process of the o1js prove benchmark (bench/o1js.js runs it in the
// stock and the patched app, alternately): compiles the test program (from
// o1js's on-disk cache), proves once to warm up, then proves `proofs` times,
// timing each proof in wall and CPU time (the whole process: every thread's
// CPU) and its verification; then the process's RSS (no recycle has run:
// what the patched build adds before any recycle).
//   node bench-prove.mjs '{"workers":1,"proofs":2,"cacheDir":"..."}'
// Prints one JSON line.
import * as o1js from 'o1js';
import { makeProgram } from './program.js';

const { workers, proofs = 2, cacheDir } = JSON.parse(process.argv[2]);
o1js.setNumberOfWorkers(workers);
const Program = makeProgram(o1js);
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

let started = performance.now();
await Program.compile({ cache: o1js.Cache.FileSystem(cacheDir) });
const compileFromCacheMs = performance.now() - started;
started = performance.now();
await Program.add(o1js.Field(1), o1js.Field(2));
const warmUpMs = performance.now() - started;
const measured = [];
for (let i = 0; i < proofs; i++) {
  const cpu = cpuMs();
  started = performance.now();
  const { proof } = await Program.add(o1js.Field(i), o1js.Field(7));
  const wallMs = performance.now() - started;
  const proveCpuMs = cpuMs() - cpu;
  started = performance.now();
  const verified = await Program.verify(proof);
  measured.push({ wallMs, cpuMs: proveCpuMs, verifyMs: performance.now() - started, verified });
}
console.log(JSON.stringify({ workers, compileFromCacheMs, warmUpMs, measured, rssBytes: process.memoryUsage.rss() }));
