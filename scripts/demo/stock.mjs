// The demo's stock side (run by run.js in build/demo/stock, whose o1js is
// npm's): the app as o1js apps are written today. It compiles the program
// and proves on its own main thread, so its event loop stops for every
// proof, and its wasm memory only grows: wasm linear memory never shrinks,
// and one instance serves the whole process.
//   node stock.mjs '{"cacheDir":"…"}'   (then the go on stdin: side.js)
import * as o1js from 'o1js';
import { makeProgram, expectedOutput } from './program.js';
import { awaitGo, emit, peakRssBytes, proveLoop } from './side.js';

const { cacheDir } = JSON.parse(process.argv[2]);
// One Rayon thread, as the pool side's one isolate has: the two share the machine's cores fairly.
o1js.setNumberOfWorkers(1);
// o1js's own bindings module (the one `import 'o1js'` loaded): its `wasm` is the kimchi-wasm glue once compile ran.
const bindings = await import(new URL('./node_modules/o1js/dist/node/bindings.js', import.meta.url).href);
const memory = () => ({ wasmBytes: bindings.wasm.get_memory_byte_length(), rssBytes: process.memoryUsage().rss, peakRssBytes: peakRssBytes() });

const Program = makeProgram(o1js);
let started = performance.now();
const { verificationKey } = await Program.compile({ cache: o1js.Cache.FileSystem(cacheDir) });
emit('ready', { compileMs: performance.now() - started, vkHash: verificationKey.hash.toString(), ...memory() });

const go = await awaitGo();
const proofs = [];
const { gaps, failures } = await proveLoop(
  go,
  async (n, x, y) => {
    const { proof } = await Program.add(o1js.Field(x), o1js.Field(y));
    proofs.push(proof);
    return { output: proof.publicOutput.toBigInt(), ...memory() };
  },
  expectedOutput,
);
emit('proved', { gaps, failures, ...memory() });

// Verified after the budget, so that verifying does not count as proving time or as a proof's event-loop gap.
const checked = go.verifyLast === null ? proofs : proofs.slice(-go.verifyLast);
let verified = 0;
const ms = [];
for (const proof of checked) {
  started = performance.now();
  if (await Program.verify(proof)) verified++;
  ms.push(performance.now() - started);
}
emit('verified', { verified, checked: checked.length, of: proofs.length, ms: ms.reduce((a, b) => a + b, 0), each: ms });
// o1js's worker threads would keep the process alive.
process.exit(0);
