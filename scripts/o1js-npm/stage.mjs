// What turns npm's o1js into o1js with the pool, shared by the in-place
// install (install.mjs, scripts/install-o1js.sh) and the packages
// (pack.mjs, scripts/pack.sh), so the two can never differ.
//
// An npm o1js is built: dist/node (ES modules, plus dist/node/index.cjs, an
// esbuild bundle for `require('o1js')`) and dist/web (one esbuild bundle,
// dist/web/index.js, with the wasm inlined). Per platform, staging gives: the
// patched kimchi-wasm (built from a proof-systems tree by
// scripts/build-kimchi-wasm.sh, post-processed for Node by o1js's own
// src/build/fix-wasm-bindings-node.js), our backends and our TypeScript layer
// (compiled as o1js compiles it, tsconfig.o1js.json) over o1js's, the prover
// isolates (tsconfig.package.json's build), and the entries `o1js/pool` and
// `o1js/isolates` (package.json `exports`). Then `bundle` builds both bundles
// again from the files in place.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const VERSIONS = JSON.parse(readFileSync(join(ROOT, 'scripts/o1js-npm/versions.json'), 'utf8'));
/** The o1js releases versions.json lists (its keys that are versions). */
export const RELEASES = Object.keys(VERSIONS).filter((key) => /^\d+\.\d+\.\d+$/.test(key));

// Exit codes (also in scripts/install-o1js.sh and scripts/pack.sh).
export const EXIT = { usage: 2, source: 3, version: 4, modified: 5, notApplied: 7, failed: 8, build: 9 };

export const info = (message) => console.error(`INFO: ${message}`);

/** A refusal: a message for the user and the exit code that goes with it. */
export class Refusal extends Error {
  constructor(exitCode, message) {
    super(message);
    this.exitCode = exitCode;
  }
}
export const refuse = (exitCode, message) => {
  throw new Refusal(exitCode, message);
};

export const sha256 = (path) => (existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'absent');

export function run(command, args, what, options = {}) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...options });
  if (result.status !== 0) refuse(EXIT.build, `${what} failed (${command} ${args.join(' ')}: exit ${result.status ?? result.signal})`);
  return result.stdout;
}

/** Files o1js ships that staging replaces, and whether each is still npm's. */
export function recognise(o1js, row) {
  return Object.entries(row.files).map(([path, expected]) => ({ path, expected, actual: sha256(join(o1js, path)) }));
}

