// The install path a user takes: the packages scripts/pack.sh built are
// published to a local registry (Verdaccio, started here) and installed by
// alias into fresh apps, with npm and with pnpm, as from npm:
//   "dependencies": { "o1js": "npm:@plonk-wasm-pool/o1js@2.15.0" }
// Each install must be clean (no peer-dependency error, nothing edited in
// node_modules afterwards), and must resolve `o1js`, `o1js/pool` and
// `o1js/isolates` to the package; `npm ci` from the lock npm wrote must work
// and still prove with the pool (npm's own o1js 2.15.0 fails it, checked
// here as the control); a library that peer-depends on o1js@^2.0.0 installs
// beside it and gets it; `overrides` hands it to a dependency that depends on
// o1js directly. Last, a Vite app installs and builds for production (proved
// in Chromium by vite.test.js).
//
// Leaves the apps for the tests that prove in them: build/o1js-app/patched
// (npm: tests/o1js, tests/isolates), build/package-apps/pnpm (pnpm.test.js),
// build/package-apps/vite (vite.test.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, lstatSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry } from './registry.js';
import { APPS, KEY_CACHE, MINUTES, NPM_APP, PNPM, ROOT, aliasOf, command, freshApp, installedManifest, succeed, thePackage } from './lib.js';
import { runApp } from '../o1js/apps.js';

const pkg = thePackage();
const ALIAS = aliasOf(pkg);
const INSTALL = ['install', '--no-audit', '--no-fund'];
let registry;
const timings = {};
const log = (line) => console.log(`[package/install] ${line}`);

before(async () => {
  registry = await startRegistry();
  const published = registry.publish(pkg.path);
  assert.match(published, new RegExp(`${pkg.name.replace('/', '\\/')}@${pkg.version}`));
  for (const fixture of ['zk-lib', 'zk-dep']) registry.publish(join(ROOT, 'tests/package/fixtures', fixture));
  log(`registry ${registry.url}: published ${pkg.name}@${pkg.version} (${(pkg.sizeBytes / 2 ** 20).toFixed(1)} MiB) and the library fixtures`);
});

