// A worker that was terminated (terminate() called) while it still runs wasm
// inside a job must not count as gone, or the job is given up while that
// worker still writes into the caller's frame, and the next call on the same
// thread (the same stack) is corrupted.
//
// `terminate()` takes effect in an instant that nobody can observe, so the
// test holds it (testStrayWriterControl('hold'): the supervisor's terminate()
// then waits, exactly as one that has not taken effect yet) while a job piece
// keeps writing into its caller's stack frame on the terminated worker (the
// stray writer, plonk-wasm/src/test_exports.rs). Then:
// - once the supervisor acted on the kill and every other worker is parked at
//   the generation's fence, the fence is still closed: the loss signal counts
//   those parked workers out, not the terminated one, and the job has not
//   settled (terminate() alone released nothing);
// - the writer is told to stop; its worker then parks at the fence too, and the
//   job settles (completed, or POOL_WORKER_LOST);
// - a later call on the same thread fills the same stack frame with a canary
//   and waits until the writer made two more passes or has stopped for good:
//   the canary is intact;
// - the poisoned pool is rebuilt and proves the snapshot bytes.
// Without the fix (a lost web worker counted as gone on terminate()), the
// fence opens at once, the job fails while the writer runs, and the canary is
// overwritten. No assertion depends on timing: every wait is for a state.
//
// The second test is the evidence path itself, with a real terminate(): the
// job gives up (POOL_WORKER_LOST) only once the browser released the
// terminated worker's Web Lock, instead of waiting forever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness } from './browser.js';
import { PROOF_CASES, expectedProof } from '../node/snapshots.js';
import { EXPECTED_CONSOLE_ERRORS } from '../conformance/cases.js';

test('a worker terminated while it runs wasm in a job does not count as gone: the fence waits, a later call is not corrupted', { timeout: 180_000 }, async () => {
  const harness = await openHarness({ threads: 2, logLevel: 'error' }, { expectedConsoleErrors: EXPECTED_CONSOLE_ERRORS });
  try {
    const c = PROOF_CASES[0];
    const r = await harness.run(
      'the stray writer',
      async (h, { k, seed }) => {
        const { backend, toHex, until } = h;
        const w = backend.wasm;
        const events = [];
        const unsubscribe = backend.workerHost.on((event) => events.push(event));
        try {
          return await backend.withThreadPool(async () => {
            const { generation, threads } = await backend.poolHealth();
            w.testStrayWriterControl('reset');
            w.testStrayWriterControl('hold');
            let settled = null;
            const job = backend.callInWorker('testStrayWriter', 'job').then(
              (value) => (settled = { ok: true, value }),
              (error) => (settled = { ok: false, code: error?.code, message: String(error?.message ?? error) }),
            );
            await until('stray writer running', () => w.testStrayWriterState().running);
            const { worker } = w.testStrayWriterState();
            await backend.workerHost.kill(generation, worker);
            await until('worker-lost event', () => events.some((e) => e.type === 'worker-lost' && e.generation === generation));
            // A round trip: the supervisor has acted on the kill (terminate() called, its evidence rules applied).
            await backend.workerHost.list();
            await until('the other workers parked at the fence', () => w.testLossSignalOut(generation) >= threads - 1);
            await backend.workerHost.list();
            const outWhileWriting = w.testLossSignalOut(generation);
            const settledWhileWriting = settled !== null;
            const before = w.testStrayWriterState();
            await until('two more passes of the writer', () => w.testStrayWriterState().passes >= before.passes + 2);
            const writing = w.testStrayWriterState();
            // Fixed: the job waits for the writer, which is told to stop now. Not fixed: the job already gave up;
            // the later call then runs while the writer still writes (it is stopped after it).
            if (!settledWhileWriting && outWhileWriting < threads) w.testStrayWriterControl('stop');
            await job;
            const stoppedBeforeLaterCall = w.testStrayWriterState().stopped;
            const later = await backend.callInWorker('testStrayWriter', 'canary');
            w.testStrayWriterControl('stop');
            w.testStrayWriterControl('release');
            await until('the writer stopped', () => w.testStrayWriterState().stopped);
            // The coordinator rebuilds the poisoned generation before the next job.
            const proofHex = toHex(await backend.withThreadPool(() => backend.callInWorker('fixtureProve', k, seed)));
            const after = await backend.poolHealth();
            return {
              generation,
              threads,
              worker,
              outWhileWriting,
              settledWhileWriting,
              writerRunningAfterKill: writing.running && !writing.stopped,
              stoppedBeforeLaterCall,
              job: settled,
              later,
              lost: events.filter((e) => e.type === 'worker-lost').map(({ generation, index }) => ({ generation, index })),
              after: { state: after.state, generation: after.generation, poisoned: after.poisoned },
              proofHex,
            };
          });
        } finally {
          unsubscribe();
          w.testStrayWriterControl('stop');
          w.testStrayWriterControl('release');
        }
      },
      { k: c.k, seed: c.seed },
      150_000,
    );
    console.log(`stray writer on worker ${r.worker}: out words while it wrote ${r.outWhileWriting}/${r.threads}; job ${JSON.stringify(r.job)}; later call ${JSON.stringify(r.later)}`);
    assert.ok(r.writerRunningAfterKill, 'the terminated worker kept running wasm (its terminate() had not taken effect)');
    assert.deepEqual(r.lost, [{ generation: r.generation, index: r.worker }], 'the kill was seen as one lost worker');
    assert.equal(r.outWhileWriting, r.threads - 1, 'only the parked workers are out: terminate() alone did not count the writer as gone');
    assert.equal(r.settledWhileWriting, false, 'the fence did not release on terminate() alone: the job waited');
    assert.equal(r.stoppedBeforeLaterCall, true, 'the job settled only after the writer had stopped');
    assert.ok(r.job.ok, `the job's call settled without a JS error (${JSON.stringify(r.job)})`);
    assert.ok([null, 'POOL_WORKER_LOST'].includes(r.job.value.code), `completed or POOL_WORKER_LOST: ${r.job.value.code}`);
    assert.equal(r.later.frame, r.job.value.frame, 'the later call uses the same stack frame as the job');
    assert.equal(r.later.timedOut, false);
    assert.equal(r.later.intact, true, 'nothing wrote into the later call');
    assert.equal(r.after.state, 'running');
    assert.ok(r.after.generation > r.generation, 'the poisoned generation was rebuilt');
    assert.equal(r.proofHex, expectedProof(c).toString('hex'), 'the rebuilt pool proves the snapshot bytes');
  } finally {
    await harness.close();
  }
});

