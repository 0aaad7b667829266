/**
 * The shapes the prover pool reports: an isolate's own snapshot (taken inside
 * it), and the pool's health (`pool.health()`). Types only: no runtime code.
 *
 * Units are in the names. A field the platform cannot measure is `null`, never
 * a guess: the browser has no per-thread heap or RSS figures.
 */
import type { PoolHealth } from '../lib/proof-system/pool-health.js';
import type { DurationHistogram } from './job-stats.js';

export type { DurationHistogram } from './job-stats.js';

/** Memory of one isolate, as read inside it. */
export interface IsolateMemory {
  /**
   * Size of the isolate's wasm linear memory (its own `WebAssembly.Memory`).
   * Never shrinks while the isolate lives; all of it returns to the OS when
   * the isolate is terminated.
   */
  readonly linearBytes: number | null;
  /** That memory's maximum: the per-isolate ceiling (`limits.memoryMaximumBytes`). */
  readonly linearMaxBytes: number | null;
  /** Bytes the wasm allocator handed out and did not get back (o1js/pool's poolHealth()). */
  readonly allocatorLiveBytes: number | null;
  /** Node: the isolate thread's V8 heap, physical size (`v8.getHeapStatistics().total_physical_size`). */
  readonly v8HeapBytes: number | null;
  /**
   * Node: the process RSS this isolate accounts for. With `isolation:
   * 'process'`, its own process's resident set, measured (everything it
   * holds, native memory of a native backend included). With 'thread', an
   * estimate: linearBytes + v8HeapBytes, which leaves out the compiled wasm
   * code, thread stacks and each thread's Node environment (~7.5 MB per
   * thread), and counts linear memory as if every page were touched. `null`
   * in browsers.
   */
  readonly rssShareBytes: number | null;
}

/** What an isolate reports about itself: after its warm step, after every job, and on request while idle. */
export interface IsolateSnapshot {
  /** When it was taken (epoch ms, the isolate's clock). */
  readonly timestampMs: number;
  /** o1js/pool's poolHealth() inside the isolate (its own Rayon pool); `null` when the module exports no `o1jsPool`. */
  readonly pool: PoolHealth | null;
  /** Why `pool` is `null` although the module exports `o1jsPool` (its poolHealth() threw). */
  readonly poolError: string | null;
  readonly memory: IsolateMemory;
  /** Jobs this isolate ran (the warm step not counted). */
  readonly jobsRun: number;
}

/** Lifecycle of an isolate (lifecycle.ts has the transitions). */
export type IsolateState = 'starting' | 'idle' | 'busy' | 'draining' | 'stopping' | 'stopped';

/** What an isolate is for, now. */
export type IsolateRole =
  /** Takes jobs. */
  | 'serving'
  /** Starting: a replacement (or a first isolate) warming up; takes no jobs yet. */
  | 'warming'
  /** Its replacement is ready: it takes no new jobs, finishes its job, then is terminated. */
  | 'retiring';

/** One isolate in `pool.health()`. */
export interface IsolateHealth {
  readonly id: number;
  /** The slot it fills (0 … isolates-1); a replacement takes its predecessor's slot. */
  readonly slot: number;
  readonly state: IsolateState;
  readonly role: IsolateRole;
  /** Jobs that ended on it (result or error; the warm step not counted). */
  readonly jobs: number;
  /** Since it was spawned. */
  readonly ageMs: number;
  /** Spawn → ready (module loaded, o1js up, warm step done); `null` while starting. */
  readonly startMs: number | null;
  /** The module's load (o1js included) and its warm step, as timed inside the isolate. */
  readonly loadMs: number | null;
  readonly warmMs: number | null;
  readonly job: { readonly id: number; readonly name: string; readonly runningMs: number } | null;
  /**
   * The latest snapshot: fresh for an idle isolate (read for this call, within
   * healthTimeoutMs), from the end of its last job or warm step for a busy one
   * (a proof blocks the isolate's thread: it cannot answer until it ends).
   */
  readonly snapshot: IsolateSnapshot | null;
  /** How old `snapshot` is, by the pool's clock. */
  readonly snapshotAgeMs: number | null;
  /** The isolate warming up to replace this one. */
  readonly successorId: number | null;
  /** The isolate this one will replace once ready. */
  readonly predecessorId: number | null;
}

