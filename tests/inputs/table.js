// The inputs every export accepts: one table, the source of docs/api.md's
// "Accepted inputs" (scripts/render-input-table.mjs writes it;
// tests/inputs/node.test.js keeps the two equal) and of the bad-input suite
// (suite.js), which calls every export with every bad kind of value for each
// of its parameters, in Node and in Chromium. Plain data and value builders;
// its one import is the kernel's `describeValue` (compiled by tsc into
// build/ts, which the browser tests' server serves too), so that the text the
// suite expects is the text the messages write.
import { describeValue } from '../../build/ts/bindings-js/lib/proof-system/kernel/options.js';

/** What a parameter accepts, and the values that must be refused. */
export const KINDS = {
  threads: {
    accepts: 'a whole number from 1 to 256',
    code: 'POOL_INVALID_THREAD_COUNT',
    bad: () => [0, -1, 1.5, 257, 2 ** 53, NaN, Infinity, -Infinity, ...notNumbers()],
  },
  milliseconds0: {
    accepts: 'a whole number of milliseconds from 0 to 2^31 - 1',
    bad: () => [-1, 1.5, 2 ** 31, 3e9, NaN, Infinity, -Infinity, ...notNumbers()],
  },
  milliseconds1: {
    accepts: 'a whole number of milliseconds from 1 to 2^31 - 1',
    bad: () => [0, -1, 1.5, 2 ** 31, 3e9, NaN, Infinity, -Infinity, ...notNumbers()],
  },
  bytes32: {
    accepts: 'a whole number of bytes from 0 to 2^32 - 1',
    bad: () => [-1, 1.5, 2 ** 32, NaN, Infinity, -Infinity, ...notNumbers()],
  },
  bytes53: {
    accepts: 'a whole number of bytes from 0 to 2^53 - 1',
    bad: () => [-1, 1.5, 2 ** 53, NaN, Infinity, ...notNumbers()],
  },
  generation: {
    accepts: 'a whole number from 1 to 2^53 - 1',
    bad: () => [0, -1, 1.5, 2 ** 53, NaN, Infinity, ...notNumbers()],
  },
  index: {
    accepts: 'a whole number from 0 to 255',
    bad: () => [-1, 1.5, 256, NaN, Infinity, ...notNumbers()],
  },
  workerIndex: {
    accepts: "the worker's index in its generation, a whole number from 0 to 255, or undefined",
    bad: () => [-1, 1.5, 256, NaN, Infinity, ...notNumbers().filter((v) => v !== undefined)],
  },
  receiver: {
    accepts: 'a whole number from 0 to 2^32 - 1',
    bad: () => [-1, 1.5, 2 ** 32, NaN, Infinity, ...notNumbers()],
  },
  k: {
    accepts: 'a whole number from 4 to 16',
    bad: () => [3, 17, 1.5, NaN, Infinity, ...notNumbers()],
  },
  seed: {
    accepts: 'a whole number from 0 to 2^53 - 1',
    bad: () => [-1, 1.5, 2 ** 53, NaN, Infinity, ...notNumbers()],
  },
  fractionOrNull: {
    accepts: 'a number in (0, 1], or null (off)',
    bad: () => [0, -0.5, 1.5, NaN, Infinity, ...notNumbers().filter((v) => v !== null)],
  },
  fractionHalf: {
    accepts: 'a number in [0, 0.5]',
    bad: () => [-0.1, 0.6, NaN, Infinity, ...notNumbers()],
  },
  bytesOrNull: {
    accepts: 'a whole number of bytes from 1 to 2^53 - 1, or null (off)',
    bad: () => [0, -1, 1.5, 2 ** 53, NaN, Infinity, ...notNumbers().filter((v) => v !== null)],
  },
  countOrNull: {
    accepts: 'a whole number from 1 to 2^53 - 1, or null (off)',
    bad: () => [0, -1, 1.5, 2 ** 53, NaN, Infinity, ...notNumbers().filter((v) => v !== null)],
  },
  ageMsOrNull: {
    accepts: 'a whole number of milliseconds from 1 to 2^53 - 1, or null (off)',
    bad: () => [0, -1, 1.5, 2 ** 53, NaN, Infinity, ...notNumbers().filter((v) => v !== null)],
  },
  memoryMaximum: {
    accepts: 'a multiple of 65536 bytes from 16 MiB to 4 GiB, or null (the default)',
    bad: () => [1, 65537, 2 ** 20, 2 ** 33, -65536, NaN, Infinity, ...notNumbers().filter((v) => v !== null)],
  },
  string: {
    accepts: 'a string',
    bad: () => [2, true, null, undefined, 1n, Symbol('s'), [], {}],
  },
  nonEmptyString: {
    accepts: 'a non-empty string',
    bad: () => ['', 2, true, null, 1n, Symbol('s'), [], {}],
  },
  logLevel: {
    accepts: 'one of "error", "warn", "info", "debug", "trace"',
    // Strings with a control character and a line separator: the wasm and the TypeScript layer must write them alike.
    bad: () => ['loud', 'WARN', 'w\u0001arn', 'e\u2028rror', 2, true, null, undefined, 1n, Symbol('s'), {}],
  },
  lifetime: {
    accepts: 'one of "process", "operation"',
    bad: () => ['sometimes', 2, true, null, 1n, Symbol('s'), {}],
  },
  teardown: {
    accepts: 'one of "destroy", "terminate"',
    bad: () => ['drop', 2, true, null, 1n, Symbol('s'), {}],
  },
  flag: {
    accepts: 'true or false',
    bad: () => [1, 'true', null, 1n, Symbol('s'), {}],
  },
  bytesArray: {
    accepts: 'a Uint8Array',
    bad: () => [[1, 2], 'ab', 2, null, undefined, 1n, Symbol('s'), {}],
  },
  function: {
    accepts: 'a function',
    bad: () => [42, 'run', null, undefined, 1n, Symbol('s'), {}, []],
  },
};

