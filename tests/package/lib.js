// Shared by the package tests: the packages scripts/pack.sh built, fresh app
// folders, and commands run as a user runs them (bounded, output kept).
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MINUTES = 60_000;
/** Where the package apps live (build/o1js-app/patched is the npm one, shared with tests/o1js and tests/isolates). */
export const APPS = join(ROOT, 'build/package-apps');
export const NPM_APP = join(ROOT, 'build/o1js-app/patched');
/** o1js's on-disk cache of compiled keys for the package apps (one build: the keys are the same for all). */
export const KEY_CACHE = join(ROOT, 'build/o1js-app/cache-patched');
export const PNPM = join(ROOT, 'node_modules/.bin/pnpm');

/** The packages scripts/pack.sh built (build/packages/packages.json), one per o1js release. */
export function builtPackages() {
  const index = join(ROOT, 'build/packages/packages.json');
  if (!existsSync(index)) throw new Error(`${index} is missing: run scripts/pack.sh first (scripts/test.sh does)`);
  return Object.values(JSON.parse(readFileSync(index, 'utf8'))).map((entry) => ({ ...entry, path: join(ROOT, entry.file) }));
}

/** The package for o1js 2.15.0 (the release the real-o1js tests use). */
export function thePackage() {
  const found = builtPackages().find((p) => p.o1js === '2.15.0');
  if (found === undefined) throw new Error('build/packages has no package for o1js 2.15.0: run scripts/pack.sh');
  return found;
}

/** The alias line an app writes: `"o1js": "npm:<name>@<version>"`. */
export const aliasOf = (pkg) => `npm:${pkg.name}@${pkg.version}`;

/**
 * A fresh app folder (emptied first): `package.json` from `manifest`, the
 * real-o1js tests' scripts (tests/o1js/app) and the isolates' proving modules
 * (tests/isolates/app, as isolates/), and an .npmrc for `registry`.
 */
export function freshApp(dir, manifest, registry, { files = true } = {}) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (files) {
    for (const name of ['program.js', 'scenario.js', 'prove.mjs', 'prove.cjs', 'verify.mjs', 'bench-memory.mjs', 'bench-prove.mjs']) {
      cpSync(join(ROOT, 'tests/o1js/app', name), join(dir, name));
    }
    cpSync(join(ROOT, 'tests/isolates/app'), join(dir, 'isolates'), { recursive: true });
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ private: true, type: 'module', ...manifest }, null, 2)}\n`);
  registry?.npmrc(dir);
  return dir;
}

/**
 * Runs `command args` in `cwd` as its own process; resolves `{ code, stdout,
 * stderr, ms }` once it ended (any exit code), or rejects past `timeoutMs`
 * (killing it) with its output so far.
 */
export function command(cmd, args, { cwd, env = {}, timeoutMs = 10 * MINUTES } = {}) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} in ${cwd} did not end within ${timeoutMs} ms; its output:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** `command`, failing with its output unless it exits 0. */
export async function succeed(cmd, args, options) {
  const result = await command(cmd, args, options);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${options.cwd} exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** The package.json of the package installed as `name` where `dir` resolves it (what `require('name/package.json')` sees). */
export function installedManifest(dir, name = 'o1js') {
  return JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8'));
}
