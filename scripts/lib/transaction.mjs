// The one transactional file installer behind scripts/apply-patches.sh
// (scripts/patch/apply.mjs) and scripts/install-o1js.sh
// (scripts/o1js-npm/install.mjs). Plain Node.js (>= 20), no dependencies.
//
// A tree ROOT gets a state folder ROOT/NAME (`.plonk-wasm-pool-patch` for
// apply-patches.sh, `.plonk-wasm-pool` for install-o1js.sh). What it promises:
// - All or nothing. A commit stages every new file inside NAME, backs up every
//   file it will touch, writes a journal, and only then changes the tree (each
//   file by a rename). Any failure rolls every file back, byte for byte and
//   with its mode, and removes the folders the commit created. A run that was
//   killed leaves its journal: the next one rolls it back (`recover()`).
// - Originals. The first commit that touches a file keeps what it was (its
//   bytes and mode, or its absence) in NAME/originals/, with its sha256; later
//   commits keep that original. A file no longer in the install (stale) goes
//   back to its original.
// - Revert. `revert()` puts every original back byte for byte, removes every
//   file the install added and every folder it created (deepest first; a
//   folder that holds files put there since is kept, and named), then NAME.
// - Idempotence. The state records the sha256 of what was installed:
//   `status(path, sha)` says applied / outdated / modified / applicable;
//   `changed()` lists installed files changed since.
//
// The state, NAME/state.json (format version 1):
//   {
//     "format": "plonk-wasm-pool-install-state",
//     "version": 1,
//     "tool": "scripts/apply-patches.sh",           the script that wrote it
//     "meta": { ... },                              the tool's own facts: apply-patches.sh
//                                                   { layout, source }, install-o1js.sh
//                                                   { o1js, key, source }
//     "files": [
//       { "path": "kimchi-wasm/src/rayon.rs",       relative to ROOT, with '/'
//         "original": "<sha256>" | "absent",        what was there before the first install
//         "installed": "<sha256>" | "absent" | null }
//                                                   what the install left there; null: a
//                                                   recorded file (Cargo.lock, rewritten by
//                                                   builds), put back whatever it holds
//     ],
//     "folders": [ "kimchi-wasm/src/rayon" ]       folders the install created, parents first
//   }
//   NAME/originals/PATH: the original of every file whose original is not "absent".
//   NAME/.gitignore: `*`.
// A commit in progress, NAME/journal.json (version 1):
//   { "format": "plonk-wasm-pool-install-journal", "version": 1,
//     "entries": [ { "path": P, "backup": "N" | null } ],   null: P did not exist
//     "folders": [ F, ... ],                                 folders the commit may create
//     "stateFiles": [ "state.json", ... ] }                  state files saved before it
//   with NAME/staging/new/N (staged contents), NAME/staging/backup/N (each file
//   the commit touches, before it) and NAME/staging/state/ (the state files).
// The formats before version 1 are read, and an interrupted run of theirs is
// rolled back: apply-patches.sh's NAME/state (tab separated: `layout NAME`,
// `source REV`, `item INSTALLED ORIGINAL PATH`, `record ORIGINAL PATH`, `dir
// PATH`; originals in NAME/originals/; a run in progress: NAME/journal and
// NAME/staging/), and install-o1js.sh's NAME/state.json without "format"
// (`status` installing | applied, `o1js`, `key`, `folders`, `files` with
// original/installed; originals in NAME/original/). The next commit writes
// version 1 and removes them.
//
// API:
//   openInstall(root, { name, tool }) -> Install (reads, never writes)
//     .state          null, or { tool, meta, files: Map(path -> { original, installed }), folders, legacy }
//     .interrupted    a run was interrupted: recover() before anything else
//     .record(path)   the state's entry for path, or undefined
//     .upstream(path) what the path held before the install: { buf, mode } | null (absent) | 'other'
//                     | 'missing' (recorded, but its copy in NAME is gone)
//     .changed()      installed files (installed not null) whose sha256 is not the recorded one
//     .status(path, sha) 'applied' | 'outdated' | 'modified' (recorded) or 'present' | 'applicable'
//     .missingOriginals() recorded originals whose copy is missing
//     .recover({ warn })  rolls an interrupted run back; -> what was restored
//     .commit({ files, record, external, during, meta, inject, onFailure, warn }) (async)
//        files:    [{ path, content: Buffer | null, mode? } | { path, from: FILE, mode? }]
//                  what each path must hold (null: absent); unchanged ones are not written
//        record:   [path]: kept as they are now, put back by revert whatever they hold then
//        external: [path]: written by `during` (async, after the files are in place)
//        Paths recorded before and in none of the three go back to their originals.
//        -> { written: [paths], created: [folders] }; on failure, rolls back and throws
//        TransactionError (cause: the error, rolledBack: true | false, crashed: true | false).
//        inject { after: N, crash, label }: fail after N files (N = number of files: after
//        all); crash: stop there without rolling back, like a kill (tests).
//     .revert({ inject, onFailure, warn }) (async) -> { files, kept: [folders kept] }
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export const STATE_FORMAT = 'plonk-wasm-pool-install-state';
export const JOURNAL_FORMAT = 'plonk-wasm-pool-install-journal';
export const STATE_VERSION = 1;

