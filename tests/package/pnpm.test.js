// The package as pnpm installs it (build/package-apps/pnpm, from the local
// registry by alias, tests/package/install.test.js): node_modules/o1js is a
// link into pnpm's store, o1js's dependencies beside it there. The app
// proves with the pool through ES modules (a recycle while the proof runs)
// and require(), and with o1js/isolates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runApp } from '../o1js/apps.js';
import { APPS, KEY_CACHE, MINUTES } from './lib.js';

const APP = join(APPS, 'pnpm');
if (!existsSync(join(APP, 'node_modules/o1js/package.json'))) throw new Error(`${APP} is not installed: tests/package/install.test.js installs it`);
const log = (line) => console.log(`[package/pnpm] ${line}`);

function assertProof(proof, label) {
  assert.equal(proof.output, proof.expectedOutput, `${label}: the proof's output`);
  assert.equal(proof.verifiedByProgram && proof.verifiedWithKey, true, `${label}: the proof verifies`);
  assert.equal(proof.healthAfter.state, 'running');
  assert.ok(proof.healthAfter.jobsCompleted > proof.healthBefore.jobsCompleted, `${label}: the proof ran on the pool`);
}

test('pnpm app, ES modules: proves with the pool, a recycle requested while the proof runs', { timeout: 20 * MINUTES }, async () => {
  const { result } = await runApp(APP, 'prove.mjs', { proofs: 1, workers: 2, cacheDir: KEY_CACHE, pool: true, recycleDuring: [0] }, 15 * MINUTES);
  assertProof(result.proofs[0], 'ESM');
  assert.ok(result.duringProof[0].report.toGeneration > result.duringProof[0].report.fromGeneration);
  log(`ESM: compile ${(result.compileMs / 1000).toFixed(1)} s, proof ${(result.proofs[0].proveMs / 1000).toFixed(1)} s, recycle during it`);
});

test("pnpm app, require('o1js') and require('o1js/pool'): proves with the pool", { timeout: 20 * MINUTES }, async () => {
  const { result } = await runApp(APP, 'prove.cjs', { proofs: 1, workers: 2, cacheDir: KEY_CACHE, pool: true }, 15 * MINUTES);
  assert.equal(result.commonJs, true);
  assertProof(result.proofs[0], 'CJS');
  log(`CJS: compile ${(result.compileMs / 1000).toFixed(1)} s, proof ${(result.proofs[0].proveMs / 1000).toFixed(1)} s`);
});

test('pnpm app, o1js/isolates: a warm isolate proves; the proof verifies', { timeout: 20 * MINUTES }, async () => {
  const { result } = await runApp(APP, 'isolates/run-pool.mjs', { threads: 2, cacheDir: KEY_CACHE }, 15 * MINUTES);
  assert.equal(result.output, ((5n + 7n) * 3n).toString());
  assert.deepEqual(result.verified, [true]);
  const [isolate] = result.health.isolates;
  assert.equal(isolate.role, 'serving');
  assert.ok(isolate.snapshot.pool.jobsCompleted > 0, "the isolate's o1js proved on its pool");
  assert.equal(result.health.totals.jobsCompleted, 2);
  log(`isolates: pool start ${(result.startMs / 1000).toFixed(1)} s, proof ${(result.proveMs / 1000).toFixed(1)} s`);
});
