// The demo (scripts/demo.sh builds the package, then runs this): stock o1js
// and the isolate pool prove the same ZkProgram side by side, each in its own
// process and app (apps.js), with a live progress line; then a summary table,
// build/demo/demo.json and the chart build/demo/demo.svg.
//   node scripts/demo/run.js --package build/packages/<tarball> [--minutes N] [--proofs N] [--replace-every N]
// Exits 1 if a proof has a wrong public output, does not verify, or a side
// fails; 2 on a bad option.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { OUT, ROOT, demoApps, isInstalled, packageEntry, prepareApp } from './apps.js';
import { demoChart } from './chart.js';
import { USAGE, UsageError, parseOptions } from './options.js';
import { clock, duration, figures, newSide, plural, progressLine, summaryTable } from './report.js';

let options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`ERROR: ${error.message} (scripts/demo.sh --help)`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

/** Start (module load and compile) of a side; a first compile without o1js's cache is minutes on a busy machine. */
const READY_BOUND_MS = 30 * 60_000;
/** Beyond the budget: the last proof (a minute or two on a loaded machine), verification and exit. */
const FINISH_SLACK_MS = 20 * 60_000;
/** With --proofs alone, the bound allows this much per proof. */
const PROOF_BOUND_MS = 10 * 60_000;
/** Each side verifies its last this many proofs (all, when it made no more): a verification is seconds, a fifth to a tenth of a proof. */
const VERIFY_LAST = 4;

/** How often the sides' RSS is read between their reports (a stock side proving cannot report). */
const RSS_SAMPLE_MS = 2000;

