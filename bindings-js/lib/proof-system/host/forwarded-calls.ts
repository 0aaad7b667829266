/**
 * The web backend's calls from the page into the main worker, which owns the
 * prover: o1js's forwarded bindings (those its worker-spec.js lists, made
 * synchronous as upstream makes them: the page spins until the main worker
 * answers in a shared control block) and `callInWorker`'s asynchronous calls.
 *
 * Ownership: an object the export takes by value (e.g. the witness of
 * `caml_pasta_fp_plonk_proof_create`) is freed by Rust when the call ends.
 * Its page wrapper must then let go of the pointer without freeing it
 * (`__destroy_into_raw()`), or the page's finalizer frees it a second time
 * later, corrupting the heap that every thread shares. The main worker
 * reports which arguments its call consumed (their borrowed wrappers'
 * pointers were taken), and the page detaches exactly those.
 *
 * Traps: a call that traps in the main worker ends the instance the page and
 * the main worker share. The main worker saw the trap escape the export it
 * called, which is the evidence (host/instance-guard.ts): it reports it as
 * such, and the page records it, so the backend refuses every later call.
 *
 * Shippable: the main worker is built from function sources, so
 * `runForwardedBinding`, `consumedArguments` and `callExport` use only their
 * arguments, globals and their `deps`.
 */
import { PoolTimeoutError } from '../errors.js';
import { isTrapSignature } from './instance-guard.js';

/** How a value crosses: a wasm class (`__wrap` rebuilds it from a pointer), or a conversion there and back (o1js's worker-spec.js). */
export interface ForwardedType {
  readonly prototype?: object;
  __wrap?(pointer: number): unknown;
  there?(value: unknown): number;
  back?(value: number): unknown;
}

/** One binding of o1js's worker-spec.js. */
export interface ForwardedBinding {
  readonly args?: readonly (ForwardedType | undefined)[];
  readonly res?: ForwardedType;
  readonly disabled?: boolean;
}

/** A wasm object as the glue wraps it: its pointer, and how to let go of it without freeing it. */
interface WasmObject {
  __wbg_ptr: number;
  __destroy_into_raw(): number;
}

/** The message that runs a forwarded binding in the main worker. */
export interface ForwardedCall {
  readonly type: 'plonk-wasm:run';
  readonly name: string;
  readonly args: unknown[];
  readonly control: SharedArrayBuffer;
}

/** What the page's forwarders need from the backend. */
export interface ForwardingHost {
  /** Sends a call to the main worker. */
  post(call: ForwardedCall): void;
  /** The bound on one call (callTimeoutMs), read at each call. */
  timeoutMs(): number;
  /** An error every call fails with now (the backend broke), or null. */
  refusal(): Error | null;
  /** The main worker reported that the call trapped the instance: the evidence, for the backend. */
  recordTrap(trap: Error): void;
}

// Control block of a forwarded call: [state, result, error length, consumed]
// as i32, then the error text. States: 0 pending, 1 done, 2 failed, 3 trapped
// (failed, and the instance with it). `consumed`: a bit per argument the
// export took by value. The main worker's side writes the same layout with
// literals (it is shipped without this module's constants).
const CONTROL_BYTES = 64 * 1024;
const HEADER_INTS = 4;
const TEXT_OFFSET = HEADER_INTS * 4;

/**
 * Replaces each binding of `spec` on the page's `glue` with a synchronous
 * call into the main worker: the page may not Atomics.wait, so it spins
 * until the answer is in the control block, within `host.timeoutMs()`. Past
 * it the call fails with PoolTimeoutError, and so does every later forwarded
 * call: the main worker may still answer the late call, into the control
 * block the next call would read (a page reload gives a new instance).
 */
export function forwardBindings(glue: Record<string, unknown>, spec: Record<string, ForwardedBinding>, host: ForwardingHost): void {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const header = new Int32Array(control, 0, HEADER_INTS);
  let forwardingBrokenBy: Error | null = null;
  for (const [name, entry] of Object.entries(spec)) {
    glue[name] = (...args: unknown[]) => {
      if (entry.disabled) throw new Error(`Wasm method '${name}' is disabled on the web.`);
      const refusal = host.refusal() ?? forwardingBrokenBy;
      if (refusal !== null) throw refusal;
      const encoded = args.map((arg, i) => (typeof entry.args?.[i]?.__wrap === 'function' ? (arg as WasmObject).__wbg_ptr : arg));
      Atomics.store(header, 0, 0);
      Atomics.store(header, 3, 0);
      host.post({ type: 'plonk-wasm:run', name, args: encoded, control });
      // A main worker that died cannot answer, and the page cannot hear it die while it spins.
      const timeoutMs = host.timeoutMs();
      const deadline = performance.now() + timeoutMs;
      for (let spins = 0; Atomics.load(header, 0) === 0; spins++) {
        if ((spins & 0xffff) === 0 && performance.now() > deadline) {
          forwardingBrokenBy = new PoolTimeoutError(
            `the main worker's answer to ${name}`,
            timeoutMs,
            'it may have died, and the page could not see it while it waited; forwarded bindings stay off until the page is reloaded (raise callTimeoutMs for longer proofs)',
          );
          throw forwardingBrokenBy;
        }
      }
      const consumed = Atomics.load(header, 3);
      args.forEach((arg, i) => {
        if (consumed & (1 << i)) (arg as WasmObject).__destroy_into_raw();
      });
      const state = Atomics.load(header, 0);
      if (state === 2 || state === 3) {
        const failure = new Error(new TextDecoder().decode(new Uint8Array(control, TEXT_OFFSET, Atomics.load(header, 2)).slice()));
        if (state === 3) {
          failure.name = 'RuntimeError';
          host.recordTrap(failure);
        }
        throw failure;
      }
      const result = Atomics.load(header, 1) >>> 0;
      const res = entry.res;
      if (typeof res?.__wrap === 'function') return res.__wrap(result);
      if (typeof res?.back === 'function') return res.back(result);
      return result;
    };
  }
}