// The evidence path itself: a worker terminated for real while it runs a job
// piece (no hold) never parks and never writes that it left; the job can give
// up only because the browser released the worker's Web Lock once its thread
// stopped, and the supervisor took that as the evidence. The job then fails
// with POOL_WORKER_LOST instead of waiting forever, and the pool rebuilds.
test('a worker terminated for real in the middle of a job is proven gone by its Web Lock: POOL_WORKER_LOST, then a rebuild', { timeout: 180_000 }, async () => {
  const harness = await openHarness({ threads: 2, logLevel: 'error' }, { expectedConsoleErrors: EXPECTED_CONSOLE_ERRORS });
  try {
    const c = PROOF_CASES[0];
    const r = await harness.run(
      'a stray writer terminated for real',
      async (h, { k, seed }) => {
        const { backend, toHex, until } = h;
        const w = backend.wasm;
        try {
          return await backend.withThreadPool(async () => {
            const { generation, threads } = await backend.poolHealth();
            w.testStrayWriterControl('reset');
            w.testStrayWriterControl('release');
            const job = backend.callInWorker('testStrayWriter', 'job').then(
              (value) => ({ ok: true, value }),
              (error) => ({ ok: false, code: error?.code, message: String(error?.message ?? error) }),
            );
            await until('stray writer running', () => w.testStrayWriterState().running);
            const { worker } = w.testStrayWriterState();
            await backend.workerHost.kill(generation, worker);
            const settled = await job;
            const state = w.testStrayWriterState();
            const out = w.testLossSignalOut(generation);
            const proofHex = toHex(await backend.withThreadPool(() => backend.callInWorker('fixtureProve', k, seed)));
            const after = await backend.poolHealth();
            return { generation, threads, settled, writerStopped: state.stopped, out, proofHex, after: { state: after.state, generation: after.generation } };
          });
        } finally {
          w.testStrayWriterControl('stop');
        }
      },
      { k: c.k, seed: c.seed },
      150_000,
    );
    console.log(`terminated for real: job ${JSON.stringify(r.settled)}; out words ${r.out}/${r.threads}`);
    assert.equal(r.writerStopped, false, 'the writer was killed in the middle of its loop: it never left it');
    assert.ok(r.settled.ok, `the job's call settled without a JS error (${JSON.stringify(r.settled)})`);
    assert.equal(r.settled.value.code, 'POOL_WORKER_LOST', 'the job was given up with the typed error');
    assert.equal(r.out, r.threads, 'every worker out: the survivor parked, the terminated one proven gone');
    assert.equal(r.after.state, 'running');
    assert.ok(r.after.generation > r.generation);
    assert.equal(r.proofHex, expectedProof(c).toString('hex'));
  } finally {
    await harness.close();
  }
});
