// Writes (or, with --check, verifies) the TypeScript declarations of the
// wasm-bindgen glue the backends load, in o1js's layout inside bindings-js:
//
//   bindings-js/bindings/compiled/node_bindings/kimchi_wasm.d.cts   (node-backend.js: `require`d glue)
//   bindings-js/web_bindings/kimchi_wasm.d.ts                         (web-backend.js: `kimchiWasm()` glue)
//   bindings-js/bindings/compiled/glue-common.d.ts                    (what both share: PoolBuilder, raw exports)
//
// wasm-bindgen's own declarations (pkg/<variant>/kimchi_wasm.d.ts, rendered
// from the Rust exports) type every JS value as `any`. The table below gives
// each export its real types, from the ABI that tests/abi.rs generates from
// the Rust definitions (bindings-js/lib/proof-system/pool-abi.ts). The check
// fails when wasm-bindgen's declarations and the table disagree: an export
// added, removed or renamed, a parameter added or renamed, or a return type
// that wasm-bindgen knows and the table states otherwise. So neither the
// export list nor the health/report types can drift from the Rust side.
//
//   node scripts/render-glue-types.mjs            write both files from pkg/node and pkg/web
//   node scripts/render-glue-types.mjs --check    exit 1 naming every difference
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The glue's functions: parameters as wasm-bindgen names them, with their types; the return type. `test`: test builds only. */
export const EXPORTS = {
  initThreadPool: {
    node: { params: [['num_threads', 'number'], ['worker_source', 'string']] },
    web: { params: [['num_threads', 'number']] },
    returns: 'Promise<StartReport>',
    doc: 'Starts the pool (upstream ABI; Node: the worker script is what `startWorkers` gets).',
  },
  exitThreadPool: { params: [], returns: 'Promise<ExitReport>', doc: 'Shuts the pool down: drain, drop, let workers exit, stop them.' },
  recycleThreadPool: {
    params: [['options', 'RecycleOptions | undefined']],
    returns: 'Promise<RecycleReport>',
    doc: 'Replaces the pool with a new generation; bad options reject before anything changes.',
  },
  poolHealth: { params: [], returns: 'PoolHealth', doc: 'A plain snapshot of the pool (docs/api.md, "Health fields").' },
  reportWorkerLost: { params: [['generation', 'number'], ['reason', 'string']], returns: 'void', doc: 'A worker of `generation` died: the generation is poisoned until a recycle rebuilds it.' },
  logPoolEvent: { params: [['level', 'PoolLogLevel'], ['message', 'string']], returns: 'void', doc: "A line through the pool's tracing output (target plonk_wasm::coordinator)." },
  setPoolStandby: {
    params: [['enabled', 'boolean']],
    returns: 'Promise<number | null>',
    doc: 'Keeps a standby generation (workers started ahead, so a recycle only swaps) or retires it; resolves its number, or null.',
  },
  setPoolLogLevel: { params: [['level', 'PoolLogLevel']], returns: 'void', doc: "Prints the pool's tracing events at `level` and above." },
  threadStackBytes: { params: [['stack_alloc', 'number']], returns: 'number', doc: "The size of the calling thread's stack block, given its `__stack_alloc`." },
  wbg_rayon_start_worker: {
    params: [
      ['receiver', 'number'],
      ['worker', 'number | undefined'],
    ],
    returns: 'void',
    doc: "A worker's Rayon loop; returns when its generation is dropped. `worker`: its index in its generation (the loss signal's).",
  },
  fixtureProve: { test: true, params: [['k', 'number'], ['seed', 'number']], returns: 'Uint8Array' },
  fixtureVerify: { test: true, params: [['k', 'number'], ['proof', 'Uint8Array']], returns: 'boolean' },
  setAllocatorSoftLimit: { test: true, params: [['limit', 'number']], returns: 'number' },
  testAllocateInJob: { test: true, params: [['size', 'number']], returns: 'number' },
  testAllocateOnWorkers: { test: true, params: [['bytes_per_worker', 'number'], ['leak', 'boolean']], returns: 'number' },
  testGrowGenerationScoped: { test: true, params: [['size', 'number']], returns: 'number' },
  testHoldMemory: { test: true, params: [['size', 'number']], returns: 'number' },
  testPanicOnWorker: { test: true, params: [['message', 'string']], returns: 'void' },
  testReleaseHeldMemory: { test: true, params: [], returns: 'number' },
  testTrapOnCaller: { test: true, params: [], returns: 'void' },
  testTrapOnWorker: { test: true, params: [], returns: 'void' },
  testStrayWriter: {
    test: true,
    params: [['mode', "'job' | 'canary'"]],
    returns: '{ frame: number; code?: string | null; intact?: boolean; passesDuring?: number; timedOut?: boolean }',
  },
  testStrayWriterState: { test: true, params: [], returns: '{ running: boolean; stopped: boolean; passes: number; worker: number }' },
  testStrayWriterControl: { test: true, params: [['action', "'reset' | 'stop' | 'hold' | 'release'"]], returns: 'void' },
  testTerminationsHeld: { test: true, params: [], returns: 'boolean' },
  testLossSignalOut: { test: true, params: [['generation', 'number']], returns: 'number' },
  testThreadStacks: { test: true, params: [], returns: 'Float64Array' },
  testResetAllocatorPeak: { test: true, params: [], returns: 'number' },
};

