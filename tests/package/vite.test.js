// The package in a browser app built for production by Vite (the app
// tests/package/install.test.js installed from the local registry and built:
// build/package-apps/vite/dist), served with the isolation headers o1js needs,
// in headless Chromium:
//   - o1js/pool on the page's own o1js: compiles (keys read over HTTP from the
//     cache the Node apps filled), two proofs with a recycle between them and
//     one requested while the second runs; both verify; the key is stock o1js's;
//   - o1js/isolates with the isolate worker Vite built (new Worker(new URL(…,
//     import.meta.url))): two proofs with a blue/green replacement between,
//     both verify, under a 1 GiB memory maximum each (iOS's ceiling); the
//     page's event loop stays free; a running proof is cancelled by
//     terminating its isolate, which is replaced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openPage } from '../web/browser.js';
import { startCacheServer } from '../web/cache-server.js';
import { runApp, STOCK, cacheDir as stockCacheDir } from '../o1js/apps.js';
import { APPS, KEY_CACHE, MINUTES, NPM_APP } from './lib.js';

const DIST = join(APPS, 'vite/dist');
const GiB = 2 ** 30;
const expectedOutput = (x, y) => ((BigInt(x) + BigInt(y)) * 3n).toString();
let page;
let cache;

before(async () => {
  if (!existsSync(join(DIST, 'index.html'))) throw new Error(`${DIST} is missing: tests/package/install.test.js builds it`);
  // The keys the page and the isolates read: made by the package's o1js in Node (the same keys in every build).
  if (!existsSync(KEY_CACHE) || readdirSync(KEY_CACHE).length === 0) {
    await runApp(NPM_APP, 'prove.mjs', { proofs: 0, workers: 2, cacheDir: KEY_CACHE, pool: true }, 20 * MINUTES);
  }
  cache = await startCacheServer(KEY_CACHE);
  page = await openPage({
    routes: [['/', `${DIST}/`]],
    path: '/index.html',
    ready: (run) => run('the page script', () => new Promise((resolve) => {
      const poll = () => (window.pageReady ? resolve(true) : setTimeout(poll, 50));
      poll();
    }), null, 5 * MINUTES),
  });
  assert.equal((await page.run('page info', () => window.pageInfo())).crossOriginIsolated, true);
});

after(async () => {
  await page?.close();
  await cache?.close();
});

test("o1js/pool in Chromium (Vite build): compiles, proves twice with a recycle between and one during a proof; proofs verify; the key is stock o1js's", { timeout: 30 * MINUTES }, async () => {
  const result = await page.run(
    'the pool scenario',
    (options) => window.runPoolScenario(options),
    { proofs: 2, workers: 2, recycleDuring: [1], cacheUrl: cache.url },
    25 * MINUTES,
  );
  assert.equal(result.proofs.length, 2);
  for (const proof of result.proofs) {
    assert.equal(proof.output, proof.expectedOutput);
    assert.equal(proof.verifiedByProgram, true, `proof ${proof.index} verifies (program)`);
    assert.equal(proof.verifiedWithKey, true, `proof ${proof.index} verifies (o1js verify with the key)`);
    assert.equal(proof.healthAfter.state, 'running');
    assert.equal(proof.healthAfter.threads, 2);
    assert.ok(proof.healthAfter.jobsCompleted > proof.healthBefore.jobsCompleted, `proof ${proof.index} ran on the pool`);
    assert.ok(proof.healthAfter.memory.linearBytes > 200 * 2 ** 20);
  }
  assert.equal(result.healthBeforeCompile.state, 'uninit');
  assert.equal(result.recycles.length, 1, 'a recycle between the two proofs');
  assert.equal(result.duringProof.length, 1, 'a recycle requested while the second proof ran');
  const during = result.duringProof[0];
  assert.ok(during.requestedAfterMs >= 0 && during.requestedAfterMs < during.proveMs);
  assert.ok(during.report.toGeneration > during.report.fromGeneration);

  const { result: stock } = await runApp(STOCK, 'prove.mjs', { proofs: 0, workers: 2, cacheDir: stockCacheDir(STOCK), pool: false }, 15 * MINUTES);
  assert.equal(result.vkHash, stock.vkHash, "the browser's verification key equals stock o1js's");
  console.log(
    `Vite/Chromium pool: compile ${(result.compileMs / 1000).toFixed(1)} s; proofs ${result.proofs.map((p) => (p.proveMs / 1000).toFixed(1)).join(', ')} s; ` +
      `recycle between ${result.recycles[0].totalMs.toFixed(0)} ms; during the second proof requested ${(during.requestedAfterMs / 1000).toFixed(1)} s in`,
  );
});

