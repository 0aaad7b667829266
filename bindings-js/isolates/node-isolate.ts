/**
 * The script of a Node isolate (a worker_thread started by node.ts): serves
 * the pool through isolate-runtime.ts.
 *
 * Memory: before the proving module loads, the isolate creates its own shared
 * WebAssembly.Memory with the configured maximum and puts it in
 * `workerData.memory`. The patched o1js Node backend, loaded in a thread that
 * is not one of its own pool threads, instantiates its wasm on that memory
 * (and hands it to its Rayon workers, nested threads of this one). Only this
 * thread and its nested threads hold the memory, so terminating the isolate
 * returns all of it to the OS; the pool's thread never references it.
 *
 * Channel: the pool's messages come on the private MessagePort it handed over
 * in `workerData.port` (taken out of `workerData` before the module loads), not
 * on `parentPort`, which the proving module and its libraries may use.
 *
 * Module pinning: `fingerprint` is the SHA-256 of the module file (file:
 * URLs), read right before it is imported.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { PoolHealth } from '../lib/proof-system/pool-health.js';
import type { IsolateMemory } from './health.js';
import { serveIsolate, type IsolateEnvironment } from './isolate-runtime.js';
import { NODE_ISOLATE_ROLE, type InitMessage } from './protocol.js';

const WASM_PAGE_BYTES = 65_536;
/** Node's default maximum: the 4 GiB the module declares. */
const NODE_DEFAULT_MEMORY_MAXIMUM_BYTES = 4 * 2 ** 30;
/** Pages the memory starts with: above the module's declared minimum (20 in o1js 2.15's build); it grows as needed. */
const INITIAL_PAGES = 64;

/** The part of WebAssembly.Memory used here (the project's TS libs have no WebAssembly types). */
interface SharedMemory {
  readonly buffer: { readonly byteLength: number };
}
const { Memory } = (globalThis as unknown as {
  WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => SharedMemory };
}).WebAssembly;

let memory: SharedMemory | null = null;
let memoryMaximumBytes = NODE_DEFAULT_MEMORY_MAXIMUM_BYTES;
/** In a process of its own (isolation: 'process', node-process-isolate.js): that process's RSS is this isolate's. */
const ownProcess = workerData?.ownProcess === true;
/** o1js's native backend (backend: 'native', always in a process of its own): no wasm memory, no o1js/pool. */
const nativeBackend = workerData?.backend === 'native';

const environment: IsolateEnvironment = {
  platform: 'node',
  fingerprint(url) {
    if (url === null || !url.startsWith('file:')) return null;
    return createHash('sha256').update(readFileSync(fileURLToPath(url))).digest('hex');
  },
  poolBackend: !nativeBackend,
  beforeLoad(init: InitMessage) {
    if (nativeBackend) return; // its memory is native, the process's
    memoryMaximumBytes = init.memoryMaximumBytes ?? NODE_DEFAULT_MEMORY_MAXIMUM_BYTES;
    const maximum = memoryMaximumBytes / WASM_PAGE_BYTES;
    memory = new Memory({ initial: Math.min(INITIAL_PAGES, maximum), maximum, shared: true });
    // Read by o1js's patched backend when it loads (workerData is this thread's own object).
    workerData.memory = memory;
    workerData.memoryMaximumBytes = memoryMaximumBytes;
  },
  configure() {
    // Node: the memory is set up before the module loads (above).
  },
  importModule: (url) => (url === null ? Promise.reject(new TypeError('a Node isolate loads its proving module from a URL: expected the pool to send one')) : import(url)),
  memory(pool: PoolHealth | null): IsolateMemory {
    const linearBytes = memory?.buffer.byteLength ?? null;
    const v8HeapBytes = v8.getHeapStatistics().total_physical_size;
    return {
      linearBytes,
      // o1js's health reports the module's declared maximum on Node; this isolate knows its memory's real one.
      linearMaxBytes: nativeBackend ? null : memoryMaximumBytes,
      allocatorLiveBytes: pool?.memory.allocatorLiveBytes ?? null,
      v8HeapBytes,
      rssShareBytes: ownProcess ? process.memoryUsage.rss() : linearBytes === null ? null : linearBytes + v8HeapBytes,
    };
  },
};

const port = (workerData as { port?: MessagePort } | null)?.port;
if (parentPort === null || workerData?.role !== NODE_ISOLATE_ROLE || port === undefined) {
  throw new Error(`node-isolate.js is the script of a prover isolate: expected to run in a worker_thread started by the prover pool (workerData.role '${NODE_ISOLATE_ROLE}', workerData.port)`);
}
// The proving module shares this thread's workerData: it gets no handle on the pool's channel.
delete (workerData as { port?: MessagePort }).port;
serveIsolate(
  {
    post: (message) => port.postMessage(message),
    listen: (handler) => port.on('message', handler),
  },
  environment,
);
