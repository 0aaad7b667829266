// Prover isolates in headless Chromium (bindings-js/isolates/web.js): each
// isolate a Web Worker with o1js's patched web bundle inside, warm from
// o1js's cache read over HTTP, under a 1 GiB memory maximum (iOS's ceiling).
// Two proofs with a replacement between, both verify; the page's event loop
// stays free; a running proof is cancelled by terminating its isolate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPage } from '../web/browser.js';
import { COMPILED, GiB } from './lib.js';
import { CACHE, PATCHED, prepareIsolateApps } from './apps.js';
import { startCacheServer } from './web/cache-server.js';

const MINUTES = 60_000;
const HERE = fileURLToPath(new URL('./', import.meta.url));
prepareIsolateApps();
const ROUTES = [
  ['/bindings-js/', `${dirname(COMPILED)}/`],
  ['/o1js/', `${PATCHED}/node_modules/o1js/`],
  ['/app/', `${PATCHED}/`],
  ['/page/', `${HERE}web/`],
];
const expectedOutput = (x, y) => ((BigInt(x) + BigInt(y)) * 3n).toString();

test('isolates in Chromium: two proofs with a replacement between verify under a 1 GiB maximum each; the page stays free; a running proof is cancelled', { timeout: 25 * MINUTES }, async () => {
  const cache = await startCacheServer(CACHE);
  const page = await openPage({
    routes: ROUTES,
    path: '/page/index.html',
    ready: (run) =>
      run('the page script', () => new Promise((resolve) => {
        const poll = () => (window.runIsolates !== undefined ? resolve(true) : setTimeout(poll, 50));
        poll();
      }), null, 60_000),
  });
  try {
    assert.equal((await page.run('page info', () => window.pageInfo())).crossOriginIsolated, true);
    const result = await page.run('the isolates scenario', (options) => window.runIsolates(options), { cacheUrl: cache.url, memoryMaximumBytes: GiB, threads: 2 }, 20 * MINUTES);

    for (const [proof, x] of [[result.first, 1], [result.second, 2], [result.afterAbort, 4]]) assert.equal(proof.output, expectedOutput(x, 7));
    assert.deepEqual(result.verified, [true, true]);
    const report = result.replacement;
    assert.equal(report.metric, 'requested');
    assert.ok(report.newWarmMs < 5 * MINUTES);
    assert.equal(report.processRssBytes, null, 'browsers report no RSS');
    const readyNew = result.events.find((e) => e.event === 'isolate-ready' && e.isolateId === report.newIsolateId);
    const exitOld = result.events.find((e) => e.event === 'isolate-exit' && e.isolateId === report.oldIsolateId);
    assert.ok(readyNew.at <= exitOld.at, 'blue/green: the successor was ready before the old isolate left');

    // Each isolate's memory has the 1 GiB maximum, and o1js proved within it.
    for (const snapshot of [report.old.snapshot, report.new.snapshot, ...result.health.isolates.map((i) => i.snapshot)]) {
      assert.equal(snapshot.memory.linearMaxBytes, GiB);
      assert.equal(snapshot.pool.memory.linearMaxBytes, GiB, "o1js's own pool health reports the same maximum");
      assert.ok(snapshot.memory.linearBytes > 0 && snapshot.memory.linearBytes <= GiB);
    }
    assert.ok(report.old.snapshot.memory.linearBytes > 100 * 2 ** 20, 'the old isolate proved (o1js-sized memory)');

    // The page never ran a proof: its timers kept firing (a proof takes seconds).
    const proveMs = Math.min(result.first.proveMs, result.second.proveMs);
    assert.ok(result.gaps.maxMs < 1_000 && result.gaps.maxMs < proveMs / 10, `page: longest gap ${result.gaps.maxMs.toFixed(1)} ms`);

    assert.deepEqual([result.abort.code, result.abort.phase], ['PROVER_POOL_JOB_ABORTED', 'running']);
    assert.ok(result.abort.afterMs < 1_000, `the aborted proof was rejected ${result.abort.afterMs.toFixed(0)} ms after abort()`);
    assert.equal(result.abortReplacement.cause, 'abort');
    assert.ok(result.events.some((e) => e.event === 'isolate-exit' && e.reason === 'aborted'));
    console.log(
      `Chromium isolates: pool start ${(result.startMs / 1000).toFixed(1)} s; proofs ${(result.first.proveMs / 1000).toFixed(1)}, ${(result.second.proveMs / 1000).toFixed(1)} s; ` +
        `replacement: new isolate ready in ${(report.newStartMs / 1000).toFixed(1)} s (warm ${(report.newWarmMs / 1000).toFixed(1)} s), total ${(report.totalMs / 1000).toFixed(1)} s; ` +
        `linear memory old ${(report.old.snapshot.memory.linearBytes / 2 ** 20).toFixed(0)} MiB of 1024, new ${(report.new.snapshot.memory.linearBytes / 2 ** 20).toFixed(0)} MiB; ` +
        `page event loop: longest gap ${result.gaps.maxMs.toFixed(1)} ms, p99 ${result.gaps.p99Ms.toFixed(1)} ms; abort rejected in ${result.abort.afterMs.toFixed(0)} ms, ` +
        `replacement ready in ${(result.abortReplacement.startMs / 1000).toFixed(1)} s`,
    );
  } finally {
    await page.close();
    await cache.close();
  }
});