/** The proof-systems source: the given path, or the release's commit cloned into the cache where the network allows. */
export function resolveSource(source, row, version) {
  if (source !== undefined) {
    if (!existsSync(source)) refuse(EXIT.source, `--proof-systems ${source} does not exist: expected a proof-systems checkout or a .tar.gz of one`);
    return resolve(source);
  }
  const { repository, commit } = row.proofSystems;
  const checkout = join(cacheDir(), 'sources', `proof-systems-${commit.slice(0, 10)}`);
  if (existsSync(join(checkout, 'Cargo.toml'))) return checkout;
  info(`no --proof-systems given: cloning ${repository} at ${commit} (o1js ${version}) into ${checkout}`);
  mkdirSync(dirname(checkout), { recursive: true });
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

/** The per-user cache outside any clone (scripts/build-kimchi-wasm.sh uses the same). */
export function cacheDir() {
  return process.env.PLONK_WASM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/tmp', '.cache'), 'plonk-wasm-pool');
}

/**
 * Everything staging reads that is built: kimchi-wasm for Node and the web
 * (cached by its inputs), the TypeScript layer as o1js compiles it, and the
 * isolates. Returns `{ node, web }`, the two kimchi-wasm build directories.
 */
export function buildInputs(row, source, version) {
  info(`o1js ${version}: building kimchi-wasm from ${source} (proof-systems ${row.proofSystems.commit.slice(0, 10)}, wasm-bindgen ${row.wasmBindgen.upstream} → ${row.wasmBindgen.built})`);
  const [node, web] = run(join(ROOT, 'scripts/build-kimchi-wasm.sh'), [source, 'node', 'web'], 'building kimchi-wasm').trim().split('\n').slice(-2);
  run('npx', ['--no-install', 'tsc', '-p', join(ROOT, 'tsconfig.o1js.json')], 'compiling the TypeScript layer as o1js does (tsconfig.o1js.json)', { cwd: ROOT });
  run('npx', ['--no-install', 'tsc', '-p', join(ROOT, 'tsconfig.package.json')], 'compiling the prover isolates (tsconfig.package.json)', { cwd: ROOT });
  return { node, web };
}

/** The isolates' compiled files for `platform`: node.* and node-isolate.* on Node, web* in browsers, the rest on both. */
function isolateFiles(platform) {
  const compiled = join(ROOT, 'build/ts-package/bindings-js/isolates');
  const other = platform === 'node' ? /^web/ : /^node/;
  return readdirSync(compiled)
    .filter((name) => (name.endsWith('.js') || name.endsWith('.d.ts')) && !other.test(name))
    .map((name) => ({ name, file: join(compiled, name) }));
}

/**
 * Every file to install, as { path (in o1js), from (a staged file) }, staged
 * into `work`; the bundles are built after the files are in place (`bundle`).
 */
export async function stage(o1js, row, builds, work) {
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

  // `o1js/pool`: one module per platform over the backend o1js loaded (pool-api.ts); what it exports is pool-entry.ts.
  const internal = [
    '// Added by the plonk-wasm pool: the pool API over the backend o1js loaded (see lib/proof-system/pool-entry.js).',
    "import { initializeBindings } from './bindings.js';",
    "import { loadPoolBackendWith } from './lib/proof-system/pool-api.js';",
    "export * from './lib/proof-system/pool-entry.js';",
    'export const loadPoolBackend = () => loadPoolBackendWith(initializeBindings);',
    '',
  ].join('\n');
  const types = [
    "import type { PoolBackendApi } from './lib/proof-system/pool-api.js';",
    "export * from './lib/proof-system/pool-entry.js';",
    '/** Loads o1js\'s bindings (initializeBindings) and returns the pool backend they registered. */',
    'export declare function loadPoolBackend(): Promise<PoolBackendApi>;',
    '',
  ].join('\n');
  const names = [...exportedValues(join(compiled, 'pool-entry.js')), 'loadPoolBackend'];
  put('dist/node/pool-internal.js', internal);
  put('dist/node/pool.js', "// Added by the plonk-wasm pool: `import ... from 'o1js/pool'`.\nexport * from './pool-internal.js';\n");
  put('dist/node/pool.cjs', "// Added by the plonk-wasm pool: `require('o1js/pool')`, the pool API inside the CommonJS bundle.\nmodule.exports = require('./index.cjs').__pool;\n");
  put('dist/node/pool.d.ts', types);
  put('dist/web/pool-internal.js', internal);
  put('dist/web/pool.js', `// Added by the plonk-wasm pool: \`import ... from 'o1js/pool'\`, the pool API inside the bundle.\nimport { __pool } from './index.js';\nexport const { ${names.join(', ')} } = __pool;\n`);
  put('dist/web/pool.d.ts', types);

  // `o1js/isolates`: the prover isolates, per platform; `require()` gets one CommonJS file.
  for (const platform of ['node', 'web']) {
    for (const { name, file } of isolateFiles(platform)) put(`dist/${platform}/isolates/${name}`, { file });
  }
  await bundleIsolatesCommonJs(join(work, 'dist/node/isolates/node.cjs'));
  files.push({ path: 'dist/node/isolates/node.cjs', from: join(work, 'dist/node/isolates/node.cjs') });

  // package.json: `o1js/pool` and `o1js/isolates` next to `.`.
  put('package.json', `${JSON.stringify(withEntries(JSON.parse(readFileSync(join(o1js, 'package.json'), 'utf8'))), null, 2)}\n`);
  return files;
}

/** o1js's manifest with the entries `o1js/pool` and `o1js/isolates` added to its `exports`. */
export function withEntries(manifest) {
  const exportsMap = manifest.exports;
  const subpaths = typeof exportsMap === 'object' && exportsMap !== null && Object.keys(exportsMap).every((k) => k.startsWith('.')) ? exportsMap : { '.': exportsMap };
  // Each condition carries its own types: TypeScript picks `types` inside the condition it matched.
  const web = (path) => ({ types: `./dist/web/${path}.d.ts`, default: `./dist/web/${path}.js` });
  return {
    ...manifest,
    exports: {
      ...subpaths,
      './pool': {
        browser: web('pool'),
        node: { types: './dist/node/pool.d.ts', import: './dist/node/pool.js', require: './dist/node/pool.cjs' },
        default: web('pool'),
      },
      './isolates': {
        browser: web('isolates/web'),
        node: { types: './dist/node/isolates/node.d.ts', import: './dist/node/isolates/node.js', require: './dist/node/isolates/node.cjs' },
        default: web('isolates/web'),
      },
      './package.json': './package.json',
    },
  };
}

/** `require('o1js/isolates')`: the Node entry as one CommonJS file; its isolate script stays the ES module beside it. */
async function bundleIsolatesCommonJs(outfile) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(ROOT, 'build/ts-package/bindings-js/isolates/node.js')],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    outfile,
    define: { 'import.meta.url': '__isolatesFileUrl' },
    banner: { js: "// Added by the plonk-wasm pool: `require('o1js/isolates')`.\nconst __isolatesFileUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'error',
  });
}

/** The names of the values a compiled module re-exports (`export { a, b } from …`; tsc's output of pool-entry.ts). */
function exportedValues(file) {
  return [...readFileSync(file, 'utf8').matchAll(/^export \{([^}]*)\} from/gm)].flatMap((m) => m[1].split(',').map((name) => name.trim()).filter(Boolean));
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

/** The bundles `bundle` rebuilds (with their maps). */
export const BUNDLES = ['dist/node/index.cjs', 'dist/node/index.cjs.map', 'dist/web/index.js', 'dist/web/index.js.map'];

/** Builds dist/node/index.cjs and dist/web/index.js again from the files in place (with `__pool` added). */
export async function bundle(o1js) {
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
  return BUNDLES;
}

/** Files npm ships that are dropped: source maps of o1js's files that are ours now (the bundles' maps are rebuilt). */
export function droppedFiles(row) {
  return Object.keys(row.files).filter((p) => p.endsWith('.map') && !BUNDLES.includes(p));
}
