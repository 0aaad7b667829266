/**
 * The pool's service figures, as piscina and tinypool give them: how long
 * jobs waited in the queue and ran on an isolate (histograms), and how busy
 * the isolates were (utilization). Fed by job-queue.ts at a job's start and
 * end; read by health() and rendered for Prometheus by metrics.ts.
 *
 * A histogram keeps counts per bucket (fixed bounds, proofs take seconds to
 * minutes), the sum, the count, the smallest and largest value, and
 * estimates percentiles from the buckets as Prometheus's histogram_quantile
 * does (linearly within the bucket that holds the rank): an estimate, as
 * exact as the buckets are fine, in constant memory however many jobs ran.
 */

/** Bucket bounds of the duration histograms (ms); a last, unbounded bucket holds the rest. */
export const DURATION_BUCKETS_MS: readonly number[] = Object.freeze([
  10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000,
]);

/** A duration histogram as health() reports it. */
export interface DurationHistogram {
  readonly count: number;
  readonly sumMs: number;
  readonly minMs: number | null;
  readonly maxMs: number | null;
  /** Cumulative: `count` observations took at most `leMs` (the unbounded bucket is the total `count`). */
  readonly buckets: readonly { readonly leMs: number; readonly count: number }[];
  /** Estimated from the buckets; `null` before the first observation. */
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
}

export class Histogram {
  readonly #bounds: readonly number[];
  /** Per bucket, not cumulative; the last is the unbounded one. */
  readonly #counts: number[];
  #sumMs = 0;
  #count = 0;
  #minMs = Infinity;
  #maxMs = -Infinity;

  constructor(bounds: readonly number[] = DURATION_BUCKETS_MS) {
    this.#bounds = bounds;
    this.#counts = new Array<number>(bounds.length + 1).fill(0);
  }

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const value = Math.max(0, ms);
    let bucket = this.#bounds.findIndex((le) => value <= le);
    if (bucket < 0) bucket = this.#bounds.length;
    this.#counts[bucket]!++;
    this.#sumMs += value;
    this.#count++;
    this.#minMs = Math.min(this.#minMs, value);
    this.#maxMs = Math.max(this.#maxMs, value);
  }

  summary(): DurationHistogram {
    let running = 0;
    const buckets = this.#bounds.map((leMs, i) => ({ leMs, count: (running += this.#counts[i]!) }));
    const some = this.#count > 0;
    const at = (q: number) => (some ? this.#quantile(q, buckets) : null);
    return {
      count: this.#count,
      sumMs: this.#sumMs,
      minMs: some ? this.#minMs : null,
      maxMs: some ? this.#maxMs : null,
      buckets,
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      p99Ms: at(0.99),
    };
  }

  #quantile(q: number, buckets: readonly { readonly leMs: number; readonly count: number }[]): number {
    const rank = q * this.#count;
    let lower = 0;
    let below = 0;
    for (const { leMs, count } of buckets) {
      if (count >= rank && count > below) {
        const estimate = lower + ((leMs - lower) * (rank - below)) / (count - below);
        return Math.min(Math.max(estimate, this.#minMs), this.#maxMs);
      }
      lower = leMs;
      below = count;
    }
    return this.#maxMs; // the rank is in the unbounded bucket
  }
}

/** What the pool accumulates for its service figures. */
export interface JobStats {
  readonly startedAtMs: number;
  readonly wait: Histogram;
  readonly run: Histogram;
  /** Time isolates spent running jobs that have ended (running ones are added when read). */
  busyMs: number;
}

export function createJobStats(nowMs: number): JobStats {
  return { startedAtMs: nowMs, wait: new Histogram(), run: new Histogram(), busyMs: 0 };
}

/**
 * The share of the pool's capacity (`isolates` slots since it started) spent
 * running jobs, in [0, 1]; `runningMs` is what the running jobs have run so far.
 */
export function utilization(stats: JobStats, nowMs: number, isolates: number, runningMs: number): number {
  const capacityMs = (nowMs - stats.startedAtMs) * isolates;
  return capacityMs <= 0 ? 0 : Math.min(1, (stats.busyMs + runningMs) / capacityMs);
}
