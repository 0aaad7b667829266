/**
 * The prover pool's health in the Prometheus text format (`pool.metrics()`,
 * or `metricsText(await pool.health())`), for a scrape endpoint, with the
 * kernel's one formatter (kernel/prometheus.ts):
 *
 *   o1js_prover_pool_*          the pool: queue, jobs by outcome, wait and run
 *                               histograms (seconds), utilization, slots
 *   o1js_prover_pool_isolate_*  each live isolate (labels isolate, slot): its
 *                               memory, jobs, age
 *   o1js_pool_*                 each isolate's own Rayon pool (o1js/pool's
 *                               families, lib/proof-system/metrics.ts), with
 *                               the same isolate and slot labels
 *
 * Isolate ids grow with every replacement: a series per isolate lives as long
 * as that isolate (a scrape shows the live ones), so aggregate across
 * isolates by `slot` for long-lived series.
 */
import { mergeFamilies, renderMetrics, type HistogramSample, type Labels, type MetricFamily, type Sample } from '../lib/proof-system/kernel/prometheus.js';
import { poolMetricFamilies } from '../lib/proof-system/metrics.js';
import type { PoolHealth } from '../lib/proof-system/pool-health.js';
import type { DurationHistogram, IsolateState, ProverPoolHealth, ProverPoolState, SlotStateName } from './health.js';

const POOL_STATES: readonly ProverPoolState[] = ['open', 'closing', 'closed'];
const ISOLATE_STATES: readonly IsolateState[] = ['starting', 'idle', 'busy', 'draining', 'stopping'];
const SLOT_STATES: readonly SlotStateName[] = ['serving', 'starting', 'restarting', 'parked', 'given-up'];

const one = (value: number | null): readonly Sample[] => [{ value }];
const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

function histogram(h: DurationHistogram): readonly HistogramSample[] {
  return [{ buckets: h.buckets.map((b) => ({ le: b.leMs / 1000, count: b.count })), sum: h.sumMs / 1000, count: h.count }];
}

