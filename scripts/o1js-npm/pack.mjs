// Builds the packages users install instead of npm's o1js (scripts/pack.sh
// runs this; its header has the usage): for each o1js release in
// versions.json, npm's own package with the pool staged in (stage.mjs, as the
// in-place install does), its manifest renamed and fixed, o1js's license and
// a notice of what changed, packed into build/packages/.
//
// Cached: a package whose inputs (npm's tarball, every staged file, this
// script and stage.mjs) are unchanged is not built again.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLES, EXIT, RELEASES, ROOT, Refusal, VERSIONS, buildInputs, bundle, cacheDir, droppedFiles, info, recognise, refuse, resolveSource, sha256, stage } from './stage.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(ROOT, 'build/packages');
const { name: PACKAGE_NAME, revision: REVISION } = VERSIONS.package;

function parseArgs(argv) {
  const options = { source: process.env.PROOF_SYSTEMS, releases: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--proof-systems') options.source = argv[++i];
    else if (arg.startsWith('--proof-systems=')) options.source = arg.slice('--proof-systems='.length);
    else if (RELEASES.includes(arg)) options.releases.push(arg);
    else refuse(EXIT.usage, `unexpected argument '${arg}': expected --proof-systems PATH or an o1js release of versions.json (${RELEASES.join(', ')})`);
  }
  if (options.source === '') refuse(EXIT.usage, '--proof-systems needs a path');
  if (options.releases.length === 0) options.releases = RELEASES;
  return options;
}

/** Our package's version for o1js `release`: <major>.<minor>.<patch * 100 + revision> (versions.json, "package"). */
export function packageVersion(release, revision = REVISION) {
  const [major, minor, patch] = release.split('.').map(Number);
  return `${major}.${minor}.${patch * 100 + revision}`;
}

/** npm's tarball of o1js `release`, fetched once into the per-user cache (npm checks its integrity). */
function npmTarball(release) {
  const dir = join(cacheDir(), 'npm');
  const file = join(dir, `o1js-${release}.tgz`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  info(`fetching o1js ${release} from the npm registry (npm pack)`);
  const result = spawnSync('npm', ['pack', `o1js@${release}`, '--pack-destination', dir, '--silent'], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0 || !existsSync(file)) refuse(EXIT.source, `npm pack o1js@${release} failed: the npm registry is needed once, to fetch npm's o1js`);
  return file;
}

/** npm's manifest made ours: name, version, dependencies npm ci accepts, our entries, what it was built from. */
export function packageManifest(manifest, release, provenance) {
  const { scripts: _scripts, devDependencies: _dev, publishConfig: _publish, optionalDependencies: _optional, ...kept } = manifest;
  // o1js 2.15.0 lists @o1js/native twice: `file:./native/meta` in dependencies (a folder the package does not
  // ship) and 2.15.0 in optionalDependencies, whose own optional dependencies name platform packages that are
  // not all published: npm install writes a lock without them, and npm ci refuses that lock ("Missing:
  // @o1js/native-darwin-arm64@ from lock file"). Here it is an optional peer dependency: installed only by an
  // app that wants the native backend (`npm install @o1js/native`, as @o1js/native's own description says),
  // checked against this version when it is, and never in the way of `npm ci`.
  const nativeDependencies = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }).filter((name) => name.startsWith('@o1js/native'));
  const dependencies = Object.fromEntries(Object.entries(manifest.dependencies ?? {}).filter(([name]) => !nativeDependencies.includes(name)));
  const optionalDependencies = Object.fromEntries(Object.entries(manifest.optionalDependencies ?? {}).filter(([name]) => !nativeDependencies.includes(name)));
  const nativeVersion = manifest.optionalDependencies?.['@o1js/native'] ?? release;
  return {
    ...kept,
    name: PACKAGE_NAME,
    version: packageVersion(release),
    description: `o1js ${release} with a thread pool that can be recycled, watched and survived (o1js/pool), and prover isolates that give memory back (o1js/isolates). Install it as o1js: "o1js": "npm:${PACKAGE_NAME}@${packageVersion(release)}"`,
    dependencies,
    ...(Object.keys(optionalDependencies).length > 0 ? { optionalDependencies } : {}),
    ...(nativeDependencies.length > 0
      ? {
          peerDependencies: { ...manifest.peerDependencies, '@o1js/native': nativeVersion },
          peerDependenciesMeta: { ...manifest.peerDependenciesMeta, '@o1js/native': { optional: true } },
        }
      : {}),
    files: [...new Set([...(manifest.files ?? []), 'NOTICE.md'])],
    plonkWasmPool: provenance,
  };
}

