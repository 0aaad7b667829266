// The conformance suite: one set of cases, run against both backends
// (tests/node/conformance.test.js: the Node backend in worker_threads;
// tests/web/conformance.test.js: the web backend in headless Chromium), in the
// manner of tinypool's and piscina's shared suites. A case's `run(api, params)`
// executes where the backend lives (the Node test process, the page) and
// returns plain data; its `check(result, t)` judges that data in Node.
//
// `api`, given by each runner:
//   platform              'node' | 'web'
//   backend               the backend module (withThreadPool, recycleThreadPool, configurePoolHealth, workerHost, …)
//   errors                lib/proof-system/errors.js
//   call(name, ...args)   a wasm export on the thread that owns the pool; a Promise
//   prove(k, seed)        a fixture proof as hex; a Promise
//   health()              poolHealth(), as a Promise
//   watchHealth(run, { first })   runs `run()` while another thread reads the health;
//                         `first()`, when given, runs once the reading has begun and
//                         right before `run()`, with no other wait in between
//                         (Node: a worker_thread through openPoolHealthPort; web:
//                         the page, answered by the supervisor); resolves
//                         { value, samples: [{ state, phase, generation, inFlight }], longestGapMs }
//   callExport(name, args)  a wasm export called as o1js reaches it (Node: directly; web: callInWorker)
//   setNumberOfWorkers(n), cloneable(value)   for the bad-input suite
//
// Every wait is bounded, and nothing asserts an exact count of what depends
// on timing. The pool runs 2 workers on a memory of 128 MiB (Node: the
// node-small build; web: memoryMaximumBytes). No imports but the bad-input
// suite, which resolves at the same relative path on both sides.
import { runBadInputSuite } from '../inputs/suite.js';

const MiB = 2 ** 20;
export const MEMORY_MAXIMUM_BYTES = 128 * MiB;
export const THREADS = 2;
/** The proofs pinned by the native snapshots (tests/node/snapshots.js). */
export const PROOF_CASES = [
  { k: 8, seed: 1 },
  { k: 9, seed: 7 },
];
/** The pool's own error lines that cases provoke on purpose (the web page fails on any other console error). */
export const EXPECTED_CONSOLE_ERRORS = [/^plonk-wasm ERROR /];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what, condition, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(2);
  }
}

/** An error as data: what the checks look at. */
function outcomeOf(error, errors) {
  const is = {};
  for (const name of ['PoolMemoryError', 'PoolWorkerLostError', 'PoolOperationError', 'PoolError']) is[name] = error instanceof errors[name];
  return { name: error?.name, code: error?.code, kind: error?.kind, message: String(error?.message ?? error), is };
}

async function settle(promise, errors) {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error: outcomeOf(error, errors) };
  }
}

/** The parts of a recycle report the checks use. */
const reportOf = ({ fromGeneration, toGeneration, cause, workers, totalMs }) => ({ fromGeneration, toGeneration, cause, workers, totalMs });

/** Resets what an earlier case may have changed (Node runs every case in one process). */
function fresh(api, coordinatorOptions = {}) {
  api.backend.configureThreadPool({ lifetime: 'operation' });
  return api.backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1, ...coordinatorOptions });
}

/** A host event of `type` for `generation` seen in `events`, within a bound. */
function waitForEvent(events, type, generation, ms = 10_000) {
  return waitUntil(`a ${type} event for generation ${generation}`, () => events.some((e) => e.type === type && e.generation === generation), ms);
}

/**
 * What a health read after a worker loss of `generation` shows, as data: the generation poisoned, or (the
 * coordinator's idle check may come first on a busy machine) a rebuild from it already under way or done.
 */
function afterLoss(health) {
  if (health.state === 'poisoned') return { state: 'poisoned', generation: health.poisoned.generation, reason: health.poisoned.reason };
  if (health.state === 'recycling') return { state: 'recycling', generation: health.recycle.fromGeneration, cause: health.recycle.cause };
  return { state: health.state, generation: health.generation };
}

