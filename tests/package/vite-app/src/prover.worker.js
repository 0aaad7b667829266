// The prover isolate's worker script, bundled by Vite with its own o1js: the
// page creates it with new Worker(new URL('./prover.worker.js',
// import.meta.url), { type: 'module' }) and hands that to createProverPool.
import * as o1js from 'o1js';
import * as o1jsPool from 'o1js/pool';
import { serveProverIsolate } from 'o1js/isolates';
import { makeProgram, expectedOutput } from './program.js';
import { httpCache } from './http-cache.js';

const { Field, verify } = o1js;
const Program = makeProgram(o1js);
let verificationKey = null;

export const jobs = {
  async compile({ cacheUrl = null } = {}) {
    const started = performance.now();
    ({ verificationKey } = await Program.compile({ cache: cacheUrl === null ? o1js.Cache.None : httpCache(cacheUrl) }));
    return { compileMs: performance.now() - started, vkHash: verificationKey.hash.toString() };
  },

  async prove({ x, y }) {
    const started = performance.now();
    const { proof } = await Program.add(Field(x), Field(y));
    const proveMs = performance.now() - started;
    const output = proof.publicOutput.toBigInt();
    if (output !== expectedOutput(x, y)) throw new Error(`proof of ${x} + ${y} has output ${output}, expected ${expectedOutput(x, y)}`);
    return { proof: proof.toJSON(), output: output.toString(), proveMs };
  },

  async verify({ proofs }) {
    const verified = [];
    for (const proof of proofs) verified.push(await verify(proof, verificationKey));
    return { verified };
  },
};

serveProverIsolate({ jobs, o1js, o1jsPool });
