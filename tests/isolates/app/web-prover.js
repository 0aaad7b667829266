// The browser twin of prover.js: the same ZkProgram and jobs, with o1js's web
// bundle (the patched npm install, served at /o1js/) loaded inside each
// isolate (a Web Worker). The warm step reads o1js's cache over HTTP: a
// read-only o1js Cache whose read() is a synchronous XMLHttpRequest (allowed
// in workers), on the files Cache.FileSystem wrote in Node (same program,
// same keys).
import * as o1js from '/o1js/dist/web/index.js';
import * as o1jsPool from '/o1js/dist/web/pool.js';
import { makeProgram, expectedOutput } from '../program.js';

export { o1js, o1jsPool };

const { Field, verify } = o1js;
const Program = makeProgram(o1js);
let verificationKey = null;

/** o1js's Cache interface over `baseUrl` (a directory Cache.FileSystem filled): `<id>.header` holds the uniqueId. */
function httpCache(baseUrl) {
  const get = (name) => {
    const request = new XMLHttpRequest();
    request.open('GET', `${baseUrl}${encodeURIComponent(name)}`, false);
    request.responseType = 'arraybuffer';
    request.send();
    return request.status === 200 ? new Uint8Array(request.response) : undefined; // 204: not cached
  };
  return {
    read({ persistentId, uniqueId }) {
      const header = get(`${persistentId}.header`);
      if (header === undefined || new TextDecoder().decode(header) !== uniqueId) return undefined;
      return get(persistentId);
    },
    write() {
      throw new Error('read-only cache');
    },
    canWrite: false,
  };
}

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