/** Values of the wrong type for a number, including ones whose conversion would run code. */
function notNumbers() {
  return [
    '2',
    true,
    null,
    undefined,
    1n,
    Symbol('s'),
    [],
    {},
    {
      valueOf() {
        throw new Error('valueOf ran');
      },
    },
  ];
}

/** An options parameter: `undefined` (none) or a plain object with any of `keys`. */
export function options(keys) {
  return { kind: 'options', keys };
}

const RECYCLE_OPTIONS = {
  threads: 'threads',
  drainTimeoutMs: 'milliseconds0',
  exitTimeoutMs: 'milliseconds0',
  stopWorkersFirst: 'flag',
};

const COMMON_HOST_OPTIONS = {
  lifetime: 'lifetime',
  startTimeoutMs: 'milliseconds1',
  teardown: 'teardown',
  exitTimeoutMs: 'milliseconds1',
  standby: 'flag',
};

/**
 * Every export a caller can reach, where it lives (`wasm`: the compiled
 * crate's exports, on Node the glue's, on the web through `callInWorker`;
 * `backend`: the backend module; `fixture`: this repository's test builds
 * only), its parameters and a valid value for each (the suite replaces one at
 * a time). `platforms` limits a row to Node or the web.
 */
export const INPUTS = [
  {
    name: 'initThreadPool',
    where: 'wasm',
    platforms: ['node'],
    params: [
      ['numThreads', 'threads', 2],
      ['workerSource', 'string', 'unused: the call is refused'],
    ],
  },
  { name: 'initThreadPool', where: 'wasm', platforms: ['web'], params: [['numThreads', 'threads', 2]] },
  { name: 'recycleThreadPool', where: 'wasm', params: [['options', options(RECYCLE_OPTIONS), {}]] },
  {
    name: 'reportWorkerLost',
    where: 'wasm',
    params: [
      ['generation', 'generation', 1],
      ['reason', 'string', 'unused: the call is refused'],
    ],
  },
  {
    name: 'wbg_rayon_start_worker',
    where: 'wasm',
    params: [
      ['receiver', 'receiver', 0],
      ['worker', 'workerIndex', undefined],
    ],
  },
  { name: 'setPoolLogLevel', where: 'wasm', params: [['level', 'logLevel', 'warn']] },
  { name: 'setPoolStandby', where: 'wasm', params: [['enabled', 'flag', false]] },
  {
    name: 'logPoolEvent',
    where: 'wasm',
    params: [
      ['level', 'logLevel', 'debug'],
      ['message', 'string', 'a line'],
    ],
  },
  { name: 'withThreadPool', where: 'backend', params: [['run', 'function', null]] },
  // On the web the backend forwards the options to the main worker, where the wasm checks them.
  { name: 'recycleThreadPool', where: 'backend', forwardedOnWeb: true, params: [['options', options(RECYCLE_OPTIONS), {}]] },
  {
    name: 'configureThreadPool',
    where: 'backend',
    platforms: ['node'],
    params: [['options', options({ ...COMMON_HOST_OPTIONS, workerScript: 'nonEmptyString' }), {}]],
  },
  {
    name: 'configureThreadPool',
    where: 'backend',
    platforms: ['web'],
    params: [['options', options({ ...COMMON_HOST_OPTIONS, memoryMaximumBytes: 'memoryMaximum', callTimeoutMs: 'milliseconds1' }), {}]],
  },
  {
    name: 'configurePoolHealth',
    where: 'backend',
    params: [
      [
        'options',
        options({
          maxLinearMemoryFraction: 'fractionOrNull',
          maxAllocatorLiveBytes: 'bytesOrNull',
          maxGenerationAgeMs: 'ageMsOrNull',
          maxJobsPerGeneration: 'countOrNull',
          jitterFraction: 'fractionHalf',
          hysteresisFraction: 'fractionHalf',
          cooldownMs: 'milliseconds0',
          admissionHeadroomBytes: 'bytes53',
          idleCheckIntervalMs: 'milliseconds1',
          recycleTimeoutMs: 'milliseconds1',
        }),
        {},
      ],
    ],
  },
  { name: 'setNumberOfWorkers', where: 'backend', params: [['numWorkers', 'threads', 2]] },
  {
    name: 'workerHost.kill',
    where: 'backend',
    params: [
      ['generation', 'generation', 2 ** 40],
      ['index', 'index', 0],
      ['options', options({ afterMs: 'milliseconds0' }), {}],
    ],
  },
  {
    name: 'fixtureProve',
    where: 'fixture',
    params: [
      ['k', 'k', 8],
      ['seed', 'seed', 1],
    ],
  },
  {
    name: 'fixtureVerify',
    where: 'fixture',
    params: [
      ['k', 'k', 8],
      ['proof', 'bytesArray', null],
    ],
  },
  { name: 'setAllocatorSoftLimit', where: 'fixture', params: [['bytes', 'bytes32', 0]] },
  { name: 'testHoldMemory', where: 'fixture', params: [['bytes', 'bytes32', 0]] },
  { name: 'testAllocateInJob', where: 'fixture', params: [['bytes', 'bytes32', 0]] },
  { name: 'testPanicOnWorker', where: 'fixture', params: [['message', 'string', 'unused']] },
];

