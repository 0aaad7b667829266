// Every thread of a pool instantiates the one module its owner compiled
// (node-backend.js `loadGlue`): V8 keeps a module's machine code, and tiers it
// up, once per module object, so a thread that compiled its own copy would
// hold kimchi's code again; and a thread that read the wasm file would hold
// its bytes (a Rayon worker, in wasm from its start, never frees them).
// Counted, not timed: a child process with a preload that logs each thread's
// compile of a large module and read of a large wasm file proves, recycles and
// proves again; only its main thread may have read or compiled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

test("the supervisor and every Rayon worker, across a recycle, use the main thread's compiled module and do not read the wasm file", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'plonk-wasm-compiles-'));
  try {
    const log = join(dir, 'compiles');
    const child = spawnSync(process.execPath, ['--require', here('./count-compiles.cjs'), here('./prove-and-recycle.mjs')], {
      env: { ...process.env, COMPILES_LOG: log },
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.equal(child.status, 0, `the child failed: ${child.stderr}`);
    assert.match(child.stdout, /proved, recycled to generation \d+ with 2 workers, proved/);
    const events = readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(events, ['read 0', 'compile 0'], `reads and compiles by thread id: ${events.join(', ')} (0 is the main thread)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