/** In the main worker: runs one forwarded binding and writes its answer into the control block. */
export function runForwardedBinding(glue: Record<string, unknown>, spec: Record<string, ForwardedBinding>, call: ForwardedCall): void {
  const { name, args, control } = call;
  const header = new Int32Array(control, 0, 4);
  const borrowed: (WasmObject | undefined)[] = [];
  try {
    const entry = spec[name];
    if (entry === undefined) throw new Error(`${name} is not a forwarded binding (worker-spec.js)`);
    const decoded = args.map((arg, i) => {
      const type = entry.args?.[i];
      if (typeof type?.__wrap !== 'function') return arg;
      // Borrowed: this wrapper never frees the object (it is not registered
      // with this thread's finalizer); its owner is the page's wrapper.
      const wrapper = Object.create(type.prototype ?? null) as WasmObject;
      wrapper.__wbg_ptr = arg as number;
      borrowed[i] = wrapper;
      return wrapper;
    });
    let result = (glue[name] as (...values: unknown[]) => unknown)(...decoded);
    const res = entry.res;
    if (typeof res?.__wrap === 'function') {
      // Ownership moves to the page's wrapper: detach it from this thread's finalizer.
      const object = result as WasmObject;
      result = typeof object.__destroy_into_raw === 'function' ? object.__destroy_into_raw() : object.__wbg_ptr;
    } else if (typeof res?.there === 'function') {
      result = res.there(result);
    }
    Atomics.store(header, 1, (result as number) | 0);
    Atomics.store(header, 3, consumedArguments(borrowed));
    Atomics.store(header, 0, 1);
  } catch (error) {
    const text = new TextEncoder().encode(String((error as Error | undefined)?.stack ?? error));
    const room = new Uint8Array(control, 16);
    const length = Math.min(text.length, room.length);
    room.set(text.subarray(0, length));
    Atomics.store(header, 2, length);
    Atomics.store(header, 3, consumedArguments(borrowed));
    // A trap escaped the export this thread called: the evidence that the instance is gone.
    Atomics.store(header, 0, isTrapSignature(error) ? 3 : 2);
  }
  Atomics.notify(header, 0);
}
runForwardedBinding.deps = [consumedArguments, isTrapSignature];

/** A bit per borrowed wrapper whose pointer the glue took (`__destroy_into_raw` leaves 0): the arguments passed by value. */
export function consumedArguments(borrowed: readonly (WasmObject | undefined)[]): number {
  let consumed = 0;
  borrowed.forEach((wrapper, i) => {
    if (wrapper !== undefined && wrapper.__wbg_ptr === 0) consumed |= 1 << i;
  });
  return consumed;
}

/**
 * In the main worker: `callInWorker`'s call of export `name`. A trap that
 * escapes it is rethrown as the pool's POOL_INSTANCE_TERMINATED (plain data
 * with the class's name and code, which the page's `fromWasmError` rebuilds):
 * this thread saw the trap leave the export, the evidence the page needs.
 */
export function callExport(glue: Record<string, unknown>, name: string, args: readonly unknown[]): unknown {
  const exported = glue[name];
  if (typeof exported !== 'function') throw new TypeError(`callInWorker: the wasm has no export ${name}`);
  try {
    return exported.apply(glue, args);
  } catch (error) {
    if (!isTrapSignature(error)) throw error;
    const trap = error as Error;
    throw Object.assign(
      new Error(
        `the wasm instance is terminated (${trap.name}: ${trap.message}): ${name} trapped in the main worker, abandoning its Rust ` +
          'frames and any lock they held, so no later call into this instance is safe. Expected a live instance; reload the page to get a new one.',
      ),
      { name: 'PoolInstanceTerminatedError', code: 'POOL_INSTANCE_TERMINATED' },
    );
  }
}
callExport.deps = [isTrapSignature];
