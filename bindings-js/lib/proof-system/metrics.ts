/**
 * `o1js/pool`'s health (`poolHealth()`, the Rayon pool of one o1js instance)
 * in the Prometheus text format, for a scrape endpoint:
 *
 *   import { poolHealth, poolMetricsText, PROMETHEUS_CONTENT_TYPE } from 'o1js/pool';
 *   http.createServer(async (_, res) => {
 *     res.setHeader('Content-Type', PROMETHEUS_CONTENT_TYPE);
 *     res.end(poolMetricsText(await poolHealth()));
 *   }).listen(9464);
 *
 * Names are `o1js_pool_*` (another `prefix` may be given), units in the names
 * (`_bytes`, `_seconds`), counters end in `_total`; figures a platform cannot
 * measure (`null`, e.g. linear memory natively) are left out. docs/api.md's
 * "Health fields" says what each figure means. The prover isolates render
 * each isolate's pool with these families, labelled by isolate.
 */
import { renderMetrics, withLabels, type Labels, type MetricFamily, type Sample } from './kernel/prometheus.js';
import type { PoolHealth, PoolLifecycleState, PoolWorkerHealth } from './pool-health.js';

export { PROMETHEUS_CONTENT_TYPE } from './kernel/prometheus.js';

const LIFECYCLE_STATES: readonly PoolLifecycleState[] = ['uninit', 'starting', 'running', 'recycling', 'exiting', 'poisoned'];
const WORKER_STATES: readonly PoolWorkerHealth['state'][] = ['starting', 'running', 'exited'];

const one = (value: number | null): readonly Sample[] => [{ value }];
const flag = (on: boolean): readonly Sample[] => [{ value: on ? 1 : 0 }];

/** The families of one Rayon pool's health; `labels` go on every sample (e.g. `{ isolate: '3' }`). */
export function poolMetricFamilies(health: PoolHealth, prefix = 'o1js_pool', labels: Labels = {}): MetricFamily[] {
  const p = prefix;
  const { memory } = health;
  const worker = (w: PoolWorkerHealth): Labels => ({ generation: w.generation, worker: w.index ?? 'starting' });
  const families: MetricFamily[] = [
    { name: `${p}_state`, help: "The Rayon pool's lifecycle state (1 for the current one).", type: 'gauge', samples: LIFECYCLE_STATES.map((state) => ({ labels: { state }, value: state === health.state ? 1 : 0 })) },
    { name: `${p}_generation`, help: 'The generation of workers that takes new jobs.', type: 'gauge', samples: one(health.generation) },
    { name: `${p}_threads`, help: 'Worker threads of the serving generation.', type: 'gauge', samples: one(health.threads) },
    { name: `${p}_in_flight_jobs`, help: 'Jobs running now, on any generation.', type: 'gauge', samples: one(health.inFlight) },
    { name: `${p}_jobs_completed_total`, help: 'Jobs finished since the instance started.', type: 'counter', samples: one(health.jobsCompleted) },
    { name: `${p}_jobs_failed_total`, help: 'Jobs that panicked or ran out of memory.', type: 'counter', samples: one(health.jobsFailed) },
    { name: `${p}_inline_jobs_total`, help: 'Jobs run inline on the calling thread for want of a pool.', type: 'counter', samples: one(health.inlineJobs) },
    { name: `${p}_generation_jobs`, help: 'Jobs finished on the serving generation.', type: 'gauge', samples: one(health.generationJobs) },
    { name: `${p}_generation_age_seconds`, help: 'Age of the serving generation.', type: 'gauge', samples: one(health.generationAgeMs / 1000) },
    { name: `${p}_recycles_total`, help: 'Completed recycles of the worker generation.', type: 'counter', samples: one(health.recycles) },
    { name: `${p}_recycling`, help: '1 while a recycle is under way.', type: 'gauge', samples: flag(health.recycle !== null) },
    { name: `${p}_poisoned`, help: '1 when a worker of the generation died and the pool is poisoned.', type: 'gauge', samples: flag(health.poisoned !== null) },
    { name: `${p}_standby_ready`, help: '1 when a standby generation is ready, so that a recycle only swaps it in.', type: 'gauge', samples: flag(health.standby?.phase === 'ready') },
    { name: `${p}_linear_memory_bytes`, help: 'Size of the wasm linear memory (never shrinks).', type: 'gauge', samples: one(memory.linearBytes) },
    { name: `${p}_linear_memory_max_bytes`, help: 'Maximum of the wasm linear memory.', type: 'gauge', samples: one(memory.linearMaxBytes) },
    { name: `${p}_allocator_live_bytes`, help: 'Bytes the allocator handed out and did not get back.', type: 'gauge', samples: one(memory.allocatorLiveBytes) },
    { name: `${p}_allocator_peak_bytes`, help: "The allocator's peak of live bytes.", type: 'gauge', samples: one(memory.allocatorPeakBytes) },
    { name: `${p}_allocations_total`, help: 'Allocations since the instance started.', type: 'counter', samples: one(memory.allocations) },
    { name: `${p}_failed_allocations_total`, help: 'Allocations that failed (out of memory).', type: 'counter', samples: one(memory.failedAllocations) },
    { name: `${p}_largest_failed_request_bytes`, help: 'The largest allocation request that failed.', type: 'gauge', samples: one(memory.largestFailedRequestBytes) },
    { name: `${p}_allocator_soft_limit_bytes`, help: 'Soft limit on live bytes, when one is set.', type: 'gauge', samples: one(memory.softLimitBytes) },
    {
      name: `${p}_workers`,
      help: 'Workers by state.',
      type: 'gauge',
      samples: WORKER_STATES.map((state) => ({ labels: { state }, value: health.workers.filter((w) => w.state === state).length })),
    },
    { name: `${p}_worker_jobs_total`, help: 'Top-level jobs started on each worker.', type: 'counter', samples: health.workers.map((w) => ({ labels: worker(w), value: w.jobs })) },
    {
      name: `${p}_worker_allocated_bytes_total`,
      help: 'Bytes each worker allocated since it started (frees not attributed).',
      type: 'counter',
      samples: health.workers.map((w) => ({ labels: worker(w), value: w.allocatedBytes })),
    },
  ];
  return Object.keys(labels).length === 0 ? families : withLabels(families, labels);
}

/** One Rayon pool's health as Prometheus text (`# HELP`, `# TYPE`, samples). */
export function poolMetricsText(health: PoolHealth, options: { readonly prefix?: string; readonly labels?: Labels } = {}): string {
  return renderMetrics(poolMetricFamilies(health, options.prefix, options.labels));
}