/** A commit or revert that failed (rolled back unless `crashed`). */
export class TransactionError extends Error {
  constructor(message, { cause, rolledBack = false, crashed = false } = {}) {
    super(message);
    this.cause = cause;
    this.rolledBack = rolledBack;
    this.crashed = crashed;
  }
}
/** A state this version cannot use (unknown format, a missing original): nothing was changed. */
export class InstallStateError extends Error {}

// ------------------------------------------------------------------ helpers
export const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
/** fs.Stats of a regular file (symlinks followed), 'other', or null. */
export function statFile(p) {
  try {
    const st = fs.statSync(p);
    return st.isFile() ? st : 'other';
  } catch {
    return null;
  }
}
/** { buf, mode } of a regular file, or null. */
export function readFile(p) {
  const st = statFile(p);
  if (!st || st === 'other') return null;
  return { buf: fs.readFileSync(p), mode: st.mode & 0o7777 };
}
/** sha256 of a regular file's bytes, or 'absent'. */
export const fileSha = (p) => {
  const f = readFile(p);
  return f ? sha256(f.buf) : 'absent';
};
export const exists = (p) => {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};
function writeWithMode(p, buf, mode) {
  fs.writeFileSync(p, buf);
  fs.chmodSync(p, mode);
}
/** Like cp -p: content, mode, times. */
function copyPreserving(src, dst) {
  const st = fs.statSync(src);
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, st.mode & 0o7777);
  fs.utimesSync(dst, st.atime, st.mtime);
}
function checkRelative(p) {
  if (typeof p !== 'string' || p === '' || path.posix.isAbsolute(p) || p.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new Error(`transaction: not a relative path inside the tree: '${p}'`);
  }
}
/** Folders (relative) that writing `paths` under root would create, parents first. */
function missingFolders(root, paths) {
  const created = new Set();
  for (const p of paths) {
    for (let d = path.posix.dirname(p); d !== '.' && !exists(path.join(root, d)); d = path.posix.dirname(d)) created.add(d);
  }
  return [...created].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
}
/** Removes the folders deepest first when empty; -> the ones that still hold something. */
function removeFolders(root, folders) {
  const kept = [];
  const deepestFirst = [...new Set(folders)].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1));
  for (const d of deepestFirst) {
    const p = path.join(root, d);
    let st = null;
    try { st = fs.lstatSync(p); } catch { continue; }
    if (!st.isDirectory()) continue;
    if (fs.readdirSync(p).length === 0) fs.rmdirSync(p);
    else kept.push(d);
  }
  return kept.sort();
}
function walkFiles(dir, base = dir) {
  let entries = [];
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return []; }
  return entries.flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walkFiles(p, base) : [path.relative(base, p).split(path.sep).join('/')];
  });
}

