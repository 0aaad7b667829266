// The engine behind scripts/apply-patches.sh (its header documents the CLI,
// the exit codes and the guarantees; patches/README.md the data it reads).
//   node scripts/patch/apply.mjs TARGET [--check | --dry-run | --revert]
// Plain Node.js (>= 20), no dependencies.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseHunk, applyHunk, PatchSetError } from './hunk.mjs';
import { loadManifest } from './manifest.mjs';

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
const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
function statFile(p) { // -> fs.Stats of a regular file (symlinks followed), 'other', or null
  try {
    const st = fs.statSync(p);
    return st.isFile() ? st : 'other';
  } catch {
    return null;
  }
}
function readFile(p) { // -> { buf, mode } or null
  const st = statFile(p);
  if (!st || st === 'other') return null;
  return { buf: fs.readFileSync(p), mode: st.mode & 0o7777 };
}
const shaOfPath = (p) => { const f = readFile(p); return f ? sha(f.buf) : 'absent'; };
function writeWithMode(p, buf, mode) {
  fs.writeFileSync(p, buf);
  fs.chmodSync(p, mode);
}
function copyPreserving(src, dst) { // like cp -p: content, mode, times
  const st = fs.statSync(src);
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, st.mode & 0o7777);
  fs.utimesSync(dst, st.atime, st.mtime);
}
const exists = (p) => { try { fs.lstatSync(p); return true; } catch { return false; } };

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
const STATE = path.join(TARGET, STATE_NAME);
const T = (p) => path.join(TARGET, p);
const S = (...p) => path.join(STATE, ...p);

// --------------------------------------------------------------------- state
// STATE/state (tab separated):
//   layout NAME | source REVISION | dir PATH
//   item INSTALLED-SHA256 ORIGINAL-SHA256|absent PATH   (a file the patch wrote)
//   record ORIGINAL-SHA256 PATH                          (a file the build may rewrite: restored by --revert)
// STATE/originals/PATH: upstream's file, byte for byte and with its mode.
// STATE/journal + STATE/staging/: a commit in progress.
function loadState() {
  const state = { layout: '', items: new Map(), records: new Map(), dirs: [] };
  let text;
  try { text = fs.readFileSync(S('state'), 'utf8'); } catch { return state; }
  for (const line of text.split('\n')) {
    const [kind, a, b, c] = line.split('\t');
    if (kind === 'layout') state.layout = a;
    else if (kind === 'item') state.items.set(c, { installed: a, original: b });
    else if (kind === 'record') state.records.set(b, { original: a });
    else if (kind === 'dir') state.dirs.push(a);
  }
  return state;
}

// -------------------------------------------------------------------- commit
// commit(plan, finalize): makes TARGET's files equal to the plan (each entry
// { path, content: Buffer|null, mode }: null deletes), all or nothing.
const createdDirs = [];

function rollback() { // restores every file the journal names; removes the directories it created
  if (!exists(STATE)) return;
  let journal = '';
  try { journal = fs.readFileSync(S('journal'), 'utf8'); } catch { /* nothing was written yet */ }
  for (const line of journal.split('\n')) {
    const [j, presence, p] = line.split('\t');
    if (!p) continue;
    try {
      if (presence === 'present') {
        const tmp = `${T(p)}.plonk-wasm-pool-tmp`;
        copyPreserving(S('staging', 'backup', j), tmp);
        fs.renameSync(tmp, T(p));
      } else {
        fs.rmSync(T(p), { force: true });
      }
    } catch {
      stderr(presence === 'present'
        ? `ERROR: could not restore ${p}; its copy is ${S('staging', 'backup', j)}`
        : `ERROR: could not remove ${p}`);
    }
  }
  try {
    const dirs = fs.readFileSync(S('staging', 'created-dirs'), 'utf8').split('\n').filter(Boolean).reverse();
    for (const d of dirs) { try { fs.rmdirSync(T(d)); } catch { /* not empty or gone */ } }
  } catch { /* none */ }
  if (exists(S('staging', 'state.old'))) copyPreserving(S('staging', 'state.old'), S('state'));
  fs.rmSync(S('staging'), { recursive: true, force: true });
  fs.rmSync(S('journal'), { force: true });
  if (!exists(S('state'))) fs.rmSync(STATE, { recursive: true, force: true });
}

function failCommit(message) {
  stderr(`ERROR: ${message}`);
  if (process.env.PLONK_WASM_PATCH_CRASH === '1') process.exit(8);
  rollback();
  die(8, `nothing was changed in ${TARGET}: every file written so far was restored`);
}

