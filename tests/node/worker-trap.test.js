// Traps (a wasm `unreachable`, not a panic), on a pool worker and on the
// calling thread. Under wasm-bindgen 0.2.106 (upstream's pin) a trap ends only
// the thread it happens on:
//   - on a pool worker, that worker is lost: the job fails with
//     POOL_WORKER_LOST in bounded time (or completes), the generation is
//     poisoned and rebuilt, and the same instance proves again;
//   - on the calling thread, the call's Rust frames are abandoned with any
//     lock they held, so the backend refuses every later call at once with
//     POOL_INSTANCE_TERMINATED instead of risking one that waits forever. The
//     mitigation (docs/internals.md, "Worker death and traps"): host the prover in a
//     worker thread or process and replace it on that error;
//   - a RuntimeError that is not the instance's (user code inside run(),
//     another wasm module's trap) is no such evidence: it reaches the caller
//     as it was thrown, and the pool keeps proving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProverHost as startHost } from './backend.js';
import { PROOF_CASES, expectedProof } from './snapshots.js';

const c = PROOF_CASES[0];

test('a trap on a pool worker loses that worker only: typed error in bounded time, the same instance proves again', { timeout: 120_000 }, async () => {
  const host = await startHost();
  try {
    const before = await host.ask({ op: 'prove', ...c });
    assert.ok(before.ok, `the first proof works: ${before.message}`);
    assert.deepEqual(Buffer.from(before.value, 'hex'), expectedProof(c));

    const trapped = await host.ask({ op: 'trap' });
    assert.equal(trapped.ok, false);
    assert.equal(trapped.code, 'POOL_WORKER_LOST', `got ${trapped.name}: ${trapped.message}`);
    assert.match(trapped.message, /unreachable/, 'the reason names the trap');

    const after = await host.ask({ op: 'prove', ...c });
    assert.ok(after.ok, `the same instance proves after the rebuild: ${after.message}`);
    assert.deepEqual(Buffer.from(after.value, 'hex'), expectedProof(c));
    const health = await host.ask({ op: 'health' });
    assert.ok(health.ok, health.message);
    assert.equal(health.value.poisoned, null, 'no poisoned generation is left');
    assert.ok(health.value.jobsFailed >= 1, 'the trapped job counts as failed');
    console.log(
      `trap on a worker: POOL_WORKER_LOST after ${trapped.ms.toFixed(0)} ms; the next proof (after the rebuild) took ${after.ms.toFixed(0)} ms`,
    );
  } finally {
    await host.host.terminate();
  }
});

test('a trap on the calling thread: POOL_INSTANCE_TERMINATED at once and for every later call, never a hang; a new host proves', { timeout: 120_000 }, async () => {
  const first = await startHost();
  try {
    const trapped = await first.ask({ op: 'trap-caller' });
    assert.equal(trapped.ok, false);
    assert.equal(trapped.code, 'POOL_INSTANCE_TERMINATED', `got ${trapped.name}: ${trapped.message}`);
    assert.match(trapped.message, /restart the process, or the worker that hosts the prover/);

    for (const op of ['prove', 'health']) {
      const refused = await first.ask({ op, ...c });
      assert.equal(refused.ok, false, `${op} is refused after the trap`);
      assert.equal(refused.code, 'POOL_INSTANCE_TERMINATED', `${op}: got ${refused.name}: ${refused.message}`);
      assert.ok(refused.ms < 5_000, `${op} was refused at once (${refused.ms.toFixed(0)} ms)`);
    }
  } finally {
    await first.host.terminate();
  }
  const second = await startHost();
  try {
    const again = await second.ask({ op: 'prove', ...c });
    assert.ok(again.ok, `a new host proves: ${again.message}`);
    assert.deepEqual(Buffer.from(again.value, 'hex'), expectedProof(c));
  } finally {
    await second.host.terminate();
  }
});

test("a trap of another wasm module inside run() is the caller's error, not the instance's: it passes through and the pool keeps proving", { timeout: 120_000 }, async () => {
  const host = await startHost();
  try {
    const trapped = await host.ask({ op: 'foreign-trap' });
    assert.equal(trapped.ok, false);
    assert.equal(trapped.isRuntimeError, true, `the RuntimeError as it was thrown: ${trapped.name}: ${trapped.message}`);
    assert.equal(trapped.code, undefined, 'not mapped to a pool error');
    assert.match(trapped.message, /unreachable/);
    for (let i = 0; i < 2; i++) {
      const after = await host.ask({ op: 'prove', ...c });
      assert.ok(after.ok, `the instance proves after the foreign trap: ${after.code} ${after.message}`);
      assert.deepEqual(Buffer.from(after.value, 'hex'), expectedProof(c));
    }
    const health = await host.ask({ op: 'health' });
    assert.ok(health.ok, `poolHealth() works: ${health.message}`);
    assert.equal(health.value.poisoned, null);
  } finally {
    await host.host.terminate();
  }
});