const tty = process.stdout.isTTY === true;
let lineShown = false;
let lineSource = null;
/** Prints a line above the progress line (which is redrawn after it). */
function say(text, stream = process.stdout) {
  if (lineShown) process.stdout.write('\r\x1b[K');
  stream.write(`${text}\n`);
  if (lineShown) drawLine();
}
const info = (text) => say(`INFO: ${text}`, process.stderr);
function drawLine() {
  const line = lineSource();
  const width = (process.stdout.columns ?? 200) - 1;
  process.stdout.write(`\r\x1b[K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
  lineShown = true;
}
function endLine() {
  if (lineShown) process.stdout.write('\n');
  lineShown = false;
}

const began = performance.now();
const loadAtStart = loadavg()[0];
const phases = { packageSeconds: process.env.DEMO_PACKAGE_SECONDS === undefined ? null : Number(process.env.DEMO_PACKAGE_SECONDS) };

// The apps.
let entry;
try {
  entry = packageEntry(options.package);
} catch (error) {
  console.error(`ERROR: ${error.message}`);
  process.exit(1);
}
const apps = demoApps(entry);
const toInstall = apps.filter((app) => !isInstalled(app));
if (toInstall.length > 0) {
  info(
    `installing the demo app${toInstall.length > 1 ? 's' : ''} ${toInstall.map((a) => `build/demo/${a.name} (o1js ${a.name === 'stock' ? `${entry.o1js} from npm` : `= ${relative(ROOT, entry.path)}`})`).join(' and ')}: npm install, under a minute each with a warm npm cache, once per package build`,
  );
}
phases.installSeconds = {};
for (const app of apps) {
  try {
    phases.installSeconds[app.name] = await prepareApp(app, (text) => say(text, process.stderr));
  } catch (error) {
    say(`ERROR: ${error.message}`, process.stderr);
    process.exit(1);
  }
  if (phases.installSeconds[app.name] > 0) info(`build/demo/${app.name}: installed in ${phases.installSeconds[app.name].toFixed(0)} s`);
}
const o1jsVersion = (app) => JSON.parse(readFileSync(join(app.dir, 'node_modules/o1js/package.json'), 'utf8')).version;
const sides = [newSide('stock', `stock o1js ${o1jsVersion(apps[0])} (npm)`), newSide('pool', `isolate pool (${entry.name} ${o1jsVersion(apps[1])})`)];
const [stock, pool] = sides;

const cold = apps.filter((app) => readdirSync(join(app.dir, 'o1js-cache')).length === 0);
if (cold.length > 0) {
  info(
    `first compile of the program in ${cold.map((a) => `build/demo/${a.name}`).join(' and ')}: o1js compiles without a cache (about 1–2 min, longer side by side), ` +
      `then keeps its keys in o1js-cache/ so later runs compile in seconds`,
  );
}

// The sides: one child process each, in its app.
const failures = [];
const budgetMs = options.minutes === null ? null : options.minutes * 60_000;
let goAt = null;

/** Starts a side's process; its events update `side` and call `onEvent`. Resolves `exited` with its exit code. */
function startSide(side, app, script, args, onEvent) {
  const child = spawn(process.execPath, [script, JSON.stringify(args)], { cwd: app.dir, stdio: ['pipe', 'pipe', 'pipe'] });
  createInterface({ input: child.stdout }).on('line', (line) => {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      return say(`[${side.name}] ${line}`); // an isolate's own console output shares the stream
    }
    onEvent(side, event);
  });
  createInterface({ input: child.stderr }).on('line', (line) => say(`[${side.name}] ${line}`, process.stderr));
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? signal));
    child.on('error', (error) => resolve(String(error)));
  });
  return { child, exited, send: (message) => child.stdin.write(`${JSON.stringify(message)}\n`) };
}

/** A process's resident set from /proc (Linux); null elsewhere, and the chart keeps to the sides' own reports. */
function rssOf(pid) {
  try {
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kib === null ? null : Number(kib[1]) * 1024;
  } catch {
    return null;
  }
}

const waiters = [];
/** Resolves when `test()` holds (checked after every event). */
const until = (test) => new Promise((resolve) => (test() ? resolve() : waiters.push({ test, resolve })));

function onEvent(side, event) {
  const now = performance.now();
  if (event.event === 'ready') {
    side.ready = event;
    info(
      side.name === 'stock'
        ? `stock: compiled in ${duration(event.compileMs)} (wasm ${Math.round(event.wasmBytes / 2 ** 20)} MiB, RSS ${Math.round(event.rssBytes / 2 ** 20)} MiB)`
        : `pool: isolate ready in ${duration(event.compileMs)} (o1js loaded in ${duration(event.loadMs)}, compiled in ${duration(event.warmMs)}; wasm ${Math.round(event.wasmBytes / 2 ** 20)} MiB, RSS ${Math.round(event.rssBytes / 2 ** 20)} MiB)`,
    );
  } else if (event.event === 'proving') {
    side.proving = { n: event.n, at: now };
  } else if (event.event === 'proof') {
    side.proofs.push(event);
    side.liveRssBytes = event.rssBytes;
    if (!event.ok) {
      const why = event.error ?? `public output ${event.output}, expected ${event.expected}`;
      failures.push(`${side.name}: proof ${event.n}: ${why}`);
      say(`ERROR: ${side.name} proof ${event.n}: ${why}`, process.stderr);
    }
    if (!tty) say(`${progressLine(sides, now - goAt, budgetMs, now)}   ← ${side.name} proof ${event.n} in ${duration(event.ms)}`);
  } else if (event.event === 'replacement') {
    side.replacements.push(event);
    side.liveRssBytes = event.rssAfterTerminate ?? side.liveRssBytes;
    const returned = event.rssBeforeTerminate === null ? '' : `; RSS ${Math.round(event.rssBeforeTerminate / 2 ** 20)} → ${Math.round(event.rssAfterTerminate / 2 ** 20)} MiB at the old one's terminate`;
    say(
      `   ↻ pool: isolate ${event.oldIsolateId} → ${event.newIsolateId} after ${event.oldJobs} jobs (${event.reason}); successor warm in ${duration(event.newStartMs)}${returned}` +
        `, its wasm ${Math.round((event.oldWasmBytes ?? 0) / 2 ** 20)} MiB returned`,
    );
  } else if (event.event === 'crash') {
    side.crashes.push(event);
    say(`WARN: pool: isolate ${event.isolateId} crashed: ${event.error}`, process.stderr);
  } else if (event.event === 'finishing-replacement') {
    say('   … pool: the budget is spent; letting the replacement under way finish (its successor is warming)');
  } else if (event.event === 'proved') {
    side.proved = event;
  } else if (event.event === 'verified') {
    side.verified = event;
    if (event.verified < event.checked) failures.push(`${side.name}: ${event.checked - event.verified} of ${event.checked} proofs do not verify`);
  }
  for (const w of waiters.splice(0)) (w.test() ? w.resolve : () => waiters.push(w))();
}