test('o1js/isolates in Chromium (Vite build, bundled isolate worker): two proofs with a replacement between verify under a 1 GiB maximum each; the page stays free; a running proof is cancelled', { timeout: 30 * MINUTES }, async () => {
  const result = await page.run('the isolates scenario', (options) => window.runIsolates(options), { cacheUrl: cache.url, memoryMaximumBytes: GiB, threads: 2 }, 25 * MINUTES);
  assert.deepEqual([...result.jobNames].sort(), ['compile', 'prove', 'verify'], "the pool learned the worker module's jobs");
  for (const [proof, x] of [[result.first, 1], [result.second, 2], [result.afterAbort, 4]]) assert.equal(proof.output, expectedOutput(x, 7));
  assert.deepEqual(result.verified, [true, true]);
  const report = result.replacement;
  assert.equal(report.metric, 'requested');
  assert.ok(report.newWarmMs < 5 * MINUTES);
  assert.equal(report.processRssBytes, null, 'browsers report no RSS');
  const readyNew = result.events.find((e) => e.event === 'isolate-ready' && e.isolateId === report.newIsolateId);
  const exitOld = result.events.find((e) => e.event === 'isolate-exit' && e.isolateId === report.oldIsolateId);
  assert.ok(readyNew.at <= exitOld.at, 'blue/green: the successor was ready before the old isolate left');

  for (const snapshot of [report.old.snapshot, report.new.snapshot, ...result.health.isolates.map((i) => i.snapshot)]) {
    assert.equal(snapshot.memory.linearMaxBytes, GiB);
    assert.equal(snapshot.pool.memory.linearMaxBytes, GiB, "o1js's own pool health reports the same maximum");
    assert.ok(snapshot.memory.linearBytes > 0 && snapshot.memory.linearBytes <= GiB);
  }
  assert.ok(report.old.snapshot.memory.linearBytes > 100 * 2 ** 20, 'the old isolate proved (o1js-sized memory)');

  // The page never ran a proof: its timers kept firing (a proof takes seconds).
  const proveMs = Math.min(result.first.proveMs, result.second.proveMs);
  assert.ok(result.gaps.maxMs < proveMs / 10, `page: longest gap ${result.gaps.maxMs.toFixed(1)} ms while proofs took ${proveMs.toFixed(0)} ms`);

  assert.deepEqual([result.abort.code, result.abort.phase], ['PROVER_POOL_JOB_ABORTED', 'running']);
  assert.equal(result.abortReplacement.cause, 'abort');
  assert.ok(result.events.some((e) => e.event === 'isolate-exit' && e.reason === 'aborted'));
  console.log(
    `Vite/Chromium isolates: pool start ${(result.startMs / 1000).toFixed(1)} s; proofs ${(result.first.proveMs / 1000).toFixed(1)}, ${(result.second.proveMs / 1000).toFixed(1)} s; ` +
      `replacement: new isolate ready in ${(report.newStartMs / 1000).toFixed(1)} s (warm ${(report.newWarmMs / 1000).toFixed(1)} s), total ${(report.totalMs / 1000).toFixed(1)} s; ` +
      `linear memory old ${(report.old.snapshot.memory.linearBytes / 2 ** 20).toFixed(0)} MiB of 1024, new ${(report.new.snapshot.memory.linearBytes / 2 ** 20).toFixed(0)} MiB; ` +
      `page event loop: longest gap ${result.gaps.maxMs.toFixed(1)} ms, p99 ${result.gaps.p99Ms.toFixed(1)} ms; abort rejected in ${result.abort.afterMs.toFixed(0)} ms`,
  );
});
