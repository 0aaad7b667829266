// Hand-written SVG charts for the benchmark and the demo: grouped bars with
// whiskers, stacked bars, and a timeline with event markers. Each function
// returns the whole SVG document as a string; no dependencies.

const WIDTH = 760;
const HEIGHT = 380;
const MARGIN = { top: 56, right: 24, bottom: 82, left: 72 };
/** Text drawn over bars and lines keeps a white halo, so it stays readable. */
const HALO = 'paint-order="stroke" stroke="#ffffff" stroke-width="3"';
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

export const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#9c755f'];

const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (value) => (Math.round(value * 100) / 100).toString();

/** Round tick values from 0 to at least `max`: [0, step, 2 step, …]. */
export function niceTicks(max, count = 5) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let value = 0; value < max + step * 0.999; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

function frame({ title, subtitle, body, legend }) {
  // Legend items flow left to right, wrapping; text width is estimated (no layout engine).
  let x = MARGIN.left;
  let row = 0;
  const legendItems = legend
    .map(({ name, color, dash }) => {
      const width = 18 + name.length * 6.6 + 18;
      if (x + width > WIDTH - MARGIN.right && x > MARGIN.left) {
        x = MARGIN.left;
        row++;
      }
      const y = HEIGHT - 34 + row * 18;
      const swatch = dash
        ? `<line x1="${x}" y1="${y - 4}" x2="${x + 14}" y2="${y - 4}" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}"/>`
        : `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${color}"/>`;
      const item = `${swatch}<text x="${x + 18}" y="${y}" font-size="12">${escape(name)}</text>`;
      x += width;
      return item;
    })
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ${FONT}>
  <rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>
  <text x="${MARGIN.left}" y="22" font-size="16" font-weight="600">${escape(title)}</text>
  <text x="${MARGIN.left}" y="40" font-size="12" fill="#555">${escape(subtitle ?? '')}</text>
  ${body}
  ${legendItems}
</svg>
`;
}

/**
 * The value axis: grid lines, tick labels, unit. Returns { svg, y(value), base }
 * (`base`: where bars start). Linear from 0, or with `log`, decades from
 * `log.floor` (values below it sit on the floor).
 */
function valueAxis(maxValue, unit, log = null) {
  let ticks;
  let y;
  if (log) {
    const low = Math.log10(log.floor);
    const high = Math.max(low + 1, Math.ceil(Math.log10(maxValue)));
    ticks = Array.from({ length: high - low + 1 }, (_, i) => Number((10 ** (low + i)).toPrecision(6)));
    y = (value) => MARGIN.top + PLOT_H - ((Math.log10(Math.max(value, log.floor)) - low) / (high - low)) * PLOT_H;
  } else {
    ticks = niceTicks(maxValue);
    const top = ticks[ticks.length - 1];
    y = (value) => MARGIN.top + PLOT_H - (Math.min(value, top) / top) * PLOT_H;
  }
  const lines = ticks
    .map(
      (t) =>
        `<line x1="${MARGIN.left}" y1="${num(y(t))}" x2="${MARGIN.left + PLOT_W}" y2="${num(y(t))}" stroke="#e5e5e5"/>` +
        `<text x="${MARGIN.left - 8}" y="${num(y(t) + 4)}" font-size="11" text-anchor="end" fill="#333">${escape(t)}</text>`,
    )
    .join('\n  ');
  const label = `<text transform="translate(16 ${MARGIN.top + PLOT_H / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#333">${escape(unit)}${log ? ' (log scale)' : ''}</text>`;
  return { svg: `${lines}\n  ${label}`, y, base: MARGIN.top + PLOT_H };
}

function goalLines(goals, y) {
  return goals
    .map(
      ({ value, label }) =>
        `<line x1="${MARGIN.left}" y1="${num(y(value))}" x2="${MARGIN.left + PLOT_W}" y2="${num(y(value))}" stroke="#c0392b" stroke-dasharray="6 4"/>` +
        `<text x="${MARGIN.left + 4}" y="${num(y(value) - 5)}" font-size="11" fill="#c0392b" ${HALO}>${escape(label)}</text>`,
    )
    .join('\n  ');
}

function groupLabels(groups, groupWidth) {
  return groups
    .map(
      (label, g) =>
        `<text x="${num(MARGIN.left + groupWidth * (g + 0.5))}" y="${MARGIN.top + PLOT_H + 20}" font-size="12" text-anchor="middle">${escape(label)}</text>`,
    )
    .join('\n  ');
}

/**
 * Grouped bars: one group per entry of `groups`, one bar per series; a bar is
 * a figure's median and its whisker the min–max over runs.
 * series: [{ name, values: [{ median, min, max } | null per group] }]
 * goals: [{ value, label }] drawn as dashed lines; labelDigits: print each
 * median above its bar with that many decimals (for bars too small to see);
 * log: { floor } for a log scale from `floor` (figures that span decades).
 */
export function barChart({ title, subtitle, unit, groups, series, goals = [], labelDigits = null, log = null }) {
  const tops = series.flatMap((s) => s.values.filter(Boolean).map((v) => v.max));
  const { svg: axis, y, base } = valueAxis(Math.max(...tops, ...goals.map((g) => g.value)) * 1.08, unit, log);
  const groupWidth = PLOT_W / groups.length;
  const barWidth = (groupWidth * 0.75) / series.length;
  const bars = [];
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    s.values.forEach((v, g) => {
      if (!v) return;
      const x = MARGIN.left + groupWidth * g + groupWidth * 0.125 + barWidth * i;
      const cx = x + barWidth / 2;
      bars.push(
        `<rect x="${num(x + 1)}" y="${num(y(v.median))}" width="${num(barWidth - 2)}" height="${num(base - y(v.median))}" fill="${color}"><title>${escape(`${s.name}, ${groups[g]}: ${v.median.toFixed(2)} (${v.min.toFixed(2)}–${v.max.toFixed(2)}) ${unit}`)}</title></rect>`,
        `<line x1="${num(cx)}" y1="${num(y(v.min))}" x2="${num(cx)}" y2="${num(y(v.max))}" stroke="#222"/>`,
        `<line x1="${num(cx - 4)}" y1="${num(y(v.min))}" x2="${num(cx + 4)}" y2="${num(y(v.min))}" stroke="#222"/>`,
        `<line x1="${num(cx - 4)}" y1="${num(y(v.max))}" x2="${num(cx + 4)}" y2="${num(y(v.max))}" stroke="#222"/>`,
      );
      if (labelDigits !== null) {
        bars.push(`<text x="${num(cx)}" y="${num(y(v.max) - 5)}" font-size="11" text-anchor="middle" ${HALO}>${escape(v.median.toFixed(labelDigits))}</text>`);
      }
    });
  });
  const body = [axis, bars.join('\n  '), goalLines(goals, y), groupLabels(groups, groupWidth)].join('\n  ');
  const legend = series.map((s, i) => ({ name: s.name, color: s.color ?? COLORS[i % COLORS.length] }));
  return frame({ title, subtitle, body, legend });
}

/**
 * Stacked bars: one bar per group, one segment per entry of `segments`
 * (values are medians; the label above each bar is their sum).
 * segments: [{ name, values: [number per group] }]
 */
export function stackedBarChart({ title, subtitle, unit, groups, segments, goals = [] }) {
  const totals = groups.map((_, g) => segments.reduce((sum, s) => sum + s.values[g], 0));
  const { svg: axis, y } = valueAxis(Math.max(...totals, ...goals.map((g) => g.value)) * 1.12, unit);
  const groupWidth = PLOT_W / groups.length;
  const barWidth = groupWidth * 0.5;
  const parts = [];
  groups.forEach((label, g) => {
    const x = MARGIN.left + groupWidth * g + (groupWidth - barWidth) / 2;
    let base = 0;
    segments.forEach((s, i) => {
      const value = s.values[g];
      parts.push(
        `<rect x="${num(x)}" y="${num(y(base + value))}" width="${num(barWidth)}" height="${num(y(base) - y(base + value))}" fill="${s.color ?? COLORS[i % COLORS.length]}"><title>${escape(`${s.name}, ${label}: ${value.toFixed(2)} ${unit}`)}</title></rect>`,
      );
      base += value;
    });
    parts.push(
      `<text x="${num(x + barWidth / 2)}" y="${num(y(base) - 6)}" font-size="12" text-anchor="middle" ${HALO}>${escape(base.toFixed(1))}</text>`,
    );
  });
  const body = [axis, parts.join('\n  '), goalLines(goals, y), groupLabels(groups, groupWidth)].join('\n  ');
  const legend = segments.map((s, i) => ({ name: s.name, color: s.color ?? COLORS[i % COLORS.length] }));
  return frame({ title, subtitle, body, legend });
}

/**
 * A timeline: lines of [x, y] points, vertical markers for events, and
 * horizontal reference lines.
 * series: [{ name, points: [[x, y]], color? }]
 * markers: [{ x, kind, label? }] with kinds: { [kind]: { name, color, dash } }
 * (the legend lists the kinds that occur)
 * references: [{ value, label }]
 */
export function timelineChart({ title, subtitle, xLabel, unit, series, markers = [], kinds = {}, references = [] }) {
  const xs = series.flatMap((s) => s.points.map(([x]) => x)).concat(markers.map((m) => m.x));
  const xMax = Math.max(...xs, 1e-9);
  const ys = series.flatMap((s) => s.points.map(([, v]) => v));
  const { svg: axis, y } = valueAxis(Math.max(...ys, ...references.map((r) => r.value)) * 1.05, unit);
  const xTicks = niceTicks(xMax, 8);
  const xTop = xTicks[xTicks.length - 1];
  const x = (value) => MARGIN.left + (value / xTop) * PLOT_W;
  const xAxis = xTicks
    .map((t) => `<text x="${num(x(t))}" y="${MARGIN.top + PLOT_H + 18}" font-size="11" text-anchor="middle" fill="#333">${escape(t)}</text>`)
    .join('\n  ');
  const xTitle = `<text x="${MARGIN.left + PLOT_W / 2}" y="${MARGIN.top + PLOT_H + 38}" font-size="12" text-anchor="middle" fill="#333">${escape(xLabel)}</text>`;
  const marks = markers
    .map((m) => {
      const kind = kinds[m.kind] ?? { color: '#888' };
      return `<line x1="${num(x(m.x))}" y1="${MARGIN.top}" x2="${num(x(m.x))}" y2="${MARGIN.top + PLOT_H}" stroke="${kind.color}" stroke-width="1.5" stroke-dasharray="${kind.dash ?? '4 3'}"><title>${escape(m.label ?? kind.name ?? m.kind)}</title></line>`;
    })
    .join('\n  ');
  const lines = series
    .map((s, i) => {
      const d = s.points.map(([px, py], j) => `${j === 0 ? 'M' : 'L'}${num(x(px))} ${num(y(py))}`).join(' ');
      return `<path d="${d}" fill="none" stroke="${s.color ?? COLORS[i % COLORS.length]}" stroke-width="2"/>`;
    })
    .join('\n  ');
  const refs = references
    .map(
      ({ value, label }) =>
        `<line x1="${MARGIN.left}" y1="${num(y(value))}" x2="${MARGIN.left + PLOT_W}" y2="${num(y(value))}" stroke="#555" stroke-dasharray="2 3"/>` +
        `<text x="${MARGIN.left + 4}" y="${num(y(value) - 5)}" font-size="11" fill="#555" ${HALO}>${escape(label)}</text>`,
    )
    .join('\n  ');
  const body = [axis, xAxis, xTitle, refs, marks, lines].join('\n  ');
  const legend = [
    ...series.map((s, i) => ({ name: s.name, color: s.color ?? COLORS[i % COLORS.length] })),
    ...Object.entries(kinds)
      .filter(([kind]) => markers.some((m) => m.kind === kind))
      .map(([, k]) => ({ name: k.name, color: k.color, dash: k.dash ?? '4 3' })),
  ];
  return frame({ title, subtitle, body, legend });
}
