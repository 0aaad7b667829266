// o1js's src/bindings/js/web/worker-spec.js, declared for type-checking the
// web backend in this repository (tsconfig.backends.json), where o1js's file is
// not: the bindings the backend forwards from the page to its main worker.
// Never installed (o1js has the file itself).

/** How a value crosses: a wasm class (`__wrap` rebuilds it from a pointer), or a conversion there and back. */
export interface WorkerSpecType {
  readonly prototype?: object;
  __wrap?(pointer: number): unknown;
  there?(value: unknown): number;
  back?(value: number): unknown;
}

export interface WorkerSpecEntry {
  readonly args?: readonly (WorkerSpecType | undefined)[];
  readonly res?: WorkerSpecType;
  readonly disabled?: boolean;
}

export function workerSpec(wasm: object): Record<string, WorkerSpecEntry>;
