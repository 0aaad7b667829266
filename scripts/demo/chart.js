// The demo's chart (bench/svg.js's timeline): process RSS and wasm memory of
// both sides over the proving time, a point after each proof; RSS also every
// few seconds between (run.js reads it from /proc, where there is one), as a
// proof or a successor's warm-up moves it. The pool's replacements add two
// points each, RSS and wasm right before and right after the old isolate's
// terminate, so the drop is drawn where it happened, and a marker.
import { timelineChart } from '../../bench/svg.js';
import { clock } from './report.js';

const MiB = 2 ** 20;
const seconds = (ms) => ms / 1000;

/**
 * The points of one side's `field` (bytes → MiB) at its ready and after each
 * proof, with the replacements' before/after pairs and `samples` ({ t, value }).
 */
function points(side, field, replaced = null, samples = []) {
  const events = [{ t: 0, value: side.ready?.[field] ?? null }, ...side.proofs.map((p) => ({ t: p.t, value: p[field] })), ...samples];
  if (replaced !== null) {
    for (const r of side.replacements) events.push({ t: r.t, value: r[replaced.before], order: 0 }, { t: r.t, value: r[replaced.after], order: 1 });
  }
  return events
    .filter((e) => e.value !== null && e.value !== undefined)
    .sort((a, b) => a.t - b.t || (a.order ?? 0) - (b.order ?? 0))
    .map((e) => [seconds(e.t), e.value / MiB]);
}

export function demoChart({ stock, pool, provingMs, replaceEvery }) {
  return timelineChart({
    title: 'Stock o1js vs the isolate pool: memory while proving the same ZkProgram',
    subtitle: `${stock.proofs.length} + ${pool.proofs.length} proofs in ${clock(provingMs)} min, 1 Rayon thread each · pool: replaced after ${replaceEvery} jobs · wasm read between proofs`,
    xLabel: 'seconds of proving',
    unit: 'MiB',
    series: [
      { name: 'stock: process RSS', points: points(stock, 'rssBytes', null, stock.rssSamples), color: '#e15759' },
      { name: 'stock: wasm memory', points: points(stock, 'wasmBytes'), color: '#f28e2b' },
      { name: 'pool: process RSS', points: points(pool, 'rssBytes', { before: 'rssBeforeTerminate', after: 'rssAfterTerminate' }, pool.rssSamples), color: '#4e79a7' },
      { name: "pool: serving isolate's wasm memory", points: points(pool, 'wasmBytes', { before: 'oldWasmBytes', after: 'newWasmBytes' }), color: '#76b7b2' },
    ],
    markers: pool.replacements.map((r) => ({ x: seconds(r.t), kind: 'replacement', label: `isolate ${r.oldIsolateId} → ${r.newIsolateId}` })),
    kinds: { replacement: { name: 'pool: replacement', color: '#59a14f', dash: '5 4' } },
  });
}