const runs = [
  startSide(stock, apps[0], 'stock.mjs', { cacheDir: join(apps[0].dir, 'o1js-cache') }, onEvent),
  startSide(pool, apps[1], 'pool.mjs', { cacheDir: join(apps[1].dir, 'o1js-cache'), replaceEvery: options.replaceEvery }, onEvent),
];
const stopAll = () => {
  for (const run of runs) run.child.kill('SIGKILL');
};
/**
 * Waits for `test`, at most `boundMs`; a side that overruns, or exits before
 * it reported its verification (its last word), ends the demo with an error.
 */
async function phase(what, test, boundMs) {
  let timer;
  const bound = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), boundMs)));
  const exits = runs.map((run, i) => run.exited.then((code) => (code === 0 && sides[i].verified !== null ? new Promise(() => {}) : { side: sides[i], code })));
  const outcome = await Promise.race([until(test).then(() => 'ok'), bound, ...exits]);
  clearTimeout(timer);
  if (outcome === 'ok') return;
  endLine();
  const why =
    outcome === 'timeout'
      ? `${what}: not done within ${Math.round(boundMs / 60_000)} min; killed both sides (${runs.map((r, i) => `${sides[i].name} pid ${r.child.pid}`).join(', ')})`
      : `${what}: the ${outcome.side.name} side exited (${outcome.code}) before it was done; its log is above`;
  say(`ERROR: ${why}`, process.stderr);
  stopAll();
  process.exit(1);
}

const startedCompile = performance.now();
info('starting both sides: stock o1js in build/demo/stock, the isolate pool in build/demo/pool (1 Rayon thread each)');
await phase('compiling', () => stock.ready !== null && pool.ready !== null, READY_BOUND_MS);
phases.compileSeconds = { stock: stock.ready.compileMs / 1000, pool: pool.ready.compileMs / 1000, bothReady: (performance.now() - startedCompile) / 1000 };

const budgetText = [options.minutes === null ? null : `${clock(budgetMs)} min`, options.proofs === null ? null : `${options.proofs} proofs`].filter(Boolean).join(' or ');
say(
  `Proving side by side for ${budgetText}, each side on 1 Rayon thread; every public output is checked. ` +
    `The pool replaces its isolate once it ran ${options.replaceEvery} jobs (limits.maxJobs ${options.replaceEvery}); ` +
    'the old one keeps proving while its successor warms, so each swap lands at the end of the proof after.',
);
const verifyLast = VERIFY_LAST; // sent to both sides
goAt = performance.now();
for (const run of runs) run.send({ budgetMs, proofs: options.proofs, verifyLast });
lineSource = () => progressLine(sides, performance.now() - goAt, budgetMs, performance.now());
const sampler = setInterval(() => {
  runs.forEach((run, i) => {
    const side = sides[i];
    const rssBytes = side.proved === null ? rssOf(run.child.pid) : null;
    if (rssBytes === null) return;
    side.liveRssBytes = rssBytes;
    side.rssSamples.push({ t: performance.now() - goAt, value: rssBytes });
  });
}, RSS_SAMPLE_MS);
const ticker = tty ? setInterval(drawLine, 1000) : null;
if (tty) drawLine();
const finishBoundMs = (budgetMs ?? options.proofs * PROOF_BOUND_MS) + FINISH_SLACK_MS;
await phase('proving', () => stock.proved !== null && pool.proved !== null, finishBoundMs);
// To the last proof, or to a replacement that finished after it (pool.mjs lets one under way finish).
const provingMs = Math.max(...sides.flatMap((s) => [...s.proofs, ...s.replacements].map((e) => e.t)), 0);
clearInterval(sampler);
if (ticker !== null) clearInterval(ticker);
if (tty) drawLine();
endLine();
info(`proving done; verifying the last ${verifyLast} proofs of each side (all, if it made fewer)`);
await phase('verifying', () => stock.verified !== null && pool.verified !== null, FINISH_SLACK_MS);
const exitCodes = await Promise.race([Promise.all(runs.map((r) => r.exited)), new Promise((resolve) => setTimeout(() => resolve(null), 60_000))]);
if (exitCodes === null) {
  stopAll();
  failures.push('a side did not exit within a minute of its last report: killed');
} else {
  exitCodes.forEach((code, i) => code !== 0 && failures.push(`${sides[i].name}: exited with ${code}`));
}
phases.provingSeconds = provingMs / 1000;
phases.verifySeconds = { stock: stock.verified.ms / 1000, pool: pool.verified.ms / 1000 };
phases.totalSeconds = (performance.now() - began) / 1000 + (phases.packageSeconds ?? 0);