// -------------------------------------------------------------------- state
function parseState(text, where) {
  let json;
  try { json = JSON.parse(text); } catch (e) { throw new InstallStateError(`${where} is not valid JSON (${e.message})`); }
  if (json.format === STATE_FORMAT) {
    if (json.version !== STATE_VERSION) {
      throw new InstallStateError(`${where} has state format version ${json.version}; this version of the script reads version ${STATE_VERSION}: revert with the version of this repository that wrote it`);
    }
    return {
      tool: json.tool ?? '',
      meta: json.meta ?? {},
      files: new Map((json.files ?? []).map((f) => [f.path, { original: f.original, installed: f.installed ?? null }])),
      folders: json.folders ?? [],
      legacy: null,
      originals: 'originals',
    };
  }
  if (Array.isArray(json.files) && typeof json.status === 'string') { // install-o1js.sh before version 1
    return {
      tool: 'scripts/install-o1js.sh',
      meta: { o1js: json.o1js, key: json.key },
      files: new Map(json.files.map((f) => [f.path, { original: f.original, installed: f.installed ?? null }])),
      folders: json.folders ?? [],
      legacy: json.status === 'installing' ? 'o1js-installing' : 'o1js',
      originals: 'original',
    };
  }
  throw new InstallStateError(`${where} is not a state this script knows (no "format": "${STATE_FORMAT}"): revert with the version of this repository that wrote it, or reinstall`);
}
function parseLegacyPatchState(text) { // apply-patches.sh before version 1
  const state = { tool: 'scripts/apply-patches.sh', meta: {}, files: new Map(), folders: [], legacy: 'patch', originals: 'originals' };
  for (const line of text.split('\n')) {
    const [kind, a, b, c] = line.split('\t');
    if (kind === 'layout') state.meta.layout = a;
    else if (kind === 'source') state.meta.source = a;
    else if (kind === 'item') state.files.set(c, { original: b, installed: a });
    else if (kind === 'record') state.files.set(b, { original: a, installed: null });
    else if (kind === 'dir') state.folders.push(a);
  }
  return state;
}
function serializeState(state) {
  return `${JSON.stringify({
    format: STATE_FORMAT,
    version: STATE_VERSION,
    tool: state.tool,
    meta: state.meta,
    files: [...state.files].map(([p, f]) => ({ path: p, original: f.original, installed: f.installed })),
    folders: state.folders,
  }, null, 2)}\n`;
}

// ----------------------------------------------------------------- install
export function openInstall(root, { name, tool }) {
  return new Install(path.resolve(root), name, tool);
}

class Install {
  constructor(root, name, tool) {
    this.root = root;
    this.name = name;
    this.tool = tool;
    this.dir = path.join(root, name);
    this.load();
  }

  T(p) { return path.join(this.root, p); }
  S(...p) { return path.join(this.dir, ...p); }

  load() {
    this.state = null;
    if (exists(this.S('state.json'))) this.state = parseState(fs.readFileSync(this.S('state.json'), 'utf8'), `${this.name}/state.json`);
    else if (exists(this.S('state'))) this.state = parseLegacyPatchState(fs.readFileSync(this.S('state'), 'utf8'));
    this.interrupted = exists(this.S('journal.json')) || exists(this.S('journal')) || exists(this.S('staging'))
      || this.state?.legacy === 'o1js-installing';
  }

  record(p) { return this.state?.files.get(p); }

  originalPath(p) { return this.S(this.state?.originals ?? 'originals', p); }

  upstream(p) {
    const rec = this.record(p);
    if (rec) {
      if (rec.original === 'absent') return null;
      return readFile(this.originalPath(p)) ?? 'missing';
    }
    const st = statFile(this.T(p));
    if (st === 'other') return 'other';
    return st ? readFile(this.T(p)) : null;
  }

  changed() {
    if (!this.state) return [];
    return [...this.state.files].filter(([p, f]) => f.installed !== null && fileSha(this.T(p)) !== f.installed).map(([p]) => p);
  }

  status(p, desiredSha) {
    const rec = this.record(p);
    const now = fileSha(this.T(p));
    if (rec && rec.installed !== null) {
      if (now !== rec.installed) return 'modified';
      return desiredSha === rec.installed ? 'applied' : 'outdated';
    }
    return now === desiredSha ? 'present' : 'applicable';
  }

  missingOriginals() {
    if (!this.state) return [];
    return [...this.state.files].filter(([p, f]) => f.original !== 'absent' && !readFile(this.originalPath(p))).map(([p]) => p);
  }

