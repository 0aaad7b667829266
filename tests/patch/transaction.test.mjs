// The shared transactional installer (scripts/lib/transaction.mjs) on its
// own, the part of it scripts/apply-patches.sh does not reach: files written
// by an async step (install-o1js.sh's bundles) and that step failing, files
// from a staged copy, removed files, folders created and removed (and kept
// when they hold something else), a killed commit and a killed revert rolled
// back by the next run, and the state formats before version 1 (apply-patches.sh's
// tab-separated `state` and `journal`, install-o1js.sh's state.json with
// `status`), read, rolled back and reverted byte for byte.
//   node --test tests/patch/transaction.test.mjs   (tests/patch/run.sh runs it)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { InstallStateError, STATE_FORMAT, TransactionError, openInstall } from '../../scripts/lib/transaction.mjs';

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
const NAME = '.state';

const scratch = [];
after(() => { for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true }); });

/** A scratch tree with `files` ({ path: text }); returns its root. */
function tree(files) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'transaction-test-'));
  scratch.push(root);
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), text);
  }
  fs.chmodSync(path.join(root, Object.keys(files)[0]), 0o755);
  return root;
}
/** Every folder and file under root (state folder included): `path/`, `path mode sha256`. */
function listing(root) {
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    const rel = path.relative(root, p);
    if (e.isDirectory()) return [`${rel}/`, ...walk(p)];
    return [`${rel} ${(fs.statSync(p).mode & 0o777).toString(8)} ${sha(fs.readFileSync(p))}`];
  });
  return walk(root).sort();
}
const read = (root, p) => fs.readFileSync(path.join(root, p), 'utf8');
const open = (root) => openInstall(root, { name: NAME, tool: 'test' });

test('commit: files from buffers and staged copies, removals, an async step writing its own files; then revert, folder for folder', async () => {
  const root = tree({ 'bin/run.sh': 'upstream run\n', 'dist/index.js': 'upstream bundle\n', 'dist/index.js.map': 'map\n' });
  const pristine = listing(root);
  const staged = path.join(tree({ 'staged.txt': '' }), 'new.js');
  fs.writeFileSync(staged, 'ours, staged\n');
  const install = open(root);
  assert.equal(install.state, null);
  const result = await install.commit({
    files: [
      { path: 'bin/run.sh', content: Buffer.from('ours run\n') },
      { path: 'lib/deep/new.js', from: staged },
      { path: 'dist/index.js.map', content: null },
    ],
    external: ['dist/index.js'],
    during: async () => fs.writeFileSync(path.join(root, 'dist/index.js'), `bundled ${read(root, 'lib/deep/new.js')}`),
    meta: { key: 'k1' },
  });
  assert.deepEqual(result.created, ['lib', 'lib/deep']);
  assert.equal(read(root, 'dist/index.js'), 'bundled ours, staged\n');
  assert.equal(fs.statSync(path.join(root, 'bin/run.sh')).mode & 0o777, 0o755, 'a replaced file keeps its mode');
  assert.ok(!fs.existsSync(path.join(root, 'dist/index.js.map')));
  const state = JSON.parse(read(root, `${NAME}/state.json`));
  assert.equal(state.format, STATE_FORMAT);
  assert.equal(state.version, 1);
  assert.deepEqual(state.meta, { key: 'k1' });
  assert.deepEqual(state.folders, ['lib', 'lib/deep']);
  assert.deepEqual(state.files.find((f) => f.path === 'dist/index.js'), { path: 'dist/index.js', original: sha('upstream bundle\n'), installed: sha('bundled ours, staged\n') });
  assert.deepEqual(state.files.find((f) => f.path === 'dist/index.js.map'), { path: 'dist/index.js.map', original: sha('map\n'), installed: 'absent' });
  assert.ok(!fs.existsSync(path.join(root, NAME, 'journal.json')) && !fs.existsSync(path.join(root, NAME, 'staging')));

  const again = open(root);
  assert.deepEqual(again.changed(), []);
  assert.equal(again.status('bin/run.sh', sha('ours run\n')), 'applied');
  assert.equal(again.status('bin/run.sh', sha('newer\n')), 'outdated');
  fs.appendFileSync(path.join(root, 'bin/run.sh'), 'local\n');
  assert.deepEqual(again.changed(), ['bin/run.sh']);
  assert.equal(again.status('bin/run.sh', sha('ours run\n')), 'modified');
  fs.writeFileSync(path.join(root, 'bin/run.sh'), 'ours run\n');

  const { files, kept } = await again.revert();
  assert.equal(files, 4);
  assert.deepEqual(kept, []);
  assert.deepEqual(listing(root), pristine, 'byte for byte, modes and folders included, no state left');
});