function makeParents(p) {
  const missing = [];
  for (let d = path.posix.dirname(p); d !== '.' && d !== '/' && !exists(T(d)); d = path.posix.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    fs.appendFileSync(S('staging', 'created-dirs'), `${d}\n`);
    fs.mkdirSync(T(d));
    createdDirs.push(d);
  }
}

function commit(plan, finalize) {
  const failAfter = process.env.PLONK_WASM_PATCH_FAIL_AFTER === undefined ? -1 : Number(process.env.PLONK_WASM_PATCH_FAIL_AFTER);
  const step = (what, fn) => { try { fn(); } catch (e) { failCommit(`${what} failed (${e.message})`); } };
  step(`writing in ${STATE}`, () => {
    fs.mkdirSync(S('staging', 'new'), { recursive: true });
    fs.mkdirSync(S('staging', 'backup'), { recursive: true });
    fs.writeFileSync(S('.gitignore'), '*\n');
    fs.writeFileSync(S('staging', 'journal'), '');
    if (exists(S('state'))) copyPreserving(S('state'), S('staging', 'state.old'));
  });
  const journal = [];
  plan.forEach((e, j) => {
    if (e.content !== null) step(`staging ${e.path}`, () => writeWithMode(S('staging', 'new', String(j)), e.content, e.mode));
    if (statFile(T(e.path))) {
      step(`backing up ${e.path}`, () => copyPreserving(T(e.path), S('staging', 'backup', String(j))));
      journal.push(`${j}\tpresent\t${e.path}`);
    } else {
      journal.push(`${j}\tabsent\t${e.path}`);
    }
  });
  // From here on, the journal names every file to restore if anything fails.
  step('writing the journal', () => {
    fs.writeFileSync(S('staging', 'journal'), journal.map((l) => `${l}\n`).join(''));
    fs.renameSync(S('staging', 'journal'), S('journal'));
  });
  plan.forEach((e, j) => {
    if (j === failAfter) failCommit(`failing after ${j} files (PLONK_WASM_PATCH_FAIL_AFTER)`);
    if (e.content === null) step(`removing ${e.path}`, () => fs.rmSync(T(e.path), { force: true }));
    else {
      step(`creating the directory of ${e.path}`, () => makeParents(e.path));
      step(`writing ${e.path}`, () => fs.renameSync(S('staging', 'new', String(j)), T(e.path)));
    }
  });
  if (failAfter === plan.length) failCommit('failing after all files (PLONK_WASM_PATCH_FAIL_AFTER)');
  step('recording the patch state', finalize);
}

// ---------------------------------------------------------------------- main
try {
  main();
} catch (e) {
  if (e instanceof PatchSetError) die(9, e.message);
  throw e;
}

