// isolates: 'auto' (bindings-js/isolates/auto-split.ts): one isolate per core while free memory
// holds them and a replacement's successor, the cores left over as threads; and the Node adapter
// resolving it on this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { GiB, load, within } from './lib.js';

const { autoSplit, DEFAULT_ISOLATE_BUDGET_BYTES } = await load('auto-split.js');
const { createProverPool } = await load('node.js');
const OPTS = { timeout: 60_000 };
const split = (cores, freeGiB, budgetGiB = 1.5, threads = null) => {
  const { isolates, threadsPerIsolate } = autoSplit({ cores, freeMemoryBytes: freeGiB === null ? null : freeGiB * GiB }, budgetGiB * GiB, threads);
  return `${isolates}x${threadsPerIsolate}`;
};

test('one isolate per core while memory holds every isolate and a successor; cores left over become threads', OPTS, () => {
  assert.equal(split(2, 24), '2x1', 'this machine: the split the benchmark measured best (2 × 1 over 1 × 2)');
  assert.equal(split(8, null), '8x1', 'memory unknown: cores decide');
  assert.equal(split(8, 4), '1x8', '4 GiB holds one 1.5 GiB isolate besides a successor: it gets every core');
  assert.equal(split(8, 7.5), '4x2', 'room for 4 and a successor: 2 threads each');
  assert.equal(split(3, 6), '3x1');
  assert.equal(split(3, 4.5), '2x1', 'two isolates on three cores: one thread each (a thread of three cores would oversubscribe)');
  assert.equal(split(2, 1.5), '1x2', 'a 2 GB box: one isolate, never none');
  assert.equal(split(1, 0), '1x1');
  assert.equal(split(4, 24, 1.5, 2), '2x2', 'threads fixed by the caller: only the isolate count is chosen');
  assert.equal(split(128, null), '64x2', "the pool's bound of 64 isolates");
  assert.equal(split(4, 24, 0.25), '4x1', 'a smaller budget (memoryMaximumBytes)');
  assert.equal(DEFAULT_ISOLATE_BUDGET_BYTES, 1.5 * GiB);
  assert.match(autoSplit({ cores: 2, freeMemoryBytes: 24 * GiB }, 1.5 * GiB).reason, /2 core\(s\), 24.0 GiB free holds 15 isolate\(s\) of 1.50 GiB besides a replacement's: 2 isolate\(s\) × 1 thread\(s\)/);
});

test("createProverPool({ isolates: 'auto' }) on Node resolves the split from this machine's cores and free memory", OPTS, async () => {
  const pool = await within(30_000, 'the pool to start', createProverPool({ module: new URL('./fixtures/threads-prover.js', import.meta.url), isolates: 'auto', idleCheckIntervalMs: 60_000 }));
  try {
    const { isolates, threadsPerIsolate, minIsolates } = pool.config;
    const cores = os.availableParallelism();
    assert.ok(isolates >= 1 && isolates <= cores, `${isolates} isolates on ${cores} cores`);
    assert.equal(threadsPerIsolate, Math.max(1, Math.floor(cores / isolates)));
    assert.equal(minIsolates, isolates, 'minIsolates follows the chosen count');
    assert.equal((await pool.health()).isolates.length, isolates);
    assert.deepEqual(await pool.run('threads', {}), { workers: threadsPerIsolate }, "each isolate's o1js got the chosen thread count");
  } finally {
    await pool.close();
  }
});
