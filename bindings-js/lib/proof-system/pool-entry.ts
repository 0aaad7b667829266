/**
 * What `o1js/pool` exports: the pool API (pool-api.ts), the typed errors,
 * and the types of what they take and return. The entry files the package
 * adds (dist/{node,web}/pool*.js) re-export this module and add
 * `loadPoolBackend()`, which needs o1js's own `initializeBindings`. What the
 * backends use to register themselves stays out: it is not for applications.
 */
export {
  poolHealth,
  recycleThreadPool,
  exitThreadPool,
  configurePoolHealth,
  configureThreadPool,
  poolHealthCoordinator,
  workerHost,
  withThreadPool,
  openPoolHealthPort,
  poolHealthReader,
} from './pool-api.js';
export type { PoolBackendApi, ThreadPoolOptions, ThreadPoolSettings, WithThreadPool, PoolHealthPort, ThreadPoolLifetime, ThreadPoolState } from './pool-api.js';
export {
  PoolError,
  PoolMemoryError,
  PoolPoisonedError,
  PoolWorkerLostError,
  PoolInstanceTerminatedError,
  PoolRecycleTimeoutError,
  PoolConfigError,
  PoolArgumentError,
  PoolTimeoutError,
  PoolHostError,
  PoolOperationError,
  isPoolError,
} from './errors.js';
export type { PoolErrorCode, PoolMemoryErrorKind, WasmPoolErrorCode } from './errors.js';
export type * from './pool-health.js';
export { poolMetricsText, poolMetricFamilies, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
export type { MetricFamily, Sample as MetricSample, HistogramSample, Labels as MetricLabels } from './kernel/prometheus.js';
export type { CoordinatorOptions, CoordinatorConfig } from './coordinator-config.js';
export type { PoolHealthCoordinator, CoordinatorState, CoordinatorEvents, DecisionEvent, RecycleEvent, RefuseEvent, ErrorEvent, CheckTrigger } from './pool-health-coordinator.js';
export type { Decision, DecisionKind, RecycleMetric } from './coordinator-policy.js';
export type { WorkerHost } from './host/backend.js';
export type { HostEvent, WorkerSummary, WorkerState } from './host/supervisor.js';
