// A local npm registry for the package tests: Verdaccio (from npm, a
// devDependency), on a loopback port, storing under build/registry/. Our
// packages are published to it; everything else it proxies from the npm
// registry this machine uses (and keeps, so later runs install from disk).
// Apps then install from it exactly as from npm: `npm install`, `npm ci`,
// `pnpm install`, by alias.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOME = join(ROOT, 'build/registry');
const VERDACCIO = join(ROOT, 'node_modules/verdaccio/bin/verdaccio');
/** The scope of this project's packages, and of the packages the tests publish (a peer-dependent library). */
export const SCOPES = ['@plonk-wasm-pool', '@plonk-wasm-pool-test'];

/** The npm registry this machine installs from (what Verdaccio proxies). */
function upstreamRegistry() {
  const result = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' });
  const url = result.status === 0 ? result.stdout.trim() : '';
  return /^https?:\/\//.test(url) ? url : 'https://registry.npmjs.org/';
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function config() {
  const local = SCOPES.map((scope) => `  '${scope}/*':\n    access: $all\n    publish: $authenticated\n    unpublish: $authenticated\n`).join('');
  return `# Written by tests/package/registry.js for one test run.
storage: ${join(HOME, 'storage')}
auth:
  htpasswd:
    file: ${join(HOME, 'htpasswd')}
    max_users: 10
uplinks:
  upstream:
    url: ${upstreamRegistry()}
    timeout: 120s
    maxage: 30m
packages:
${local}  '**':
    access: $all
    proxy: upstream
server:
  keepAliveTimeout: 60
# The o1js package is ~31 MiB packed (~42 MiB as the base64 body npm publish sends).
max_body_size: 256mb
log: { type: stdout, format: pretty, level: warn }
`;
}

/**
 * Starts Verdaccio and resolves `{ url, npmrc(dir), publish(tarball), close() }`
 * once it answers, within `timeoutMs`. Packages of our scopes published by
 * earlier runs are dropped first; proxied ones stay cached.
 */
export async function startRegistry({ timeoutMs = 60_000 } = {}) {
  mkdirSync(HOME, { recursive: true });
  for (const scope of SCOPES) rmSync(join(HOME, 'storage', scope), { recursive: true, force: true });
  rmSync(join(HOME, 'storage', '.verdaccio-db.json'), { force: true });
  rmSync(join(HOME, 'htpasswd'), { force: true });
  writeFileSync(join(HOME, 'config.yaml'), config());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child = spawn(process.execPath, [VERDACCIO, '--config', join(HOME, 'config.yaml'), '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Verdaccio exited with ${child.exitCode} before it answered; its output:\n${log}`);
    const ok = await fetch(`${url}-/ping`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`Verdaccio did not answer at ${url} within ${timeoutMs} ms; its output:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  // A user for publishing (npm adduser's request).
  const user = { name: 'tests', password: 'tests-password' };
  const response = await fetch(`${url}-/user/org.couchdb.user:${user.name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ _id: `org.couchdb.user:${user.name}`, type: 'user', roles: [], ...user }),
  });
  const { token } = await response.json();
  if (typeof token !== 'string') throw new Error(`Verdaccio gave no token for a new user (HTTP ${response.status})`);
  const authLine = `//127.0.0.1:${port}/:_authToken=${token}`;

  /** An app's .npmrc: everything from this registry (pnpm reads the same file). Removed by close(). */
  const npmrcFiles = new Set();
  const npmrc = (dir) => {
    const file = join(dir, '.npmrc');
    writeFileSync(file, `registry=${url}\n${authLine}\n`);
    npmrcFiles.add(file);
  };
  // The apps outlive the registry (later tests prove in them): an .npmrc naming a registry that is
  // gone would send their next npm install to a dead port, retrying for minutes.
  const closeAndForget = async () => {
    await close();
    for (const file of npmrcFiles) rmSync(file, { force: true });
  };

  /** Publishes a tarball or a package folder (npm publish, as a maintainer would). */
  const publish = (what, cwd = ROOT) => {
    const rc = join(HOME, 'publish.npmrc');
    writeFileSync(rc, `registry=${url}\n${authLine}\n`);
    const result = spawnSync('npm', ['publish', what, '--userconfig', rc, '--registry', url, '--ignore-scripts', '--access', 'public'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, npm_config_provenance: 'false', npm_config_update_notifier: 'false' },
    });
    if (result.status !== 0) throw new Error(`npm publish ${what} failed (exit ${result.status}):\n${result.stderr}`);
    return result.stderr;
  };
  return { url, port, npmrc, publish, close: closeAndForget, log: () => log };
}
