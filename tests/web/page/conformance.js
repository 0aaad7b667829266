// The conformance suite's `api` on the page (tests/conformance/cases.js): the
// web backend as o1js loads it, the wasm's exports reached in the main worker
// through callInWorker, and the health read on the page (answered by the
// supervisor) while the main worker proves.
import { CASES } from '/conformance/cases.js';

/** Runs the case `name` against the harness `h` (harness.js); resolves its result. */
export async function runCase(h, name, params) {
  const { backend, errors, toHex, sleep } = h;
  const conformanceCase = CASES.find((c) => c.name === name);
  if (conformanceCase === undefined) throw new Error(`no conformance case named ${JSON.stringify(name)}`);
  const api = {
    platform: 'web',
    backend,
    errors,
    call: (name, ...args) => backend.callInWorker(name, ...args),
    callExport: (name, args) => backend.callInWorker(name, ...args),
    prove: async (k, seed) => toHex(await backend.callInWorker('fixtureProve', k, seed)),
    health: () => backend.poolHealth(),
    async watchHealth(run, { first } = {}) {
      await first?.();
      let settled = false;
      const running = run().finally(() => (settled = true));
      running.catch(() => undefined);
      const samples = [];
      let lastTurn = performance.now();
      let longestGapMs = 0;
      while (!settled) {
        const health = await backend.poolHealth();
        if (!settled) {
          samples.push({ state: health.state, phase: health.recycle?.phase ?? null, generation: health.generation, inFlight: health.inFlight });
        }
        await sleep(5);
        const now = performance.now();
        longestGapMs = Math.max(longestGapMs, now - lastTurn);
        lastTurn = now;
      }
      return { value: await running, samples, longestGapMs };
    },
    setNumberOfWorkers: (...args) => h.setNumberOfWorkers(...args),
    cloneable(value) {
      try {
        structuredClone(value);
        return true;
      } catch {
        return false;
      }
    },
  };
  return conformanceCase.run(api, params);
}
