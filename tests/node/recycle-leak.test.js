// 500 recycles of 2 workers on a fresh instance: linear memory must not grow
// by more than 1 MiB in total after warm-up (workers leave Rayon's loop and
// free their stack and TLS with __wbindgen_thread_destroy). What still leaks
// is printed: ~1.8 KB per worker per recycle, the thread-local state whose
// destructors std never runs on wasm threads (docs/internals.md). The old
// workers' OS threads, which a recycle does not wait for once they left wasm,
// must all end (the process's thread count, Linux). For contrast, the same
// loop with upstream's teardown order (stop the workers while they sleep in
// Rayon's loop, then drop the pool; no thread destroy), fewer times, printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProverHost, MiB, mib } from './backend.js';

const WARM_UP = 20;
const RECYCLES = 500;
// Upstream's order leaks a worker stack (about 4 MiB) per recycle: 500 of them
// drove linear memory into the 2 GiB ceiling, where worker starts failed and
// V8 once aborted the whole test process. 60 show the leak with room to spare.
const CONTRAST_RECYCLES = 60;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

async function measure(teardown, count) {
  const { host, ask } = await startProverHost('node');
  try {
    const reply = await ask({ op: 'recycles', warmUp: WARM_UP, count, teardown }, 240_000);
    assert.ok(reply.ok, `${teardown}: ${reply.message}`);
    return reply.value;
  } finally {
    await host.terminate();
  }
}

test(`${RECYCLES} recycles grow linear memory by at most 1 MiB; upstream's teardown for contrast`, { timeout: 600_000 }, async () => {
  const ours = await measure('destroy', RECYCLES);
  console.log(
    `destroy (ours): ${RECYCLES} recycles after ${WARM_UP} warm-up: linear memory +${mib(ours.linearGrowthBytes)} ` +
      `(${ours.linearGrowthBytes} bytes, now ${mib(ours.linearBytes)}), allocator live +${ours.allocatorLiveGrowthBytes} bytes ` +
      `(${(ours.allocatorLiveGrowthBytes / RECYCLES / ours.threads).toFixed(0)} bytes per worker per recycle); ` +
      `recycle median ${median(ours.totalsMs).toFixed(1)} ms, p99 ${percentile(ours.totalsMs, 0.99).toFixed(1)} ms; forced exits ${ours.forced}`,
  );
  assert.equal(ours.failure, null);
  assert.equal(ours.completed, RECYCLES);
  assert.equal(ours.forced, 0, 'every worker exited on its own');
  assert.ok(ours.linearGrowthBytes <= MiB, `linear memory grew ${ours.linearGrowthBytes} bytes over ${RECYCLES} recycles (at most 1 MiB)`);
  // The recycles did not wait for the old threads to end, only for them to leave wasm: they must end all the same.
  const { before, after } = ours.osThreads;
  if (before === null) console.log('OS thread count not readable here (no /proc): not checked');
  else {
    console.log(`OS threads: ${before} before the ${RECYCLES} recycles, ${after} after them`);
    assert.ok(after <= before + ours.threads, `the old generations' threads end: ${before} OS threads before ${RECYCLES} recycles, ${after} 15 s after (at most ${before + ours.threads})`);
  }

  const upstream = await measure('terminate', CONTRAST_RECYCLES);
  const perRecycle = upstream.linearGrowthBytes / Math.max(1, upstream.completed);
  console.log(
    `upstream's order (terminate, no destroy): ${upstream.completed} of ${CONTRAST_RECYCLES} recycles after ${WARM_UP} warm-up: ` +
      `linear memory +${mib(upstream.linearGrowthBytes)} (${mib(perRecycle)} per recycle); recycle median ${median(upstream.totalsMs).toFixed(1)} ms` +
      (upstream.failure ? `; stopped: ${upstream.failure}` : ''),
  );
  // The contrast must show what destroying thread state saves, or the comparison means nothing.
  assert.ok(perRecycle > 1 * MiB, `terminating without destroy leaks at least a stack per recycle (${mib(perRecycle)})`);
});
