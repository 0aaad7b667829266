// One prover process for the benchmark: loads a staged build of the node
// backend (build/o1js/<variant>, as o1js would load it) and answers the
// orchestrator's requests over IPC, one at a time. Each measurement runs in
// its own process so that every figure starts from a fresh instance.
//
//   node bench/probe.js <variant>     (forked by bench/run.js)
// Requests: { id, op, args }; replies: { id, ok, value } or { id, ok: false, error }.
import { setImmediate as yieldToLoop } from 'node:timers/promises';

const variant = process.argv[2] ?? 'node';
const stage = new URL(`../build/o1js/${variant}/`, import.meta.url);
const backend = await import(new URL('bindings/js/node/node-backend.js', stage).href);
const { setNumberOfWorkers } = await import(new URL('lib/proof-system/workers.js', stage).href);
const { wasm, withThreadPool, poolHealth, recycleThreadPool } = backend;
// 'error': an upstream-style teardown forces every worker by design, and each
// recycle would log that; our own forced workers are counted from the reports.
wasm.setPoolLogLevel('error');

let endSession = null;
let session = null;

const memory = () => {
  const { linearBytes, allocatorLiveBytes } = poolHealth().memory;
  return { linearBytes, allocatorLiveBytes };
};
const phases = ({ startMs, drainMs, exitMs, totalMs, workers }) => ({ startMs, drainMs, exitMs, totalMs, workers });

const operations = {
  /**
   * Opens a long-lived session (the pool stays up between requests) with
   * `threads` workers and the given teardown ('destroy' ours, 'terminate'
   * upstream's order). The coordinator still checks before every job, but
   * never recycles on its own.
   */
  async start({ threads, teardown = 'destroy' }) {
    backend.configureThreadPool({ teardown });
    backend.configurePoolHealth({ cooldownMs: 0, maxLinearMemoryFraction: 1 });
    setNumberOfWorkers(threads);
    let opened;
    const ready = new Promise((resolve) => (opened = resolve));
    session = withThreadPool(async () => {
      opened();
      await new Promise((resolve) => (endSession = resolve));
    });
    await ready;
    return { threads: poolHealth().threads, instrumented: poolHealth().memory.allocations > 0 };
  },

  /** `count` recycles one after the other (to `threads` workers if given): phases and memory around them. */
  async recycles({ count, threads }) {
    const before = memory();
    const reports = [];
    for (let i = 0; i < count; i++) reports.push(phases(await recycleThreadPool(threads ? { threads } : undefined)));
    return { reports, before, after: memory(), threads: poolHealth().threads };
  },

  /**
   * `count` recycles with a standby generation (configureThreadPool({ standby: true })):
   * before each, waits until the standby is ready, as a service whose recycles are
   * spaced out finds it, so each recycle only swaps. `wallMs`: the caller's wait for
   * `recycleThreadPool()`. `standbyCost`: process RSS and linear memory with a ready
   * standby against the same pool with the standby turned off (its workers gone),
   * the mean of 5 on/off pairs. Leaves the standby off.
   */
  async standbyRecycles({ count }) {
    const until = async (what, condition) => {
      const deadline = Date.now() + 60_000;
      while (!condition(poolHealth())) {
        if (Date.now() > deadline) throw new Error(`no ${what} after 60 s: ${JSON.stringify(poolHealth().standby)}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const ready = () => until('ready standby', (h) => h.standby?.phase === 'ready');
    const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
    const sample = () => ({ rss: process.memoryUsage().rss, linear: poolHealth().memory.linearBytes });
    backend.configureThreadPool({ standby: true });
    const reports = [];
    const wallMs = [];
    for (let i = 0; i < count; i++) {
      await ready();
      const began = performance.now();
      const report = await recycleThreadPool();
      wallMs.push(performance.now() - began);
      if (!report.standby) throw new Error(`recycle ${i} did not swap in the standby: ${JSON.stringify(report)}`);
      reports.push(phases(report));
    }
    const on = [];
    const off = [];
    for (let pair = 0; pair < 5; pair++) {
      backend.configureThreadPool({ standby: true });
      await ready();
      await settle();
      on.push(sample());
      backend.configureThreadPool({ standby: false });
      await until('retired standby', (h) => h.standby === null);
      await settle();
      off.push(sample());
    }
    const mean = (xs, key) => xs.reduce((sum, x) => sum + x[key], 0) / xs.length;
    return {
      reports,
      wallMs,
      standbyCost: { rssBytes: mean(on, 'rss') - mean(off, 'rss'), linearBytes: mean(on, 'linear') - mean(off, 'linear') },
    };
  },

  /**
   * Availability: during each of `recycles` recycles, submits tiny pool jobs
   * (one allocation in a job) one after another, yielding to the event loop
   * between them so the recycle makes progress, and times each from
   * submission to its result. The same number of jobs is timed with no
   * recycle in progress just before, as the reference.
   */
  async availability({ recycles }) {
    const during = [];
    const idle = [];
    const phasesSeen = { starting: 0, retiring: 0 };
    const job = async () => {
      const submitted = performance.now();
      await withThreadPool(async () => wasm.testAllocateInJob(64));
      return performance.now() - submitted;
    };
    for (let r = 0; r < recycles; r++) {
      let done = false;
      const recycling = recycleThreadPool().finally(() => (done = true));
      let taken = 0;
      while (!done) {
        const phase = poolHealth().recycle?.phase;
        if (phase) phasesSeen[phase]++;
        during.push(await job());
        taken++;
        await yieldToLoop();
      }
      await recycling;
      for (let i = 0; i < taken; i++) {
        idle.push(await job());
        await yieldToLoop();
      }
    }
    return { during, idle, phasesSeen };
  },

  /**
   * One fixture proof of size `k`, timed; 'withThreadPool' goes through the
   * backend (coordinator check first), 'direct' calls the export inside the
   * session, as an uninstrumented baseline would. Wall and CPU time (the
   * whole process); the proof is verified after the clocks stop.
   */
  async prove({ k, seed, via }) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const proof = via === 'direct' ? wasm.fixtureProve(k, seed) : await withThreadPool(async () => wasm.fixtureProve(k, seed));
    const ms = performance.now() - started;
    // The whole process's CPU time (every thread's), what the proof cost the machine.
    const { user, system } = process.cpuUsage(cpu);
    return { ms, cpuMs: (user + system) / 1000, verified: wasm.fixtureVerify(k, proof), threads: poolHealth().threads };
  },

  health: () => poolHealth(),

  /** Ends the session and the process. */
  async stop() {
    endSession?.();
    await session;
    return true;
  },
};

process.on('message', async ({ id, op, args }) => {
  try {
    const value = await operations[op](args ?? {});
    process.send({ id, ok: true, value });
    if (op === 'stop') {
      await yieldToLoop();
      process.disconnect();
      // The backend's unref'd supervisor can still hold a ref'd message port
      // (a 'message' listener added after unref() re-refs it in Node 20).
      process.exit(0);
    }
  } catch (error) {
    process.send({ id, ok: false, error: `${error?.code ? `[${error.code}] ` : ''}${error?.stack ?? error}` });
  }
});
process.send({ ready: true, variant });
