/**
 * A Rayon worker's life, the same on Node and the web; the platform adapter
 * instantiates the glue on the pool's memory and gives it `post`, which sends
 * a message to the supervisor:
 *
 *   ready (with where its thread state lives) → `wbg_rayon_start_worker`
 *   (Rayon's loop; returns when its generation is dropped) →
 *   `__wbindgen_thread_destroy()` (frees its stack and TLS) → exited
 *
 * A trap inside the loop (a panic is caught inside the job) is reported as
 * `failed` and rethrown, so the thread dies with it.
 *
 * Either way, once its last call into wasm returned or threw, the worker
 * writes from its own thread that it is out (its word in the loss signal,
 * host/loss.ts): the evidence a job blocked on a generation that lost a
 * worker waits for before it gives up and frees what the job's pieces may
 * touch. It also passes its index to `wbg_rayon_start_worker`, so that the
 * fence marks it out under the same index when it parks it.
 *
 * Shippable: the web backend builds its workers from function sources.
 */
import { signalWorkerLeft, type LostWorker } from './loss.js';
import type { ThreadBlocks, WorkerEvents } from './supervisor.js';

/** What a worker needs of the glue (our exports) and of the raw wasm exports. */
export interface RayonWorkerGlue {
  wbg_rayon_start_worker(receiver: number, worker?: number): void;
  threadStackBytes?(stackAlloc: number): number;
}

/** Which worker this is, and where its generation's loss signal is: its index, generation and `lossSignalAddress`, and the pool's memory. */
export interface RayonWorkerIdentity extends LostWorker {
  readonly memory: { readonly buffer: ArrayBufferLike };
}
export interface RayonWorkerRaw {
  __wbindgen_thread_destroy(): void;
  readonly __tls_base?: { readonly value: number };
  readonly __stack_alloc?: { readonly value: number };
}

export type RayonWorkerMessage =
  /** `lifeLock`: the worker holds its Web Lock (worker-helpers.js) while it may run wasm. */
  | { readonly type: 'plonk-wasm:rayon-ready'; readonly blocks: ThreadBlocks | null; readonly lifeLock?: boolean }
  | { readonly type: 'plonk-wasm:rayon-failed'; readonly message: string }
  | { readonly type: 'plonk-wasm:rayon-exited' };

/** Where this thread's stack and TLS block are (wasm-bindgen's globals), so the host can free them if it dies; null if unknown. */
export function threadBlocks(glue: RayonWorkerGlue, raw: RayonWorkerRaw): ThreadBlocks | null {
  try {
    const tlsBase = raw.__tls_base?.value;
    const stackAlloc = raw.__stack_alloc?.value;
    if (typeof tlsBase !== 'number' || typeof stackAlloc !== 'number' || typeof glue.threadStackBytes !== 'function') return null;
    return { tlsBase, stackAlloc, stackBytes: glue.threadStackBytes(stackAlloc) };
  } catch {
    return null;
  }
}

/**
 * `identity`: without it (an older host) the worker gives no index and
 * writes no out word. `lifeLock`: says in `ready` that the caller holds the
 * worker's Web Lock around this call.
 */
export function runRayonWorker(
  glue: RayonWorkerGlue,
  raw: RayonWorkerRaw,
  receiver: number,
  post: (message: RayonWorkerMessage) => void,
  identity?: RayonWorkerIdentity,
  lifeLock = false,
): void {
  post({ type: 'plonk-wasm:rayon-ready', blocks: threadBlocks(glue, raw), ...(lifeLock ? { lifeLock } : {}) });
  try {
    if (identity === undefined) glue.wbg_rayon_start_worker(receiver);
    else glue.wbg_rayon_start_worker(receiver, identity.index);
  } catch (error) {
    // Out of wasm for good: nothing on this thread calls it again.
    if (identity !== undefined) signalWorkerLeft(identity.memory, identity);
    post({ type: 'plonk-wasm:rayon-failed', message: String((error as { message?: unknown } | null)?.message ?? error) });
    throw error;
  }
  raw.__wbindgen_thread_destroy();
  // Its last call into wasm returned.
  if (identity !== undefined) signalWorkerLeft(identity.memory, identity);
  post({ type: 'plonk-wasm:rayon-exited' });
}
runRayonWorker.deps = [threadBlocks, signalWorkerLeft];

/** Routes a worker's message to the supervisor's events for it; other messages are ignored. */
export function routeRayonMessage(message: unknown, events: WorkerEvents): void {
  const typed = message as RayonWorkerMessage | null;
  switch (typed?.type) {
    case 'plonk-wasm:rayon-ready':
      events.ready(typed.blocks ?? null);
      break;
    case 'plonk-wasm:rayon-failed':
      events.failed(typed.message);
      break;
    case 'plonk-wasm:rayon-exited':
      events.exited();
      break;
  }
}
