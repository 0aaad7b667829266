/**
 * How the host tells the pool that a worker died, and that a worker runs no
 * more wasm: through the loss signal in shared memory (plonk-wasm's
 * loss_signal.rs: per generation a slot of u64s at `lossSignalAddress`, `[0]`
 * the generation once a worker of it was lost, `[1 + i]` the generation once
 * worker `i` of it is *out*), written with `Atomics` so that it needs no call
 * into the instance (which may be terminated, or blocked on the main thread),
 * and then through `reportWorkerLost`, which poisons the generation.
 *
 * Every word holds a generation number, so writing one twice (two pieces of
 * evidence about one worker) counts once, and nothing is ever reset.
 *
 * Shippable (the web supervisor and the rayon workers are built from
 * function sources): these functions use only their arguments, globals and
 * each other.
 */

/** A worker as the loss signal names it. */
export interface LostWorker {
  readonly generation: number;
  /** The worker's index in its generation, as passed to `wbg_rayon_start_worker`. */
  readonly index: number;
  /** From `PoolBuilder.lossSignalAddress()`. */
  readonly lossSignalAddress: number;
}

interface SharedMemory {
  readonly buffer: ArrayBufferLike;
}

/** Marks `generation` lost in its slot: a job blocked on it sees the loss and fences the generation. */
export function signalWorkerLoss(memory: SharedMemory, lossSignalAddress: number, generation: number): void {
  Atomics.store(new BigInt64Array(memory.buffer, lossSignalAddress, 1), 0, BigInt(generation));
}

/**
 * The host's evidence that `worker` runs no more wasm, ever: its thread
 * ended (Node's `exit` event), its wasm threw out of its task (an `error`
 * event, a `failed` report), or its Web Lock was released (the browser
 * releases it only after the worker's script stopped for good). Never call it
 * because `terminate()` was called: that does not wait for the thread to
 * stop, and a job blocked on the generation gives up, and frees what its
 * workers may still touch, once every worker is out.
 */
export function signalWorkerStopped(memory: SharedMemory, worker: LostWorker): void {
  const word = new BigInt64Array(memory.buffer, worker.lossSignalAddress + 8 * (1 + worker.index), 1);
  Atomics.store(word, 0, BigInt(worker.generation));
}

/**
 * The worker's own word that it left wasm for good: called on the worker's
 * thread, after its last call into wasm returned or threw (host/rayon-worker.ts).
 */
export function signalWorkerLeft(memory: SharedMemory, worker: LostWorker): void {
  const word = new BigInt64Array(memory.buffer, worker.lossSignalAddress + 8 * (1 + worker.index), 1);
  Atomics.store(word, 0, BigInt(worker.generation));
}

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
