// Generated from plonk-wasm's Rust definitions (src/rayon/pool_abi.rs, from health.rs,
// report.rs, error.rs, lifecycle.rs) by tests/abi.rs: do not edit. After changing them, run
// `ABI_UPDATE=1 cargo test -p plonk_wasm --test abi` to write this file again.

/** The pool's lifecycle state (`poolHealth().state`). */
export type PoolLifecycleState = 'uninit' | 'starting' | 'running' | 'recycling' | 'exiting' | 'poisoned';

/** Why a recycle runs: asked for, or a rebuild of a poisoned generation. */
export type RecycleCause = 'requested' | 'poisoned';

/** `poolHealth()`: a plain snapshot, cheap enough to take before every job. */
export interface PoolHealth {
  readonly state: PoolLifecycleState;
  /** The generation that takes new jobs (`null` when none does). */
  readonly generation: number | null;
  readonly threads: number;
  /** Jobs running now, on any generation. */
  readonly inFlight: number;
  /** Jobs finished since the instance started. */
  readonly jobsCompleted: number;
  /** Panicked or out of memory. */
  readonly jobsFailed: number;
  /**
   * Jobs run inline on the calling thread because there was no pool
   * (before initThreadPool, after exitThreadPool), as upstream runs
   * them; not counted in the other job fields.
   */
  readonly inlineJobs: number;
  /** Jobs finished on the serving generation. */
  readonly generationJobs: number;
  readonly generationAgeMs: number;
  /** Completed recycles. */
  readonly recycles: number;
  readonly recycle: RecycleProgress | null;
  readonly poisoned: Poisoning | null;
  /**
   * The generation started ahead for the next recycle (`null` when
   * there is none: standby off, or being replaced after a recycle).
   */
  readonly standby: StandbyHealth | null;
  readonly memory: MemoryHealth;
  readonly workers: readonly WorkerHealth[];
  /** When the snapshot was taken (epoch ms). */
  readonly timestampMs: number;
}

/** Present during a recycle. */
export interface RecycleProgress {
  readonly fromGeneration: number;
  readonly toGeneration: number;
  /** `starting`: the old generation still serves; `retiring`: the new one serves. */
  readonly phase: 'starting' | 'retiring';
  readonly cause: RecycleCause;
}

/** Present when a worker of the generation died. */
export interface Poisoning {
  readonly generation: number;
  readonly reason: string;
}

/**
 * The standby generation: its workers started and parked, serving no job
 * until a recycle swaps it in.
 */
export interface StandbyHealth {
  readonly generation: number;
  readonly threads: number;
  /** `starting`: its workers are being started; `ready`: a recycle only swaps. */
  readonly phase: 'starting' | 'ready';
}

/** Linear memory and the allocator's counters. */
export interface MemoryHealth {
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

/** One worker, as its telemetry slot reports it. */
export interface WorkerHealth {
  /** Rayon's index of the worker in its generation (`null` while it starts). */
  readonly index: number | null;
  readonly generation: number;
  readonly state: 'starting' | 'running' | 'exited';
  /** Top-level jobs started on this worker. */
  readonly jobs: number;
  /**
   * Bytes this worker allocated since it started (frees are not
   * attributed: memory is often freed by another thread than its owner).
   */
  readonly allocatedBytes: number;
  /** Epoch ms of the worker's last job start or state change. */
  readonly lastActivityMs: number;
}

/** What `initThreadPool()` resolves with. */
export interface StartReport {
  readonly generation: number;
  readonly threads: number;
  readonly startMs: number;
}

/** What `recycleThreadPool()` resolves with. */
export interface RecycleReport {
  readonly fromGeneration: number;
  readonly toGeneration: number;
  readonly threads: number;
  /** `"requested"`, or `"poisoned"` for a rebuild after a worker died. */
  readonly cause: RecycleCause;
  /** The new generation was up (the old one served meanwhile). */
  readonly startMs: number;
  /** The old generation's jobs finished. */
  readonly drainMs: number;
  /** The old workers left and were stopped. */
  readonly exitMs: number;
  readonly totalMs: number;
  /** Jobs still running at the drain bound (the old generation is left to them). */
  readonly jobsAbandoned: number;
  readonly workers: WorkerExit;
  /** Allocator live bytes before the exit phase minus after. */
  readonly allocatorBytesReleased: number;
  readonly linearMemoryBytes: number | null;
  /**
   * True when the new generation was the standby, started ahead: the
   * recycle only swapped (`start_ms` is then the swap).
   */
  readonly standby: boolean;
  /** True when this request joined a recycle that was already in progress. */
  readonly joined: boolean;
}

/** How a generation's workers left when it was stopped. */
export interface WorkerExit {
  /** Workers that left on their own after destroying their thread state. */
  readonly exited: number;
  /** Workers stopped by force after the bound (their stacks leak unless reclaimed). */
  readonly forced: number;
  /**
   * Workers that ended without destroying their thread state (stopped by
   * force, or lost) whose stack and TLS block the host freed for them once
   * their thread was gone.
   */
  readonly reclaimed: number;
}

/** How a generation that no longer serves was retired. */
export interface Retirement {
  readonly generation: number;
  /** Its jobs finished. */
  readonly drainMs: number;
  /** Its workers left and were stopped. */
  readonly exitMs: number;
  /** Jobs still running on it when the drain bound passed (it is then left to them). */
  readonly jobsAbandoned: number;
  readonly workers: WorkerExit;
  /**
   * Allocator live bytes before the exit phase minus after it: the workers'
   * TLS blocks and what else they freed (their stacks stay set aside for
   * the next workers, and count as live).
   */
  readonly allocatorBytesReleased: number;
}

/** What `exitThreadPool()` resolves with. */
export interface ExitReport {
  /** `null` when there was no pool to exit (a second exit is a no-op). */
  readonly retirement: Retirement | null;
}

/** The codes the wasm puts on the errors it throws (`error.code`, or the `plonk-wasm [CODE]` prefix of a failed job). */
export const WASM_POOL_ERROR_CODES = [
  'POOL_NOT_INITIALIZED',
  'POOL_ALREADY_INITIALIZED',
  'POOL_STARTING',
  'POOL_EXITING',
  'POOL_REBUILDING',
  'POOL_POISONED',
  'POOL_INVALID_THREAD_COUNT',
  'POOL_UNKNOWN_RECEIVER',
  'POOL_START_FAILED',
  'POOL_WORKER_LOST',
  'POOL_INVALID_ARGUMENT',
  'POOL_INVALID_CONFIG',
  'OUT_OF_MEMORY',
  'POOL_JOB_PANICKED',
] as const;
export type WasmPoolErrorCode = (typeof WASM_POOL_ERROR_CODES)[number];
