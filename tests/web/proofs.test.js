// Proofs in Chromium before, during and after a recycle are byte-identical to
// the native insta snapshots and verify, both through callInWorker and through
// o1js's synchronously forwarded bindings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';
import { PROOF_CASES, expectedProof } from '../node/snapshots.js';

test('proofs before, during and after a recycle equal the native snapshots and verify', { timeout: 150_000 }, async () => {
  const harness = await openHarness({ threads: 2 });
  try {
    for (const c of PROOF_CASES) {
      const result = await harness.run(
        `proofs k=${c.k} seed=${c.seed}`,
        async (h, { k, seed }) => {
          const { backend, toHex, pollWhile } = h;
          const prove = async () => {
            const t = performance.now();
            const proof = await backend.callInWorker('fixtureProve', k, seed);
            return { hex: toHex(proof), ms: performance.now() - t, verified: await backend.callInWorker('fixtureVerify', k, proof), proof };
          };
          return backend.withThreadPool(async () => {
            const before = await prove();
            // o1js's path: a binding of worker-spec.js, forwarded synchronously from the page.
            const forwardedVerify = backend.wasm.fixtureVerify(k, before.proof);

            // The main worker starts the recycle, then takes the proof while the
            // new generation starts: the proof runs during the recycle.
            const recycling = backend.recycleThreadPool();
            const duringProof = prove();
            const samples = await pollWhile(duringProof, () => backend.poolHealth(), 5);
            const during = await duringProof;
            const report = await recycling;

            const after = await prove();
            const strip = ({ proof: _, ...rest }) => rest;
            return {
              before: strip(before),
              during: strip(during),
              after: strip(after),
              forwardedVerify,
              report,
              phasesSeen: [...new Set(samples.map((s) => s.recycle?.phase ?? s.state))],
              inFlightSeen: Math.max(...samples.map((s) => s.inFlight)),
            };
          });
        },
        c,
        60_000,
      );
      const expected = expectedProof(c).toString('hex');
      for (const when of ['before', 'during', 'after']) {
        assert.equal(result[when].hex, expected, `k=${c.k} seed=${c.seed}: the proof ${when} the recycle equals the native snapshot`);
        assert.equal(result[when].verified, true, `the proof ${when} the recycle verifies`);
      }
      assert.equal(result.forwardedVerify, true, 'the forwarded (worker-spec) binding verifies the proof');
      assert.ok(result.phasesSeen.includes('starting'), `the proof ran while the new generation started (saw ${result.phasesSeen})`);
      assert.ok(result.inFlightSeen >= 1, 'health showed the proof in flight');
      assert.equal(result.report.toGeneration, result.report.fromGeneration + 1);
      assert.deepEqual(result.report.workers, { exited: 2, forced: 0, reclaimed: 0 }, 'both old workers exited on their own');
      console.log(
        `browser k=${c.k}: prove ${result.before.ms.toFixed(0)} ms (first, incl. keygen), ` +
          `${result.during.ms.toFixed(0)} ms during a recycle, ${result.after.ms.toFixed(0)} ms after; ` +
          `that recycle total ${result.report.totalMs.toFixed(1)} ms (start ${result.report.startMs.toFixed(1)}, ` +
          `drain ${result.report.drainMs.toFixed(1)}, exit ${result.report.exitMs.toFixed(1)}; start includes waiting for the proof)`,
      );
    }
  } finally {
    await harness.close();
  }
});
