// Installs the pool into an application's npm copy of o1js, or takes it out
// (scripts/install-o1js.sh runs this; its header has the usage). What is
// installed is staged by stage.mjs, as for the packages (scripts/pack.sh).
//
// Safety: every file replaced must be byte for byte what npm ships for that
// o1js version (versions.json); originals are kept in O1JS/.plonk-wasm-pool/
// and `--revert` puts them back byte for byte, and removes every file and
// folder the install added, so the tree is again as npm left it. A failure
// while installing puts everything back. A second install with the same
// inputs does nothing.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BUNDLES, EXIT, RELEASES, Refusal, VERSIONS, buildInputs, bundle, droppedFiles, info, recognise, refuse, resolveSource, sha256, stage } from './stage.mjs';

const STATE_DIR = '.plonk-wasm-pool';

function parseArgs(argv) {
  const options = { mode: 'apply', o1js: undefined, source: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check' || arg === '--revert') options.mode = arg.slice(2);
    else if (arg === '--proof-systems') options.source = argv[++i];
    else if (arg.startsWith('--proof-systems=')) options.source = arg.slice('--proof-systems='.length);
    else if (arg.startsWith('-') || options.o1js !== undefined) refuse(EXIT.usage, `unexpected argument '${arg}'`);
    else options.o1js = arg;
  }
  if (options.o1js === undefined) refuse(EXIT.usage, 'missing O1JS: the path of an npm install of o1js, e.g. node_modules/o1js');
  if (options.source === '') refuse(EXIT.usage, '--proof-systems needs a path');
  return options;
}

/** The o1js install and its row of versions.json, or a refusal naming what is supported. */
function openO1js(path) {
  const o1js = resolve(path);
  const manifest = join(o1js, 'package.json');
  if (!existsSync(manifest)) refuse(EXIT.source, `${o1js} has no package.json: expected an npm install of o1js (node_modules/o1js)`);
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  if (pkg.name !== 'o1js') refuse(EXIT.source, `${o1js} is the package '${pkg.name}': expected 'o1js'`);
  const row = VERSIONS[pkg.version];
  if (row === undefined || !RELEASES.includes(pkg.version)) {
    refuse(EXIT.version, `o1js ${pkg.version} is not in scripts/o1js-npm/versions.json: expected one of ${RELEASES.join(', ')} (install one with npm install o1js@${RELEASES.at(-1)})`);
  }
  return { o1js, version: pkg.version, row };
}

