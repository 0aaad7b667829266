// Shared by the real-o1js tests: where the two apps are (stock: npm's o1js
// 2.15.0, scripts/prepare-o1js-apps.sh; patched: the package by alias,
// tests/package/install.test.js), and running a script of theirs as its own
// process, as an application would run, within a bound.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const APPS = `${ROOT}build/o1js-app`;
export const STOCK = `${APPS}/stock`;
export const PATCHED = `${APPS}/patched`;
/** o1js's on-disk cache of compiled keys, one per app (keys made by one build are not fed to the other). */
export const cacheDir = (app) => {
  const dir = `${APPS}/cache-${app === STOCK ? 'stock' : 'patched'}`;
  mkdirSync(dir, { recursive: true });
  return dir;
};

export function requireApps() {
  for (const app of [STOCK, PATCHED]) {
    if (!existsSync(`${app}/node_modules/o1js/package.json`)) {
      throw new Error(`${app} is not prepared: scripts/prepare-o1js-apps.sh (stock) and tests/package/install.test.js (patched) prepare it; scripts/test.sh runs both`);
    }
  }
}

/**
 * Runs `node SCRIPT JSON(options)` in `app`; resolves `{ result, stderr, ms }`
 * with the JSON its last stdout line holds, once the process has ended by
 * itself with exit code 0. Rejects past `timeoutMs` (killing it) or on any
 * other ending, with its stderr.
 */
export function runApp(app, script, options, timeoutMs) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(options)], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (process.env.O1JS_TEST_LOG) process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} in ${app} did not end within ${timeoutMs} ms; its stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`${script} in ${app} ended with ${code ?? signal}; its stderr:\n${stderr}`));
      try {
        resolve({ result: JSON.parse(last), stderr, ms });
      } catch {
        reject(new Error(`${script} in ${app} printed no JSON result (last line: ${last.slice(0, 200)}); its stderr:\n${stderr}`));
      }
    });
  });
}
