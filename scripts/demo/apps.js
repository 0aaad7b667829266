// The demo's two apps under build/demo/: `stock` depends on npm's o1js,
// `pool` on the package scripts/pack.sh built (installed as o1js from its
// tarball). Each gets the real-o1js tests' ZkProgram and this directory's
// side (stock.mjs, or pool.mjs with its proving module), copied at every run
// so an edit here takes effect; `npm install` runs only when what the app
// depends on changed.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '../..');
export const OUT = join(ROOT, 'build/demo');
const PROGRAM = join(ROOT, 'tests/o1js/app/program.js');
/** npm fetches o1js and its dependencies; a hung registry must not hang the demo. */
const INSTALL_BOUND_MS = 15 * 60_000;

/**
 * The entry of build/packages/packages.json whose tarball is `tarball` (what
 * pack.sh printed), or its only entry when `tarball` is null.
 */
export function packageEntry(tarball) {
  const indexPath = join(ROOT, 'build/packages/packages.json');
  if (!existsSync(indexPath)) throw new Error('build/packages/packages.json is missing: scripts/pack.sh builds the package (scripts/demo.sh runs it)');
  const entries = Object.values(JSON.parse(readFileSync(indexPath, 'utf8')));
  const entry = tarball === null ? (entries.length === 1 ? entries[0] : undefined) : entries.find((e) => resolve(ROOT, e.file) === resolve(tarball));
  if (entry === undefined) throw new Error(`${tarball ?? 'no --package given, and build/packages/packages.json lists several'}: name one of build/packages/packages.json with --package`);
  return { ...entry, path: resolve(ROOT, entry.file) };
}

/** The two apps: { name, dir, spec (o1js's dependency), stamp (what makes an install current), files }. */
export function demoApps(entry) {
  return [
    { name: 'stock', dir: join(OUT, 'stock'), spec: entry.o1js, stamp: { o1js: entry.o1js }, files: ['side.js', 'stock.mjs'] },
    {
      name: 'pool',
      dir: join(OUT, 'pool'),
      spec: `file:${entry.path}`,
      stamp: { o1js: `file:${entry.path}`, key: entry.key, integrity: entry.integrity },
      files: ['side.js', 'pool.mjs', 'prover.js'],
    },
  ];
}

const stampFile = (app) => join(app.dir, '.demo-install.json');

/** True when the app's node_modules holds what its stamp says. */
export function isInstalled(app) {
  if (!existsSync(join(app.dir, 'node_modules/o1js/package.json')) || !existsSync(stampFile(app))) return false;
  return readFileSync(stampFile(app), 'utf8') === JSON.stringify(app.stamp);
}

/** Writes the app's files; installs o1js when the stamp changed. Resolves with the install's seconds (0 when none was needed). */
export async function prepareApp(app, log) {
  mkdirSync(join(app.dir, 'o1js-cache'), { recursive: true });
  copyFileSync(PROGRAM, join(app.dir, 'program.js'));
  for (const file of app.files) copyFileSync(join(HERE, file), join(app.dir, file));
  if (isInstalled(app)) return 0;
  const manifest = { name: `plonk-wasm-pool-demo-${app.name}`, private: true, type: 'module', dependencies: { o1js: app.spec } };
  writeFileSync(join(app.dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // A rebuilt tarball keeps its path: npm would hold the old integrity from the lock and refuse the new bytes.
  rmSync(join(app.dir, 'package-lock.json'), { force: true });
  rmSync(join(app.dir, 'node_modules/o1js'), { recursive: true, force: true });
  rmSync(stampFile(app), { force: true });
  const started = performance.now();
  await npmInstall(app, log);
  writeFileSync(stampFile(app), JSON.stringify(app.stamp));
  return (performance.now() - started) / 1000;
}

function npmInstall(app, log) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`npm install in ${app.dir} did not finish within ${INSTALL_BOUND_MS / 60_000} min: killed it (is the npm registry reachable?)`));
    }, INSTALL_BOUND_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) return resolvePromise();
      log(Buffer.concat(output).toString().trimEnd());
      reject(new Error(`npm install in ${app.dir} failed (exit ${code}); its output is above`));
    });
  });
}
