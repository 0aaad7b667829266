// The bad-input suite (suite.js, generated from table.js) against the Node
// backend in real worker_threads, and README's table checked against table.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadBackend, within } from '../node/backend.js';
import { PROOF_CASES, expectedProof } from '../node/snapshots.js';
import { renderTable } from './table.js';
import { runBadInputSuite } from './suite.js';

test("README's table of accepted inputs is table.js's", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const between = /<!-- inputs:begin[^>]*-->\n([\s\S]*?)<!-- inputs:end -->/.exec(readme);
  assert.ok(between, 'README has the inputs:begin / inputs:end markers');
  assert.equal(between[1], renderTable(), 'README is out of date: run node scripts/render-input-table.mjs');
});

test('every export refuses every bad input with a typed error; the instance keeps proving', { timeout: 300_000 }, async () => {
  const backend = await loadBackend('node', { threads: 2, logLevel: 'error', lifetime: 'process' });
  const { wasm, withThreadPool, poolHealth } = backend;
  const c = { k: 8, seed: 1 };
  assert.ok(PROOF_CASES.some((p) => p.k === c.k && p.seed === c.seed), 'the proof case has a snapshot');
  const expectedProofHex = expectedProof(c).toString('hex');
  const api = {
    platform: 'node',
    call(row, args) {
      if (row.where !== 'backend') return wasm[row.name](...args);
      if (row.name === 'workerHost.kill') return backend.workerHost.kill(...args);
      return backend[row.name](...args);
    },
    prove: () => withThreadPool(async () => Buffer.from(wasm.fixtureProve(c.k, c.seed)).toString('hex')),
    health: async () => poolHealth(),
    cloneable: () => true,
  };
  try {
    const result = await within(280_000, 'the bad-input suite', runBadInputSuite(api, { expectedProofHex }));
    console.log(`bad inputs (Node): ${result.calls} calls over ${result.exports} exports, ${result.failures.length} wrong; ${result.proofs} proofs after them equal the snapshot`);
    assert.deepEqual(result.failures, []);
    assert.ok(result.calls > 300, `the table generated ${result.calls} calls`);
  } finally {
    await within(30_000, 'exit', backend.exitThreadPool());
  }
});
