// Installs the pool into an application's npm copy of o1js, or takes it out
// (scripts/install-o1js.sh runs this; its header has the usage). What is
// installed is staged by stage.mjs, as for the packages (scripts/pack.sh).
//
// Safety: every file replaced must be byte for byte what npm ships for that
// o1js version (versions.json). The files are written by the shared
// transactional installer (scripts/lib/transaction.mjs, also behind
// scripts/apply-patches.sh; its header has the state format): originals are
// kept in O1JS/.plonk-wasm-pool/, `--revert` puts them back byte for byte and
// removes every file and folder the install added, so the tree is again as
// npm left it. A failure while installing (or a killed install, at the next
// run) puts everything back. A second install with the same inputs does
// nothing.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InstallStateError, TransactionError, openInstall } from '../lib/transaction.mjs';
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

/** The install's state in O1JS/.plonk-wasm-pool (a refusal for one this version cannot read). */
function openState(o1js) {
  try {
    return openInstall(o1js, { name: STATE_DIR, tool: 'scripts/install-o1js.sh' });
  } catch (error) {
    if (error instanceof InstallStateError) refuse(EXIT.failed, `${o1js}: ${error.message}`);
    throw error;
  }
}

/** Rolls back an interrupted install, if any; -> whether there was one. */
function recoverInterrupted(install) {
  if (!install.interrupted) return false;
  info('a previous install was interrupted: restoring the originals first');
  try {
    install.recover({ warn: (message) => info(message) });
  } catch (error) {
    if (error instanceof TransactionError || error instanceof InstallStateError) refuse(EXIT.failed, error.message);
    throw error;
  }
  return true;
}

/** Runs a commit or revert; a failure was rolled back (exit 8, or the refusal that caused it). */
async function transaction(what, run) {
  try {
    return await run({ warn: (message) => info(message), onFailure: (error) => info(`${what} failed (${(error.cause ?? error).message}): restoring o1js's files`) });
  } catch (error) {
    if (error instanceof InstallStateError) refuse(EXIT.failed, error.message);
    if (!(error instanceof TransactionError)) throw error;
    if (error.cause instanceof Refusal && error.rolledBack) throw error.cause;
    refuse(EXIT.failed, error.rolledBack ? `${what} failed and was rolled back: ${(error.cause ?? error).message}` : `${what} failed: ${error.message}`);
  }
}

async function apply(options) {
  const { o1js, version, row } = openO1js(options.o1js);
  const install = openState(o1js);
  recoverInterrupted(install);
  const applied = install.state;
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
      const changed = install.changed();
      if (applied.meta.key === key && changed.length === 0) {
        info(`already applied to o1js ${version} at ${o1js}: nothing to do`);
        return;
      }
      if (changed.length > 0) refuse(EXIT.modified, `files installed earlier were changed since: ${changed.join(', ')}; run --revert (or reinstall o1js) first`);
      info('an earlier version of the patch is applied: reverting it first');
      await transaction('reverting', (options_) => install.revert(options_));
      rmSync(work, { recursive: true, force: true });
      files = await stage(o1js, row, builds, work);
    }
    // The staged files, the source maps that no longer match (removed), and
    // the bundles esbuild writes in place once the files are there.
    const dropped = droppedFiles(row);
    await transaction('installing', (options_) =>
      install.commit({
        ...options_,
        files: [...files.map((f) => ({ path: f.path, from: f.from })), ...dropped.map((path) => ({ path, content: null }))],
        external: BUNDLES,
        during: () => bundle(o1js),
        meta: { o1js: version, key },
      }),
    );
    info(`applied to o1js ${version} at ${o1js}: ${files.length} files installed, both bundles rebuilt; the entries are 'o1js/pool' and 'o1js/isolates'`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function revert(options) {
  const { o1js, version } = openO1js(options.o1js);
  const install = openState(o1js);
  if (recoverInterrupted(install) && install.state === null) {
    info(`reverted o1js ${version} at ${o1js}: npm's files are back, byte for byte, and the files and folders the install added are gone`);
    return;
  }
  if (install.state === null) refuse(EXIT.notApplied, `o1js ${version} at ${o1js} is not patched (no ${STATE_DIR}/state.json): nothing to revert`);
  const changed = install.changed();
  if (changed.length > 0) info(`files changed since installing (restored anyway): ${changed.join(', ')}`);
  const { kept } = await transaction('reverting', (options_) => install.revert(options_));
  // A folder that holds something else now (put there since) stays, and is named.
  if (kept.length > 0) info(`kept folders the install created that now hold other files: ${kept.join(', ')}`);
  info(`reverted o1js ${version} at ${o1js}: npm's files are back, byte for byte, and the files and folders the install added are gone`);
}

function check(options) {
  const { o1js, version, row } = openO1js(options.o1js);
  const install = openState(o1js);
  console.log(`o1js ${version} at ${o1js}`);
  console.log(`  proof-systems ${row.proofSystems.commit} (${row.proofSystems.layout}, ${row.proofSystems.lib})`);
  console.log(`  wasm-bindgen ${row.wasmBindgen.upstream} → ${row.wasmBindgen.built}: ${row.wasmBindgen.why}`);
  if (install.interrupted) console.log('  a previous install was interrupted: installing again or --revert restores the originals first');
  else if (install.state !== null) {
    const changed = install.changed();
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
  else if (options.mode === 'revert') await revert(options);
  else await apply(options);
} catch (error) {
  console.error(`ERROR: ${error.message}`);
  process.exit(error instanceof Refusal ? error.exitCode : 1);
}