/** The families of the prover pool's health (see the module doc); `prefix` names the pool's own. */
export function metricsFamilies(health: ProverPoolHealth, prefix = 'o1js_prover_pool'): MetricFamily[] {
  const p = prefix;
  const t = health.totals;
  const outcomes: [string, number][] = [
    ['completed', t.jobsCompleted],
    ['failed', t.jobsFailed],
    ['crashed', t.jobsCrashed],
    ['aborted', t.jobsAborted],
    ['timed-out', t.jobsTimedOut],
    ['refused', t.jobsRefused],
  ];
  const live = health.isolates.filter((i) => i.state !== 'stopped');
  const labelsOf = (i: { id: number; slot: number }): Labels => ({ isolate: i.id, slot: i.slot });
  const perIsolate = (name: string, help: string, value: (i: (typeof live)[number]) => number | null, type: 'gauge' | 'counter' = 'gauge'): MetricFamily => ({
    name: `${p}_isolate_${name}`,
    help,
    type,
    samples: live.map((i) => ({ labels: labelsOf(i), value: value(i) })),
  });
  const memory = (i: (typeof live)[number]) => i.snapshot?.memory ?? null;
  const families: MetricFamily[] = [
    { name: `${p}_state`, help: "The prover pool's state (1 for the current one).", type: 'gauge', samples: POOL_STATES.map((state) => ({ labels: { state }, value: state === health.state ? 1 : 0 })) },
    { name: `${p}_queued_jobs`, help: 'Jobs waiting for an isolate.', type: 'gauge', samples: one(health.queued) },
    { name: `${p}_running_jobs`, help: 'Jobs running on isolates.', type: 'gauge', samples: one(health.running) },
    { name: `${p}_max_queued_jobs`, help: "The queue's bound (maxQueuedJobs); absent when unbounded.", type: 'gauge', samples: one(health.maxQueuedJobs) },
    { name: `${p}_needs_drain`, help: '1 while the queue is full (needs-drain emitted, drain not yet).', type: 'gauge', samples: one(health.needsDrain ? 1 : 0) },
    { name: `${p}_jobs_total`, help: 'Jobs that ended, by outcome.', type: 'counter', samples: outcomes.map(([outcome, value]) => ({ labels: { outcome }, value })) },
    { name: `${p}_isolates_started_total`, help: 'Isolates spawned.', type: 'counter', samples: one(t.isolatesStarted) },
    { name: `${p}_replacements_total`, help: 'Blue/green replacements completed.', type: 'counter', samples: one(t.replacements) },
    { name: `${p}_crashes_total`, help: 'Isolates lost to a crash, a trap or a protocol error.', type: 'counter', samples: one(t.crashes) },
    { name: `${p}_start_failures_total`, help: 'Isolates that failed to start.', type: 'counter', samples: one(t.startFailures) },
    { name: `${p}_idle_stops_total`, help: 'Isolates stopped by the idle scale-down.', type: 'counter', samples: one(t.idleStops) },
    { name: `${p}_stray_messages_total`, help: "Messages on isolate threads' public ports (the proving module's own), ignored.", type: 'counter', samples: one(t.strayMessages) },
    { name: `${p}_uptime_seconds`, help: 'Since the pool started.', type: 'gauge', samples: one(health.uptimeMs / 1000) },
    { name: `${p}_busy_seconds_total`, help: 'Time isolates spent running jobs (rate() over it / isolates = utilization).', type: 'counter', samples: one(health.busyMs / 1000) },
    { name: `${p}_utilization`, help: 'Share of the pool capacity spent running jobs since it started, 0 to 1.', type: 'gauge', samples: one(health.utilization) },
    { name: `${p}_job_wait_seconds`, help: 'Time jobs waited in the queue before starting.', type: 'histogram', samples: histogram(health.waitTimeMs) },
    { name: `${p}_job_run_seconds`, help: 'Time jobs ran on an isolate (completed or failed).', type: 'histogram', samples: histogram(health.runTimeMs) },
    { name: `${p}_process_resident_memory_bytes`, help: "The process's RSS, the main thread and every isolate (Node).", type: 'gauge', samples: one(health.processRssBytes) },
    { name: `${p}_isolates`, help: 'Isolates by state.', type: 'gauge', samples: ISOLATE_STATES.map((state) => ({ labels: { state }, value: live.filter((i) => i.state === state).length })) },
    { name: `${p}_slots`, help: 'Slots by state.', type: 'gauge', samples: SLOT_STATES.map((state) => ({ labels: { state }, value: health.slots.filter((s) => s.state === state).length })) },
    {
      name: `${p}_slot_crashes_in_window`,
      help: "Crashes of each slot's isolates within crashWindowMs (its breaker opens at maxCrashes).",
      type: 'gauge',
      samples: health.slots.map((s) => ({ labels: { slot: s.slot }, value: s.crashesInWindow })),
    },
    { name: `${p}_slot_start_failures`, help: "Each slot's failed starts in a row.", type: 'gauge', samples: health.slots.map((s) => ({ labels: { slot: s.slot }, value: s.startFailures })) },
    {
      name: `${p}_isolate_info`,
      help: 'Each live isolate, with its state and role as labels.',
      type: 'gauge',
      samples: live.map((i) => ({ labels: { ...labelsOf(i), state: i.state, role: i.role }, value: 1 })),
    },
    perIsolate('jobs_total', 'Jobs that ended on the isolate.', (i) => i.jobs, 'counter'),
    perIsolate('age_seconds', 'Since the isolate was spawned.', (i) => i.ageMs / 1000),
    perIsolate('snapshot_age_seconds', "Age of the isolate's latest snapshot.", (i) => seconds(i.snapshotAgeMs)),
    perIsolate('linear_memory_bytes', "The isolate's wasm linear memory (never shrinks while it lives).", (i) => memory(i)?.linearBytes ?? null),
    perIsolate('linear_memory_max_bytes', "The isolate's wasm memory maximum.", (i) => memory(i)?.linearMaxBytes ?? null),
    perIsolate('allocator_live_bytes', "The isolate allocator's live bytes.", (i) => memory(i)?.allocatorLiveBytes ?? null),
    perIsolate('v8_heap_bytes', "The isolate thread's V8 heap (Node).", (i) => memory(i)?.v8HeapBytes ?? null),
    perIsolate('rss_share_bytes', 'An estimate of the RSS the isolate accounts for (Node).', (i) => memory(i)?.rssShareBytes ?? null),
  ];
  const pools = live.flatMap((i) => (isPoolHealth(i.snapshot?.pool) ? poolMetricFamilies(i.snapshot.pool, 'o1js_pool', labelsOf(i)) : []));
  return mergeFamilies([...families, ...pools]);
}

/** A Rayon pool health as o1js/pool reports it (a module's own `o1jsPool` may report something else: then it is left out). */
function isPoolHealth(pool: unknown): pool is PoolHealth {
  const health = pool as Partial<PoolHealth> | null | undefined;
  return typeof health === 'object' && health !== null && typeof health.memory === 'object' && health.memory !== null && Array.isArray(health.workers);
}

/** The prover pool's health as Prometheus text (`# HELP`, `# TYPE`, samples). */
export function metricsText(health: ProverPoolHealth, prefix?: string): string {
  return renderMetrics(metricsFamilies(health, prefix));
}