/** Asserts that `seen` (afterLoss) shows `generation` poisoned, or a rebuild from it. */
function assertPoisonedOrRebuilding(assert, seen, generation) {
  if (seen.state === 'poisoned') assert.equal(seen.generation, generation, 'the lost worker\'s generation is poisoned');
  else if (seen.state === 'recycling') assert.deepEqual([seen.generation, seen.cause], [generation, 'poisoned'], 'a rebuild from the poisoned generation');
  else {
    assert.equal(seen.state, 'running', `after a loss: poisoned, rebuilding or rebuilt (${JSON.stringify(seen)})`);
    assert.ok(seen.generation > generation, 'rebuilt: a newer generation serves');
  }
}

export const CASES = [
  {
    name: 'proofs before, during and after a recycle equal the native snapshots and verify',
    timeoutMs: 150_000,
    async run(api) {
      const { backend } = api;
      fresh(api);
      return backend.withThreadPool(async () => {
        const results = [];
        for (const { k, seed } of PROOF_CASES) {
          const before = await api.prove(k, seed);
          const { generation, threads } = await api.health();
          let recycling;
          // The proof is taken once the recycle runs: it cannot finish while
          // the thread that owns the pool proves, so the proof runs during it.
          // The health reader is up before the recycle is asked for: starting
          // it (a thread) after would give the recycle time to finish first.
          const during = await api.watchHealth(() => api.prove(k, seed), {
            first: async () => {
              recycling = backend.recycleThreadPool();
              await waitUntil('the recycle to start', async () => (await api.health()).state === 'recycling');
            },
          });
          const report = reportOf(await recycling);
          const after = await api.prove(k, seed);
          results.push({
            k,
            seed,
            threads,
            generation,
            hex: { before, during: during.value, after },
            verified: await api.call('fixtureVerify', k, Uint8Array.from(after.match(/../g), (h) => parseInt(h, 16))),
            statesDuring: [...new Set(during.samples.map((s) => s.phase ?? s.state))],
            inFlightDuring: Math.max(0, ...during.samples.map((s) => s.inFlight)),
            report,
            generationAfter: (await api.health()).generation,
          });
        }
        return results;
      });
    },
    check(results, { assert, expectedHex, log }) {
      for (const r of results) {
        for (const when of ['before', 'during', 'after']) {
          assert.equal(r.hex[when], expectedHex(r), `k=${r.k} seed=${r.seed}: the proof ${when} the recycle equals the native snapshot`);
        }
        assert.equal(r.verified, true, 'the proof verifies');
        assert.equal(r.threads, THREADS);
        assert.ok(r.statesDuring.includes('starting') || r.statesDuring.includes('retiring'), `the proof ran during the recycle (health read meanwhile: ${r.statesDuring})`);
        assert.ok(r.inFlightDuring >= 1, 'health showed the proof in flight');
        assert.equal(r.report.fromGeneration, r.generation);
        assert.equal(r.report.toGeneration, r.generation + 1);
        assert.deepEqual(r.report.workers, { exited: THREADS, forced: 0, reclaimed: 0 }, 'the old workers left on their own');
        assert.equal(r.generationAfter, r.generation + 1);
        log(`k=${r.k}: recycle ${r.report.totalMs.toFixed(1)} ms with a proof during it; health meanwhile: ${r.statesDuring}`);
      }
    },
  },

  {
    name: 'health is readable from another thread while a proof blocks the thread that owns the pool',
    timeoutMs: 120_000,
    async run(api) {
      const { backend } = api;
      fresh(api);
      const [k, seed] = [10, 3]; // ~1 s on 2 workers; the worker-loss case reuses its keys on Node
      return backend.withThreadPool(async () => {
        await api.prove(k, seed); // keys, so the watched proof is all proving
        const watched = await api.watchHealth(() => api.prove(k, seed));
        const proof = Uint8Array.from(watched.value.match(/../g), (h) => parseInt(h, 16));
        return {
          samples: watched.samples.map(({ state, generation, inFlight }) => ({ state, generation, inFlight })),
          longestGapMs: watched.longestGapMs,
          verified: await api.call('fixtureVerify', k, proof),
        };
      });
    },
    check({ samples, longestGapMs, verified }, { assert, log }) {
      const busy = samples.filter((s) => s.inFlight >= 1);
      assert.ok(samples.length >= 1, 'read the health during the proof');
      assert.ok(busy.length >= 1, `${busy.length} of ${samples.length} reads showed the proof in flight`);
      assert.ok(samples.every((s) => s.state === 'running' && s.generation !== null), 'the serving generation is known during the proof');
      assert.ok(longestGapMs < 1_000, `the reader kept turning: longest gap between reads ${longestGapMs.toFixed(0)} ms`);
      assert.equal(verified, true);
      log(`${samples.length} health reads during a k=10 proof (${busy.length} with it in flight), longest gap ${longestGapMs.toFixed(0)} ms`);
    },
  },

  {
    name: 'out of memory in a job fails it with the typed error; the same pool keeps proving',
    timeoutMs: 90_000,
    async run(api) {
      const { backend, errors } = api;
      // Admission control would refuse these jobs before they start: this case is about what happens when it does not.
      fresh(api, { admissionHeadroomBytes: 0 });
      const [c] = PROOF_CASES;
      return backend.withThreadPool(async () => {
        const before = await api.health();
        const single = await settle(backend.withThreadPool(() => api.call('testAllocateInJob', 200 * MiB)), errors);
        const after = await api.health();
        const everyWorker = await settle(backend.withThreadPool(() => api.call('testAllocateOnWorkers', 100 * MiB, false)), errors);
        const hex = await backend.withThreadPool(() => api.prove(c.k, c.seed));
        return { ...c, before: before.memory, jobsFailedBefore: before.jobsFailed, single, after, everyWorker, hex };
      });
    },
    check(r, { assert, expectedHex, platform }) {
      assert.equal(r.before.linearMaxBytes, MEMORY_MAXIMUM_BYTES);
      // The wasm's message names the maximum the module knows: Node's build declares 128 MiB; on the
      // web the module declares 4 GiB and the page's memory is capped below it (health reports the cap).
      const maximum = platform === 'node' ? /linear memory [\d.]+ MiB of 128\.0 MiB/ : /linear memory [\d.]+ MiB of [\d.]+ MiB/;
      for (const [what, outcome, pattern] of [
        ['one request past the maximum', r.single, /a request for 209715200 bytes/],
        ['every worker allocating at once', r.everyWorker, /out of memory/],
      ]) {
        assert.equal(outcome.ok, false, `${what}: refused`);
        assert.equal(outcome.error.is.PoolMemoryError, true, `${what}: ${outcome.error.name}: ${outcome.error.message}`);
        assert.equal(outcome.error.code, 'POOL_OUT_OF_MEMORY');
        assert.equal(outcome.error.kind, 'job-out-of-memory');
        assert.match(outcome.error.message, pattern);
        assert.match(outcome.error.message, maximum);
      }
      assert.equal(r.after.state, 'running');
      assert.equal(r.after.inFlight, 0);
      assert.equal(r.after.jobsFailed, r.jobsFailedBefore + 1);
      assert.ok(r.after.memory.largestFailedRequestBytes >= 200 * MiB);
      assert.equal(r.hex, expectedHex(r), 'the next proof equals the native snapshot');
    },
  },

  {
    name: 'a panic on a worker fails its job with a typed error; the pool is not poisoned and keeps proving',
    timeoutMs: 60_000,
    async run(api) {
      const { backend, errors } = api;
      fresh(api);
      const [c] = PROOF_CASES;
      return backend.withThreadPool(async () => {
        const before = await api.health();
        const outcome = await settle(backend.withThreadPool(() => api.call('testPanicOnWorker', 'a conformance panic')), errors);
        const after = await api.health();
        const hex = await backend.withThreadPool(() => api.prove(c.k, c.seed));
        return { ...c, outcome, jobsFailed: [before.jobsFailed, after.jobsFailed], after: { state: after.state, poisoned: after.poisoned, inFlight: after.inFlight }, hex };
      });
    },
    check(r, { assert, expectedHex }) {
      assert.equal(r.outcome.ok, false, 'the job failed');
      assert.equal(r.outcome.error.is.PoolOperationError, true, `${r.outcome.error.name}: ${r.outcome.error.message}`);
      assert.equal(r.outcome.error.code, 'POOL_JOB_PANICKED');
      assert.match(r.outcome.error.message, /a conformance panic/);
      assert.deepEqual(r.after, { state: 'running', poisoned: null, inFlight: 0 });
      assert.equal(r.jobsFailed[1], r.jobsFailed[0] + 1);
      assert.equal(r.hex, expectedHex(r));
    },
  },

  {
    name: 'an idle worker killed from outside: seen, the generation poisoned, rebuilt before the next job',
    timeoutMs: 60_000,
    async run(api) {
      const { backend } = api;
      const coordinator = fresh(api);
      const events = [];
      const unsubscribe = backend.workerHost.on((event) => events.push(event));
      const rebuilds = [];
      coordinator.on('recycle', ({ decision, report }) => rebuilds.push({ kind: decision.kind, report: reportOf(report) }));
      const c = PROOF_CASES[1];
      try {
        return await backend.withThreadPool(async () => {
          const { generation } = await api.health();
          const killed = Date.now();
          await backend.workerHost.kill(generation, 0);
          await waitForEvent(events, 'worker-lost', generation);
          const seenMs = Date.now() - killed;
          const poisoned = await api.health();
          const hex = await backend.withThreadPool(() => api.prove(c.k, c.seed));
          const rebuilt = await api.health();
          const lost = events.filter((e) => e.type === 'worker-lost');
          return { ...c, generation, seenMs, lost, afterLoss: afterLoss(poisoned), rebuilds, rebuilt: { state: rebuilt.state, generation: rebuilt.generation }, hex };
        });
      } finally {
        unsubscribe();
      }
    },
    check(r, { assert, expectedHex, platform, log }) {
      assert.equal(r.lost.length, 1, `one loss reported (${JSON.stringify(r.lost)})`);
      assert.equal(r.lost[0].generation, r.generation);
      assert.equal(r.lost[0].index, 0);
      assertPoisonedOrRebuilding(assert, r.afterLoss, r.generation);
      // Node hears the thread end; a browser has no such event, so the kill itself is the loss.
      if (r.afterLoss.state === 'poisoned') {
        assert.match(r.afterLoss.reason, platform === 'node' ? /worker 0: exited with code \d+ while running/ : /worker 0: terminated from outside/);
      }
      assert.deepEqual(r.rebuilds.map((b) => [b.kind, b.report.cause]), [['rebuild', 'poisoned']], 'the coordinator rebuilt the pool once');
      assert.deepEqual(r.rebuilt, { state: 'running', generation: r.generation + 1 });
      assert.equal(r.hex, expectedHex(r), 'the rebuilt pool proves the snapshot bytes');
      log(`idle worker killed: loss seen in ${r.seenMs} ms; rebuild ${r.rebuilds[0].report.totalMs.toFixed(0)} ms`);
    },
  },

  {
    name: 'a worker killed during a proof: the proof completes or fails with POOL_WORKER_LOST within a bound; a rebuilt pool proves',
    timeoutMs: 90_000,
    async run(api) {
      const { backend, errors } = api;
      const coordinator = fresh(api);
      const events = [];
      const unsubscribe = backend.workerHost.on((event) => events.push(event));
      const rebuilds = [];
      coordinator.on('recycle', ({ decision, report }) => rebuilds.push({ kind: decision.kind, cause: report.cause }));
      const K = 10; // ~1 s on 2 workers (longer on a busy machine): a kill 250 ms in lands in the middle
      const c = PROOF_CASES[0];
      // The kill is timed from outside, so on a busy machine it can miss the proof (land before it
      // starts): the loss then says no job was in flight, and the drill is run again on the rebuilt pool.
      const ATTEMPTS = 3;
      try {
        return await backend.withThreadPool(async () => {
          await api.prove(K, 3); // keys, so the next proof is all proving
          const missed = [];
          for (let attempt = 1; ; attempt++) {
            const { generation } = await api.health();
            await backend.workerHost.kill(generation, 1, { afterMs: 250 });
            const started = Date.now();
            const outcome = await settle(backend.withThreadPool(() => api.prove(K, 3)), errors);
            const settledMs = Date.now() - started;
            await waitForEvent(events, 'worker-lost', generation);
            const lost = events.filter((e) => e.type === 'worker-lost' && e.generation === generation);
            const poisoned = await api.health();
            const hex = await backend.withThreadPool(() => api.prove(c.k, c.seed));
            const rebuilt = await api.health();
            if (lost[0]?.jobsInFlight === 0 && attempt < ATTEMPTS) {
              missed.push({ generation, outcome: outcome.ok ? 'ok' : outcome.error.code });
              continue;
            }
            const verified = outcome.ok ? await api.call('fixtureVerify', K, Uint8Array.from(outcome.value.match(/../g), (h) => parseInt(h, 16))) : null;
            return {
              ...c,
              generation,
              attempt,
              missed,
              outcome: outcome.ok ? { ok: true, verified } : outcome,
              settledMs,
              lost,
              afterLoss: afterLoss(poisoned),
              rebuilds,
              rebuilt: { state: rebuilt.state, generation: rebuilt.generation },
              hex,
            };
          }
        });
      } finally {
        unsubscribe();
      }
    },
    check(r, { assert, expectedHex, log }) {
      if (r.outcome.ok) assert.equal(r.outcome.verified, true, 'a proof that completed despite the loss verifies');
      else {
        assert.equal(r.outcome.error.is.PoolWorkerLostError, true, `${r.outcome.error.name}: ${r.outcome.error.message}`);
        assert.equal(r.outcome.error.code, 'POOL_WORKER_LOST');
      }
      assert.ok(r.settledMs < 30_000, `the proof settled in ${r.settledMs} ms`);
      assert.equal(r.lost.length, 1, `one loss reported (${JSON.stringify(r.lost)})`);
      assert.deepEqual([r.lost[0].generation, r.lost[0].index], [r.generation, 1]);
      // What the case is about: the kill landed while the proof ran (in ${r.attempt} attempts).
      assert.ok(r.lost[0].jobsInFlight >= 1, `the kill landed during the proof: ${r.lost[0].jobsInFlight} jobs in flight at the loss (missed before: ${JSON.stringify(r.missed)})`);
      assertPoisonedOrRebuilding(assert, r.afterLoss, r.generation);
      assert.deepEqual(r.rebuilds, Array.from({ length: r.attempt }, () => ({ kind: 'rebuild', cause: 'poisoned' })));
      assert.equal(r.rebuilt.state, 'running');
      assert.ok(r.rebuilt.generation > r.generation, 'a new generation serves');
      assert.equal(r.hex, expectedHex(r), 'the rebuilt pool proves the snapshot bytes');
      log(
        `worker killed 250 ms into a k=10 proof (attempt ${r.attempt}, ${r.lost[0].jobsInFlight} jobs in flight at the loss): ` +
          `${r.outcome.ok ? 'completed' : r.outcome.error.code} after ${r.settledMs} ms; rebuilt`,
      );
    },
  },

  {
    name: 'events: workers started and stopped per generation, the coordinator recycles on its threshold, the worker list',
    timeoutMs: 90_000,
    async run(api) {
      const { backend } = api;
      const coordinator = fresh(api, { maxJobsPerGeneration: 2 });
      const host = [];
      const unsubscribe = backend.workerHost.on((event) => host.push(event));
      const recycles = [];
      const decisions = [];
      coordinator.on('recycle', ({ decision, report }) => recycles.push({ kind: decision.kind, metric: decision.metric, report: reportOf(report) }));
      coordinator.on('decision', ({ decision, trigger }) => decisions.push({ kind: decision.kind, trigger }));
      const c = PROOF_CASES[0];
      try {
        let first = null;
        let last = null;
        const hexes = [];
        const lists = [];
        await backend.withThreadPool(async () => {
          first = (await api.health()).generation;
          for (let i = 0; i < 4; i++) {
            hexes.push(await backend.withThreadPool(() => api.prove(c.k, c.seed)));
            lists.push((await backend.workerHost.list()).map(({ generation, index, state }) => ({ generation, index, state })));
          }
          last = (await api.health()).generation;
        });
        // lifetime 'operation': the pool exits as the last user leaves.
        await waitForEvent(host, 'workers-stopped', last, 30_000);
        const exited = await api.health();
        return { ...c, first, last, hexes, lists, host, recycles, decisions, exitedState: exited.state, state: backend.withThreadPool.state() };
      } finally {
        unsubscribe();
      }
    },
    check(r, { assert, expectedHex, log }) {
      for (const hex of r.hexes) assert.equal(hex, expectedHex(r));
      assert.ok(r.recycles.length >= 1, `the coordinator recycled on its job threshold (${JSON.stringify(r.recycles)})`);
      for (const recycle of r.recycles) {
        assert.equal(recycle.kind, 'recycle');
        assert.equal(recycle.metric, 'generationJobs');
        assert.equal(recycle.report.cause, 'requested');
        assert.deepEqual(recycle.report.workers, { exited: THREADS, forced: 0, reclaimed: 0 });
      }
      assert.ok(r.decisions.some((d) => d.kind === 'recycle' && d.trigger === 'job'), 'a decision event announced the recycle');
      assert.equal(r.last, r.first + r.recycles.length, 'each recycle made one new generation');
      const started = r.host.filter((e) => e.type === 'workers-started');
      const stopped = r.host.filter((e) => e.type === 'workers-stopped');
      for (let generation = r.first; generation <= r.last; generation++) {
        assert.deepEqual(started.filter((e) => e.generation === generation).map((e) => e.threads), [THREADS], `generation ${generation} started once with ${THREADS} workers`);
        const stops = stopped.filter((e) => e.generation === generation);
        assert.equal(stops.length, 1, `generation ${generation} stopped once`);
        assert.deepEqual([stops[0].exited, stops[0].forced], [THREADS, 0], `generation ${generation}'s workers left on their own`);
      }
      for (const list of r.lists) {
        assert.equal(list.length, THREADS, `the supervisor lists the serving generation's workers only (${JSON.stringify(list)})`);
        assert.ok(list.every((w) => w.state === 'running'));
      }
      assert.equal(r.exitedState, 'uninit');
      assert.equal(r.state, 'none');
      log(`generations ${r.first}..${r.last}: ${r.recycles.length} recycles on generationJobs, ${started.length} starts and ${stopped.length} stops reported`);
    },
  },

  {
    name: "a RuntimeError thrown inside run() that is not the instance's passes through as it was; the pool keeps proving",
    timeoutMs: 120_000,
    async run(api) {
      const { backend, errors } = api;
      fresh(api);
      // What user code, or another wasm module's trap, throws: no evidence that the pool's instance trapped.
      const thrown = new WebAssembly.RuntimeError('unreachable');
      let caught = null;
      try {
        await backend.withThreadPool(() => {
          throw thrown;
        });
      } catch (error) {
        caught = error;
      }
      const proof = await settle(backend.withThreadPool(() => api.prove(PROOF_CASES[0].k, PROOF_CASES[0].seed)), errors);
      const health = await api.health();
      return {
        same: caught === thrown,
        isPoolError: caught instanceof errors.PoolError,
        name: caught?.name,
        proof,
        poisoned: health.poisoned,
      };
    },
    check(result, { assert, expectedHex }) {
      assert.equal(result.same, true, `the caller got the RuntimeError it threw (${result.name})`);
      assert.equal(result.isPoolError, false);
      assert.ok(result.proof.ok, `the pool proves after it: ${JSON.stringify(result.proof.error)}`);
      assert.equal(result.proof.value, expectedHex(PROOF_CASES[0]));
      assert.equal(result.poisoned, null, 'poolHealth() answers, nothing poisoned');
    },
  },

  {
    name: 'every export refuses every bad input with a typed error; the instance keeps proving',
    timeoutMs: 300_000,
    async run(api, { expectedProofHex }) {
      const { backend } = api;
      fresh(api);
      backend.configureThreadPool({ lifetime: 'process' });
      await api.call('setPoolLogLevel', 'error');
      try {
        return await runBadInputSuite(
          {
            platform: api.platform,
            call(row, args) {
              if (row.where !== 'backend') return api.callExport(row.name, args);
              if (row.name === 'workerHost.kill') return backend.workerHost.kill(...args);
              if (row.name === 'setNumberOfWorkers') return api.setNumberOfWorkers(...args);
              return backend[row.name](...args);
            },
            prove: () => backend.withThreadPool(() => api.prove(8, 1)),
            health: () => api.health(),
            cloneable: api.cloneable,
          },
          { expectedProofHex },
        );
      } finally {
        await backend.exitThreadPool();
        backend.configureThreadPool({ lifetime: 'operation' });
        await api.call('setPoolLogLevel', 'warn');
      }
    },
    check(result, { assert, log, platform }) {
      log(`bad inputs (${platform}): ${result.calls} calls over ${result.exports} exports, ${result.failures.length} wrong; ${result.proofs} proofs after them equal the snapshot`);
      assert.deepEqual(result.failures, []);
      assert.ok(result.calls > 300, `the table generated ${result.calls} calls`);
    },
  },
];
