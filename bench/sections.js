// The main part's sections, each measured once and kept: its result goes to
// build/bench/parts/<name>.json as soon as it is measured, with the 1-minute
// load average at its start and end. With BENCH_RESUME=1 a kept section is
// reused instead of measured again, but only when it was measured under the
// same config from the same committed sources: the sources the benchmark
// builds and runs (git tree hashes), with no uncommitted change to them. So a
// long run cut short (a crash, the end of a working day) loses only the
// section it was in, and a resumed run still compares like with like inside
// every section. The isolate part keeps its own parts (bench/isolates.js).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** What a kept section was measured from: a change to any of these measures it again. */
const SOURCES = ['plonk-wasm', 'bindings-js', 'scripts', 'bench', 'tests', 'patches', 'Cargo.toml', 'Cargo.lock', 'package-lock.json', 'rust-toolchain.toml'];

/** The sources' tree hashes at HEAD, or why they cannot name what is measured (uncommitted changes, no git). */
function sourcesKey(root) {
  const git = (args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const status = git(['status', '--porcelain', '--', ...SOURCES]);
  if (status.status !== 0) return { key: null, why: `git status failed: ${status.stderr.trim()}` };
  if (status.stdout.trim() !== '') return { key: null, why: `uncommitted changes in ${status.stdout.trim().split('\n').length} source files` };
  const trees = git(['rev-parse', ...SOURCES.map((path) => `HEAD:${path}`)]);
  if (trees.status !== 0) return { key: null, why: `git rev-parse failed: ${trees.stderr.trim()}` };
  return { key: trees.stdout.trim().split('\n').join(' '), why: null };
}

/**
 * `section(name, measure)`: measures (or, resuming, reuses) one section and
 * returns its result; `loads()`: each section's start, end and load, and
 * whether it was reused.
 */
export function sectionKeeper({ root, config, resume, log }) {
  const dir = `${root}build/bench/parts/`;
  const { publish: _publish, ...measured } = config;
  const configKey = JSON.stringify(measured);
  const sources = sourcesKey(root);
  if (resume && sources.key === null) log(`BENCH_RESUME=1: no kept section can be reused (${sources.why}); measuring every one`);
  const seen = {};

  async function section(name, measure) {
    const file = `${dir}${name}.json`;
    if (resume && sources.key !== null && existsSync(file)) {
      const kept = JSON.parse(readFileSync(file, 'utf8'));
      if (kept.configKey === configKey && kept.sourcesKey === sources.key) {
        log(`${name}: reusing ${file} (measured ${kept.meta.endedAt})`);
        seen[name] = { ...kept.meta, reused: true };
        return kept.result;
      }
      log(`${name}: measuring again (${file} was measured ${kept.configKey === configKey ? 'from other sources' : 'under another config'})`);
    }
    const meta = { startedAt: new Date().toISOString(), loadAverage1m: { before: os.loadavg()[0] } };
    const result = await measure();
    meta.endedAt = new Date().toISOString();
    meta.loadAverage1m.after = os.loadavg()[0];
    seen[name] = { ...meta, reused: false };
    if (result?.skipped !== undefined) return result; // an optional section that did not run: nothing to keep
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `${JSON.stringify({ configKey, sourcesKey: sources.key, meta, result }, null, 2)}\n`);
    return result;
  }

  return { section, loads: () => seen };
}

/** The table's line on load: each section's 1-minute load average at its start and end, and which were kept from an earlier run. */
export function loadsLine(loads) {
  const entries = Object.entries(loads);
  if (entries.length === 0) return null;
  const each = entries.map(([name, l]) => `${name} ${l.loadAverage1m.before.toFixed(1)}–${l.loadAverage1m.after.toFixed(1)}`).join(', ');
  const reused = entries.filter(([, l]) => l.reused).map(([name, l]) => `${name} (${l.endedAt.slice(0, 16)} UTC)`);
  return (
    `1-minute load average at the start and end of each section: ${each}` +
    (reused.length === 0 ? '.' : `; kept from an earlier run of the same sources (BENCH_RESUME=1): ${reused.join(', ')}.`)
  );
}