function notice(release, provenance) {
  return `# NOTICE

This package is o1js ${release} as published on npm (https://www.npmjs.com/package/o1js,
Apache-2.0, by o1Labs; its LICENSE is unchanged) with the following changes, made by the
plonk-wasm pool project's scripts/pack.sh:

- \`dist/node/bindings/compiled/node_bindings/kimchi_wasm*\` and
  \`dist/web/web_bindings/kimchi_wasm*\`: kimchi-wasm built from o1-labs/proof-systems at
  ${provenance.proofSystems} with the Rayon pool replaced (recycling, health, out of memory as
  an error), wasm-bindgen ${provenance.wasmBindgen}; the Node glue post-processed by o1js's own
  \`src/build/fix-wasm-bindings-node.js\`.
- \`dist/node/bindings/js/node/node-backend.js\`, \`dist/web/bindings/js/web/web-backend.js\`,
  \`dist/web/bindings/js/web/worker-helpers.js\`, \`dist/{node,web}/lib/proof-system/\`: the
  backends and the TypeScript layer that drive that pool (o1js's \`workers.js\` included).
- Added: the entries \`o1js/pool\` (\`dist/{node,web}/pool*\`) and \`o1js/isolates\`
  (\`dist/{node,web}/isolates/\`), and this notice.
- \`dist/node/index.cjs\` and \`dist/web/index.js\` bundled again (esbuild) from the files above;
  source maps of replaced files removed.
- \`package.json\`: renamed to ${PACKAGE_NAME}, version ${packageVersion(release)}; \`exports\` gains
  \`./pool\`, \`./isolates\` and \`./package.json\`; \`@o1js/native\` (listed by o1js both as
  \`file:./native/meta\`, a folder the package does not ship, and as an optional dependency whose own
  platform packages are not all published, so that \`npm ci\` refuses the lock \`npm install\`
  writes) is an optional peer dependency instead: the native backend stays optional, installed by
  the apps that want it (\`npm install @o1js/native\`); \`scripts\`, \`devDependencies\` and
  \`publishConfig\` removed (they belong to o1js's repository, not to this package).

Built from: ${JSON.stringify(provenance)}
`;
}

/** Every file under `dir`, relative, sorted. */
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name), base) : [join(dir, entry.name).slice(base.length + 1)]))
    .sort();
}

