/**
 * `isolates: 'auto'`: how many isolates, each with how many Rayon threads,
 * this machine should run. A pure function of what the adapter reads (cores,
 * free memory); the adapters (node.ts, web.ts) resolve 'auto' with it before
 * the pool core sees the options.
 *
 * The rule follows what was measured (docs/results.md, the isolate
 * benchmark): o1js's proofs scale sublinearly with Rayon threads (2 threads
 * prove about 1.2× as fast as 1, against 2× for two isolates of 1 thread:
 * 2 isolates × 1 thread made 1.18× the proofs per minute of 1 × 2), so one
 * isolate per core is the best split, as long as memory holds them. Memory is
 * budgeted for every isolate plus one more: a replacement holds two instances
 * of its slot while the successor warms. Cores left over by a memory-bound
 * split go to each isolate's threads.
 */

/** What the rule reads about the machine. */
export interface MachineShape {
  /** Cores this process may use (Node: os.availableParallelism(); browsers: navigator.hardwareConcurrency). */
  readonly cores: number;
  /** Memory free for isolates, in bytes; `null` when unknown. */
  readonly freeMemoryBytes: number | null;
}

/** What one isolate is budgeted: its memory maximum when set, else what an o1js isolate took in the benchmark, rounded up. */
export const DEFAULT_ISOLATE_BUDGET_BYTES = 1.5 * 2 ** 30;
/** The pool core's bound on isolates. */
const MAX_ISOLATES = 64;

export interface AutoSplit {
  readonly isolates: number;
  readonly threadsPerIsolate: number;
  /** Why, with the numbers. */
  readonly reason: string;
}

/**
 * The split for `machine`; `threadsPerIsolate` when the caller fixed it (then
 * only the isolate count is chosen), `isolateBudgetBytes` the memory one
 * isolate is budgeted.
 */
export function autoSplit(machine: MachineShape, isolateBudgetBytes: number, threadsPerIsolate: number | null = null): AutoSplit {
  const cores = Math.max(1, Math.floor(machine.cores));
  // Every isolate, plus one for a replacement's successor.
  const byMemory = machine.freeMemoryBytes === null ? MAX_ISOLATES : Math.floor(machine.freeMemoryBytes / isolateBudgetBytes) - 1;
  const byCores = threadsPerIsolate === null ? cores : Math.floor(cores / threadsPerIsolate);
  const isolates = Math.max(1, Math.min(byCores, byMemory, MAX_ISOLATES));
  const threads = threadsPerIsolate ?? Math.max(1, Math.floor(cores / isolates));
  const memory =
    machine.freeMemoryBytes === null
      ? 'free memory unknown'
      : `${(machine.freeMemoryBytes / 2 ** 30).toFixed(1)} GiB free holds ${Math.max(0, byMemory)} isolate(s) of ${(isolateBudgetBytes / 2 ** 30).toFixed(2)} GiB besides a replacement's`;
  return { isolates, threadsPerIsolate: threads, reason: `${cores} core(s), ${memory}: ${isolates} isolate(s) × ${threads} thread(s)` };
}

/** A `threadsPerIsolate` the caller fixed (a whole number ≥ 1), else `null`: 'auto' picks it (a bad value is left to the pool's own check). */
export function fixedThreads(threadsPerIsolate: unknown): number | null {
  return Number.isInteger(threadsPerIsolate) && (threadsPerIsolate as number) >= 1 ? (threadsPerIsolate as number) : null;
}
