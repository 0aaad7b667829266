// The real-o1js scenario, shared by the Node (ES modules and CommonJS) and
// browser runs: o1js and, when patched, its pool API are passed in.
//
// Compiles the program (o1js's on-disk cache in `cacheDir`, Node only, or any
// o1js Cache as `cache`), then
// proves `proofs` times; each proof is checked (public output) and verified
// twice (the program's verify, o1js's verify with the key). With `pool`: the
// health is read around every proof, the pool is recycled between every two
// proofs, and for the proofs in `recycleDuring` a recycle is requested from
// inside the method while the proof runs. Returns everything measured.
import { makeProgram, expectedOutput } from './program.js';

export async function runScenario({ Cache, Field, verify, ...o1jsRest }, pool, { proofs, cacheDir, cache, recycleDuring, log }) {
  const Program = makeProgram({ Field, ...o1jsRest });
  // o1js loads its bindings (and registers the pool backend) on first use; the app asks for them up front.
  if (pool !== null) await pool.loadPoolBackend();
  const health = async () => (pool ? await pool.poolHealth() : null);
  const result = { healthBeforeCompile: await health(), proofs: [], recycles: [], duringProof: [] };

  let started = performance.now();
  const { verificationKey } = await Program.compile({ cache: cache ?? (cacheDir ? Cache.FileSystem(cacheDir) : Cache.None) });
  result.compileMs = performance.now() - started;
  result.vkHash = verificationKey.hash.toString();
  result.vkData = verificationKey.data;
  log(`compiled in ${(result.compileMs / 1000).toFixed(1)} s, vk hash ${result.vkHash}`);

  for (let i = 0; i < proofs; i++) {
    let requested = null;
    if (pool !== null && recycleDuring.includes(i)) {
      globalThis.onProving = () => {
        globalThis.onProving = undefined;
        requested = { atMs: performance.now(), healthThen: pool.poolHealth(), report: pool.recycleThreadPool() };
        requested.report.then(() => (requested.doneAtMs = performance.now()), () => undefined); // awaited below
      };
    }
    const healthBefore = await health();
    started = performance.now();
    const { proof } = await Program.add(Field(i), Field(7));
    const ended = performance.now();
    const output = proof.publicOutput.toBigInt();
    const verifiedByProgram = await Program.verify(proof);
    const verifiedWithKey = await verify(proof, verificationKey);
    if (requested !== null) {
      // Finished by now or soon: its steps ran in the gaps the proof left the event loop.
      const report = await requested.report;
      result.duringProof.push({
        proof: i,
        requestedAfterMs: requested.atMs - started,
        completedAfterMs: requested.doneAtMs - started,
        proveMs: ended - started,
        stateWhenRequested: (await requested.healthThen).state,
        report,
      });
      log(
        `proof ${i} (${(ended - started).toFixed(0)} ms): a recycle requested ${(requested.atMs - started).toFixed(0)} ms into it, ` +
          `completed ${(requested.doneAtMs - started).toFixed(0)} ms into it → generation ${report.toGeneration}`,
      );
    }
    const entry = {
      index: i,
      proveMs: ended - started,
      output: output.toString(),
      expectedOutput: expectedOutput(i, 7).toString(),
      verifiedByProgram,
      verifiedWithKey,
      json: proof.toJSON(),
      healthBefore,
      healthAfter: await health(),
    };
    result.proofs.push(entry);
    log(`proof ${i}: ${((ended - started) / 1000).toFixed(1)} s, output ${output}, verified ${verifiedByProgram && verifiedWithKey}`);
    if (pool !== null && i < proofs - 1) {
      const report = await pool.recycleThreadPool();
      result.recycles.push(report);
      log(`recycle after proof ${i}: generation ${report.fromGeneration} → ${report.toGeneration} in ${report.totalMs.toFixed(0)} ms`);
    }
  }
  result.healthAtEnd = await health();
  return result;
}
