// Installs the pool into an application's npm copy of o1js, or takes it out
// (scripts/install-o1js.sh runs this; its header has the usage).
//
// An npm o1js is built: dist/node (ES modules, plus dist/node/index.cjs, an
// esbuild bundle for `require('o1js')`) and dist/web (one esbuild bundle,
// dist/web/index.js, with the wasm inlined). So installing means, per
// platform: the patched kimchi-wasm (built from a proof-systems tree by
// scripts/build-kimchi-wasm.sh, post-processed for Node by o1js's own
// src/build/fix-wasm-bindings-node.js), our backends and our TypeScript layer
// (compiled as o1js compiles it, tsconfig.o1js.json) over o1js's, then both
// bundles built again from the files now in place, and an `o1js/pool` entry
// for the application (package.json `exports`).
//
// Safety: every file replaced must be byte for byte what npm ships for that
// o1js version (versions.json); originals are kept in O1JS/.plonk-wasm-pool/
// and `--revert` puts them back byte for byte. A failure while installing
// puts everything back. A second install with the same inputs does nothing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VERSIONS = JSON.parse(readFileSync(join(ROOT, 'scripts/o1js-npm/versions.json'), 'utf8'));
const STATE_DIR = '.plonk-wasm-pool';

// Exit codes (also in scripts/install-o1js.sh).
const EXIT = { usage: 2, source: 3, version: 4, modified: 5, notApplied: 7, failed: 8, build: 9 };

const info = (message) => console.error(`INFO: ${message}`);
class Refusal extends Error {
  constructor(exitCode, message) {
    super(message);
    this.exitCode = exitCode;
  }
}
const refuse = (exitCode, message) => {
  throw new Refusal(exitCode, message);
};

const sha256 = (path) => (existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'absent');

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
  const known = Object.keys(VERSIONS).filter((v) => !v.startsWith('/'));
  if (row === undefined) {
    refuse(EXIT.version, `o1js ${pkg.version} is not in scripts/o1js-npm/versions.json: expected one of ${known.join(', ')} (install one with npm install o1js@${known.at(-1)})`);
  }
  return { o1js, version: pkg.version, row };
}

function readState(o1js) {
  const path = join(o1js, STATE_DIR, 'state.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null;
}

/** Files o1js ships that we replace, and whether each is still npm's. */
function recognise(o1js, row) {
  return Object.entries(row.files).map(([path, expected]) => ({ path, expected, actual: sha256(join(o1js, path)) }));
}

function run(command, args, what, options = {}) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...options });
  if (result.status !== 0) refuse(EXIT.build, `${what} failed (${command} ${args.join(' ')}: exit ${result.status ?? result.signal})`);
  return result.stdout;
}

