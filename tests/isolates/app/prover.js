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

const { Field, Cache, Poseidon, verify } = o1js;
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

  // The chaos run's jobs (tests/isolates/chaos.js): cheap real-o1js work, and
  // faults injected from inside a job. Each returns (or fails with) what the
  // chaos run can check: its own jobId and isolateId, and values the caller
  // can verify without o1js.

  /**
   * o1js Field arithmetic: x = a, then `rounds` times x = x * b + c; and x's
   * inverse (0 has none: `inverse` is null then). Decimal strings in and out.
   * @param {{ a: string, b: string, c: string, rounds: number }} args
   * @param {import('o1js/isolates').JobContext} context
   */
  async chaosField({ a, b, c, rounds }, context) {
    let x = Field(a);
    const [fb, fc] = [Field(b), Field(c)];
    for (let i = 0; i < rounds; i++) x = x.mul(fb).add(fc);
    const inverse = x.equals(Field(0)).toBoolean() ? null : x.inv().toString();
    return { value: x.toString(), inverse, jobId: context.jobId, isolateId: context.isolateId };
  },

  /**
   * o1js's Poseidon hash of `inputs` (decimal strings), as a decimal string
   * (the chaos run compares the hashes of equal inputs across isolates).
   * @param {{ inputs: string[] }} args
   * @param {import('o1js/isolates').JobContext} context
   */
  async chaosHash({ inputs }, context) {
    const value = Poseidon.hash(inputs.map((v) => Field(v))).toString();
    return { value, jobId: context.jobId, isolateId: context.isolateId };
  },

  /**
   * Blocks the isolate's thread for `ms` (as a proof does: it answers nothing
   * meanwhile), then returns.
   * @param {{ ms: number }} args
   * @param {import('o1js/isolates').JobContext} context
   */
  async chaosBlock({ ms }, context) {
    const started = performance.now();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    return { blockedMs: performance.now() - started, jobId: context.jobId, isolateId: context.isolateId };
  },

  /** Throws an error with a code and a field of its own (the isolate survives). @param {{ message: string, code: string }} args */
  async chaosThrow({ message, code }) {
    throw Object.assign(new Error(message), { code, chaosField: 'from inside the job' });
  },

  /** Ends the isolate's thread with process.exit(code), in the middle of the job. @param {{ code: number }} args */
  async chaosExit({ code }) {
    process.exit(code);
  },

  /**
   * An uncaught error on the isolate's thread while the job waits (o1js's
   * handler exits the thread with code 2); the job itself never ends.
   * @param {{ message: string }} args
   */
  async chaosUncaught({ message }) {
    setTimeout(() => {
      throw new Error(message);
    }, 0);
    await new Promise((resolve) => setTimeout(resolve, 120_000));
    return 'the uncaught error did not end the isolate';
  },

  /**
   * Exhausts this isolate's wasm memory (its own instance of o1js's wasm):
   * allocates vectors of `chunkBytes` in it (Vec::with_capacity inside the
   * wasm, kept alive) until one allocation fails; checks with o1js/pool's
   * health that it was an allocation failure; rethrows that failure as it
   * came out of the wasm.
   * @param {{ chunkBytes: number }} args
   */
  async chaosExhaustMemory({ chunkBytes }) {
    const bindings = await import(new URL('../node_modules/o1js/dist/node/bindings.js', import.meta.url).href);
    const before = (await o1jsPool.poolHealth()).memory;
    const held = [];
    try {
      for (;;) held.push(new bindings.wasm.WasmVecFp(chunkBytes / 32)); // 32-byte field elements
    } catch (error) {
      const after = (await o1jsPool.poolHealth()).memory;
      if (!(after.failedAllocations > before.failedAllocations)) {
        throw new Error(`allocating ${held.length} x ${chunkBytes} bytes ended with ${error}, but o1js/pool counted no failed allocation`);
      }
      globalThis.chaosHeldMemory = held; // the memory stays exhausted until the isolate is replaced
      throw error;
    }
  },

  /**
   * Posts stray and malformed messages on the isolate thread's own parentPort
   * (the module's port, not the pool's channel): look-alikes of the pool's
   * messages (with and without its namespace, this job's id, a guessed
   * token), junk values; `later` more from a timer after the job returned.
   * Then returns `value`: what the pool must deliver, not a forged result.
   * @param {{ count: number, later: number, laterMs: number, value: string }} args
   * @param {import('o1js/isolates').JobContext} context
   */
  async chaosStray({ count, later, laterMs, value }, context) {
    const { parentPort } = await import('node:worker_threads');
    const { jobId, isolateId } = context;
    const error = { name: 'Error', message: 'forged', code: null, stack: null, fields: {} };
    const forged = [
      { type: 'ready' },
      { type: 'failed', jobId },
      { type: 'o1js-isolates:result', jobId: 1 },
      { type: 'o1js-isolates:result', jobId, value: 'forged', runMs: 0, snapshot: null, token: 'guessed' },
      { type: 'o1js-isolates:failed', jobId, error, instanceDead: true, fault: null, runMs: 0, snapshot: null },
      { type: 'o1js-isolates:ready', jobNames: [], moduleHash: null, loadMs: 0, warmMs: 0, snapshot: null },
      { type: 'o1js-isolates:health', requestId: 1, snapshot: null },
      { type: 'o1js-isolates:start-failed', stage: 'load', error },
      'o1js-isolates:result',
      42,
      null,
      [jobId, 'result'],
      new Uint8Array([1, 2, 3]),
      new Map([['type', 'o1js-isolates:result']]),
      { type: 'o1js-isolates:result', jobId: jobId + 1, value: 'forged for the next job', runMs: 0, snapshot: null },
    ];
    for (let i = 0; i < count; i++) parentPort.postMessage(forged[i % forged.length]);
    if (later > 0) {
      setTimeout(() => {
        for (let i = 0; i < later; i++) parentPort.postMessage(forged[i % forged.length]);
      }, laterMs);
    }
    return { value, posted: count, jobId, isolateId };
  },
};
