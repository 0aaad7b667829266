/**
 * The Prometheus text exposition format (version 0.0.4), rendered from plain
 * metric families: one small formatter for `o1js/pool`'s metrics
 * (lib/proof-system/metrics.ts, the Rayon pool) and `o1js/isolates'`
 * (isolates/metrics.ts, the prover pool and each isolate's Rayon pool).
 *
 * Each family gets its `# HELP` and `# TYPE` lines, then its samples:
 * gauges and counters one line each (a `null` value, a figure the platform
 * cannot measure, is left out rather than guessed), histograms as
 * `_bucket{le="…"}` lines (cumulative, ending with `le="+Inf"`), `_sum` and
 * `_count`. Label values and help texts are escaped as the format says
 * (backslash, double quote, line feed); names are checked against its
 * grammar, and a bad one throws (a bug in the caller, never data).
 */

export type Labels = { readonly [name: string]: string | number };

export interface Sample {
  readonly labels?: Labels;
  /** `null` (or anything not a number): unknown here; the sample is left out. */
  readonly value: number | null;
}

export interface HistogramSample {
  readonly labels?: Labels;
  /** Cumulative counts for each finite upper bound, in increasing order; `+Inf` is `count`. */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly sum: number;
  readonly count: number;
}

export type MetricFamily =
  | { readonly name: string; readonly help: string; readonly type: 'gauge' | 'counter'; readonly samples: readonly Sample[] }
  | { readonly name: string; readonly help: string; readonly type: 'histogram'; readonly samples: readonly HistogramSample[] };

/** The Content-Type to serve the text with. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A float as the format writes it: `+Inf`, `-Inf`, `NaN`, or the number. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const escapeLabelValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function labelText(labels: Labels | undefined, extra: Labels = {}): string {
  const all = { ...labels, ...extra };
  const names = Object.keys(all);
  if (names.length === 0) return '';
  for (const name of names) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`prometheus: invalid label name ${JSON.stringify(name)}`);
  }
  return `{${names.map((name) => `${name}="${escapeLabelValue(String(all[name]))}"`).join(',')}}`;
}

/** The families as exposition text, each with its HELP and TYPE lines; ends with a line feed. */
export function renderMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`prometheus: invalid metric name ${JSON.stringify(family.name)}`);
    if (seen.has(family.name)) throw new Error(`prometheus: metric ${family.name} given twice (merge its samples: mergeFamilies)`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const sample of family.samples) {
        if (sample.labels !== undefined && 'le' in sample.labels) throw new Error(`prometheus: histogram ${family.name} may not have a label "le"`);
        for (const { le, count } of sample.buckets) lines.push(`${family.name}_bucket${labelText(sample.labels, { le: formatValue(le) })} ${formatValue(count)}`);
        lines.push(`${family.name}_bucket${labelText(sample.labels, { le: '+Inf' })} ${formatValue(sample.count)}`);
        lines.push(`${family.name}_sum${labelText(sample.labels)} ${formatValue(sample.sum)}`);
        lines.push(`${family.name}_count${labelText(sample.labels)} ${formatValue(sample.count)}`);
      }
    } else {
      for (const sample of family.samples) {
        if (typeof sample.value === 'number') lines.push(`${family.name}${labelText(sample.labels)} ${formatValue(sample.value)}`);
      }
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** `labels` added to every sample of every family (e.g. the isolate a Rayon pool belongs to). */
export function withLabels(families: readonly MetricFamily[], labels: Labels): MetricFamily[] {
  const label = (sample: Sample | HistogramSample) => ({ ...sample, labels: { ...sample.labels, ...labels } });
  return families.map((family) => ({ ...family, samples: (family.samples as readonly (Sample | HistogramSample)[]).map(label) }) as MetricFamily);
}

/** Families of the same name as one (their samples in order; the first one's help and type), so each is declared once. */
export function mergeFamilies(families: readonly MetricFamily[]): MetricFamily[] {
  const merged = new Map<string, MetricFamily>();
  for (const family of families) {
    const known = merged.get(family.name);
    if (known === undefined) merged.set(family.name, family);
    else if (known.type !== family.type) throw new Error(`prometheus: metric ${family.name} is both a ${known.type} and a ${family.type}`);
    else merged.set(family.name, { ...known, samples: [...known.samples, ...family.samples] } as MetricFamily);
  }
  return [...merged.values()];
}
