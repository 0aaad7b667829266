// Drives the test page in Debian's headless Chromium through playwright-core.
// Any page error, console error or unhandled rejection fails the test, except
// the pool's own error lines a test expects (`expectedConsoleErrors`); every
// wait is bounded.
import { chromium } from 'playwright-core';
import { HARNESS_ROUTES, startServer } from './server.js';
import { within } from '../node/backend.js';

export { within };

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Serves `routes`, launches Chromium and opens `path` (with `query`); resolves
 * once `ready(page)` resolves. `run(what, fn, arg, timeoutMs)` evaluates
 * `fn(arg)` in the page within a bound and fails as soon as the page reports
 * an error. `expectedConsoleErrors`: patterns of console errors the test
 * provokes on purpose (e.g. the pool's `plonk-wasm ERROR … worker lost` line).
 * Call `close()` in a finally.
 */
export async function openPage({ routes, path, query = {}, ready, startTimeoutMs = 60_000, expectedConsoleErrors = [] }) {
  const server = await startServer(routes);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  const errors = [];
  let reportError;
  const failed = new Promise((_, reject) => (reportError = reject));
  failed.catch(() => undefined);
  const fail = (message) => {
    errors.push(message);
    reportError(new Error(`the page reported an error: ${message}`));
  };
  const close = async () => {
    await browser.close().catch(() => undefined);
    await server.close();
  };
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => fail(`page error: ${error.stack ?? error.message}`));
    page.on('console', (message) => {
      const expected = expectedConsoleErrors.some((pattern) => pattern.test(message.text()));
      if (message.type() === 'error' && !expected) fail(`console error: ${message.text()} (${message.location().url})`);
      else if (process.env.WEB_TEST_CONSOLE) console.log(`[page ${message.type()}] ${message.text()}`);
    });
    page.on('crash', () => fail('the page crashed'));
    const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    await page.goto(`${server.origin}${path}?${search}`, { timeout: 30_000 });

    const run = async (what, fn, arg, timeoutMs = 60_000) => {
      const evaluated = page.evaluate(`(${fn})(${JSON.stringify(arg ?? null)})`);
      evaluated.catch(() => undefined);
      const value = await within(timeoutMs, what, Promise.race([evaluated, failed]));
      if (errors.length > 0) throw new Error(`the page reported errors during ${what}:\n${errors.join('\n')}`);
      return value;
    };
    await within(startTimeoutMs, `the page ${path} to be ready`, Promise.race([ready(run), failed]));
    return { page, run, errors, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The staged backend's test page (tests/web/page), resolved once the backend
 * is initialized; `run(what, fn, arg, timeoutMs)` evaluates `fn(harness, arg)`
 * and also fails on errors the harness collected (unhandled rejections).
 */
export async function openHarness(query = {}, { startTimeoutMs = 60_000, expectedConsoleErrors = [] } = {}) {
  const opened = await openPage({
    routes: HARNESS_ROUTES,
    path: '/page/index.html',
    query,
    startTimeoutMs,
    expectedConsoleErrors,
    ready: (run) => run('initializeBindings', () => new Promise((resolve) => {
      const poll = () => (window.harness !== undefined ? window.harness.ready.then(() => resolve(true)) : setTimeout(poll, 20));
      poll();
    }), null, startTimeoutMs),
  });
  const run = async (what, fn, arg, timeoutMs) => {
    const value = await opened.run(what, `(arg) => (${fn})(window.harness, arg)`, arg, timeoutMs);
    const pageErrors = await opened.page.evaluate(() => window.harness.pageErrors.splice(0));
    if (pageErrors.length > 0) throw new Error(`the page reported errors during ${what}:\n${pageErrors.join('\n')}`);
    return value;
  };
  return { ...opened, run };
}
