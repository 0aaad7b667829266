// Summaries for the benchmark: percentiles of one run, then the median and
// spread (min–max) of a figure over repeated runs. Plain numbers in, plain
// objects out; no I/O.

/** Percentile `p` in [0, 1] of `values`, linearly interpolated between ranks. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (sorted.length - 1) * p;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

export const median = (values) => percentile(values, 0.5);

/** One run's distribution: count, p50, p95, p99, max. */
export function distribution(values) {
  return {
    n: values.length,
    p50: percentile(values, 0.5),
    p95: percentile(values, 0.95),
    p99: percentile(values, 0.99),
    max: Math.max(...values),
  };
}

/**
 * A figure over repeated runs (or repeated pairs): its median, and the
 * spread as min and max, plus the values themselves.
 */
export function spread(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values };
}

/** `{ median, min, max }` of field `key` of every run's distribution. */
export function acrossRuns(distributions, key) {
  return spread(distributions.map((d) => d[key]));
}

/** "12.3 (11.0–14.2)" with `digits` decimals. */
export function formatSpread({ median: m, min, max }, digits = 1) {
  return `${m.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
}

/**
 * The recycle runs whose process started its pool at `n` workers (all runs if none did). Run r
 * starts at threadCounts[r mod count] (the rotation); runs record it as `firstThreads` (older JSON
 * does not). A figure taken per process, as the standby's RSS cost, is read where n came first.
 */
export function runsStartedAt(runs, n, threadCounts) {
  const started = runs.filter((r, i) => (r.firstThreads ?? threadCounts[i % threadCounts.length]) === n);
  return started.length > 0 ? started : runs;
}
