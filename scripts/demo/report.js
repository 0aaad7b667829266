// What the demo shows of its two sides: the live progress line, the figures
// of the summary (from the events stock.mjs and pool.mjs sent), and the
// summary table.
const MiB = 2 ** 20;
const GiB = 2 ** 30;

export const mib = (bytes) => (bytes === null || bytes === undefined ? '?' : `${Math.round(bytes / MiB)} MiB`);
/** RSS-sized figures: MiB below 1 GiB, GiB with two decimals above. */
export const size = (bytes) => (bytes === null || bytes === undefined ? '?' : bytes < GiB ? mib(bytes) : `${(bytes / GiB).toFixed(2)} GiB`);
/** A gap or a proof: ms below a second, seconds above. */
export const duration = (ms) => (ms === null || ms === undefined ? '?' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
export const clock = (ms) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
export const plural = (count, noun) => `${count} ${noun}${count === 1 ? '' : 's'}`;
export const median = (values) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** A side's state as run.js keeps it: its events, as they arrive. */
export function newSide(name, label) {
  return { name, label, ready: null, proofs: [], replacements: [], proved: null, verified: null, proving: null, crashes: [], rssSamples: [], liveRssBytes: null };
}

/** One side's part of the progress line. */
function sidePart(side, now) {
  if (side.ready === null) return `${side.name} compiling`;
  const last = side.proofs.at(-1) ?? side.ready;
  const running = side.proving !== null && side.proved === null ? ` (#${side.proving.n} ${duration(now - side.proving.at)})` : '';
  const wasm = side.name === 'pool' ? 'isolate wasm' : 'wasm';
  // The stock side cannot report while it proves: its gap so far is at least the running proof.
  const gap = Math.max(side.proved?.gaps.maxMs ?? 0, ...side.proofs.map((p) => p.longestGapMs), side.name === 'stock' && running ? now - side.proving.at : 0);
  // The pool side reports its gaps with its proofs: none before its first.
  const gapText = side.name === 'pool' && side.proofs.length === 0 && side.proved === null ? '–' : duration(gap);
  const parts = [`${side.name} ${plural(side.proofs.length, 'proof')}${running}`, `${wasm} ${mib(last.wasmBytes)}`, `RSS ${size(side.liveRssBytes ?? last.rssBytes)}`, `longest gap ${gapText}`];
  if (side.name === 'pool') parts.push(plural(side.replacements.length, 'replacement'));
  return parts.join(' · ');
}

/** The progress line: elapsed time of `budgetMs` (null: none), then both sides. */
export function progressLine(sides, elapsedMs, budgetMs, now) {
  const time = budgetMs === null ? clock(elapsedMs) : `${clock(elapsedMs)}/${clock(budgetMs)}`;
  return `[${time}] ${sides.map((side) => sidePart(side, now)).join(' │ ')}`;
}

/** The summary's figures for one side. */
export function figures(side) {
  const proofs = side.proofs;
  const wasm = proofs.map((p) => p.wasmBytes).filter((b) => b !== null);
  const oldWasm = side.replacements.map((r) => r.oldWasmBytes).filter((b) => b !== null);
  const returned = side.replacements.filter((r) => r.rssBeforeTerminate !== null).map((r) => r.rssBeforeTerminate - r.rssAfterTerminate);
  return {
    proofs: proofs.length,
    outputsRight: proofs.filter((p) => p.ok).length,
    verified: side.verified?.verified ?? 0,
    verifyChecked: side.verified?.checked ?? 0,
    verifyMs: side.verified?.ms ?? null,
    medianProofMs: median(proofs.map((p) => p.ms)),
    wasm: { first: wasm[0] ?? null, last: wasm.at(-1) ?? null, peak: wasm.length + oldWasm.length === 0 ? null : Math.max(...wasm, ...oldWasm) },
    rss: { first: proofs[0]?.rssBytes ?? null, last: proofs.at(-1)?.rssBytes ?? null, end: side.proved?.rssBytes ?? null, peak: side.proved?.peakRssBytes ?? proofs.at(-1)?.peakRssBytes ?? null },
    replacements: side.replacements.length,
    returnedRss: returned.length === 0 ? null : { median: median(returned), min: Math.min(...returned), max: Math.max(...returned) },
    retiredWasmMedian: median(oldWasm),
    gap: side.proved?.gaps ?? null,
  };
}

/** The summary table: a row per figure, a column per side; plain text, aligned. */
export function summaryTable(sides, { replaceEvery }) {
  const [stock, pool] = sides.map(figures);
  const rows = [['', sides[0].label, sides[1].label]];
  const both = (f) => [f(stock, sides[0]), f(pool, sides[1])];
  rows.push(['proofs (public output checked)', ...both((f) => `${f.proofs}, ${f.outputsRight === f.proofs ? 'all right' : `${f.proofs - f.outputsRight} WRONG`}`)]);
  rows.push(['proofs verified', ...both((f) => `${f.verified} of ${f.verifyChecked}${f.verifyChecked < f.proofs ? ` (the last ${f.verifyChecked})` : ''}${f.verifyMs === null ? '' : `, ${duration(f.verifyMs)}`}`)]);
  rows.push(['median proof time', ...both((f) => duration(f.medianProofMs))]);
  rows.push(['wasm memory, first → last proof', ...both((f, s) => `${mib(f.wasm.first)} → ${mib(f.wasm.last)}${s.name === 'pool' ? ' (serving isolate)' : ''}`)]);
  rows.push(['wasm memory, peak', ...both((f, s) => `${mib(f.wasm.peak)}${s.name === 'pool' ? ' (one isolate)' : ''}`)]);
  rows.push(['process RSS, first → last proof', ...both((f) => `${size(f.rss.first)} → ${size(f.rss.last)}`)]);
  rows.push(['process RSS at the end', ...both((f, s) => `${size(f.rss.end)}${s.name === 'pool' && s.proved?.isolates > 1 ? ' (during a swap)' : ''}`)]);
  rows.push(['process RSS, peak (getrusage)', ...both((f) => size(f.rss.peak))]);
  rows.push([
    'memory returned per replacement',
    '—',
    pool.returnedRss === null
      ? 'no replacement'
      : pool.replacements === 1
        ? `RSS ${mib(pool.returnedRss.median)} (1 replacement; the retired isolate's wasm: ${mib(pool.retiredWasmMedian)})`
        : `RSS ${mib(pool.returnedRss.median)} median (${mib(pool.returnedRss.min)}–${mib(pool.returnedRss.max)}), ${pool.replacements} replacements; retired isolates' wasm ${mib(pool.retiredWasmMedian)} median`,
  ]);
  rows.push(['replacement rule', 'none: one wasm instance for the process', `once it ran ${replaceEvery} jobs (limits.maxJobs ${replaceEvery})`]);
  rows.push(['longest event-loop gap (p99)', ...both((f) => (f.gap === null ? '?' : `${duration(f.gap.maxMs)} (p99 ${duration(f.gap.p99Ms)})`))]);
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => `  ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`.trimEnd()).join('\n');
}