/** PoolBuilder's methods (what `startWorkers` reads). */
export const POOL_BUILDER = {
  generation: 'number',
  numThreads: 'number',
  lossSignalAddress: 'number',
  build: 'void',
  receiver: 'number',
  free: 'void',
};

const TARGETS = {
  node: {
    pkg: 'pkg/node/kimchi_wasm.d.ts',
    out: 'bindings-js/bindings/compiled/node_bindings/kimchi_wasm.d.cts',
    abi: '../../../lib/proof-system',
    common: '../glue-common.js',
  },
  web: { pkg: 'pkg/web/kimchi_wasm.d.ts', out: 'bindings-js/web_bindings/kimchi_wasm.d.ts', abi: '../lib/proof-system', common: '../bindings/compiled/glue-common.js' },
};
const COMMON_OUT = 'bindings-js/bindings/compiled/glue-common.d.ts';

/** wasm-bindgen's declarations: `{ functions: Map<name, { params: string[], returns }>, builder: Map<method, returns> }`. */
export function parseWasmBindgen(text) {
  const functions = new Map();
  for (const [, name, params, returns] of text.matchAll(/^export function (\w+)\(([^)]*)\): ([^;]+);$/gm)) {
    functions.set(name, { params: params === '' ? [] : params.split(', ').map((p) => p.split(':')[0].trim()), returns: returns.trim() });
  }
  const builder = new Map();
  const body = /export class PoolBuilder \{([\s\S]*?)\n\}/.exec(text)?.[1] ?? '';
  for (const [, name, returns] of body.matchAll(/^ {2}(\w+)\(\): ([^;]+);$/gm)) builder.set(name, returns.trim());
  return { functions, builder };
}

const signature = (variant, name) => {
  const entry = EXPORTS[name];
  return { params: (entry[variant] ?? entry).params, returns: entry.returns };
};

/** Differences between wasm-bindgen's declarations for `variant` and the table, one line each. */
export function compare(variant, text) {
  const problems = [];
  const { functions, builder } = parseWasmBindgen(text);
  for (const [name, found] of functions) {
    // wasm-bindgen's own instantiation function (web target), not a Rust export.
    if (name === 'initSync') continue;
    if (!(name in EXPORTS)) {
      problems.push(`${variant}: the glue exports ${name}(${found.params.join(', ')}), which the table in scripts/render-glue-types.mjs lacks`);
      continue;
    }
    const { params, returns } = signature(variant, name);
    const names = params.map(([param]) => param);
    if (names.join(',') !== found.params.join(',')) {
      problems.push(`${variant}: ${name} takes (${found.params.join(', ')}) in the glue, (${names.join(', ')}) in the table`);
    }
    if (!/\bany\b/.test(found.returns) && found.returns !== returns) {
      problems.push(`${variant}: ${name} returns ${found.returns} in the glue, ${returns} in the table`);
    }
  }
  for (const name of Object.keys(EXPORTS)) {
    if (!functions.has(name)) problems.push(`${variant}: the table declares ${name}, which the glue does not export`);
  }
  for (const [method, returns] of builder) {
    if (method === 'constructor') continue;
    if (!(method in POOL_BUILDER)) problems.push(`${variant}: PoolBuilder.${method}() is not in the table`);
    else if (returns !== POOL_BUILDER[method]) problems.push(`${variant}: PoolBuilder.${method}() returns ${returns} in the glue, ${POOL_BUILDER[method]} in the table`);
  }
  for (const method of Object.keys(POOL_BUILDER)) {
    if (!builder.has(method)) problems.push(`${variant}: the table declares PoolBuilder.${method}(), which the glue lacks`);
  }
  if (functions.size === 0) problems.push(`${variant}: no exported function found: expected wasm-bindgen's declarations`);
  return problems;
}

const HEADER = (variant) =>
  `// Generated by scripts/render-glue-types.mjs from wasm-bindgen's declarations of the ${variant} glue
// (pkg/${variant}/kimchi_wasm.d.ts, which wasm-bindgen renders from the Rust exports) and the
// ABI types tests/abi.rs generates from the Rust definitions (pool-abi.ts): do not edit.
// tests/${variant === 'node' ? 'node' : 'web'}/glue-types.test.js fails when the glue and this file disagree.
`;

function functionLines(variant, indent, style) {
  const lines = [];
  for (const name of Object.keys(EXPORTS)) {
    const { params, returns } = signature(variant, name);
    const entry = EXPORTS[name];
    const list = params.map(([param, type]) => `${param}${type.endsWith('| undefined') ? '?' : ''}: ${type}`).join(', ');
    if (entry.doc !== undefined) lines.push(`${indent}/** ${entry.doc} */`);
    if (entry.test) {
      if (style === 'module') lines.push(`${indent}/** Test builds only (features fixture, test-exports). */`, `${indent}export declare const ${name}: ((${list}) => ${returns}) | undefined;`);
      else lines.push(`${indent}/** Test builds only (features fixture, test-exports). */`, `${indent}${name}?(${list}): ${returns};`);
    } else if (style === 'module') lines.push(`${indent}export declare function ${name}(${list}): ${returns};`);
    else lines.push(`${indent}${name}(${list}): ${returns};`);
  }
  return lines.join('\n');
}

