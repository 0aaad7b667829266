// o1js's src/bindings/js/web/worker-spec.js, declared for type-checking the
// web backend in this repository (tsconfig.backends.json), where o1js's file is
// not: the bindings the backend forwards from the page to its main worker.
// Never installed (o1js has the file itself).

// The shapes are the ones the backend forwards by (host/forwarded-calls.ts).
export type { ForwardedType as WorkerSpecType, ForwardedBinding as WorkerSpecEntry } from '../../../lib/proof-system/host/forwarded-calls.js';
import type { ForwardedBinding } from '../../../lib/proof-system/host/forwarded-calls.js';

export function workerSpec(wasm: object): Record<string, ForwardedBinding>;
