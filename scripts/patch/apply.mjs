// The engine behind scripts/apply-patches.sh (its header documents the CLI,
// the exit codes and the guarantees; patches/README.md the data it reads).
//   node scripts/patch/apply.mjs TARGET [--check | --dry-run | --revert]
// Plain Node.js (>= 20), no dependencies.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseHunk, applyHunk, PatchSetError } from './hunk.mjs';
import { loadManifest } from './manifest.mjs';
import { InstallStateError, TransactionError, exists, fileSha, openInstall, readFile, sha256 as sha, statFile } from '../lib/transaction.mjs';

if (Number(process.versions.node.split('.')[0]) < 20) {
  fs.writeSync(2, `ERROR: scripts/apply-patches.sh needs Node.js >= 20 (this is ${process.version})\n`);
  process.exit(10);
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PATCHES = path.join(ROOT, 'patches');
const STATE_NAME = '.plonk-wasm-pool-patch';

// Synchronous writes: nothing is lost when process.exit follows.
const stdout = (s) => fs.writeSync(1, `${s}\n`);
const stderr = (s) => fs.writeSync(2, `${s}\n`);
const info = (s) => stderr(`INFO: ${s}`);
const warning = (s) => stderr(`WARNING: ${s}`);
function die(code, message) {
  stderr(`ERROR: ${message}`);
  process.exit(code);
}

// ------------------------------------------------------------------- helpers
const hunkCache = new Map();
function hunk(name) {
  if (!hunkCache.has(name)) {
    hunkCache.set(name, parseHunk(fs.readFileSync(path.join(PATCHES, 'hunks', name), 'utf8'), `patches/hunks/${name}`));
  }
  return hunkCache.get(name);
}
function runHunk(name, buf, filePath, upstream) {
  const input = buf.toString('utf8');
  return applyHunk(hunk(name), input, {
    path: filePath,
    name: `patches/hunks/${name}`,
    upstream: upstream ? upstream.toString('utf8') : input,
  });
}

// ---------------------------------------------------------------------- CLI
function usage() {
  die(2, 'usage: scripts/apply-patches.sh TARGET [--check | --dry-run | --revert]');
}
let mode = 'apply';
let targetArg = null;
for (const arg of process.argv.slice(2)) {
  if (arg === '--check' || arg === '--dry-run' || arg === '--revert') {
    if (mode !== 'apply') usage();
    mode = arg.slice(2);
  } else if (arg === '-h' || arg === '--help') {
    const header = fs.readFileSync(path.join(ROOT, 'scripts/apply-patches.sh'), 'utf8').split('\n');
    const end = header.findIndex((l, i) => i > 0 && !l.startsWith('#'));
    stderr(header.slice(1, end).join('\n'));
    process.exit(0);
  } else if (arg.startsWith('-')) usage();
  else {
    if (targetArg !== null) usage();
    targetArg = arg;
  }
}
if (targetArg === null) usage();
{
  let st = null;
  try { st = fs.statSync(targetArg); } catch { /* missing */ }
  if (!st || !st.isDirectory()) die(3, `TARGET '${targetArg}' does not exist or is not a directory`);
}
const TARGET = path.resolve(targetArg);
if (TARGET === ROOT) die(4, 'TARGET is this repository; give an upstream checkout');
const T = (p) => path.join(TARGET, p);

// --------------------------------------------------------------------- state
// TARGET/.plonk-wasm-pool-patch/, written by the shared installer
// (scripts/lib/transaction.mjs, whose header has the format): the originals,
// the sha256 of what was installed, the layout (meta.layout) and this
// repository's revision (meta.source). Files with `installed: null` are
// records (Cargo.lock): --revert puts upstream's back whatever they hold.
let install;
try {
  install = openInstall(TARGET, { name: STATE_NAME, tool: 'scripts/apply-patches.sh' });
} catch (e) {
  if (e instanceof InstallStateError) die(8, e.message);
  throw e;
}
/** The recorded items (installed files) and records (kept as they were), by path. */
function recorded() {
  const items = new Map();
  const records = new Map();
  for (const [p, f] of install.state?.files ?? []) (f.installed === null ? records : items).set(p, f);
  return { layout: install.state?.meta.layout ?? '', items, records };
}
// For tests: fail the commit after N files, or stop there like a kill.
const inject = process.env.PLONK_WASM_PATCH_FAIL_AFTER === undefined ? undefined : {
  after: Number(process.env.PLONK_WASM_PATCH_FAIL_AFTER),
  crash: process.env.PLONK_WASM_PATCH_CRASH === '1',
  label: 'PLONK_WASM_PATCH_FAIL_AFTER',
};
/** Runs a commit or revert of the shared installer; a failure was rolled back (exit 8). */
async function transaction(run) {
  try {
    return await run({ inject, warn: (m) => stderr(`ERROR: ${m}`), onFailure: (e) => stderr(`ERROR: ${e.message}`) });
  } catch (e) {
    if (e instanceof InstallStateError) die(8, e.message);
    if (!(e instanceof TransactionError)) throw e;
    if (e.crashed) {
      stderr(`ERROR: ${e.message}`);
      process.exit(8);
    }
    if (!e.rolledBack) die(8, e.message);
    die(8, `nothing was changed in ${TARGET}: every file written so far was restored`);
  }
}

// ---------------------------------------------------------------------- main
try {
  await main();
} catch (e) {
  if (e instanceof PatchSetError) die(9, e.message);
  throw e;
}

async function main() {
  if (install.interrupted) {
    if (mode === 'apply' || mode === 'revert') {
      info('a previous run was interrupted: restoring the files it changed');
      try {
        install.recover({ warn: (m) => stderr(`ERROR: ${m}`) });
      } catch (e) {
        if (e instanceof TransactionError || e instanceof InstallStateError) die(8, e.message);
        throw e;
      }
    } else {
      die(8, `a previous run on ${TARGET} was interrupted; run apply or --revert to roll it back first`);
    }
  }
  const state = recorded();
  if (mode === 'revert') return revert(state);

  let layout = state.layout;
  if (layout) {
    if (!exists(path.join(PATCHES, 'layouts', `${layout}.manifest`))) {
      die(9, `${TARGET} was patched as layout ${layout}, which this repository no longer has; revert it with the revision that patched it`);
    }
  } else {
    layout = detectLayout();
  }
  const manifest = loadManifest(path.join(PATCHES, 'layouts', `${layout}.manifest`), ROOT, { verify: true });
  info(`layout ${layout}: ${manifest.description}`);

  // The era of the tree (e.g. where its wasm flags are set), read from
  // upstream's file; items marked `if ERA` / `unless ERA` follow it.
  const eras = new Map();
  for (const era of manifest.eras) {
    const up = install.upstream(era.file);
    const holds = up !== null && typeof up === 'object' && runHunk(era.hunk, up.buf, era.file).ok;
    eras.set(era.name, holds);
    const note = holds ? era.notes.yes : era.notes.no;
    if (note && up !== null && typeof up === 'object') info(`era: ${note}`);
  }
  const items = manifest.items.filter((i) => !i.when || eras.get(i.when.era) === i.when.holds);

  // Items recorded by an earlier version of this repository but no longer in
  // the manifest go back to their originals.
  const inManifest = new Set(items.map((i) => i.dest));
  for (const p of state.items.keys()) if (!inManifest.has(p)) items.push({ kind: 'stale', dest: p });
  for (const p of state.records.keys()) if (!inManifest.has(p)) items.push({ kind: 'stale-record', dest: p });

  const results = items.map((item) => evaluate(item, state));
  const count = (...s) => results.filter((r) => s.includes(r.status)).length;
  const conflicts = count('conflicting');
  const modified = count('modified');
  const changes = count('applicable', 'outdated');

  // What the patch does to version pins, and why (in apply mode, once done).
  const reportPins = (pending) => {
    for (const r of results) {
      for (const n of r.notes ?? []) {
        if (n.action === 'move') info(`pin: ${r.item.dest}: ${r.status === 'applied' ? 'moved' : pending} ${n.text}`);
        else if (n.level === 'warning') warning(`pin: ${r.item.dest}: ${n.text}`);
        else info(`pin: ${r.item.dest}: ${n.text}`);
      }
    }
  };
  if (mode !== 'apply') reportPins('will move');

  if (mode === 'check') {
    for (const r of results) stdout(`${r.status.padEnd(12)} ${r.item.dest}  [${r.note}]`);
    if (modified) die(6, `${modified} patched file(s) modified after patching`);
    if (conflicts) die(5, `${conflicts} item(s) conflict: apply would refuse`);
    info(changes === 0 ? 'everything is applied' : `${changes} item(s) to apply, none in the way`);
    return;
  }

  if (modified || conflicts) {
    for (const r of results) {
      if (r.status === 'conflicting' || r.status === 'modified') stderr(`ERROR: ${r.status}: ${r.item.dest}: ${r.note}`);
    }
    if (modified) die(6, `refusing to patch: ${modified} patched file(s) changed since they were patched; nothing was changed`);
    die(5, `refusing to patch: ${conflicts} item(s) conflict; nothing was changed`);
  }
  if (changes === 0) {
    if (mode === 'apply') reportPins('moved');
    info(`already applied: nothing changed in ${TARGET}`);
    return;
  }

  if (mode === 'dry-run') {
    for (const r of results) {
      if (r.status !== 'applicable' && r.status !== 'outdated') continue;
      const p = r.item.dest;
      if (r.item.kind === 'record') stdout(`would record   ${p}  [${r.note}]`);
      else if (r.desired === null) stdout(`would remove   ${p}`);
      else if (!statFile(T(p))) stdout(`would create   ${p}  [${r.note}]`);
      else if (r.item.kind === 'edit') {
        stdout(`would edit     ${p}  [${r.note}]`);
        showDiff(p, r.desired.buf);
      } else stdout(`would replace  ${p}  [${r.note}]`);
    }
    info(`dry run: ${changes} change(s) to apply, nothing was changed`);
    return;
  }

  // Apply: the shared installer writes what changed, keeps every original
  // (recorded before, or what the tree holds now) and puts stale files back.
  const files = [];
  const records = [];
  for (const r of results) {
    const { kind, dest } = r.item;
    if (kind === 'record' && (r.status === 'applicable' || r.status === 'applied')) records.push(dest);
    else if ((kind === 'file' || kind === 'edit') && ['applicable', 'outdated', 'applied'].includes(r.status)) {
      files.push({ path: dest, content: r.desired.buf, mode: r.desired.mode });
    }
  }
  await transaction((options) => install.commit({ ...options, files, record: records, meta: { layout, source: sourceRevision() } }));
  reportPins('moved');
  info(`applied ${changes} change(s) to ${TARGET} (layout ${layout}); undo with: scripts/apply-patches.sh '${TARGET}' --revert`);
}

function sourceRevision() {
  const r = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function showDiff(p, desired) {
  const tmp = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'plonk-wasm-pool-'));
  try {
    fs.writeFileSync(path.join(tmp, 'new'), desired);
    const d = spawnSync('diff', ['-u', '--label', `a/${p}`, '--label', `b/${p}`, T(p), path.join(tmp, 'new')], { encoding: 'utf8' });
    if (d.stdout) fs.writeSync(1, d.stdout);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function detectLayout() {
  const found = [];
  const missing = [];
  const dir = path.join(PATCHES, 'layouts');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.manifest')).sort()) {
    const m = loadManifest(path.join(dir, f), ROOT);
    const miss = m.detects.find((p) => !exists(T(p)));
    if (miss === undefined) found.push(m.name);
    else missing.push(`  ${m.name} (${m.description}): no ${miss}`);
  }
  if (found.length === 1) return found[0];
  if (found.length > 1) die(4, `${TARGET} matches several layouts (${found.join(' ')}): give the directory of one checkout`);
  stderr(`ERROR: ${TARGET}: unknown layout; looked for:`);
  for (const m of missing) stderr(m);
  stderr('(an o1js checkout needs its submodules: git submodule update --init --recursive)');
  process.exit(4);
}

/**
 * An item's status against the tree: applicable, applied, outdated, verified,
 * conflicting or modified, with a note; `desired` is what the file must
 * become ({ buf, mode }, or null to remove it), `original` upstream's file.
 */
function evaluate(item, state) {
  const p = item.dest;
  const rec = state.items.get(p);
  const r = { item, status: 'applicable', note: '', desired: null, original: null, notes: [] };
  const conflict = (note) => Object.assign(r, { status: 'conflicting', note });

  if (item.kind === 'record' || item.kind === 'stale-record') {
    const recorded = state.records.get(p);
    if (item.kind === 'stale-record') {
      return Object.assign(r, { status: 'outdated', note: 'recorded by another version of this repository, no longer part of the patch: apply puts upstream\'s copy back' });
    }
    if (recorded) {
      const now = fileSha(T(p));
      return Object.assign(r, {
        status: 'applied',
        note: now === recorded.original
          ? "upstream's copy recorded; --revert puts it back"
          : "upstream's copy recorded; rewritten since (by a build); --revert puts upstream's back",
      });
    }
    const cur = statFile(T(p));
    if (cur === 'other') return conflict('in the way: not a regular file');
    if (!cur) return Object.assign(r, { status: 'verified', note: 'not in the tree: nothing to record' });
    r.original = readFile(T(p));
    r.note = "recorded as it is: the build rewrites it after the pin move, --revert puts upstream's copy back";
    return r;
  }

  // Upstream's file: recorded when patched, else what the tree holds.
  const up = install.upstream(p);
  if (up === 'missing') return conflict(`the record of upstream's file is missing (${STATE_NAME}/originals/${p})`);
  if (up === 'other') return conflict('in the way: not a regular file');
  r.original = up;
  const orig = r.original;

  if (item.kind === 'file') {
    if (item.how === 'replaces' && !orig) return conflict(`missing: expected upstream's file, which ${item.src} replaces`);
    const srcFile = readFile(path.join(ROOT, item.src));
    let note = item.src;
    // Our file, with its hunk (which may take values from upstream's file).
    let edited = { ok: true, text: null };
    if (item.hunk) {
      edited = runHunk(item.hunk, srcFile.buf, item.src, orig?.buf);
      note = `${item.src}, with ${item.hunk}`;
    }
    if (edited.ok) {
      const buf = edited.text === null ? srcFile.buf : Buffer.from(edited.text, 'utf8');
      r.desired = { buf, mode: orig ? orig.mode : srcFile.mode };
      if (!rec && orig && sha(orig.buf) === sha(buf)) {
        return Object.assign(r, { status: 'applied', note: `already holds ${note} (installed without this script: recorded as it is at the next apply)` });
      }
    }
    if (item.how === 'new' && orig && !rec) {
      return conflict(`exists upstream, and this patch installs a file of its own there (${item.src})`);
    }
    if (item.recognise && orig && !rec) {
      const h = runHunk(item.recognise, orig.buf, p);
      if (!h.ok) {
        return conflict(`not an upstream file this patch recognises${h.expect ? ` (expected ${h.expect})` : ''}: ${h.error}. `
          + `Installing ${item.src} would silently drop what this file holds. Compare it with upstream's; if it was changed locally, `
          + `restore upstream's file (e.g. git checkout -- ${p}) or port the change to ${item.src}, then apply again`);
      }
      note = `${note}; upstream's file recognised (${item.recognise})`;
    }
    if (!edited.ok) return conflict(`in ${item.src}: ${edited.error}`);
    r.note = `${note} (${orig ? "replaces upstream's file" : 'new file'})`;
  } else if (item.kind === 'edit' || item.kind === 'check') {
    if (!orig) return conflict(`missing (${item.hunk} ${item.kind === 'edit' ? 'edits' : 'checks'} upstream's file)`);
    const h = runHunk(item.hunk, orig.buf, p);
    r.notes = h.notes;
    // A hunk's `@@ expect` says which upstream file (and era) it handles.
    if (!h.ok) return conflict(h.expect ? `${h.error}. Expected ${h.expect}` : h.error);
    if (item.kind === 'check') return Object.assign(r, { status: 'verified', note: `${item.hunk}: nothing to change` });
    r.desired = { buf: Buffer.from(h.text, 'utf8'), mode: orig.mode };
    r.note = item.hunk;
  } else if (item.kind === 'stale') {
    r.note = 'installed by another version of this repository, no longer part of the patch';
    r.desired = orig;
  }

  if (rec) {
    const status = install.status(p, r.desired ? sha(r.desired.buf) : 'absent');
    if (status === 'modified') return Object.assign(r, { status, note: 'modified after patching' });
    if (status === 'applied') return Object.assign(r, { status });
    return Object.assign(r, { status: 'outdated', note: `${r.note}; patched by another version of this repository, apply updates it` });
  }
  return r;
}

async function revert(state) {
  if (!install.state) die(7, `${TARGET} is not patched (no ${STATE_NAME}/state.json): nothing to revert`);
  const modified = install.changed();
  if (modified.length) {
    for (const p of modified) stderr(`ERROR: modified after patching: ${p}`);
    die(6, `refusing to revert: ${modified.length} patched file(s) changed since they were patched; restore them first (scripts/apply-patches.sh --check lists them), nothing was changed`);
  }
  const missing = install.missingOriginals();
  if (missing.length) die(8, `the record of upstream's ${missing[0]} is missing (${STATE_NAME}/originals/${missing[0]}); nothing was changed`);
  // Files the build may rewrite (Cargo.lock) get upstream's copy too, whatever they hold now.
  const { files, kept } = await transaction((options) => install.revert(options));
  if (kept.length) info(`kept folders the patch created that now hold other files: ${kept.join(', ')}`);
  info(`reverted ${files} files in ${TARGET} (layout ${state.layout}): upstream's originals are back`);
}
