// Real o1js 2.15.0: the package (npm's o1js with kimchi-wasm built from
// upstream proof-systems and the pool), installed by alias from the local
// registry (tests/package/install.test.js), beside npm's own o1js
// (scripts/prepare-o1js-apps.sh): a small ZkProgram compiles and proves in
// Node through `import 'o1js'` and `require('o1js')`, with the pool recycled
// between proofs and while proofs run; its proofs and keys are exactly stock
// o1js's (each verifies the other's proofs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PATCHED, STOCK, cacheDir, requireApps, runApp } from './apps.js';

requireApps();
const MINUTES = 60_000;
const PROOFS = 4;
const RECYCLE_DURING = [1, 3];
const shared = {};

/** The checks every proving run shares: outputs, both verifications, health around each proof. */
function assertProofs(result, count, label) {
  assert.equal(result.proofs.length, count, `${label}: ${count} proofs`);
  for (const proof of result.proofs) {
    assert.equal(proof.output, proof.expectedOutput, `${label}: proof ${proof.index} proves the right output`);
    assert.equal(proof.verifiedByProgram, true, `${label}: proof ${proof.index} verifies (program)`);
    assert.equal(proof.verifiedWithKey, true, `${label}: proof ${proof.index} verifies (o1js verify with the key)`);
  }
}

function assertHealthAround(result, threads, label) {
  assert.equal(result.healthBeforeCompile.state, 'uninit', `${label}: no pool before the first operation`);
  for (const proof of result.proofs) {
    for (const health of [proof.healthBefore, proof.healthAfter]) {
      assert.equal(health.state, 'running', `${label}: the pool is up around proof ${proof.index} (o1js keeps it for the process)`);
      assert.equal(health.threads, threads);
      assert.equal(health.inFlight, 0);
      assert.ok(health.memory.allocatorLiveBytes > 0 && health.memory.allocatorLiveBytes <= health.memory.linearBytes);
      assert.equal(health.memory.failedAllocations, 0);
    }
    assert.ok(proof.healthAfter.jobsCompleted > proof.healthBefore.jobsCompleted, `${label}: proof ${proof.index} ran jobs on the pool`);
    const linear = proof.healthAfter.memory.linearBytes;
    assert.ok(linear > 100 * 2 ** 20, `${label}: linear memory after proof ${proof.index} is o1js-sized (${linear} bytes)`);
  }
}

function assertRecycles(result, label) {
  for (const report of result.recycles) {
    assert.equal(report.toGeneration, report.fromGeneration + 1, `${label}: each recycle makes the next generation`);
    assert.equal(report.jobsAbandoned, 0);
    assert.equal(report.workers.forced, 0, `${label}: the old workers left on their own`);
  }
  for (const during of result.duringProof) {
    assert.ok(during.requestedAfterMs >= 0 && during.requestedAfterMs < during.proveMs, `${label}: the recycle for proof ${during.proof} was requested while it ran`);
    assert.equal(during.stateWhenRequested, 'running');
    assert.ok(during.report.toGeneration > during.report.fromGeneration, `${label}: the recycle requested during proof ${during.proof} completed`);
  }
}

