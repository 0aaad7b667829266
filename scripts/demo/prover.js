// The pool side's proving module (copied into build/demo/pool beside the
// real-o1js tests' program.js): what every isolate loads. Its shape is the
// one `o1js/isolates` asks for: `jobs`, and o1js and o1js/pool as this
// module imported them, so the isolate drives the same o1js its jobs use.
import * as o1js from 'o1js';
import * as o1jsPool from 'o1js/pool';
import { makeProgram } from './program.js';

export { o1js, o1jsPool };

const Program = makeProgram(o1js);
let verificationKey = null;

export const jobs = {
  /** The warm step of every new isolate: compile, from o1js's on-disk cache when it holds the keys (seconds). */
  async compile({ cacheDir }) {
    const started = performance.now();
    ({ verificationKey } = await Program.compile({ cache: o1js.Cache.FileSystem(cacheDir) }));
    return { compileMs: performance.now() - started };
  },

  /** Proves x + y; the caller checks the public output. */
  async prove({ x, y }) {
    const started = performance.now();
    const { proof } = await Program.add(o1js.Field(x), o1js.Field(y));
    return { proof: proof.toJSON(), output: proof.publicOutput.toBigInt().toString(), proveMs: performance.now() - started, vkHash: verificationKey.hash.toString() };
  },

  /** Verifies proofs (as JSON) with this isolate's key: any isolate's, as they all compiled the same program. */
  async verify({ proofs }) {
    const verified = [];
    const ms = [];
    for (const proof of proofs) {
      const started = performance.now();
      verified.push(await o1js.verify(proof, verificationKey));
      ms.push(performance.now() - started);
    }
    return { verified, ms };
  },
};