async function packRelease(release, source) {
  const row = VERSIONS[release];
  const tarball = npmTarball(release);
  const builds = buildInputs(row, resolveSource(source, row, release), release);
  const work = join(OUT, 'work', release);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const tar = spawnSync('tar', ['-xzf', tarball, '-C', work], { stdio: 'inherit' });
  if (tar.status !== 0) refuse(EXIT.source, `could not extract ${tarball}`);
  const o1js = join(work, 'package');
  const changed = recognise(o1js, row).filter((f) => f.actual !== f.expected);
  if (changed.length > 0) refuse(EXIT.modified, `npm's o1js ${release} (${tarball}) differs from versions.json: ${changed.map((f) => f.path).join(', ')}`);

  const staged = join(OUT, 'work', `${release}-staged`);
  rmSync(staged, { recursive: true, force: true });
  const files = await stage(o1js, row, builds, staged);
  const provenance = {
    o1js: release,
    revision: REVISION,
    proofSystems: row.proofSystems.commit,
    wasmBindgen: row.wasmBindgen.built,
    bundledDependenciesBefore: row.published,
    kimchiWasm: { node: JSON.parse(readFileSync(join(builds.node, 'build-info.json'), 'utf8')).key, web: JSON.parse(readFileSync(join(builds.web, 'build-info.json'), 'utf8')).key },
  };
  const key = createHash('sha256')
    .update([sha256(tarball), sha256(join(HERE, 'pack.mjs')), sha256(join(HERE, 'stage.mjs')), JSON.stringify(provenance), ...files.map((f) => `${f.path} ${sha256(f.from)}`)].join('\n'))
    .digest('hex')
    .slice(0, 16);
  const version = packageVersion(release);
  const file = join(OUT, `${PACKAGE_NAME.replace('@', '').replace('/', '-')}-${version}.tgz`);
  const indexPath = join(OUT, 'packages.json');
  const index = existsSync(indexPath) ? JSON.parse(readFileSync(indexPath, 'utf8')) : {};
  if (index[release]?.key === key && existsSync(file) && sha256(file) === index[release].sha256) {
    info(`${PACKAGE_NAME}@${version} (o1js ${release}): up to date (${file})`);
    rmSync(work, { recursive: true, force: true });
    rmSync(staged, { recursive: true, force: true });
    return index[release];
  }

  // The web bundle inlines o1js's dependencies, as o1js's own build did: installed beside the package (work/node_modules,
  // which esbuild finds from the package's files), at the versions npm had when the release was published.
  const npmManifest = JSON.parse(readFileSync(join(o1js, 'package.json'), 'utf8'));
  writeFileSync(join(work, 'package.json'), JSON.stringify({ private: true, dependencies: packageManifest(npmManifest, release, {}).dependencies }));
  const deps = spawnSync('npm', ['install', '--before', row.published, '--ignore-scripts', '--omit=optional', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
  if (deps.status !== 0) refuse(EXIT.source, `npm install of o1js ${release}'s dependencies (for its web bundle) failed`);
  for (const { path, from } of files) {
    mkdirSync(dirname(join(o1js, path)), { recursive: true });
    copyFileSync(from, join(o1js, path));
  }
  for (const path of droppedFiles(row)) rmSync(join(o1js, path), { force: true });
  await bundle(o1js);
  const manifest = packageManifest(JSON.parse(readFileSync(join(o1js, 'package.json'), 'utf8')), release, { ...provenance, key });
  writeFileSync(join(o1js, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(o1js, 'NOTICE.md'), notice(release, provenance));

  info(`packing ${PACKAGE_NAME}@${version} (npm pack)`);
  const packed = spawnSync('npm', ['pack', '--pack-destination', OUT, '--json', '--ignore-scripts'], { cwd: o1js, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (packed.status !== 0) refuse(EXIT.failed, `npm pack of ${o1js} failed`);
  const [summary] = JSON.parse(packed.stdout);
  const unpackedBytes = walk(o1js).reduce((sum, path) => sum + statSync(join(o1js, path)).size, 0);
  const entry = {
    o1js: release,
    name: PACKAGE_NAME,
    version,
    file: join(OUT, summary.filename).slice(ROOT.length + 1),
    sizeBytes: statSync(join(OUT, summary.filename)).size,
    unpackedBytes,
    files: summary.entryCount,
    integrity: summary.integrity,
    sha256: sha256(join(OUT, summary.filename)),
    key,
  };
  index[release] = entry;
  writeFileSync(indexPath, `${JSON.stringify(index, null, 2)}\n`);
  rmSync(work, { recursive: true, force: true });
  rmSync(staged, { recursive: true, force: true });
  info(`${PACKAGE_NAME}@${version} (o1js ${release}): ${entry.file}, ${(entry.sizeBytes / 2 ** 20).toFixed(1)} MiB packed, ${(unpackedBytes / 2 ** 20).toFixed(1)} MiB unpacked, ${entry.files} files`);
  return entry;
}

try {
  const options = parseArgs(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  const defaultSource = resolve(ROOT, '../shared/upstream/proof-systems-89edaa3204.tar.gz');
  const source = options.source ?? (existsSync(defaultSource) ? defaultSource : undefined);
  for (const release of options.releases) {
    const entry = await packRelease(release, source);
    console.log(entry.file);
  }
} catch (error) {
  console.error(`ERROR: ${error.message}`);
  process.exit(error instanceof Refusal ? error.exitCode : 1);
}