test('a failing async step rolls every file and folder back, the state included', async () => {
  const root = tree({ 'a.txt': 'a\n', 'dist/index.js': 'bundle\n' });
  const install = open(root);
  await install.commit({ files: [{ path: 'a.txt', content: Buffer.from('A1\n') }], meta: { key: 'k1' } });
  const applied = listing(root);
  const failures = [];
  await assert.rejects(
    open(root).commit({
      files: [{ path: 'a.txt', content: Buffer.from('A2\n') }, { path: 'new/b.txt', content: Buffer.from('b\n') }],
      external: ['dist/index.js'],
      during: async () => {
        fs.writeFileSync(path.join(root, 'dist/index.js'), 'half a bundle');
        throw new Error('esbuild failed');
      },
      meta: { key: 'k2' },
      onFailure: (e) => failures.push(e.message),
    }),
    (e) => e instanceof TransactionError && e.rolledBack && e.cause.message === 'esbuild failed',
  );
  assert.deepEqual(failures, ['installing failed (esbuild failed)']);
  assert.deepEqual(listing(root), applied, 'the earlier install, as it was');
  assert.equal(open(root).state.meta.key, 'k1');
});

test('an update keeps the first originals, puts stale files back, and reverts to the very first tree', async () => {
  const root = tree({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
  const pristine = listing(root);
  await open(root).commit({ files: [{ path: 'a.txt', content: Buffer.from('A1\n') }, { path: 'x/old.txt', content: Buffer.from('old\n') }], record: ['b.txt'] });
  fs.writeFileSync(path.join(root, 'b.txt'), 'rewritten by a build\n');
  const update = open(root);
  await update.commit({ files: [{ path: 'a.txt', content: Buffer.from('A2\n') }], record: ['b.txt'] });
  assert.ok(!fs.existsSync(path.join(root, 'x/old.txt')), 'a file no longer installed is gone');
  assert.equal(open(root).record('a.txt').original, sha('a\n'), 'the original is the first one');
  assert.ok(!fs.existsSync(path.join(root, NAME, 'originals/x')), 'no copies of what is no longer recorded');
  await open(root).revert();
  assert.deepEqual(listing(root), pristine, 'b.txt is back too, whatever the build made of it; x/ is gone');
});

test('revert keeps (and names) a created folder that holds files put there since', async () => {
  const root = tree({ 'a.txt': 'a\n' });
  await open(root).commit({ files: [{ path: 'new/sub/ours.txt', content: Buffer.from('ours\n') }] });
  fs.writeFileSync(path.join(root, 'new/theirs.txt'), 'theirs\n');
  const { kept } = await open(root).revert();
  assert.deepEqual(kept, ['new']);
  assert.ok(!fs.existsSync(path.join(root, 'new/sub')));
  assert.equal(read(root, 'new/theirs.txt'), 'theirs\n');
  assert.ok(!fs.existsSync(path.join(root, NAME)));
});

test('a killed commit and a killed revert are rolled back by the next run', async () => {
  const root = tree({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
  const pristine = listing(root);
  const files = [{ path: 'a.txt', content: Buffer.from('A\n') }, { path: 'n/c.txt', content: Buffer.from('c\n') }, { path: 'b.txt', content: null }];
  await assert.rejects(open(root).commit({ files, inject: { after: 2, crash: true } }), (e) => e.crashed && /failing after 2 files/.test(e.message));
  assert.equal(read(root, 'a.txt'), 'A\n', 'half done, as a kill leaves it');
  const next = open(root);
  assert.ok(next.interrupted);
  await assert.rejects(next.commit({ files }), InstallStateError, 'no commit over an interrupted one');
  assert.deepEqual(next.recover().sort(), ['a.txt', 'b.txt', 'n/c.txt']);
  assert.deepEqual(listing(root), pristine);

  await open(root).commit({ files });
  const applied = listing(root);
  await assert.rejects(open(root).revert({ inject: { after: 1, crash: true } }), (e) => e.crashed);
  assert.ok(open(root).interrupted);
  open(root).recover();
  assert.deepEqual(listing(root), applied, 'the revert never happened');
  await open(root).revert();
  assert.deepEqual(listing(root), pristine);
});

test("apply-patches.sh's state before version 1 (tab separated): read, updated to state.json, reverted byte for byte", async () => {
  const root = tree({ 'a.txt': 'a\n', 'Cargo.lock': 'lock\n' });
  const pristine = listing(root);
  fs.mkdirSync(path.join(root, 'src/rayon'), { recursive: true });
  fs.writeFileSync(path.join(root, 'a.txt'), 'A\n');
  fs.writeFileSync(path.join(root, 'src/rayon/job.rs'), 'job\n');
  fs.mkdirSync(path.join(root, NAME, 'originals'), { recursive: true });
  fs.writeFileSync(path.join(root, NAME, 'originals/a.txt'), 'a\n');
  fs.chmodSync(path.join(root, NAME, 'originals/a.txt'), 0o755);
  fs.writeFileSync(path.join(root, NAME, 'originals/Cargo.lock'), 'lock\n');
  fs.writeFileSync(path.join(root, NAME, 'state'), [
    '# Written by plonk-wasm pool scripts/apply-patches.sh; --revert uses it. Do not edit.',
    'layout\tproof-systems-kimchi-wasm', 'source\tabc1234',
    `item\t${sha('A\n')}\t${sha('a\n')}\ta.txt`, `item\t${sha('job\n')}\tabsent\tsrc/rayon/job.rs`,
    `record\t${sha('lock\n')}\tCargo.lock`, 'dir\tsrc', 'dir\tsrc/rayon', '',
  ].join('\n'));
  const legacy = open(root);
  assert.equal(legacy.state.meta.layout, 'proof-systems-kimchi-wasm');
  assert.equal(legacy.record('Cargo.lock').installed, null);
  assert.equal(legacy.status('src/rayon/job.rs', sha('job\n')), 'applied');
  assert.deepEqual(legacy.changed(), []);
  await legacy.commit({ files: [{ path: 'a.txt', content: Buffer.from('A2\n') }, { path: 'src/rayon/job.rs', content: Buffer.from('job\n') }], record: ['Cargo.lock'], meta: { layout: 'proof-systems-kimchi-wasm' } });
  assert.ok(fs.existsSync(path.join(root, NAME, 'state.json')) && !fs.existsSync(path.join(root, NAME, 'state')), 'written as version 1');
  await open(root).revert();
  assert.deepEqual(listing(root), pristine);
});

test("apply-patches.sh's journal before version 1 (a killed run) is rolled back", () => {
  const root = tree({ 'a.txt': 'a\n' });
  const pristine = listing(root);
  fs.mkdirSync(path.join(root, NAME, 'staging/backup'), { recursive: true });
  fs.copyFileSync(path.join(root, 'a.txt'), path.join(root, NAME, 'staging/backup/0'));
  fs.chmodSync(path.join(root, NAME, 'staging/backup/0'), 0o755);
  fs.writeFileSync(path.join(root, NAME, 'staging/created-dirs'), 'new\n');
  fs.writeFileSync(path.join(root, NAME, 'journal'), '0\tpresent\ta.txt\n1\tabsent\tnew/b.txt\n');
  fs.writeFileSync(path.join(root, 'a.txt'), 'patched\n');
  fs.mkdirSync(path.join(root, 'new'));
  fs.writeFileSync(path.join(root, 'new/b.txt'), 'b\n');
  const install = open(root);
  assert.ok(install.interrupted);
  install.recover();
  assert.deepEqual(listing(root), pristine, 'no state left: the run was the first');
});

test("install-o1js.sh's state before version 1: applied (read, reverted) and installing (rolled back)", async () => {
  for (const status of ['applied', 'installing']) {
    const root = tree({ 'package.json': '{"name":"o1js"}\n', 'dist/index.cjs': 'npm bundle\n' });
    const pristine = listing(root);
    fs.mkdirSync(path.join(root, NAME, 'original/dist'), { recursive: true });
    for (const p of ['package.json', 'dist/index.cjs']) fs.copyFileSync(path.join(root, p), path.join(root, NAME, 'original', p));
    fs.chmodSync(path.join(root, NAME, 'original/package.json'), 0o755);
    fs.writeFileSync(path.join(root, 'package.json'), '{"name":"o1js","exports":{}}\n');
    fs.writeFileSync(path.join(root, 'dist/index.cjs'), 'our bundle\n');
    fs.mkdirSync(path.join(root, 'dist/node/isolates'), { recursive: true });
    fs.writeFileSync(path.join(root, 'dist/node/isolates/node.js'), 'isolates\n');
    fs.writeFileSync(path.join(root, NAME, 'state.json'), JSON.stringify({
      status, o1js: '2.15.0', key: 'k', folders: ['dist/node', 'dist/node/isolates'],
      files: [
        { path: 'package.json', original: sha('{"name":"o1js"}\n'), installed: status === 'applied' ? sha('{"name":"o1js","exports":{}}\n') : null },
        { path: 'dist/index.cjs', original: sha('npm bundle\n'), installed: status === 'applied' ? sha('our bundle\n') : null },
        { path: 'dist/node/isolates/node.js', original: 'absent', installed: status === 'applied' ? sha('isolates\n') : null },
      ],
    }, null, 2));
    const install = open(root);
    if (status === 'applied') {
      assert.equal(install.interrupted, false);
      assert.equal(install.state.meta.key, 'k');
      assert.deepEqual(install.changed(), []);
      const { files } = await install.revert();
      assert.equal(files, 3);
    } else {
      assert.ok(install.interrupted);
      install.recover();
    }
    assert.deepEqual(listing(root), pristine, `${status}: npm's tree again`);
  }
});

test('a state of an unknown format is refused with what to do', () => {
  const root = tree({ 'a.txt': 'a\n' });
  fs.mkdirSync(path.join(root, NAME));
  fs.writeFileSync(path.join(root, NAME, 'state.json'), JSON.stringify({ format: STATE_FORMAT, version: 2, files: [] }));
  assert.throws(() => open(root), (e) => e instanceof InstallStateError && /version 2.*revert with the version of this repository that wrote it/.test(e.message));
  fs.writeFileSync(path.join(root, NAME, 'state.json'), '{"something":"else"}');
  assert.throws(() => open(root), (e) => e instanceof InstallStateError && /reinstall/.test(e.message));
});
