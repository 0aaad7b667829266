// scripts/install-o1js.sh, the in-place install for an app that keeps npm's
// o1js: into a copy of the stock app (npm's o1js 2.15.0), --check says it
// applies, the installed o1js runs the pool (its files are staged by the same
// code as the package's, which the other tests prove with), a second install
// does nothing, and --revert leaves o1js exactly as npm left it: the same
// folders, the same files, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STOCK } from '../o1js/apps.js';
import { APPS, MINUTES, ROOT, command, freshApp, succeed } from './lib.js';

const PROOF_SYSTEMS = process.env.PROOF_SYSTEMS ?? join(ROOT, '../shared/upstream/proof-systems-89edaa3204.tar.gz');
const INSTALL = join(ROOT, 'scripts/install-o1js.sh');

/** Every folder and file under `dir`: `path/` for a folder, `path sha256` for a file. */
function tree(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    const name = path.slice(base.length + 1);
    if (entry.isDirectory()) return [`${name}/`, ...tree(path, base)];
    return [`${name} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`];
  }).sort();
}

test("install-o1js.sh into npm's o1js: applies, runs and recycles the pool; a second run does nothing; --revert leaves every folder and file as npm left it", { timeout: 30 * MINUTES }, async () => {
  const app = freshApp(join(APPS, 'in-place'), JSON.parse(readFileSync(join(STOCK, 'package.json'), 'utf8')), null);
  cpSync(join(STOCK, 'node_modules'), join(app, 'node_modules'), { recursive: true });
  const o1js = join(app, 'node_modules/o1js');
  const npmTree = tree(o1js);

  const check = await succeed(INSTALL, [o1js, '--check'], { cwd: ROOT });
  assert.match(check.stdout, /applicable/);
  const installed = await succeed(INSTALL, [o1js, '--proof-systems', PROOF_SYSTEMS], { cwd: ROOT, timeoutMs: 25 * MINUTES });
  assert.match(installed.stderr, /applied to o1js 2\.15\.0/);
  assert.match((await succeed(INSTALL, [o1js, '--check'], { cwd: ROOT })).stdout, /^ {2}applied$/m);
  const again = await succeed(INSTALL, [o1js, '--proof-systems', PROOF_SYSTEMS], { cwd: ROOT, timeoutMs: 10 * MINUTES });
  assert.match(again.stderr, /already applied/);

  // The installed o1js's pool, through its own entries: started by an operation, recycled, read.
  const probe = [
    "import { Field } from 'o1js';",
    "import { loadPoolBackend, withThreadPool, recycleThreadPool, poolHealth } from 'o1js/pool';",
    "const { createProverPool } = await import('o1js/isolates');",
    'await loadPoolBackend();',
    'const sum = await withThreadPool()(async () => Field(2).add(3).toString());',
    'const report = await recycleThreadPool({ threads: 2 });',
    'const health = await poolHealth();',
    "console.log(JSON.stringify({ sum, from: report.fromGeneration, to: report.toGeneration, state: health.state, threads: health.threads, isolates: typeof createProverPool }));",
  ].join('\n');
  // A file, as an app runs: Node hands `--input-type` (from `node --input-type=module -e`) to every worker thread, which refuse it.
  writeFileSync(join(app, 'pool-probe.mjs'), `${probe}\n`);
  const { stdout } = await succeed(process.execPath, ['pool-probe.mjs'], { cwd: app, timeoutMs: 5 * MINUTES });
  const seen = JSON.parse(stdout.trim().split('\n').at(-1));
  assert.deepEqual(seen, { sum: '5', from: seen.from, to: seen.from + 1, state: 'running', threads: 2, isolates: 'function' }, 'the in-place o1js runs the pool and its recycles');

  const reverted = await succeed(INSTALL, [o1js, '--revert'], { cwd: ROOT });
  assert.match(reverted.stderr, /reverted o1js 2\.15\.0/);
  const after = tree(o1js);
  const added = after.filter((line) => !npmTree.includes(line));
  const missing = npmTree.filter((line) => !after.includes(line));
  assert.deepEqual({ added, missing }, { added: [], missing: [] }, 'o1js after --revert is npm\'s, folder for folder and byte for byte');
  const notApplied = await command(INSTALL, [o1js, '--revert'], { cwd: ROOT });
  assert.equal(notApplied.code, 7, 'a second --revert: not patched (exit 7)');
  rmSync(app, { recursive: true, force: true });
  console.log(`[package/in-place] install ${(installed.ms / 1000).toFixed(1)} s (kimchi-wasm from the cache), pool recycled generation ${seen.from} → ${seen.to}, revert ${(reverted.ms / 1000).toFixed(1)} s; ${npmTree.length} entries restored`);
});
