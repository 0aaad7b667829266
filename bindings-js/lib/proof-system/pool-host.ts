/**
 * What the Node and web backends share as hosts of the pool's workers: the
 * check of their host options, the options of a recycle, the log line of a
 * coordinator event, and how a dead worker is reported to the pool.
 *
 * `signalWorkerLoss` and `reportWorkerLoss` also run in the web backend's
 * supervisor, a worker built from function sources (web/worker-helpers.js):
 * they use nothing but their arguments, globals and each other.
 */
import type { CoordinatorLogEvent } from './pool-health-coordinator.js';
import type { RecycleOptions } from './pool-health.js';

/** Per option: what is expected (for the message), and the check. */
export type OptionRules = {
  readonly [name: string]: readonly [expected: string, accepts: (value: unknown) => boolean];
};

/**
 * Throws a TypeError naming the first unknown or invalid option of
 * `options`, its value and what was expected, e.g.
 * `configureThreadPool option startTimeoutMs is -1: expected a positive number of milliseconds`.
 */
export function checkOptions(callee: string, options: unknown, rules: OptionRules): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${callee} options is ${String(options)}: expected an object`);
  }
  for (const [name, value] of Object.entries(options)) {
    const rule = rules[name];
    if (rule === undefined) {
      throw new TypeError(`${callee} option ${name} is unknown: expected one of ${Object.keys(rules).join(', ')}`);
    }
    if (!rule[1](value)) throw new TypeError(`${callee} option ${name} is ${JSON.stringify(value)}: expected ${rule[0]}`);
  }
}

/** The host options both backends take; each adds its own. */
export const WORKER_OPTION_RULES: OptionRules = {
  startTimeoutMs: ['a positive number of milliseconds', (v) => typeof v === 'number' && Number.isFinite(v) && v > 0],
  teardown: ["'destroy' or 'terminate'", (v) => v === 'destroy' || v === 'terminate'],
};

/** What the wasm's `recycleThreadPool` gets for a caller's `options`, given the pool's state and the host's teardown. */
export function resolveRecycleOptions(
  options: RecycleOptions | undefined,
  pool: { readonly poisoned: boolean; readonly teardown: 'destroy' | 'terminate' },
): RecycleOptions {
  const resolved: { -readonly [K in keyof RecycleOptions]: RecycleOptions[K] } = { ...options };
  // A poisoned generation cannot exit cleanly (a worker is gone, others may
  // wait for it forever): do not wait the full exit bound for them.
  if (resolved.exitTimeoutMs === undefined && pool.poisoned) resolved.exitTimeoutMs = 1_000;
  // Upstream's order: kill the workers while they sleep in Rayon's loop. Killed
  // after the pool is dropped, a worker may die inside the allocator.
  if (pool.teardown === 'terminate') resolved.stopWorkersFirst = true;
  return resolved;
}

/** One line for a coordinator event, with the numbers behind it (for the pool's tracing output). */
export function describeCoordinatorEvent(event: CoordinatorLogEvent): string {
  let summary: string;
  switch (event.event) {
    case 'recycle':
      summary =
        `${event.decision.kind} (${event.decision.reason}) generation ${event.report.fromGeneration} → ` +
        `${event.report.toGeneration} in ${event.durationMs.toFixed(1)} ms`;
      break;
    case 'refuse':
      summary = `needed ${event.decision.neededBytes} bytes of headroom, ${event.decision.availableBytes} available`;
      break;
    case 'error': {
      const error = event.error as { message?: unknown } | null | undefined;
      summary = `${event.during}: ${String(error?.message ?? error)}`;
      break;
    }
    case 'decision':
      summary = JSON.stringify(event.decision);
      break;
  }
  return `pool-health-coordinator ${event.event}: ${summary}`;
}

/** A worker as the loss report needs it. */
export interface LostWorker {
  readonly generation: number;
  readonly index: number;
  /** From `PoolBuilder.lossSignalAddress()`. */
  readonly lossSignalAddress: number;
}

/**
 * Stores `generation` in its loss-signal slot (a u64 at `lossSignalAddress`;
 * see the pool's loss_signal.rs) with `Atomics.store`: no call into the
 * instance, so it works from any thread, even after a trap. A job blocked on
 * the dead worker sees it and fails with POOL_WORKER_LOST.
 */
export function signalWorkerLoss(memory: { readonly buffer: ArrayBufferLike }, lossSignalAddress: number, generation: number): void {
  const slots = new BigInt64Array(memory.buffer);
  Atomics.store(slots, lossSignalAddress / 8, BigInt(generation));
}

/**
 * A worker died: signals the loss through shared memory, then tells the pool
 * (`reportWorkerLost`, which poisons the generation until a recycle rebuilds
 * it). Returns the reason as reported, with why the instance was not told if
 * it could not be (a terminated instance).
 */
export function reportWorkerLoss(
  instance: { reportWorkerLost(generation: number, reason: string): void },
  memory: { readonly buffer: ArrayBufferLike },
  worker: LostWorker,
  reason: string,
): string {
  signalWorkerLoss(memory, worker.lossSignalAddress, worker.generation);
  const detail = `worker ${worker.index}: ${reason}`;
  try {
    instance.reportWorkerLost(worker.generation, detail);
    return detail;
  } catch (error) {
    return `${detail} (not reported to the instance: ${String((error as { message?: unknown } | null)?.message ?? error)})`;
  }
}
