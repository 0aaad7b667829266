/**
 * How the host tells the pool that a worker died: through the loss signal in
 * shared memory (plonk-wasm's loss_signal.rs: per generation a 16-byte slot of
 * two u64s, the generation and how many of its workers stopped for good),
 * written with `Atomics` so that it needs no call into the instance (which may
 * be terminated, or blocked on the main thread), and then through
 * `reportWorkerLost`, which poisons the generation.
 *
 * Shippable (the web supervisor is built from function sources): these
 * functions use only their arguments, globals and each other.
 */

/** A worker as the loss report needs it. */
export interface LostWorker {
  readonly generation: number;
  readonly index: number;
  /** From `PoolBuilder.lossSignalAddress()`. */
  readonly lossSignalAddress: number;
}

interface SharedMemory {
  readonly buffer: ArrayBufferLike;
}

/**
 * Marks `generation` lost in its slot (resetting the stopped count if the
 * slot belonged to an older generation): a job blocked on it sees the loss
 * and fences the generation.
 */
export function signalWorkerLoss(memory: SharedMemory, lossSignalAddress: number, generation: number): void {
  const slot = new BigInt64Array(memory.buffer, lossSignalAddress, 2);
  if (Atomics.load(slot, 0) !== BigInt(generation)) {
    Atomics.store(slot, 1, 0n);
    Atomics.store(slot, 0, BigInt(generation));
  }
}

/**
 * Counts one more worker of a lost generation that runs no more wasm, ever
 * (its thread ended, or its wasm threw out and it was terminated). A job
 * blocked on the generation gives up only once every worker is fenced or
 * counted here, so call it only when that is certain.
 */
export function signalWorkerStopped(memory: SharedMemory, lossSignalAddress: number, generation: number): void {
  signalWorkerLoss(memory, lossSignalAddress, generation);
  Atomics.add(new BigInt64Array(memory.buffer, lossSignalAddress, 2), 1, 1n);
}
signalWorkerStopped.deps = [signalWorkerLoss];

/**
 * A worker died: signals the loss through shared memory, then tells the pool
 * (`reportWorkerLost`, which poisons the generation until a recycle rebuilds
 * it). Returns the reason as reported, with why the instance was not told if
 * it could not be.
 */
export function reportWorkerLoss(
  instance: { reportWorkerLost(generation: number, reason: string): void },
  memory: SharedMemory,
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
reportWorkerLoss.deps = [signalWorkerLoss];
