// A trap on a pool worker (a wasm `unreachable`, not a panic). Unlike a panic
// or an out-of-memory, a trap cannot be contained in the instance:
// wasm-bindgen marks the whole instance terminated in shared memory, and every
// later call into it, from any thread, throws "Module terminated". So:
//   - the call in flight fails at once with POOL_INSTANCE_TERMINATED (it does
//     not hang: the supervisor still sees the worker fail);
//   - every later operation fails the same way; no rebuild is possible in the
//     same instance.
// The mitigation (README, "Worker death and traps"): host the prover in a
// worker thread or process and replace it on POOL_INSTANCE_TERMINATED. This
// test does exactly that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProverHost as startHost } from './backend.js';
import { PROOF_CASES, expectedProof } from './snapshots.js';

test('a trap terminates the instance: typed error at once, never a hang; a new host proves again', { timeout: 120_000 }, async () => {
  const c = PROOF_CASES[0];
  const first = await startHost();
  const before = await first.ask({ op: 'prove', ...c });
  assert.ok(before.ok, `the first proof works: ${before.message}`);
  assert.deepEqual(Buffer.from(before.value, 'hex'), expectedProof(c));

  const trapped = await first.ask({ op: 'trap' });
  assert.equal(trapped.ok, false);
  assert.equal(trapped.code, 'POOL_INSTANCE_TERMINATED', `got ${trapped.name}: ${trapped.message}`);
  assert.match(trapped.message, /restart the process, or the worker that hosts the prover/);

  const after = await first.ask({ op: 'prove', ...c });
  assert.equal(after.ok, false, 'the terminated instance cannot prove again');
  assert.equal(after.code, 'POOL_INSTANCE_TERMINATED');
  await first.host.terminate();

  const second = await startHost();
  const again = await second.ask({ op: 'prove', ...c });
  assert.ok(again.ok, `a new host proves: ${again.message}`);
  assert.deepEqual(Buffer.from(again.value, 'hex'), expectedProof(c));
  await second.host.terminate();
  console.log(
    `trap on a worker: POOL_INSTANCE_TERMINATED after ${trapped.ms.toFixed(0)} ms; the next call failed in ${after.ms.toFixed(0)} ms; ` +
      `a new prover host proved in ${again.ms.toFixed(0)} ms`,
  );
});
