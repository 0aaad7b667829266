/**
 * The shapes plonk-wasm's `poolHealth()` and `recycleThreadPool()` return.
 *
 * They are generated from the Rust definitions into pool-abi.ts (a native
 * test fails when the two differ); docs/api.md's "Health fields" says what each
 * field means. Types only: this module has no runtime code.
 */
export type {
  PoolLifecycleState,
  RecycleCause,
  PoolHealth,
  RecycleProgress as PoolRecycleProgress,
  Poisoning as PoolPoisoning,
  MemoryHealth as PoolMemoryHealth,
  WorkerHealth as PoolWorkerHealth,
  StartReport,
  RecycleReport,
  WorkerExit,
  Retirement,
  ExitReport,
} from './pool-abi.js';

/** `recycleThreadPool(options)`. */
export interface RecycleOptions {
  /** Change the pool size. */
  readonly threads?: number;
  /** Default 60000 ms: kernel/options.ts DEFAULT_DRAIN_TIMEOUT_MS, applied by the wasm (its ABI keeps its own copy). */
  readonly drainTimeoutMs?: number;
  /** Default 5000 on the wasm side. */
  readonly exitTimeoutMs?: number;
  /** Upstream's leaky order (stop the workers, then drop the pool); for comparisons only. */
  readonly stopWorkersFirst?: boolean;
}