function main() {
  if (exists(S('journal')) || exists(S('staging'))) {
    if (mode === 'apply' || mode === 'revert') {
      info('a previous run was interrupted: restoring the files it changed');
      rollback();
    } else {
      die(8, `a previous run on ${TARGET} was interrupted; run apply or --revert to roll it back first`);
    }
  }
  const state = loadState();
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

  // Items recorded by an earlier version of this repository but no longer in
  // the manifest go back to their originals.
  const items = manifest.items.slice();
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

  // Apply: the plan is every item that changes; the new state records every
  // installed item (unchanged ones keep their record) with its original.
  const plan = [];
  const stateLines = [];
  const newOriginals = []; // { path, from: 'backup', j } | { path, buf, mode }
  for (const r of results) {
    const p = r.item.dest;
    const rec = state.items.get(p);
    const kind = r.item.kind;
    if (kind === 'record') {
      if (r.status === 'applicable') {
        stateLines.push(`record\t${sha(r.original.buf)}\t${p}`);
        newOriginals.push({ path: p, buf: r.original.buf, mode: r.original.mode });
      } else if (r.status === 'applied') stateLines.push(`record\t${state.records.get(p).original}\t${p}`);
      continue;
    }
    if (kind === 'stale-record') {
      const orig = readFile(S('originals', p));
      if (orig) plan.push({ path: p, content: orig.buf, mode: orig.mode });
      continue;
    }
    if (r.status === 'applicable' || r.status === 'outdated') {
      plan.push({ path: p, content: r.desired ? r.desired.buf : null, mode: r.desired ? r.desired.mode : 0 });
      if (kind === 'stale') continue;
      let origSha;
      if (rec) origSha = rec.original;
      else if (r.original) {
        origSha = sha(r.original.buf);
        newOriginals.push({ path: p, from: 'backup', j: plan.length - 1 });
      } else origSha = 'absent';
      stateLines.push(`item\t${sha(r.desired.buf)}\t${origSha}\t${p}`);
    } else if (r.status === 'applied') {
      if (rec) stateLines.push(`item\t${rec.installed}\t${rec.original}\t${p}`);
      else { // already this repository's file, without a record: its original is itself
        const cur = readFile(T(p));
        stateLines.push(`item\t${sha(cur.buf)}\t${sha(cur.buf)}\t${p}`);
        newOriginals.push({ path: p, buf: cur.buf, mode: cur.mode });
      }
    }
  }
  commit(plan, () => {
    for (const o of newOriginals) {
      const dst = S('originals', o.path);
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      if (o.from === 'backup') copyPreserving(S('staging', 'backup', String(o.j)), dst);
      else writeWithMode(dst, o.buf, o.mode);
    }
    const text = [
      '# Written by plonk-wasm pool scripts/apply-patches.sh; --revert uses it. Do not edit.',
      `layout\t${layout}`,
      `source\t${sourceRevision()}`,
      ...stateLines,
      ...[...state.dirs, ...createdDirs].map((d) => `dir\t${d}`),
    ].join('\n') + '\n';
    fs.writeFileSync(S('state.new'), text);
    fs.renameSync(S('state.new'), S('state'));
    fs.rmSync(S('journal'), { force: true });
    fs.rmSync(S('staging'), { recursive: true, force: true });
  });
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
      const now = shaOfPath(T(p));
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
  if (rec) {
    r.original = rec.original === 'absent' ? null : readFile(S('originals', p));
    if (rec.original !== 'absent' && !r.original) return conflict(`the record of upstream's file is missing (${STATE_NAME}/originals/${p})`);
  } else {
    const cur = statFile(T(p));
    if (cur === 'other') return conflict('in the way: not a regular file');
    if (cur) r.original = readFile(T(p));
  }
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
    if (!h.ok) return conflict(h.error);
    if (item.kind === 'check') return Object.assign(r, { status: 'verified', note: `${item.hunk}: nothing to change` });
    r.desired = { buf: Buffer.from(h.text, 'utf8'), mode: orig.mode };
    r.note = item.hunk;
  } else if (item.kind === 'stale') {
    r.note = 'installed by another version of this repository, no longer part of the patch';
    r.desired = orig;
  }

  if (rec) {
    const now = shaOfPath(T(p));
    if (now !== rec.installed) return Object.assign(r, { status: 'modified', note: 'modified after patching' });
    if (r.desired && sha(r.desired.buf) === rec.installed) return Object.assign(r, { status: 'applied' });
    return Object.assign(r, { status: 'outdated', note: `${r.note}; patched by another version of this repository, apply updates it` });
  }
  return r;
}

function revert(state) {
  if (!exists(S('state'))) die(7, `${TARGET} is not patched (no ${STATE_NAME}/state): nothing to revert`);
  const modified = [...state.items].filter(([p, rec]) => shaOfPath(T(p)) !== rec.installed).map(([p]) => p);
  if (modified.length) {
    for (const p of modified) stderr(`ERROR: modified after patching: ${p}`);
    die(6, `refusing to revert: ${modified.length} patched file(s) changed since they were patched; restore them first (scripts/apply-patches.sh --check lists them), nothing was changed`);
  }
  const plan = [];
  for (const [p, rec] of state.items) {
    if (rec.original === 'absent') plan.push({ path: p, content: null, mode: 0 });
    else {
      const o = readFile(S('originals', p));
      if (!o) die(8, `the record of upstream's ${p} is missing (${STATE_NAME}/originals/${p}); nothing was changed`);
      plan.push({ path: p, content: o.buf, mode: o.mode });
    }
  }
  // Files the build may rewrite (Cargo.lock): upstream's copy, whatever they hold now.
  for (const [p] of state.records) {
    const o = readFile(S('originals', p));
    if (!o) die(8, `the record of upstream's ${p} is missing (${STATE_NAME}/originals/${p}); nothing was changed`);
    plan.push({ path: p, content: o.buf, mode: o.mode });
  }
  commit(plan, () => {
    const dirs = [...state.dirs, ...createdDirs].sort().reverse();
    for (const d of dirs) { try { fs.rmdirSync(T(d)); } catch { /* not empty */ } }
    fs.rmSync(STATE, { recursive: true, force: true });
  });
  info(`reverted ${plan.length} files in ${TARGET} (layout ${state.layout}): upstream's originals are back`);
}
