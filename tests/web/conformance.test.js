// The conformance suite (tests/conformance/cases.js) against the web backend
// in headless Chromium: the backend as o1js loads it on one page (one
// instance, as Node's runner has one process), 2 workers on a shared memory
// capped at 128 MiB; the cases run one after another.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';
import { expectedProof } from '../node/snapshots.js';
import { CASES, EXPECTED_CONSOLE_ERRORS, MEMORY_MAXIMUM_BYTES, THREADS } from '../conformance/cases.js';

const expectedHex = (c) => expectedProof(c).toString('hex');
const params = { expectedProofHex: expectedHex({ k: 8, seed: 1 }) };

let harness = null;

before(async () => {
  harness = await openHarness(
    { threads: THREADS, memoryMaximumBytes: MEMORY_MAXIMUM_BYTES, logLevel: 'error' },
    { expectedConsoleErrors: EXPECTED_CONSOLE_ERRORS },
  );
});

after(async () => {
  await harness?.close();
});

for (const c of CASES) {
  test(c.name, { timeout: c.timeoutMs + 30_000 }, async () => {
    assert.ok(harness !== null, 'the page opened');
    const result = await harness.run(
      c.name,
      async (h, { name, params }) => (await import('/page/conformance.js')).runCase(h, name, params),
      { name: c.name, params },
      c.timeoutMs,
    );
    c.check(result, { assert, expectedHex, platform: 'web', log: (line) => console.log(`browser: ${line}`) });
  });
}