function builderLines(indent) {
  return Object.entries(POOL_BUILDER)
    .map(([method, returns]) => `${indent}${method}(): ${returns};`)
    .join('\n');
}

const IMPORTS = (from, common) =>
  `import type { ExitReport, PoolHealth, RecycleReport, StartReport } from '${from}/pool-abi.js';
import type { RecycleOptions } from '${from}/pool-health.js';
import type { PoolBuilder, PoolLogLevel, RawExports } from '${common}';

export type { PoolBuilder, PoolLogLevel, RawExports };
`;

/** What both glues share. */
export function renderCommon() {
  return `// Generated by scripts/render-glue-types.mjs: the declarations the Node and the web glue share
// (their own files: node_bindings/kimchi_wasm.d.cts, ../../web_bindings/kimchi_wasm.d.ts): do not edit.

export type PoolLogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** The raw wasm exports the host uses: thread teardown and wasm-bindgen's thread globals. */
export interface RawExports {
  readonly memory: WebAssembly.Memory;
  /** No arguments: frees the calling thread's stack and TLS; with them, another (ended) thread's. */
  __wbindgen_thread_destroy(tlsBase?: number, stackAlloc?: number, stackBytes?: number): void;
  readonly __tls_base?: { readonly value: number };
  readonly __stack_alloc?: { readonly value: number };
}

/** Handed to \`startWorkers\` for a new generation (a class of the glue's). */
export interface PoolBuilder {
${builderLines('  ')}
}
`;
}

export function render(variant) {
  const { abi, common } = TARGETS[variant];
  if (variant === 'node') {
    return `${HEADER(variant)}${IMPORTS(abi, common)}
${functionLines('node', '', 'module')}

/** The instance's raw exports (the glue instantiates itself as it loads). */
export declare const __wasm: RawExports;
`;
  }
  return `${HEADER(variant)}${IMPORTS(abi, common)}
/** The exports of one copy of the glue; o1js's own bindings are there too, untyped here. */
export interface KimchiWasmGlue {
  readonly PoolBuilder: unknown;
${functionLines('web', '  ', 'object')}
  /** Instantiates synchronously (workers: the module and memory come in a message). */
  initSync(init: { module: WebAssembly.Module; memory?: WebAssembly.Memory }): RawExports;
  /** Instantiates on the page; \`default.__wbindgen_wasm_module\` is the compiled module afterwards. */
  readonly default: ((init?: { module_or_path?: unknown; memory?: WebAssembly.Memory }) => Promise<RawExports>) & {
    __wbindgen_wasm_module?: WebAssembly.Module;
  };
  /** o1js's bindings, which the backend forwards (replacing them on the page) or calls by name. */
  [binding: string]: unknown;
}

/** o1js's web glue shape (scripts/o1js-web-glue.mjs): each call gives a fresh copy of the glue. */
declare function kimchiWasm(): KimchiWasmGlue;
declare namespace kimchiWasm {
  /** The module's declared minimum memory, in 64 KiB pages (read from the .wasm by scripts/o1js-web-glue.mjs). */
  const memoryMinimumPages: number;
}
export default kimchiWasm;
`;
}

/** Differences between `variant`'s built glue (pkg/) and its committed declarations, one line each. */
export function checkVariant(variant) {
  const { pkg, out } = TARGETS[variant];
  const problems = compare(variant, readFileSync(ROOT + pkg, 'utf8'));
  let committed = '';
  try {
    committed = readFileSync(ROOT + out, 'utf8');
  } catch {}
  if (committed !== render(variant)) problems.push(`${out} is not what the table renders: run node scripts/render-glue-types.mjs`);
  let common = '';
  try {
    common = readFileSync(ROOT + COMMON_OUT, 'utf8');
  } catch {}
  if (common !== renderCommon()) problems.push(`${COMMON_OUT} is not what the table renders: run node scripts/render-glue-types.mjs`);
  return problems;
}

function main() {
  const check = process.argv.includes('--check');
  const problems = [];
  for (const [variant, { pkg, out }] of Object.entries(TARGETS)) {
    if (check) {
      problems.push(...checkVariant(variant));
      continue;
    }
    const found = compare(variant, readFileSync(ROOT + pkg, 'utf8'));
    problems.push(...found);
    if (found.length === 0) writeFileSync(ROOT + out, render(variant));
  }
  if (!check && problems.length === 0) writeFileSync(ROOT + COMMON_OUT, renderCommon());
  if (problems.length > 0) {
    console.error([...new Set(problems)].map((p) => `ERROR: ${p}`).join('\n'));
    process.exit(1);
  }
  console.log(check ? "glue declarations match wasm-bindgen's and the ABI" : `wrote ${[...Object.values(TARGETS).map((t) => t.out), COMMON_OUT].join(', ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
