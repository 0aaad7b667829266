// Drives the test page in Debian's headless Chromium through playwright-core.
// Any page error, console error or unhandled rejection fails the test; every
// wait is bounded.
import { chromium } from 'playwright-core';
import { startServer } from './server.js';
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
 * Serves the staged backend, launches Chromium and opens the test page with
 * `query`; resolves once the backend is initialized. `run(what, fn, arg,
 * timeoutMs)` evaluates `fn(harness, arg)` in the page within a bound and
 * fails as soon as the page reports an error. Call `close()` in a finally.
 */
export async function openHarness(query = {}, { startTimeoutMs = 60_000 } = {}) {
  const server = await startServer();
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
      if (message.type() === 'error') fail(`console error: ${message.text()} (${message.location().url})`);
      else if (process.env.WEB_TEST_CONSOLE) console.log(`[page ${message.type()}] ${message.text()}`);
    });
    page.on('crash', () => fail('the page crashed'));
    const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    await page.goto(`${server.origin}/page/index.html?${search}`, { timeout: 30_000 });
    await page.waitForFunction(() => window.harness !== undefined, null, { timeout: 30_000 });

    const run = async (what, fn, arg, timeoutMs = 60_000) => {
      const evaluated = page.evaluate(`(${fn})(window.harness, ${JSON.stringify(arg ?? null)})`);
      evaluated.catch(() => undefined);
      const value = await within(timeoutMs, what, Promise.race([evaluated, failed]));
      const pageErrors = await page.evaluate(() => window.harness.pageErrors.splice(0));
      for (const message of pageErrors) fail(message);
      if (errors.length > 0) throw new Error(`the page reported errors during ${what}:\n${errors.join('\n')}`);
      return value;
    };
    await run('initializeBindings', (h) => h.ready.then(() => true), null, startTimeoutMs);
    return { page, run, errors, close };
  } catch (error) {
    await close();
    throw error;
  }
}
