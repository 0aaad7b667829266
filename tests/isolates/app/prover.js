// The proving module of the isolate tests and benchmark: the real-o1js
// tests' ZkProgram (the app's program.js), proved in prover isolates. The
// tests copy this directory into the apps (build/o1js-app/<app>/isolates/),
// so `o1js` resolves to the app's npm o1js (patched: isolates need its
// backend) and '../program.js' to the app's copy of tests/o1js/app/program.js.
//
// The shape every proving module has (bindings-js/isolates/isolate-runtime.ts):
// `jobs`, and o1js and o1js/pool as this module imported them, so the
// isolate talks to the same o1js instance its jobs use.
import * as o1js from 'o1js';
import * as o1jsPool from 'o1js/pool';
import { makeProgram, expectedOutput } from '../program.js';

export { o1js, o1jsPool };

const { Field, Cache, verify } = o1js;
const Program = makeProgram(o1js);
let verificationKey = null;

export const jobs = {
  /**
   * The warm step: compile (with o1js's on-disk cache in `cacheDir`: seconds;
   * without: a cold compile), optionally followed by one proof, so that the
   * isolate's first job is as fast as its next ones.
   */
  async compile({ cacheDir = null, proveOnce = false } = {}) {
    let started = performance.now();
    ({ verificationKey } = await Program.compile({ cache: cacheDir === null ? Cache.None : Cache.FileSystem(cacheDir) }));
    const compileMs = performance.now() - started;
    let firstProofMs = null;
    if (proveOnce) {
      started = performance.now();
      await Program.add(Field(1), Field(2));
      firstProofMs = performance.now() - started;
    }
    return { compileMs, firstProofMs, vkHash: verificationKey.hash.toString() };
  },

  /** Proves x + y; returns the proof as JSON with its public output (checked here against the program's rule). */
  async prove({ x, y }) {
    const started = performance.now();
    const { proof } = await Program.add(Field(x), Field(y));
    const proveMs = performance.now() - started;
    const output = proof.publicOutput.toBigInt();
    if (output !== expectedOutput(x, y)) throw new Error(`proof of ${x} + ${y} has output ${output}, expected ${expectedOutput(x, y)}`);
    return { proof: proof.toJSON(), output: output.toString(), proveMs };
  },

  /** Verifies proofs (as JSON) with this isolate's key. */
  async verify({ proofs }) {
    const verified = [];
    for (const proof of proofs) verified.push(await verify(proof, verificationKey));
    return { verified };
  },

  /** The verification key, as data (for verifying elsewhere, e.g. with stock o1js). */
  async verificationKey() {
    return { data: verificationKey.data, hash: verificationKey.hash.toString() };
  },

  /**
   * A real wasm trap in this isolate's instance: kimchi-wasm frees an object
   * at an address far beyond its linear memory, so the wasm traps ("memory
   * access out of bounds"), as a corrupted pointer would.
   */
  async trap() {
    const bindings = await import(new URL('../node_modules/o1js/dist/node/bindings.js', import.meta.url).href);
    const glue = bindings.wasm;
    const victim = Object.create(glue.WasmFpGate.prototype);
    victim.__wbg_ptr = 0xfffffff0;
    victim.free();
    return 'no trap';
  },
};
