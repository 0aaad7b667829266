// The bad-input suite, generated from table.js: every export × every bad kind
// of value for each parameter, one parameter at a time (the others valid). A
// call must fail, in bounded time, with a typed error whose code says what was
// wrong and whose message names the value as the caller wrote it and what was
// expected; afterwards the instance must still prove (the proof equals the
// snapshot) and the pool must be healthy. Runs in Node and in Chromium: no
// imports beyond table.js, the platform comes in as `api`.
import { INPUTS, badCalls } from './table.js';

/**
 * `api`: `platform` ('node' | 'web'); `call(row, args)` calls the export the
 * row names and returns its value or Promise; `prove()` resolves the hex of a
 * fixture proof (k=8, seed=1) made through `withThreadPool`; `health()`
 * resolves `poolHealth()`; `cloneable(value)` says whether the value can
 * reach the instance at all (the web's structured clone).
 * Resolves `{ calls, exports, failures, proofs }`.
 */
export async function runBadInputSuite(api, { expectedProofHex, callTimeoutMs = 10_000 }) {
  const failures = [];
  let calls = 0;
  let exports = 0;
  let proofs = 0;
  for (const row of INPUTS) {
    if (row.platforms && !row.platforms.includes(api.platform)) continue;
    exports++;
    for (let position = 0; position < row.params.length; position++) {
      const [param, kind] = row.params[position];
      for (const bad of badCalls(kind)) {
        calls++;
        const args = row.params.map(([, , valid]) => valid);
        args[position] = bad.value;
        const what = `${row.name}(${row.params.map(([name], i) => (i === position ? `${name} = ${bad.label}` : name)).join(', ')})`;
        const outcome = await settle(() => api.call(row, args), callTimeoutMs);
        const problem = judge(api, row, kind, bad, outcome);
        if (problem !== null) failures.push(`${what}: ${problem}`);
      }
    }
    // The instance and the pool keep working after each export's bad calls.
    const proof = await settle(() => api.prove(), 60_000);
    proofs++;
    if (!proof.ok) failures.push(`after ${row.name}: the proof failed: ${proof.error?.code ?? ''} ${proof.error?.message ?? proof.error}`);
    else if (proof.value !== expectedProofHex) failures.push(`after ${row.name}: the proof differs from the snapshot`);
    const health = await settle(() => api.health(), 10_000);
    if (!health.ok) failures.push(`after ${row.name}: poolHealth() failed: ${health.error?.message ?? health.error}`);
    else if (health.value.poisoned !== null) failures.push(`after ${row.name}: the pool is poisoned: ${health.value.poisoned.reason}`);
  }
  return { calls, exports, failures, proofs };
}

/** The outcome of `run`, within `ms`: `{ ok, value }`, `{ ok: false, error }` or `{ ok: false, timedOut: true }`. */
async function settle(run, ms) {
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve({ ok: false, timedOut: true }), ms)));
  try {
    return await Promise.race([
      (async () => {
        try {
          return { ok: true, value: await run() };
        } catch (error) {
          return { ok: false, error };
        }
      })(),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Null when the outcome is what the table promises, else what is wrong. */
function judge(api, row, kind, bad, outcome) {
  if (outcome.timedOut) return 'no answer within the bound';
  if (outcome.ok) return `accepted (returned ${typeof outcome.value})`;
  const error = outcome.error;
  if (!(error instanceof Error)) return `threw a non-Error: ${String(error)}`;
  const message = error.message;
  const allowed = new Set([expectedCode(kind, bad)]);
  const forwarded = row.where !== 'backend' || row.forwardedOnWeb === true;
  const uncloneable = api.platform === 'web' && forwarded && !api.cloneable(bad.value);
  // On the web the value must first reach the main worker: one that cannot be cloned is refused on the page.
  if (uncloneable) allowed.add('POOL_INVALID_ARGUMENT');
  if (!allowed.has(error.code)) return `code ${error.code} (${error.name}: ${message}); expected ${[...allowed].join(' or ')}`;
  if (!/expected /.test(message)) return `the message does not say what was expected: ${message}`;
  const shown = bad.written;
  if (shown !== undefined && !uncloneable && !message.includes(` is ${shown}`)) return `the message does not name the value ${shown}: ${message}`;
  if (/JsValue\(|undefined is not|Cannot read|is not a function/.test(message)) return `the message leaks internals: ${message}`;
  return null;
}

function expectedCode(kind, bad) {
  const leaf = bad.kind ?? kind;
  if (leaf === 'threads') return 'POOL_INVALID_THREAD_COUNT';
  if (typeof kind === 'object') return 'POOL_INVALID_CONFIG';
  return 'POOL_INVALID_ARGUMENT';
}
