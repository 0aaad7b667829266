/**
 * The script of a Node prover isolate in a process of its own
 * (`isolation: 'process'`, node.ts): this process runs the same isolate thread
 * as `isolation: 'thread'` (node-isolate.js, with its own memory maximum and
 * its private port), and relays between that port and the IPC channel to the
 * pool. What the isolate thread posts on its public `parentPort` (the proving
 * module's) is only reported as stray, as node.ts does for a thread.
 *
 * Why a process: terminating a worker_thread frees its wasm memory and V8
 * heap, but what the thread left in the process (its Node environment's
 * native allocations, malloc arenas, V8's shared heap) stays with the pool's
 * process. Killing this process gives every byte of it back to the OS.
 *
 * IPC messages, both ways, are `[kind, payload]` with the v8 serializer
 * ('advanced'): to this process `['message', ToIsolate]`; from it
 * `['message', FromIsolate]`, `['stray']`, `['exit', IsolateExit]`. This
 * process ends when its isolate thread ends, and when the pool goes away.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { toPlainError } from '../lib/proof-system/kernel/errors.js';
import { poolThreadStart } from '../lib/proof-system/host/pool-thread-start.js';
import type { RemoteError } from './errors.js';
import type { IsolateExit } from './platform.js';
import { NODE_ISOLATE_ROLE, PROCESS_ISOLATE_ARG } from './protocol.js';

const ISOLATE_SCRIPT = new URL('./node-isolate.js', import.meta.url);

if (typeof process.send !== 'function' || process.argv[2] !== PROCESS_ISOLATE_ARG) {
  throw new Error(`node-process-isolate.js is the script of a prover isolate process: expected to be forked by the prover pool with an IPC channel and '${PROCESS_ISOLATE_ARG}'`);
}
const send = (message: readonly unknown[]): void => {
  // After the pool disconnected there is nobody to tell.
  if (process.connected) process.send?.(message);
};
const { resourceLimits = null, backend = 'wasm' } = JSON.parse(process.argv[3] ?? '{}') as { resourceLimits?: object | null; backend?: string };
const { port1, port2 } = new MessageChannel();
const start = poolThreadStart(ISOLATE_SCRIPT, process.execArgv);
const isolate = new Worker(start.specifier, {
  eval: start.eval,
  workerData: { role: NODE_ISOLATE_ROLE, port: port2, ownProcess: true, backend },
  transferList: [port2],
  name: 'prover isolate',
  ...(resourceLimits === null ? {} : { resourceLimits }),
});
port1.on('message', (message) => send(['message', message]));
port1.on('messageerror', (error) => end({ kind: 'messageerror', exitCode: null, error: toPlainError(error) }));
isolate.on('message', () => send(['stray']));
isolate.on('messageerror', () => send(['stray']));
let lastError: RemoteError | null = null;
isolate.on('error', (error) => (lastError = toPlainError(error)));
isolate.on('exit', (exitCode) => end({ kind: 'exit', exitCode, error: lastError }));
process.on('message', (message: unknown) => {
  if (Array.isArray(message) && message[0] === 'message') port1.postMessage(message[1]);
});
// The pool is gone (its process ended, or it let go of this one): so is this isolate.
process.on('disconnect', () => process.exit(0));

/** The isolate thread ended by itself: the pool hears why, then this process ends. */
function end(exit: IsolateExit): void {
  if (process.connected) process.send?.(['exit', exit], () => process.exit(0));
  else process.exit(0);
}
