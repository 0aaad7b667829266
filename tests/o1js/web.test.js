// Real o1js 2.15.0 in headless Chromium: the patched web bundle (the patched
// kimchi-wasm built from upstream proof-systems, inlined by o1js's bundle)
// compiles and proves the same ZkProgram as the Node tests, with a recycle
// requested while a proof runs, and its key is stock o1js's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { openPage } from '../web/browser.js';
import { PATCHED, requireApps, runApp, STOCK, cacheDir } from './apps.js';

requireApps();
const MINUTES = 60_000;
const HERE = fileURLToPath(new URL('./', import.meta.url));
const ROUTES = [
  ['/o1js/', `${PATCHED}/node_modules/o1js/`],
  ['/app/', `${PATCHED}/`],
  ['/page/', `${HERE}web/`],
];

test('patched o1js in Chromium: compiles, proves twice with a recycle while a proof runs; the key is stock\'s', { timeout: 30 * MINUTES }, async () => {
  const page = await openPage({ routes: ROUTES, path: '/page/index.html', ready: (run) => run('the page script', () => new Promise((resolve) => {
    const poll = () => (window.runScenario !== undefined ? resolve(true) : setTimeout(poll, 50));
    poll();
  }), null, 5 * MINUTES) });
  try {
    const info = await page.run('page info', () => window.pageInfo());
    assert.equal(info.crossOriginIsolated, true);
    const result = await page.run(
      'the scenario',
      (options) => window.runScenario(options),
      { proofs: 2, workers: 2, pool: true, recycleDuring: [1] },
      25 * MINUTES,
    );
    assert.equal(result.proofs.length, 2);
    for (const proof of result.proofs) {
      assert.equal(proof.output, proof.expectedOutput);
      assert.equal(proof.verifiedByProgram, true, `proof ${proof.index} verifies (program)`);
      assert.equal(proof.verifiedWithKey, true, `proof ${proof.index} verifies (o1js verify with the key)`);
      assert.equal(proof.healthAfter.state, 'running');
      assert.equal(proof.healthAfter.threads, 2);
      assert.ok(proof.healthAfter.memory.linearBytes > 200 * 2 ** 20);
    }
    assert.equal(result.healthBeforeCompile.state, 'uninit');
    assert.equal(result.recycles.length, 1, 'a recycle between the two proofs');
    assert.equal(result.duringProof.length, 1, 'a recycle requested while the second proof ran');
    const during = result.duringProof[0];
    assert.ok(during.requestedAfterMs >= 0 && during.requestedAfterMs < during.proveMs);
    assert.ok(during.report.toGeneration > during.report.fromGeneration);

    // The browser's key is the one stock o1js makes in Node (the o1js cache holds it after the Node tests).
    const { result: stock } = await runApp(STOCK, 'prove.mjs', { proofs: 0, workers: 2, cacheDir: cacheDir(STOCK), pool: false }, 15 * MINUTES);
    assert.equal(result.vkHash, stock.vkHash, "the browser's verification key equals stock o1js's");
    console.log(
      `Chromium: compile ${(result.compileMs / 1000).toFixed(1)} s; proofs ${result.proofs.map((p) => (p.proveMs / 1000).toFixed(1)).join(', ')} s; ` +
        `recycle between ${result.recycles[0].totalMs.toFixed(0)} ms; during the second proof requested ${(during.requestedAfterMs / 1000).toFixed(1)} s in`,
    );
  } finally {
    await page.close();
  }
});
