// The bad-input suite (tests/inputs/suite.js, generated from the table README
// shows) in headless Chromium: the web backend on the page, the wasm's exports
// in the main worker through callInWorker, as o1js reaches them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';
import { expectedProof } from '../node/snapshots.js';

test('every export refuses every bad input with a typed error in Chromium; the instance keeps proving', { timeout: 300_000 }, async () => {
  const harness = await openHarness({ threads: 2, lifetime: 'process', logLevel: 'error' });
  try {
    const expectedProofHex = expectedProof({ k: 8, seed: 1 }).toString('hex');
    const result = await harness.run(
      'the bad-input suite',
      async (h, { expectedProofHex }) => {
        const { runBadInputSuite } = await import('/inputs/suite.js');
        const { backend } = h;
        const api = {
          platform: 'web',
          call(row, args) {
            if (row.where !== 'backend') return backend.callInWorker(row.name, ...args);
            if (row.name === 'workerHost.kill') return backend.workerHost.kill(...args);
            if (row.name === 'setNumberOfWorkers') return h.setNumberOfWorkers(...args);
            return backend[row.name](...args);
          },
          prove: () => backend.withThreadPool(async () => h.toHex(await backend.callInWorker('fixtureProve', 8, 1))),
          health: () => backend.poolHealth(),
          cloneable(value) {
            try {
              structuredClone(value);
              return true;
            } catch {
              return false;
            }
          },
        };
        const outcome = await runBadInputSuite(api, { expectedProofHex });
        await backend.exitThreadPool();
        return outcome;
      },
      { expectedProofHex },
      280_000,
    );
    console.log(`bad inputs (Chromium): ${result.calls} calls over ${result.exports} exports, ${result.failures.length} wrong; ${result.proofs} proofs after them equal the snapshot`);
    assert.deepEqual(result.failures, []);
    assert.ok(result.calls > 300, `the table generated ${result.calls} calls`);
  } finally {
    await harness.close();
  }
});