/** The proof-systems source: the given path, or the release's commit cloned into the cache where the network allows. */
function resolveSource(source, row, version) {
  if (source !== undefined) {
    if (!existsSync(source)) refuse(EXIT.source, `--proof-systems ${source} does not exist: expected a proof-systems checkout or a .tar.gz of one`);
    return resolve(source);
  }
  const { repository, commit } = row.proofSystems;
  const cache = join(process.env.PLONK_WASM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache'), 'plonk-wasm-pool'), 'sources');
  const checkout = join(cache, `proof-systems-${commit.slice(0, 10)}`);
  if (existsSync(join(checkout, 'Cargo.toml'))) return checkout;
  info(`no --proof-systems given: cloning ${repository} at ${commit} (o1js ${version}) into ${checkout}`);
  mkdirSync(cache, { recursive: true });
  const clone = spawnSync('git', ['clone', '--filter=blob:none', '--no-checkout', repository, checkout], { stdio: 'inherit' });
  const checkedOut = clone.status === 0 && spawnSync('git', ['-C', checkout, 'checkout', '--quiet', commit], { stdio: 'inherit' }).status === 0;
  if (!checkedOut) {
    rmSync(checkout, { recursive: true, force: true });
    refuse(
      EXIT.source,
      `could not clone ${repository} (no network?): give the source with --proof-systems PATH, a checkout of commit ${commit} ` +
        `(git clone ${repository} && git -C proof-systems checkout ${commit}), or a .tar.gz of one`,
    );
  }
  return checkout;
}

// ------------------------------------------------------------------ staging

/** Every file to install, as { path (in o1js), from (a staged file) }; bundles are built after the files are in place. */
function stage(o1js, row, builds, work) {
  const files = [];
  const put = (path, content) => {
    const from = join(work, path);
    mkdirSync(dirname(from), { recursive: true });
    if (typeof content === 'string' || Buffer.isBuffer(content)) writeFileSync(from, content);
    else copyFileSync(content.file, from);
    files.push({ path, from });
  };
  const lib = row.proofSystems.lib;

  // Node: the glue with o1js's own post-processing, our backend, our TS layer.
  const fix = join(o1js, 'src/build/fix-wasm-bindings-node.js');
  if (!existsSync(fix)) refuse(EXIT.source, `${fix} is missing: expected o1js's own post-processing script in the npm package`);
  put(`dist/node/bindings/compiled/node_bindings/${lib}.cjs`, { file: join(builds.node, `${lib}.js`) });
  run('node', [fix, join(work, `dist/node/bindings/compiled/node_bindings/${lib}.cjs`)], "o1js's fix-wasm-bindings-node.js");
  put(`dist/node/bindings/compiled/node_bindings/${lib}_bg.wasm`, { file: join(builds.node, `${lib}_bg.wasm`) });
  put(`dist/node/bindings/compiled/node_bindings/${lib}.d.cts`, { file: join(builds.node, `${lib}.d.ts`) });
  put('dist/node/bindings/js/node/node-backend.js', { file: join(ROOT, 'bindings-js/bindings/js/node/node-backend.js') });

  // Web: the glue in o1js's function-wrapped shape (the bundler inlines the .wasm), our backend and helpers.
  mkdirSync(join(work, 'dist/web/web_bindings'), { recursive: true });
  run('node', [join(ROOT, 'scripts/o1js-web-glue.mjs'), '--wasm', 'inline', join(builds.web, `${lib}.js`), join(work, `dist/web/web_bindings/${lib}.js`)], 'shaping the web glue');
  files.push({ path: `dist/web/web_bindings/${lib}.js`, from: join(work, `dist/web/web_bindings/${lib}.js`) });
  put(`dist/web/web_bindings/${lib}_bg.wasm`, { file: join(builds.web, `${lib}_bg.wasm`) });
  put(`dist/web/web_bindings/${lib}.d.ts`, { file: join(builds.web, `${lib}.d.ts`) });
  put('dist/web/bindings/js/web/web-backend.js', { file: join(ROOT, 'bindings-js/bindings/js/web/web-backend.js') });
  put('dist/web/bindings/js/web/worker-helpers.js', { file: join(ROOT, 'bindings-js/bindings/js/web/worker-helpers.js') });

  // The TypeScript layer, compiled as o1js compiles it, on both platforms.
  const compiled = join(ROOT, 'build/ts-o1js/lib/proof-system');
  for (const name of readdirSync(compiled, { recursive: true }).filter((n) => n.endsWith('.js') || n.endsWith('.d.ts'))) {
    for (const platform of ['node', 'web']) put(`dist/${platform}/lib/proof-system/${name}`, { file: join(compiled, name) });
  }

  // `o1js/pool`: one module per platform over the backend o1js loaded (pool-api.ts).
  const internal = [
    '// Added by scripts/install-o1js.sh: the pool API over the backend o1js loaded (see pool-api.js).',
    "import { initializeBindings } from './bindings.js';",
    "import { loadPoolBackendWith } from './lib/proof-system/pool-api.js';",
    "export * from './lib/proof-system/pool-api.js';",
    "export * from './lib/proof-system/errors.js';",
    'export const loadPoolBackend = () => loadPoolBackendWith(initializeBindings);',
    '',
  ].join('\n');
  const types = [
    "import type { PoolBackendApi } from './lib/proof-system/pool-api.js';",
    "export * from './lib/proof-system/pool-api.js';",
    "export * from './lib/proof-system/errors.js';",
    "export type * from './lib/proof-system/pool-health.js';",
    '/** Loads o1js\'s bindings (initializeBindings) and returns the pool backend they registered. */',
    'export declare function loadPoolBackend(): Promise<PoolBackendApi>;',
    '',
  ].join('\n');
  const names = poolExportNames(compiled);
  put('dist/node/pool-internal.js', internal);
  put('dist/node/pool.js', "// Added by scripts/install-o1js.sh: `import ... from 'o1js/pool'`.\nexport * from './pool-internal.js';\n");
  put('dist/node/pool.cjs', "// Added by scripts/install-o1js.sh: `require('o1js/pool')`, the pool API inside the CommonJS bundle.\nmodule.exports = require('./index.cjs').__pool;\n");
  put('dist/node/pool.d.ts', types);
  put('dist/web/pool-internal.js', internal);
  put('dist/web/pool.js', `// Added by scripts/install-o1js.sh: \`import ... from 'o1js/pool'\`, the pool API inside the bundle.\nimport { __pool } from './index.js';\nexport const { ${names.join(', ')} } = __pool;\n`);
  put('dist/web/pool.d.ts', types);

  // package.json: an `o1js/pool` entry next to `.`.
  const manifest = JSON.parse(readFileSync(join(o1js, 'package.json'), 'utf8'));
  const exportsMap = manifest.exports;
  const subpaths = typeof exportsMap === 'object' && exportsMap !== null && Object.keys(exportsMap).every((k) => k.startsWith('.')) ? exportsMap : { '.': exportsMap };
  manifest.exports = {
    ...subpaths,
    './pool': {
      types: './dist/node/pool.d.ts',
      browser: './dist/web/pool.js',
      node: { import: './dist/node/pool.js', require: './dist/node/pool.cjs' },
      default: './dist/web/pool.js',
    },
  };
  put('package.json', `${JSON.stringify(manifest, null, 2)}\n`);
  return files;
}

/** The names `o1js/pool` exports (the pool API, the typed errors, loadPoolBackend). */
function poolExportNames(compiled) {
  const exported = (file) => [...readFileSync(join(compiled, file), 'utf8').matchAll(/^export (?:async )?(?:function|class|const|let) (\w+)/gm)].map((m) => m[1]);
  return [...new Set([...exported('pool-api.js'), ...exported('errors.js'), 'loadPoolBackend'])];
}

/** Maps o1js's relative imports of compiled bindings to externals relative to `base` (o1js's build-node.js does the same). */
function nodeExternals(base) {
  return {
    name: 'plonk-wasm-pool-externals',
    setup(build) {
      build.onResolve({ filter: /^[^./]|^\.[^./]|^\.\.[^/]/ }, ({ path }) => ({ path, external: true }));
      build.onResolve({ filter: /(bc\.cjs|_wasm\.cjs)$/ }, ({ path, resolveDir }) => ({
        path: `./${relative(base, resolve(resolveDir, path))}`,
        external: true,
      }));
    },
  };
}

/** esbuild plugins for the web bundle: `.wasm` as bytes, `string:` imports as text (as o1js's build-web.js). */
function webPlugins() {
  return [
    {
      name: 'wasm-bytes',
      setup(build) {
        build.onLoad({ filter: /\.wasm$/ }, ({ path }) => ({ contents: readFileSync(path), loader: 'binary' }));
      },
    },
    {
      name: 'string-import',
      setup(build) {
        build.onResolve({ filter: /^string:/ }, ({ path, resolveDir }) => ({ path: resolve(resolveDir, path.slice('string:'.length)), namespace: 'string' }));
        build.onLoad({ filter: /.*/, namespace: 'string' }, ({ path }) => ({ contents: readFileSync(path, 'utf8'), loader: 'text' }));
      },
    },
  ];
}

/** Builds dist/node/index.cjs and dist/web/index.js again from the files in place (with `__pool` added). */
async function bundle(o1js) {
  const esbuild = await import('esbuild');
  const node = join(o1js, 'dist/node');
  const web = join(o1js, 'dist/web');
  const cjsEntry = join(node, '.plonk-wasm-pool-cjs-entry.js');
  const webEntry = join(web, '.plonk-wasm-pool-web-entry.js');
  // The web entry: the same export list as dist/node/index.js (tsc's output of
  // o1js's src/index.ts, which both platforms share), resolved in dist/web.
  writeFileSync(cjsEntry, "export * from './index.js';\nexport * as __pool from './pool-internal.js';\n");
  writeFileSync(webEntry, `${readFileSync(join(node, 'index.js'), 'utf8')}\nexport * as __pool from './pool-internal.js';\n`);
  try {
    info('bundling dist/node/index.cjs (esbuild, CommonJS)');
    await esbuild.build({
      entryPoints: [cjsEntry],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      outfile: join(node, 'index.cjs'),
      target: 'es2021',
      resolveExtensions: ['.node.js', '.ts', '.js'],
      plugins: [nodeExternals(node)],
      dropLabels: ['ESM'],
      sourcemap: true,
      logLevel: 'error',
    });
    info('bundling dist/web/index.js (esbuild, ES module, wasm inlined)');
    await esbuild.build({
      entryPoints: [webEntry],
      bundle: true,
      format: 'esm',
      outfile: join(web, 'index.js'),
      target: 'es2022',
      resolveExtensions: ['.js', '.ts'],
      plugins: webPlugins(),
      dropLabels: ['CJS'],
      external: ['*.bc.js'],
      sourcemap: true,
      logLevel: 'error',
    });
  } finally {
    rmSync(cjsEntry, { force: true });
    rmSync(webEntry, { force: true });
  }
  return ['dist/node/index.cjs', 'dist/node/index.cjs.map', 'dist/web/index.js', 'dist/web/index.js.map'];
}

// ------------------------------------------------------------------ apply / revert

function backupPath(o1js, path) {
  return join(o1js, STATE_DIR, 'original', path);
}

/** Puts back every original recorded in `state` and removes what was added; verifies the bytes. */
function restore(o1js, state) {
  const failures = [];
  for (const entry of state.files) {
    const target = join(o1js, entry.path);
    if (entry.original === 'absent') rmSync(target, { force: true });
    else copyFileSync(backupPath(o1js, entry.path), target);
    if (sha256(target) !== entry.original) failures.push(entry.path);
  }
  if (failures.length > 0) refuse(EXIT.failed, `could not restore ${failures.join(', ')} byte for byte: the originals are in ${join(o1js, STATE_DIR, 'original')}`);
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
  const source = resolveSource(options.source, row, version);
  info(`o1js ${version}: building kimchi-wasm from ${source} (proof-systems ${row.proofSystems.commit.slice(0, 10)}, wasm-bindgen ${row.wasmBindgen.upstream} → ${row.wasmBindgen.built})`);
  const [nodeBuild, webBuild] = run(join(ROOT, 'scripts/build-kimchi-wasm.sh'), [source, 'node', 'web'], 'building kimchi-wasm').trim().split('\n').slice(-2);
  run('npx', ['--no-install', 'tsc', '-p', join(ROOT, 'tsconfig.o1js.json')], "compiling the TypeScript layer as o1js does (tsconfig.o1js.json)", { cwd: ROOT });

  const work = mkdtempSync(join(tmpdir(), 'plonk-wasm-pool-o1js-'));
  try {
    const builds = { node: nodeBuild, web: webBuild };
    let files = stage(o1js, row, builds, work);
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
      files = stage(o1js, row, builds, work);
    }
    const bundles = ['dist/node/index.cjs', 'dist/node/index.cjs.map', 'dist/web/index.js', 'dist/web/index.js.map'];
    // Files we replace with nothing: source maps of o1js's files that are ours now.
    const dropped = Object.keys(row.files).filter((p) => p.endsWith('.map') && !bundles.includes(p));
    const touched = [...new Set([...files.map((f) => f.path), ...bundles, ...dropped])];
    const state = {
      status: 'installing',
      o1js: version,
      key,
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
    info(`applied to o1js ${version} at ${o1js}: ${files.length} files installed, both bundles rebuilt; the pool API is 'o1js/pool'`);
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
  info(`reverted o1js ${version} at ${o1js}: npm's files are back, byte for byte`);
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