after(async () => {
  await registry?.close();
  if (Object.keys(timings).length > 0) log(`install times: ${Object.entries(timings).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
});

/** What npm or pnpm printed that would be a peer-dependency problem. */
const PEER_TROUBLE = /ERESOLVE|peer dep|unmet peer|invalid peer|conflicting peer|missing peer/i;

/** Checks that `dir` resolves o1js and its two entries to the package, from ES modules and require(). */
async function assertResolvesToPackage(dir, label) {
  const manifest = installedManifest(dir);
  assert.equal(manifest.name, pkg.name, `${label}: node_modules/o1js is ${pkg.name}`);
  assert.equal(manifest.version, pkg.version);
  assert.equal(manifest.plonkWasmPool.o1js, '2.15.0');
  assert.equal(manifest.plonkWasmPool.key, pkg.key, `${label}: the package this run built`);
  const probe = [
    "const esm = await import('o1js');",
    "const pool = await import('o1js/pool');",
    "const isolates = await import('o1js/isolates');",
    "const { createRequire } = await import('node:module');",
    "const require = createRequire(process.cwd() + '/');",
    "const cjsPool = require('o1js/pool');",
    "const cjsIsolates = require('o1js/isolates');",
    'console.log(JSON.stringify({',
    "  field: esm.Field(2).add(3).toString(),",
    "  pool: ['poolHealth', 'recycleThreadPool', 'loadPoolBackend', 'PoolMemoryError'].filter((n) => typeof pool[n] === 'function'),",
    "  isolates: ['createProverPool', 'ProverPool', 'ProverPoolError'].filter((n) => typeof isolates[n] === 'function'),",
    "  cjsPool: ['poolHealth', 'recycleThreadPool', 'loadPoolBackend'].filter((n) => typeof cjsPool[n] === 'function'),",
    "  cjsIsolates: ['createProverPool', 'ProverPool'].filter((n) => typeof cjsIsolates[n] === 'function'),",
    '}));',
  ].join('\n');
  const { stdout } = await succeed(process.execPath, ['--input-type=module', '-e', probe], { cwd: dir, timeoutMs: 2 * MINUTES });
  const seen = JSON.parse(stdout.trim().split('\n').at(-1));
  assert.deepEqual(seen, {
    field: '5',
    pool: ['poolHealth', 'recycleThreadPool', 'loadPoolBackend', 'PoolMemoryError'],
    isolates: ['createProverPool', 'ProverPool', 'ProverPoolError'],
    cjsPool: ['poolHealth', 'recycleThreadPool', 'loadPoolBackend'],
    cjsIsolates: ['createProverPool', 'ProverPool'],
  }, `${label}: o1js, o1js/pool and o1js/isolates load through import and require()`);
}

test('npm: a fresh app installs the package by alias from the registry, cleanly; o1js, o1js/pool and o1js/isolates resolve to it', { timeout: 15 * MINUTES }, async () => {
  freshApp(NPM_APP, { dependencies: { o1js: ALIAS } }, registry);
  const installed = await succeed('npm', INSTALL, { cwd: NPM_APP });
  timings.npm = installed.ms;
  assert.doesNotMatch(installed.stdout + installed.stderr, PEER_TROUBLE);
  await assertResolvesToPackage(NPM_APP, 'npm');
  const lock = JSON.parse(readFileSync(join(NPM_APP, 'package-lock.json'), 'utf8'));
  const entry = lock.packages['node_modules/o1js'];
  assert.equal(entry.name, pkg.name, 'the lock records the alias');
  assert.equal(entry.integrity, pkg.integrity, "the lock holds the published tarball's integrity");
  assert.equal(entry.dependencies?.['@o1js/native'], undefined, 'no `file:` dependency on @o1js/native');
  assert.equal(entry.peerDependencies?.['@o1js/native'], '2.15.0', 'the native backend stays optional: an optional peer');
  assert.equal(entry.peerDependenciesMeta?.['@o1js/native']?.optional, true);
  assert.equal(lock.packages['node_modules/@o1js/native'], undefined, 'and is not installed unless the app asks for it');
  await succeed('npm', ['ls', '--all'], { cwd: NPM_APP, timeoutMs: 2 * MINUTES });
  log(`npm install: ${(installed.ms / 1000).toFixed(1)} s`);
});

test("npm ci: npm's own o1js 2.15.0 fails it (the control: its @o1js/native dependencies); the package's lock reinstalls, and the app proves with the pool", { timeout: 25 * MINUTES }, async () => {
  // The control: npm's o1js, installed the same way, writes a lock that npm ci refuses.
  const stock = freshApp(join(APPS, 'stock-ci'), { dependencies: { o1js: '2.15.0' } }, registry, { files: false });
  await succeed('npm', INSTALL, { cwd: stock });
  const refused = await command('npm', ['ci', '--no-audit', '--no-fund'], { cwd: stock });
  assert.notEqual(refused.code, 0, "npm ci of npm's o1js 2.15.0 failed, as it does with npm's registry");
  assert.match(refused.stderr, /Missing: @o1js\/native|in sync/, "the refusal is o1js's duplicated @o1js/native");

  // The package: the npm app's package.json and lock, reinstalled from scratch by npm ci.
  const ci = freshApp(join(APPS, 'npm-ci'), JSON.parse(readFileSync(join(NPM_APP, 'package.json'), 'utf8')), registry);
  cpSync(join(NPM_APP, 'package-lock.json'), join(ci, 'package-lock.json'));
  const lockBefore = readFileSync(join(ci, 'package-lock.json'), 'utf8');
  const reinstalled = await succeed('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ci });
  timings['npm ci'] = reinstalled.ms;
  assert.equal(readFileSync(join(ci, 'package-lock.json'), 'utf8'), lockBefore, 'npm ci left the lock as it was');
  await assertResolvesToPackage(ci, 'npm ci');

  const { result } = await runApp(ci, 'prove.mjs', { proofs: 1, workers: 2, cacheDir: KEY_CACHE, pool: true, recycleDuring: [0] }, 20 * MINUTES);
  const [proof] = result.proofs;
  assert.equal(proof.output, proof.expectedOutput);
  assert.equal(proof.verifiedByProgram && proof.verifiedWithKey, true, 'the proof verifies');
  assert.equal(proof.healthAfter.state, 'running');
  assert.ok(proof.healthAfter.jobsCompleted > proof.healthBefore.jobsCompleted, 'the proof ran on the pool');
  assert.equal(result.duringProof.length, 1);
  assert.ok(result.duringProof[0].report.toGeneration > result.duringProof[0].report.fromGeneration, 'a recycle requested during the proof completed');
  log(`npm ci: ${(reinstalled.ms / 1000).toFixed(1)} s; then compile ${(result.compileMs / 1000).toFixed(1)} s, proof ${(proof.proveMs / 1000).toFixed(1)} s with a recycle during it`);
});

test('pnpm: a fresh app installs the package by alias, strict about peers; o1js, o1js/pool and o1js/isolates resolve to it', { timeout: 15 * MINUTES }, async () => {
  const dir = freshApp(join(APPS, 'pnpm'), { dependencies: { o1js: ALIAS } }, registry);
  const installed = await succeed(PNPM, ['install', '--config.strict-peer-dependencies=true', `--store-dir=${join(ROOT, 'build/pnpm-store')}`], { cwd: dir });
  timings.pnpm = installed.ms;
  assert.doesNotMatch(installed.stdout + installed.stderr, PEER_TROUBLE);
  assert.ok(lstatSync(join(dir, 'node_modules/o1js')).isSymbolicLink(), "pnpm's layout: node_modules/o1js links into its store");
  assert.match(realpathSync(join(dir, 'node_modules/o1js')), /\.pnpm/);
  await assertResolvesToPackage(dir, 'pnpm');
  const lock = readFileSync(join(dir, 'pnpm-lock.yaml'), 'utf8');
  assert.match(lock, new RegExp(`'?${pkg.name.replace('/', '\\/')}@${pkg.version.replace(/\./g, '\\.')}'?`), 'the lock records the aliased package');
  log(`pnpm install: ${(installed.ms / 1000).toFixed(1)} s`);
});

test('a library that peer-depends on o1js@^2.0.0 installs beside the aliased package without a peer-dependency error (npm and pnpm), and gets it', { timeout: 15 * MINUTES }, async () => {
  const manifest = { dependencies: { o1js: ALIAS, '@plonk-wasm-pool-test/zk-lib': '1.0.0' } };
  const script = "import { o1jsManifest, triple } from '@plonk-wasm-pool-test/zk-lib'; console.log(JSON.stringify({ name: o1jsManifest.name, version: o1jsManifest.version, tripled: triple(5) }));";
  for (const [tool, install] of [
    ['npm', ['npm', INSTALL]],
    ['pnpm', [PNPM, ['install', '--config.strict-peer-dependencies=true', `--store-dir=${join(ROOT, 'build/pnpm-store')}`]]],
  ]) {
    const dir = freshApp(join(APPS, `library-${tool}`), manifest, registry, { files: false });
    const installed = await command(install[0], install[1], { cwd: dir });
    assert.equal(installed.code, 0, `${tool} install with a peer-dependent library: ${installed.stderr}`);
    assert.doesNotMatch(installed.stdout + installed.stderr, PEER_TROUBLE, `${tool}: no peer-dependency complaint`);
    if (tool === 'npm') await succeed('npm', ['ls', '--all'], { cwd: dir, timeoutMs: 2 * MINUTES });
    const { stdout } = await succeed(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, timeoutMs: 2 * MINUTES });
    assert.deepEqual(JSON.parse(stdout.trim()), { name: pkg.name, version: pkg.version, tripled: '15' }, `${tool}: the library's import of o1js is the package`);
  }
});

