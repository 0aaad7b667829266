/**
 * What `o1js/isolates` exports on every platform: the pool, its errors and
 * the types of its options, jobs, events and health. node.ts and web.ts add
 * their `createProverPool` (and web.ts `serveProverIsolate`).
 */
export { ProverPool } from './prover-pool.js';
export {
  ProverPoolError,
  ProverPoolConfigError,
  ProverPoolClosedError,
  ProverPoolAdmissionError,
  ProverPoolUnknownJobError,
  ProverPoolAbortError,
  ProverPoolTimeoutError,
  ProverPoolArgumentError,
  ProverPoolJobError,
  ProverPoolCrashError,
  ProverPoolStartError,
  ProverPoolReplacementError,
} from './errors.js';
export type { ProverPoolErrorCode, RemoteError, JobPhase, AdmissionRefusal, IsolateCrashKind, StartStage, ReplacementLoss } from './errors.js';
export type * from './health.js';
export type * from './jobs.js';
export type { ReplacementLimitsOptions } from './config.js';
export type { ReplacementReport, CloseReport, CloseOptions, ProverPoolEvents, StartCause, StopReason, JobOutcome, SlotGiveUp } from './prover-pool.js';
export { metricsText, metricsFamilies } from './metrics.js';
export { PROMETHEUS_CONTENT_TYPE } from '../lib/proof-system/kernel/prometheus.js';
export type { ReplacementMetric, ReplacementDecision } from './replacement-policy.js';
export type { ReplacementOrder, BudgetVerdict } from './rss-budget.js';