function readState(o1js) {
  const path = join(o1js, STATE_DIR, 'state.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null;
}

function backupPath(o1js, path) {
  return join(o1js, STATE_DIR, 'original', path);
}

/** The folders (relative to o1js) that writing `paths` creates, parents before children. */
function foldersToCreate(o1js, paths) {
  const created = new Set();
  for (const path of paths) {
    for (let dir = dirname(path); dir !== '.' && !existsSync(join(o1js, dir)); dir = dirname(dir)) created.add(dir);
  }
  return [...created].sort((a, b) => a.split('/').length - b.split('/').length);
}

/** Puts back every original recorded in `state`, removes what was added (files, then folders); verifies the bytes. */
function restore(o1js, state) {
  const failures = [];
  for (const entry of state.files) {
    const target = join(o1js, entry.path);
    if (entry.original === 'absent') rmSync(target, { force: true });
    else copyFileSync(backupPath(o1js, entry.path), target);
    if (sha256(target) !== entry.original) failures.push(entry.path);
  }
  if (failures.length > 0) refuse(EXIT.failed, `could not restore ${failures.join(', ')} byte for byte: the originals are in ${join(o1js, STATE_DIR, 'original')}`);
  // Deepest first; a folder that holds something else now (put there since) stays, and is named.
  const kept = [];
  for (const dir of [...(state.folders ?? [])].reverse()) {
    const path = join(o1js, dir);
    if (!existsSync(path)) continue;
    if (readdirSync(path).length === 0) rmdirSync(path);
    else kept.push(dir);
  }
  if (kept.length > 0) info(`kept folders the install created that now hold other files: ${kept.join(', ')}`);
  rmSync(join(o1js, STATE_DIR), { recursive: true, force: true });
}

function writeState(o1js, state) {
  writeFileSync(join(o1js, STATE_DIR, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
}

async function apply(options) {
  const { o1js, version, row } = openO1js(options.o1js);
  const previous = readState(o1js);
  if (previous?.status === 'installing') {
    info('a previous install was interrupted: restoring the originals first');
    restore(o1js, previous);
  }
  const applied = previous?.status === 'applied' ? previous : null;
  if (applied === null) {
    const changed = recognise(o1js, row).filter((f) => f.actual !== f.expected);
    if (changed.length > 0) {
      refuse(
        EXIT.modified,
        `o1js ${version} at ${o1js} differs from npm's: ${changed.map((f) => f.path).join(', ')} ` +
          `(expected the files npm ships, by sha256 in scripts/o1js-npm/versions.json). Reinstall it (npm install o1js@${version} --force) and run this again.`,
      );
    }
  }
  const builds = buildInputs(row, resolveSource(options.source, row, version), version);

  const work = mkdtempSync(join(tmpdir(), 'plonk-wasm-pool-o1js-'));
  try {
    let files = await stage(o1js, row, builds, work);
    const key = createHash('sha256')
      .update(files.map((f) => `${f.path} ${sha256(f.from)}`).join('\n'))
      .digest('hex');
    if (applied !== null) {
      const intact = applied.files.every((f) => sha256(join(o1js, f.path)) === f.installed);
      if (applied.key === key && intact) {
        info(`already applied to o1js ${version} at ${o1js}: nothing to do`);
        return;
      }
      if (!intact) {
        const changed = applied.files.filter((f) => sha256(join(o1js, f.path)) !== f.installed).map((f) => f.path);
        refuse(EXIT.modified, `files installed earlier were changed since: ${changed.join(', ')}; run --revert (or reinstall o1js) first`);
      }
      info('an earlier version of the patch is applied: reverting it first');
      restore(o1js, applied);
      rmSync(work, { recursive: true, force: true });
      files = await stage(o1js, row, builds, work);
    }
    const dropped = droppedFiles(row);
    const touched = [...new Set([...files.map((f) => f.path), ...BUNDLES, ...dropped])];
    const state = {
      status: 'installing',
      o1js: version,
      key,
      folders: foldersToCreate(o1js, touched),
      files: touched.map((path) => ({ path, original: sha256(join(o1js, path)), installed: null })),
    };
    mkdirSync(join(o1js, STATE_DIR), { recursive: true });
    for (const entry of state.files) {
      if (entry.original === 'absent') continue;
      mkdirSync(dirname(backupPath(o1js, entry.path)), { recursive: true });
      copyFileSync(join(o1js, entry.path), backupPath(o1js, entry.path));
    }
    writeState(o1js, state);
    try {
      for (const file of files) {
        mkdirSync(dirname(join(o1js, file.path)), { recursive: true });
        copyFileSync(file.from, join(o1js, file.path));
      }
      for (const path of dropped) rmSync(join(o1js, path), { force: true });
      await bundle(o1js);
    } catch (error) {
      info(`installing failed (${error.message}): restoring o1js's files`);
      restore(o1js, state);
      throw error instanceof Refusal ? error : new Refusal(EXIT.failed, `installing failed and was rolled back: ${error.message}`);
    }
    for (const entry of state.files) entry.installed = sha256(join(o1js, entry.path));
    state.status = 'applied';
    writeState(o1js, state);
    info(`applied to o1js ${version} at ${o1js}: ${files.length} files installed, both bundles rebuilt; the entries are 'o1js/pool' and 'o1js/isolates'`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function revert(options) {
  const { o1js, version } = openO1js(options.o1js);
  const state = readState(o1js);
  if (state === null) refuse(EXIT.notApplied, `o1js ${version} at ${o1js} is not patched (no ${STATE_DIR}/state.json): nothing to revert`);
  const changed = state.status === 'applied' ? state.files.filter((f) => sha256(join(o1js, f.path)) !== f.installed).map((f) => f.path) : [];
  if (changed.length > 0) info(`files changed since installing (restored anyway): ${changed.join(', ')}`);
  restore(o1js, state);
  info(`reverted o1js ${version} at ${o1js}: npm's files are back, byte for byte, and the files and folders the install added are gone`);
}

function check(options) {
  const { o1js, version, row } = openO1js(options.o1js);
  const state = readState(o1js);
  console.log(`o1js ${version} at ${o1js}`);
  console.log(`  proof-systems ${row.proofSystems.commit} (${row.proofSystems.layout}, ${row.proofSystems.lib})`);
  console.log(`  wasm-bindgen ${row.wasmBindgen.upstream} → ${row.wasmBindgen.built}: ${row.wasmBindgen.why}`);
  if (state?.status === 'applied') {
    const changed = state.files.filter((f) => sha256(join(o1js, f.path)) !== f.installed).map((f) => f.path);
    console.log(changed.length === 0 ? '  applied' : `  applied, but changed since: ${changed.join(', ')}`);
    if (changed.length > 0) process.exitCode = EXIT.modified;
    return;
  }
  const changed = recognise(o1js, row).filter((f) => f.actual !== f.expected);
  for (const file of recognise(o1js, row)) console.log(`  ${file.actual === file.expected ? 'recognised' : 'MODIFIED  '} ${file.path}`);
  console.log(changed.length === 0 ? '  applicable' : `  not applicable: ${changed.length} file(s) differ from npm's`);
  if (changed.length > 0) process.exitCode = EXIT.modified;
}

try {
  const options = parseArgs(process.argv.slice(2));
  if (options.mode === 'check') check(options);
  else if (options.mode === 'revert') revert(options);
  else await apply(options);
} catch (error) {
  console.error(`ERROR: ${error.message}`);
  process.exit(error instanceof Refusal ? error.exitCode : 1);
}