// The same program on both sides: its verification key is the same.
const sameKey = pool.proved.vkHashes.length === 1 && pool.proved.vkHashes[0] === stock.ready.vkHash;
if (!sameKey) failures.push(`the sides' verification keys differ: stock ${stock.ready.vkHash}, pool ${pool.proved.vkHashes.join(', ')}`);
for (const side of sides) if (side.proofs.length === 0) failures.push(`${side.name}: no proof`);

// Summary, chart, results.
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'demo.svg'), demoChart({ stock, pool, provingMs, replaceEvery: options.replaceEvery }));
const result = {
  date: new Date().toISOString(),
  options: { minutes: options.minutes, proofs: options.proofs, replaceEvery: options.replaceEvery, verifyLast },
  package: { name: entry.name, version: entry.version, o1js: entry.o1js, file: entry.file, key: entry.key },
  phases,
  machine: { cpus: availableParallelism(), loadAverage1m: { start: loadAtStart, end: loadavg()[0] }, node: process.version },
  sameVerificationKey: sameKey,
  failures,
  sides: Object.fromEntries(sides.map((side) => [side.name, { label: side.label, figures: figures(side), ready: side.ready, proofs: side.proofs, replacements: side.replacements, proved: side.proved, verified: side.verified, crashes: side.crashes, rssSamples: side.rssSamples }])),
};
writeFileSync(join(OUT, 'demo.json'), `${JSON.stringify(result, null, 2)}\n`);

const f = sides.map(figures);
console.log(`\nSummary: the same ZkProgram proved side by side for ${clock(provingMs)} (1 Rayon thread each; same verification key: ${sameKey ? 'yes' : 'NO'})`);
console.log(summaryTable(sides, options));
const fmt = (s) => (s === null || s === undefined ? '?' : s >= 90 ? `${clock(s * 1000)} min` : `${s.toFixed(0)} s`);
console.log(
  `Phases: package ${phases.packageSeconds === null ? 'not built here' : fmt(phases.packageSeconds)} · ` +
    `app installs ${apps.map((a) => `${a.name} ${fmt(phases.installSeconds[a.name])}`).join(', ')} · ` +
    `compile stock ${fmt(phases.compileSeconds.stock)}, pool ${fmt(phases.compileSeconds.pool)} (side by side) · ` +
    `proving ${fmt(phases.provingSeconds)} · verifying stock ${fmt(phases.verifySeconds.stock)}, pool ${fmt(phases.verifySeconds.pool)}`,
);
const stockGap = f[0].gap?.maxMs ?? 0;
const poolGap = f[1].gap?.maxMs ?? 1;
console.log(
  `Stock o1js held its caller's event loop for ${duration(stockGap)} at a time (a whole proof), the pool's caller for at most ${duration(poolGap)}; ` +
    (f[1].returnedRss === null
      ? 'no replacement happened in this run (a longer run, or --replace-every 1, shows them).'
      : `${f[1].replacements === 1 ? "the pool's replacement" : `each of the pool's ${f[1].replacements} replacements`} gave back about ${Math.round(f[1].returnedRss.median / 2 ** 20)} MiB of RSS, where stock's wasm memory went ${Math.round(f[0].wasm.first / 2 ** 20)} → ${Math.round(f[0].wasm.last / 2 ** 20)} MiB and never shrinks.`),
);
if (options.minutes !== null && Math.min(f[0].proofs, f[1].proofs) < 3) {
  // Two cores shared with a build make a proof several times slower; the budget is kept, and says so.
  console.log(
    `Note: only ${plural(Math.min(f[0].proofs, f[1].proofs), 'proof')} on a side in ${clock(budgetMs)} min: proofs took ${duration(Math.min(f[0].medianProofMs, f[1].medianProofMs))} or more here ` +
      `(load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} CPUs). A longer run (--minutes 10) shows more of the memory story.`,
  );
}
console.log(`Chart: ${relative(ROOT, join(OUT, 'demo.svg'))}  Figures: ${relative(ROOT, join(OUT, 'demo.json'))}`);
for (const failure of failures) console.error(`ERROR: ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);