test("overrides: a dependency that depends on o1js itself gets the package, and npm's o1js is not installed at all", { timeout: 10 * MINUTES }, async () => {
  const dir = freshApp(join(APPS, 'overrides'), { dependencies: { '@plonk-wasm-pool-test/zk-dep': '1.0.0' }, overrides: { o1js: ALIAS } }, registry, { files: false });
  const installed = await succeed('npm', INSTALL, { cwd: dir });
  assert.doesNotMatch(installed.stdout + installed.stderr, PEER_TROUBLE);
  const script = "import { o1jsManifest } from '@plonk-wasm-pool-test/zk-dep'; console.log(JSON.stringify({ name: o1jsManifest.name, version: o1jsManifest.version }));";
  const { stdout } = await succeed(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, timeoutMs: 2 * MINUTES });
  assert.deepEqual(JSON.parse(stdout.trim()), { name: pkg.name, version: pkg.version });
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const o1jsEntries = Object.entries(lock.packages).filter(([path]) => /(^|\/)node_modules\/o1js$/.test(path));
  assert.ok(o1jsEntries.length >= 1 && o1jsEntries.every(([, entry]) => entry.name === pkg.name), `every o1js in the tree is the package: ${JSON.stringify(o1jsEntries.map(([p, e]) => [p, e.name]))}`);
});

test('Vite: an app with o1js/pool and o1js/isolates (a bundled isolate worker) installs and builds for production', { timeout: 15 * MINUTES }, async () => {
  const dir = join(APPS, 'vite');
  const { dependencies, devDependencies } = JSON.parse(readFileSync(join(ROOT, 'tests/package/vite-app/package.json'), 'utf8'));
  freshApp(dir, { scripts: { build: 'vite build' }, dependencies: { ...dependencies, o1js: ALIAS }, devDependencies }, registry, { files: false });
  cpSync(join(ROOT, 'tests/package/vite-app'), dir, { recursive: true, filter: (from) => !from.endsWith('package.json') });
  for (const name of ['program.js', 'scenario.js']) cpSync(join(ROOT, 'tests/o1js/app', name), join(dir, 'src', name));
  const installed = await succeed('npm', INSTALL, { cwd: dir });
  timings.vite = installed.ms;
  assert.doesNotMatch(installed.stdout + installed.stderr, PEER_TROUBLE);
  const built = await succeed('npm', ['run', 'build'], { cwd: dir, timeoutMs: 10 * MINUTES });
  const manifest = JSON.parse(readFileSync(join(dir, 'dist/.vite/manifest.json'), 'utf8'));
  assert.ok(Object.values(manifest).some((c) => c.isEntry && c.src === 'index.html'), 'the page is an entry');
  // Vite found the isolate worker where the app creates it (new Worker(new URL('./prover.worker.js', import.meta.url))) and built it.
  const assets = readdirSync(join(dir, 'dist/assets'));
  assert.ok(assets.some((name) => /^prover\.worker-[\w-]+\.js$/.test(name)), `the isolate worker is a chunk of its own: ${assets.join(', ')}`);
  writeFileSync(join(dir, 'dist/build.log'), built.stdout);
  log(`vite app: npm install ${(installed.ms / 1000).toFixed(1)} s, vite build ${(built.ms / 1000).toFixed(1)} s`);
});
