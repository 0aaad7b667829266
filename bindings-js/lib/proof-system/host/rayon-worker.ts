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
 * Shippable: the web backend builds its workers from function sources.
 */
import type { ThreadBlocks, WorkerEvents } from './supervisor.js';

/** What a worker needs of the glue (our exports) and of the raw wasm exports. */
export interface RayonWorkerGlue {
  wbg_rayon_start_worker(receiver: number): void;
  threadStackBytes?(stackAlloc: number): number;
}
export interface RayonWorkerRaw {
  __wbindgen_thread_destroy(): void;
  readonly __tls_base?: { readonly value: number };
  readonly __stack_alloc?: { readonly value: number };
}

export type RayonWorkerMessage =
  | { readonly type: 'plonk-wasm:rayon-ready'; readonly blocks: ThreadBlocks | null }
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

export function runRayonWorker(glue: RayonWorkerGlue, raw: RayonWorkerRaw, receiver: number, post: (message: RayonWorkerMessage) => void): void {
  post({ type: 'plonk-wasm:rayon-ready', blocks: threadBlocks(glue, raw) });
  try {
    glue.wbg_rayon_start_worker(receiver);
  } catch (error) {
    post({ type: 'plonk-wasm:rayon-failed', message: String((error as { message?: unknown } | null)?.message ?? error) });
    throw error;
  }
  raw.__wbindgen_thread_destroy();
  post({ type: 'plonk-wasm:rayon-exited' });
}
runRayonWorker.deps = [threadBlocks];

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
