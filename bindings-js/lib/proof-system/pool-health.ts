/**
 * The shapes plonk-wasm's `poolHealth()` and `recycleThreadPool()` return.
 *
 * These mirror README's "Health fields" and "Recycle report" exactly (the Rust
 * side serialises `PoolHealth` / `RecycleReport` in plonk-wasm/src/rayon/pool.rs
 * with serde's JSON-compatible serializer, so an absent `Option` is `null`).
 * Types only: this module has no runtime code.
 */

/** Lifecycle state of the pool as the wasm reports it. */
export type PoolLifecycleState =
  | 'uninit'
  | 'starting'
  | 'running'
  | 'recycling'
  | 'exiting'
  | 'poisoned';

/** Why a recycle runs: asked for, or a rebuild of a poisoned generation. */
export type RecycleCause = 'requested' | 'poisoned';

/** Present during a recycle. */
export interface PoolRecycleProgress {
  readonly fromGeneration: number;
  readonly toGeneration: number;
  /** `starting`: the old generation still serves; `retiring`: the new one serves. */
  readonly phase: 'starting' | 'retiring';
  readonly cause: RecycleCause;
}

/** Present when a worker of the generation died. */
export interface PoolPoisoning {
  readonly generation: number;
  readonly reason: string;
}

export interface PoolMemoryHealth {
  /** Wasm linear memory size; never shrinks. `null` natively. */
  readonly linearBytes: number | null;
  /** The linear memory maximum. `null` natively. */
  readonly linearMaxBytes: number | null;
  /** Bytes handed out by the allocator and not returned. */
  readonly allocatorLiveBytes: number;
  readonly allocatorPeakBytes: number;
  readonly allocations: number;
  readonly failedAllocations: number;
  readonly largestFailedRequestBytes: number;
  /** Soft limit on live bytes, if one is set (tests use it to force out-of-memory). */
  readonly softLimitBytes: number | null;
}

export interface PoolWorkerHealth {
  /** Rayon's index of the worker (`null` while it starts). */
  readonly index: number | null;
  readonly generation: number;
  readonly state: 'starting' | 'running' | 'exited';
  /** Top-level jobs started on this worker. */
  readonly jobs: number;
  /** Allocated since the worker started; frees are not attributed. */
  readonly allocatedBytes: number;
  /** Epoch ms of the worker's last job start or state change. */
  readonly lastActivityMs: number;
}

/** `poolHealth()`: a plain snapshot, cheap enough to read before every job. */
export interface PoolHealth {
  readonly state: PoolLifecycleState;
  /** The generation that takes new jobs (`null` when none does). */
  readonly generation: number | null;
  readonly threads: number;
  /** Jobs running now, on any generation. */
  readonly inFlight: number;
  readonly jobsCompleted: number;
  /** Panicked or out of memory. */
  readonly jobsFailed: number;
  /** Jobs finished on the serving generation. */
  readonly generationJobs: number;
  readonly generationAgeMs: number;
  /** Completed recycles. */
  readonly recycles: number;
  readonly recycle: PoolRecycleProgress | null;
  readonly poisoned: PoolPoisoning | null;
  readonly memory: PoolMemoryHealth;
  readonly workers: readonly PoolWorkerHealth[];
  /** When the snapshot was taken (epoch ms). */
  readonly timestampMs: number;
}

/** What `recycleThreadPool()` resolves with. */
export interface RecycleReport {
  readonly fromGeneration: number;
  readonly toGeneration: number;
  readonly threads: number;
  readonly cause: RecycleCause;
  /** New generation up. */
  readonly startMs: number;
  /** Old generation's jobs finished. */
  readonly drainMs: number;
  /** Old workers left and were stopped. */
  readonly exitMs: number;
  readonly totalMs: number;
  /** Jobs still running at the drain bound (the old generation is left to them). */
  readonly jobsAbandoned: number;
  readonly workers: { readonly exited: number; readonly forced: number };
  /** Allocator live bytes before the exit phase minus after. */
  readonly allocatorBytesReleased: number;
  readonly linearMemoryBytes: number | null;
  /** This request joined a recycle already in progress. */
  readonly joined: boolean;
}

/** `recycleThreadPool(options)`. */
export interface RecycleOptions {
  /** Change the pool size. */
  readonly threads?: number;
  /** Default 60000 on the wasm side. */
  readonly drainTimeoutMs?: number;
  /** Default 5000 on the wasm side. */
  readonly exitTimeoutMs?: number;
  /** Upstream's leaky order (stop the workers, then drop the pool); for comparisons only. */
  readonly stopWorkersFirst?: boolean;
}