  // ---------------------------------------------------------------- recover
  /** Rolls back an interrupted run (any format); -> the paths restored. */
  recover({ warn = () => {} } = {}) {
    if (!this.interrupted) return [];
    let restored = [];
    if (exists(this.S('journal.json'))) {
      const j = JSON.parse(fs.readFileSync(this.S('journal.json'), 'utf8'));
      if (j.format !== JOURNAL_FORMAT || j.version !== STATE_VERSION) {
        throw new InstallStateError(`${this.name}/journal.json is not a journal this script knows: roll it back with the version of this repository that wrote it`);
      }
      restored = this.rollback(
        j.entries.map((e) => ({ path: e.path, backup: e.backup === null ? null : this.S('staging', 'backup', e.backup) })),
        j.folders,
        j.stateFiles,
        warn,
      );
    } else if (exists(this.S('journal'))) { // apply-patches.sh before version 1
      const entries = [];
      for (const line of fs.readFileSync(this.S('journal'), 'utf8').split('\n')) {
        const [n, presence, p] = line.split('\t');
        if (p) entries.push({ path: p, backup: presence === 'present' ? this.S('staging', 'backup', n) : null });
      }
      let folders = [];
      try { folders = fs.readFileSync(this.S('staging', 'created-dirs'), 'utf8').split('\n').filter(Boolean); } catch { /* none */ }
      if (exists(this.S('staging', 'state.old'))) {
        fs.mkdirSync(this.S('staging', 'state'), { recursive: true });
        copyPreserving(this.S('staging', 'state.old'), this.S('staging', 'state', 'state'));
      }
      restored = this.rollback(entries, folders, exists(this.S('staging', 'state', 'state')) ? ['state'] : [], warn);
    } else if (this.state?.legacy === 'o1js-installing') { // install-o1js.sh before version 1: a fresh install
      const entries = [...this.state.files].map(([p, f]) => ({ path: p, backup: f.original === 'absent' ? null : this.S('original', p) }));
      restored = this.rollback(entries, this.state.folders, [], warn, { dropState: true });
    } else {
      this.rollback([], [], null, warn); // staging without a journal: nothing in the tree was changed yet
    }
    this.load();
    return restored;
  }