export type ProverPoolState = 'open' | 'closing' | 'closed';

/**
 * A slot's state: `serving` (an isolate serves it, or drains while its
 * successor warms), `starting` (its isolate warms, none serves), `restarting`
 * (a restart waits for its backoff), `parked` (stopped by the idle
 * scale-down: started again on demand), `given-up` (empty for good: its
 * starts kept failing, or its breaker opened).
 */
export type SlotStateName = 'serving' | 'starting' | 'restarting' | 'parked' | 'given-up';

/** One slot in `pool.health()`. */
export interface SlotHealth {
  readonly slot: number;
  readonly state: SlotStateName;
  /** The isolate that serves it (or warms for it), `null` when none does. */
  readonly isolateId: number | null;
  /** Starts failed in a row. */
  readonly startFailures: number;
  /** Crashes of its serving isolates within crashWindowMs (the breaker opens at maxCrashes). */
  readonly crashesInWindow: number;
  /** A pending restart or replacement is not tried before this (epoch ms); `null` when none waits. */
  readonly retryAtMs: number | null;
  /** Why it is empty for good, or `null`. */
  readonly givenUp: 'start-failures' | 'crash-loop' | null;
  /** Its replacements for limits failed maxStartFailures times: none is tried while its isolate serves (faults still are). */
  readonly replacementGivenUp: boolean;
}

/** `pool.health()`. */
export interface ProverPoolHealth {
  readonly state: ProverPoolState;
  readonly queued: number;
  readonly running: number;
  /** The queue's bound (`null`: none), and whether it reached it (`needs-drain` emitted, `drain` not yet). */
  readonly maxQueuedJobs: number | null;
  readonly needsDrain: boolean;
  readonly isolates: readonly IsolateHealth[];
  readonly slots: readonly SlotHealth[];
  /** Node: the whole process's RSS (main thread and every isolate); `null` in browsers. */
  readonly processRssBytes: number | null;
  readonly totals: ProverPoolTotals;
  /** Since the pool started. */
  readonly uptimeMs: number;
  /** Time isolates spent running jobs, since the pool started (running jobs included). */
  readonly busyMs: number;
  /** busyMs / (uptimeMs × isolates): the share of the pool's capacity spent running jobs, in [0, 1]. */
  readonly utilization: number;
  /** How long jobs waited in the queue (submission → start on an isolate), for every job that started. */
  readonly waitTimeMs: DurationHistogram;
  /** How long jobs ran on an isolate, for every job that completed or failed there. */
  readonly runTimeMs: DurationHistogram;
  readonly timestampMs: number;
}

export interface ProverPoolTotals {
  readonly jobsCompleted: number;
  /** Jobs that threw in their isolate (PROVER_POOL_JOB_FAILED). */
  readonly jobsFailed: number;
  /** Jobs lost with their isolate (PROVER_POOL_ISOLATE_CRASHED). */
  readonly jobsCrashed: number;
  readonly jobsAborted: number;
  /** Jobs whose deadline passed (PROVER_POOL_JOB_TIMEOUT). */
  readonly jobsTimedOut: number;
  readonly jobsRefused: number;
  readonly isolatesStarted: number;
  /** Blue/green replacements completed (the old isolate terminated after its successor took over). */
  readonly replacements: number;
  /** Isolates lost to a crash or a trap. */
  readonly crashes: number;
  readonly startFailures: number;
  /** Isolates stopped by the idle scale-down. */
  readonly idleStops: number;
  /** Messages on an isolate thread's public port (the proving module's own), ignored. */
  readonly strayMessages: number;
}