/** A value as the messages write it: the kernel's `describeValue` (the wasm's js_args.rs `describe` writes the same). */
export const written = describeValue;

/**
 * The bad calls for one parameter: `{ label, value }`, where `value` replaces
 * the parameter's valid value. For an options parameter: values that are not
 * a plain object, an unknown key, and every bad value of every key.
 */
export function badCalls(kind) {
  if (typeof kind === 'object' && kind.kind === 'options') {
    const calls = ['threads=3', 42, [3], true, null, 1n, Symbol('s'), new Date(0), () => 3].map((value) => ({
      label: written(value),
      value,
      field: 'options',
    }));
    calls.push({ label: '{ thread: 3 } (unknown key)', value: { thread: 3 }, field: 'thread', written: '3' });
    for (const [key, keyKind] of Object.entries(kind.keys)) {
      for (const bad of KINDS[keyKind].bad()) {
        if (bad === undefined) continue; // an undefined option is an absent one
        calls.push({ label: `{ ${key}: ${written(bad)} }`, value: { [key]: bad }, field: key, written: written(bad), kind: keyKind });
      }
    }
    return calls;
  }
  return KINDS[kind].bad().map((value) => ({ label: written(value), value, written: written(value), kind }));
}

/** What docs/api.md's table says a parameter accepts. */
export function describeKind(kind) {
  if (typeof kind === 'object' && kind.kind === 'options') {
    return (
      'undefined, or a plain object with any of: ' +
      Object.entries(kind.keys)
        .map(([key, keyKind]) => `\`${key}\` (${KINDS[keyKind].accepts})`)
        .join(', ')
    );
  }
  return KINDS[kind].accepts;
}

/** docs/api.md's "Accepted inputs" table, as markdown. */
export function renderTable() {
  const lines = ['| export | where | parameter | accepts |', '| --- | --- | --- | --- |'];
  for (const row of INPUTS) {
    const name = row.platforms ? `${row.name} (${row.platforms.join(', ')})` : row.name;
    for (const [param, kind] of row.params) {
      lines.push(`| \`${name}\` | ${row.where} | \`${param}\` | ${describeKind(kind)} |`);
    }
  }
  return lines.join('\n') + '\n';
}