  /**
   * Restores every entry (backup: a file to copy back, or null: remove), removes
   * the folders (when empty), puts the state files back. Keeps the journal and
   * staging when something could not be restored.
   */
  rollback(entries, folders, stateFiles, warn, { dropState = false } = {}) {
    const failed = [];
    for (const e of entries) {
      try {
        if (e.backup !== null) {
          fs.mkdirSync(path.dirname(this.T(e.path)), { recursive: true });
          const tmp = `${this.T(e.path)}.plonk-wasm-pool-tmp`;
          copyPreserving(e.backup, tmp);
          fs.renameSync(tmp, this.T(e.path));
        } else {
          fs.rmSync(this.T(e.path), { force: true });
        }
      } catch (err) {
        failed.push(e.path);
        warn(e.backup !== null ? `could not restore ${e.path} (${err.message}); its copy is ${e.backup}` : `could not remove ${e.path} (${err.message})`);
      }
    }
    removeFolders(this.root, folders);
    if (failed.length) {
      throw new TransactionError(`could not restore ${failed.join(', ')}: the journal and the copies stay in ${this.dir}; the next run rolls back again`, { rolledBack: false });
    }
    if (dropState) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      return entries.map((e) => e.path);
    }
    if (stateFiles !== null) {
      for (const f of ['state.json', 'state.json.tmp', 'state']) fs.rmSync(this.S(f), { force: true });
      for (const f of stateFiles) copyPreserving(this.S('staging', 'state', f), this.S(f));
    }
    for (const f of ['journal.json', 'journal', 'state.json.tmp']) fs.rmSync(this.S(f), { force: true });
    fs.rmSync(this.S('staging'), { recursive: true, force: true });
    this.load();
    this.pruneOriginals();
    if (!this.state) fs.rmSync(this.dir, { recursive: true, force: true });
    return entries.map((e) => e.path);
  }

  /** Removes the copies in NAME/originals/ that the state does not name. */
  pruneOriginals() {
    const keep = new Set();
    if (this.state?.originals === 'originals') {
      for (const [p, f] of this.state.files) if (f.original !== 'absent') keep.add(p);
    }
    const dir = this.S('originals');
    for (const p of walkFiles(dir)) if (!keep.has(p)) fs.rmSync(path.join(dir, p), { force: true });
    const subdirs = [];
    const walk = (d) => {
      for (const e of (() => { try { return fs.readdirSync(d, { withFileTypes: true }); } catch { return []; } })()) {
        if (e.isDirectory()) { subdirs.push(path.join(d, e.name)); walk(path.join(d, e.name)); }
      }
    };
    walk(dir);
    for (const d of subdirs.reverse()) { try { fs.rmdirSync(d); } catch { /* not empty */ } }
    try { fs.rmdirSync(dir); } catch { /* not empty, or none */ }
  }

  // ------------------------------------------------------------ transaction
  /**
   * Makes the tree's files equal to `plan` ([{ path, content: Buffer | null,
   * mode }]), then runs `during` and `finalize`; all or nothing.
   */
  async transact(plan, { touched = [], folders = [], during, finalize, inject, onFailure, warn = () => {} }) {
    if (this.interrupted) throw new InstallStateError(`a previous run on ${this.root} was interrupted: recover() first`);
    const failAfter = inject?.after ?? -1;
    const label = inject?.label ? ` (${inject.label})` : '';
    let journalWritten = false;
    const fail = (what, err) => {
      throw err instanceof TransactionError ? err : new TransactionError(`${what} failed (${err.message})`, { cause: err });
    };
    const injected = (message) => { throw new TransactionError(`${message}${label}`); };
    const step = (what, fn) => { try { return fn(); } catch (err) { return fail(what, err); } };
    const allPaths = [...plan.map((e) => e.path), ...touched];
    try {
      step(`writing in ${this.dir}`, () => {
        fs.mkdirSync(this.S('staging', 'new'), { recursive: true });
        fs.mkdirSync(this.S('staging', 'backup'), { recursive: true });
        fs.mkdirSync(this.S('staging', 'state'), { recursive: true });
        fs.writeFileSync(this.S('.gitignore'), '*\n');
      });
      const stateFiles = ['state.json', 'state'].filter((f) => exists(this.S(f)));
      step('saving the state', () => { for (const f of stateFiles) copyPreserving(this.S(f), this.S('staging', 'state', f)); });
      plan.forEach((e, n) => {
        if (e.content !== null) step(`staging ${e.path}`, () => writeWithMode(this.S('staging', 'new', String(n)), e.content, e.mode));
      });
      const entries = allPaths.map((p, n) => {
        if (!statFile(this.T(p))) return { path: p, backup: null };
        step(`backing up ${p}`, () => copyPreserving(this.T(p), this.S('staging', 'backup', String(n))));
        return { path: p, backup: String(n) };
      });
      // From here on, the journal names every file to restore if anything fails.
      step('writing the journal', () => {
        const text = `${JSON.stringify({ format: JOURNAL_FORMAT, version: STATE_VERSION, entries, folders, stateFiles }, null, 2)}\n`;
        fs.writeFileSync(this.S('staging', 'journal.json'), text);
        fs.renameSync(this.S('staging', 'journal.json'), this.S('journal.json'));
      });
      journalWritten = true;
      this.pending = { entries, folders, stateFiles };
      plan.forEach((e, n) => {
        if (n === failAfter) injected(`failing after ${n} files`);
        if (e.content === null) step(`removing ${e.path}`, () => fs.rmSync(this.T(e.path), { force: true }));
        else {
          step(`creating the folder of ${e.path}`, () => fs.mkdirSync(path.dirname(this.T(e.path)), { recursive: true }));
          step(`writing ${e.path}`, () => fs.renameSync(this.S('staging', 'new', String(n)), this.T(e.path)));
        }
      });
      if (during) {
        try { await during(); } catch (err) { fail('installing', err); }
      }
      if (failAfter === plan.length) injected('failing after all files');
      return step('recording the state', () => finalize(entries));
    } catch (error) {
      if (!(error instanceof TransactionError)) throw error;
      if (inject?.crash) { error.crashed = true; throw error; }
      onFailure?.(error);
      try {
        if (journalWritten) {
          this.rollback(
            this.pending.entries.map((e) => ({ path: e.path, backup: e.backup === null ? null : this.S('staging', 'backup', e.backup) })),
            this.pending.folders, this.pending.stateFiles, warn,
          );
        } else {
          fs.rmSync(this.S('staging'), { recursive: true, force: true });
          this.load();
          if (!this.state) fs.rmSync(this.dir, { recursive: true, force: true });
        }
        error.rolledBack = true;
      } catch (rollbackError) {
        error.rolledBack = false;
        error.message = `${error.message}; ${rollbackError.message}`;
      }
      throw error;
    } finally {
      this.pending = null;
    }
  }

  /** See the header. */
  async commit({ files = [], record = [], external = [], during, meta = {}, inject, onFailure, warn } = {}) {
    const old = this.state ?? { files: new Map(), folders: [], meta: {}, originals: 'originals' };
    const seen = new Set();
    for (const p of [...files.map((f) => f.path), ...record, ...external]) {
      checkRelative(p);
      if (seen.has(p)) throw new Error(`transaction: ${p} is named twice`);
      seen.add(p);
    }
    // What changes: files whose content differs, then stale files back to their originals.
    const plan = [];
    const desired = new Map();
    for (const f of files) {
      const cur = readFile(this.T(f.path));
      let content = f.content ?? null;
      let mode = f.mode;
      if (f.from !== undefined) {
        content = fs.readFileSync(f.from);
        mode ??= cur ? cur.mode : fs.statSync(f.from).mode & 0o7777;
      }
      mode ??= cur ? cur.mode : 0o644;
      const want = content === null ? 'absent' : sha256(content);
      desired.set(f.path, want);
      if ((cur ? sha256(cur.buf) : 'absent') !== want) plan.push({ path: f.path, content, mode });
    }
    const stale = [...old.files.keys()].filter((p) => !seen.has(p));
    for (const p of stale) {
      const o = old.files.get(p).original === 'absent' ? null : readFile(this.S(old.originals, p));
      if (old.files.get(p).original !== 'absent' && !o) throw new InstallStateError(`the record of the original ${p} is missing (${this.name}/${old.originals}/${p}); nothing was changed`);
      plan.push({ path: p, content: o ? o.buf : null, mode: o ? o.mode : 0 });
    }
    const folders = missingFolders(this.root, [...plan.filter((e) => e.content !== null).map((e) => e.path), ...external]);
    const before = new Map([...seen].map((p) => [p, fileSha(this.T(p))]));

    const result = await this.transact(plan, {
      touched: external, folders, during, inject, onFailure, warn,
      finalize: (entries) => {
        const backupOf = new Map(entries.map((e) => [e.path, e.backup]));
        const next = { tool: this.tool, meta, files: new Map(), folders: [], originals: 'originals' };
        const keep = (p) => { // the original: recorded before, or what the path held before this commit
          const rec = old.files.get(p);
          if (rec) {
            if (rec.original !== 'absent' && old.originals !== 'originals') {
              fs.mkdirSync(path.dirname(this.S('originals', p)), { recursive: true });
              copyPreserving(this.S(old.originals, p), this.S('originals', p));
            }
            return rec.original;
          }
          const was = before.get(p);
          if (was !== 'absent') {
            fs.mkdirSync(path.dirname(this.S('originals', p)), { recursive: true });
            const backup = backupOf.get(p);
            copyPreserving(backup ? this.S('staging', 'backup', backup) : this.T(p), this.S('originals', p));
          }
          return was;
        };
        for (const f of files) next.files.set(f.path, { original: keep(f.path), installed: desired.get(f.path) });
        for (const p of record) next.files.set(p, { original: keep(p), installed: null });
        for (const p of external) next.files.set(p, { original: keep(p), installed: fileSha(this.T(p)) });
        next.folders = [...new Set([...old.folders, ...folders])].filter((d) => exists(this.T(d)));
        fs.writeFileSync(this.S('state.json.tmp'), serializeState(next));
        fs.renameSync(this.S('state.json.tmp'), this.S('state.json'));
        fs.rmSync(this.S('state'), { force: true });
        fs.rmSync(this.S('journal.json'), { force: true }); // committed
        fs.rmSync(this.S('staging'), { recursive: true, force: true });
        if (old.originals !== 'originals') fs.rmSync(this.S(old.originals), { recursive: true, force: true });
        this.load();
        this.pruneOriginals();
        return { written: plan.map((e) => e.path), created: folders.filter((d) => exists(this.T(d))) };
      },
    });
    return result;
  }

  /** See the header. */
  async revert({ inject, onFailure, warn } = {}) {
    if (!this.state) throw new InstallStateError(`${this.root} has no install to revert (no ${this.name}/state.json)`);
    const missing = this.missingOriginals();
    if (missing.length) {
      throw new InstallStateError(`the record of the original ${missing.join(', ')} is missing (${this.name}/${this.state.originals}/${missing[0]}); nothing was changed`);
    }
    const state = this.state;
    const plan = [...state.files].map(([p, f]) => {
      if (f.original === 'absent') return { path: p, content: null, mode: 0 };
      const o = readFile(this.originalPath(p));
      return { path: p, content: o.buf, mode: o.mode };
    });
    let kept = [];
    await this.transact(plan, {
      inject, onFailure, warn,
      finalize: () => {
        const wrong = [...state.files].filter(([p, f]) => fileSha(this.T(p)) !== f.original).map(([p]) => p);
        if (wrong.length) throw new Error(`could not restore ${wrong.join(', ')} byte for byte`);
        for (const f of ['state.json', 'state']) fs.rmSync(this.S(f), { force: true });
        fs.rmSync(this.S('journal.json'), { force: true }); // committed
        kept = removeFolders(this.root, state.folders);
        fs.rmSync(this.dir, { recursive: true, force: true });
        this.load();
      },
    });
    return { files: plan.length, kept };
  }
}