test('patched o1js, ES modules: compiles; 4 proofs verify, recycled between every two and twice while a proof runs; quiet logs', { timeout: 40 * MINUTES }, async () => {
  const { result, stderr, ms } = await runApp(
    PATCHED,
    'prove.mjs',
    { proofs: PROOFS, workers: 2, cacheDir: cacheDir(PATCHED), pool: true, recycleDuring: RECYCLE_DURING },
    35 * MINUTES,
  );
  shared.patched = result;
  assertProofs(result, PROOFS, 'ESM');
  assertHealthAround(result, 2, 'ESM');
  assertRecycles(result, 'ESM');
  assert.equal(result.recycles.length, PROOFS - 1, 'a recycle between every two proofs');
  assert.equal(result.duringProof.length, RECYCLE_DURING.length, 'recycles requested from inside the method, while proofs ran');
  assert.ok(result.healthAtEnd.recycles >= PROOFS - 1 + RECYCLE_DURING.length, `${result.healthAtEnd.recycles} recycles completed`);
  assert.doesNotMatch(stderr, /plonk-wasm (INFO|DEBUG|TRACE)/, 'the pool is quiet by default: warnings and errors only');
  console.log(
    `ESM: compile ${(result.compileMs / 1000).toFixed(1)} s; proofs ${result.proofs.map((p) => (p.proveMs / 1000).toFixed(1)).join(', ')} s; ` +
      `recycles between proofs ${result.recycles.map((r) => r.totalMs.toFixed(0)).join(', ')} ms; during proofs: requested ` +
      `${result.duringProof.map((d) => `${(d.requestedAfterMs / 1000).toFixed(2)} s into a ${(d.proveMs / 1000).toFixed(1)} s proof, completed at ${(d.completedAfterMs / 1000).toFixed(2)} s`).join('; ')}; ` +
      `linear memory ${(result.healthAtEnd.memory.linearBytes / 2 ** 20).toFixed(1)} MiB; process ended ${(ms / 1000).toFixed(0)} s after start`,
  );
});

test('the verification key equals stock o1js\'s, and patched and stock proofs verify on each other', { timeout: 20 * MINUTES }, async (t) => {
  if (shared.patched === undefined) t.skip('needs the ES modules run above');
  const { result: stock } = await runApp(STOCK, 'prove.mjs', { proofs: 1, workers: 2, cacheDir: cacheDir(STOCK), pool: false }, 15 * MINUTES);
  assertProofs(stock, 1, 'stock');
  assert.equal(shared.patched.vkHash, stock.vkHash, 'verification-key hashes are equal');
  assert.equal(shared.patched.vkData, stock.vkData, 'verification keys are equal');

  const dir = mkdtempSync(join(tmpdir(), 'o1js-cross-'));
  const patchedProofs = join(dir, 'patched.json');
  writeFileSync(patchedProofs, JSON.stringify({ vkData: stock.vkData, proofs: shared.patched.proofs.map((p) => p.json) }));
  const onStock = await runApp(STOCK, 'verify.mjs', { file: patchedProofs }, 5 * MINUTES);
  assert.deepEqual(onStock.result.verified, shared.patched.proofs.map(() => true), 'patched proofs verify on stock o1js');

  const stockProofs = join(dir, 'stock.json');
  writeFileSync(stockProofs, JSON.stringify({ vkData: shared.patched.vkData, proofs: stock.proofs.map((p) => p.json) }));
  const onPatched = await runApp(PATCHED, 'verify.mjs', { file: stockProofs }, 5 * MINUTES);
  assert.deepEqual(onPatched.result.verified, [true], 'a stock proof verifies on patched o1js');
  console.log(`stock: compile ${(stock.compileMs / 1000).toFixed(1)} s, proof ${(stock.proofs[0].proveMs / 1000).toFixed(1)} s; vk hash ${stock.vkHash}`);
});

test("patched o1js through require('o1js') (the CommonJS bundle): proves with a recycle while the proof runs", { timeout: 20 * MINUTES }, async () => {
  const { result, stderr } = await runApp(
    PATCHED,
    'prove.cjs',
    { proofs: 2, workers: 2, cacheDir: cacheDir(PATCHED), pool: true, recycleDuring: [0] },
    15 * MINUTES,
  );
  assert.equal(result.commonJs, true);
  assertProofs(result, 2, 'CJS');
  assertHealthAround(result, 2, 'CJS');
  assertRecycles(result, 'CJS');
  assert.equal(result.duringProof.length, 1);
  if (shared.patched !== undefined) assert.equal(result.vkHash, shared.patched.vkHash, 'the same key as the ES module run');
  assert.doesNotMatch(stderr, /plonk-wasm (INFO|DEBUG|TRACE)/);
  console.log(`CJS: compile ${(result.compileMs / 1000).toFixed(1)} s; proofs ${result.proofs.map((p) => (p.proveMs / 1000).toFixed(1)).join(', ')} s`);
});
