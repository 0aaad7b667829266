// Node: the port openPoolHealthPort() gives is for reading the health, and
// nothing else. A port is handed to another thread (a metrics endpoint), so
// whoever holds it must not be able to run the supervisor's other operations:
// start workers from any script on the pool's memory, stop or kill the
// serving generation, list the threads, log through the pool. Each of those,
// and any unknown request, is refused with a typed error naming the port;
// the pool keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, proveAndCheck, within } from './backend.js';
import { PROOF_CASES } from './snapshots.js';

const backend = await loadBackend('node-small', { threads: 2, logLevel: 'error', lifetime: 'process' });
const { wasm, withThreadPool, poolHealth, workerHost, errors } = backend;
const stage = new URL('../../build/o1js/node-small/lib/proof-system/', import.meta.url);
const { channelOf, requester } = await import(new URL('host/protocol.js', stage).href);
const { poolHealthReader } = await import(new URL('pool-api.js', stage).href);

test('the health port answers health reads only: every other request is refused, typed, and the pool keeps serving', { timeout: 90_000 }, async () => {
  await within(60_000, 'a first proof', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[0], 'before')));
  const { generation, threads } = poolHealth();
  const port = await within(10_000, 'openPoolHealthPort', backend.openPoolHealthPort());
  // What any holder of the port can send: the requests the supervisor serves its owner.
  const holder = requester(channelOf(port));
  const requests = [
    ['list', {}],
    ['log', { level: 'error', message: 'written through the health port' }],
    ['connect', {}],
    ['kill', { generation, index: 0, afterMs: 0 }],
    ['stop', { generation, timeoutMs: 0, teardown: 'terminate' }],
    ['start', { generation: generation + 1000, threads: 1, receiver: 0, lossSignalAddress: 0, source: '/nonexistent/script.js', startTimeoutMs: 1000 }],
    // Names an object has without owning them: never an operation.
    ['constructor', {}],
    ['__proto__', {}],
    ['toString', {}],
  ];
  for (const [op, fields] of requests) {
    let answer;
    try {
      answer = { value: await within(10_000, `the port's answer to '${op}'`, holder.ask(op, fields)) };
    } catch (error) {
      answer = { error: errors.fromWasmError(error) };
    }
    assert.ok('error' in answer, `'${op}' through the health port was served: ${JSON.stringify(answer.value)}`);
    const refused = answer.error;
    assert.ok(refused instanceof errors.PoolArgumentError, `'${op}' is refused as a PoolArgumentError: ${refused?.stack ?? refused}`);
    assert.equal(refused.code, 'POOL_INVALID_ARGUMENT');
    assert.equal(refused.field, 'op');
    assert.equal(refused.value, op);
    assert.match(refused.message, /pool health port/);
    assert.match(refused.expected, /'health'/);
  }
  // The port still reads the health, through the reader applications use.
  const read = poolHealthReader(port);
  const seen = await within(10_000, 'a health read through the port', read());
  assert.deepEqual([seen.state, seen.generation, seen.threads], ['running', generation, threads]);
  // And the pool is as it was: the same generation, all its workers, proving.
  const workers = await within(10_000, 'the worker list', workerHost.list());
  assert.deepEqual(
    workers.map((w) => `${w.generation}/${w.index}/${w.state}`).sort(),
    Array.from({ length: threads }, (_, i) => `${generation}/${i}/running`),
  );
  await within(60_000, 'a proof after', withThreadPool(async () => proveAndCheck(wasm, PROOF_CASES[1], 'after')));
  assert.equal(poolHealth().generation, generation, 'no recycle or rebuild was needed');
  port.close();
  await within(30_000, 'exit', backend.exitThreadPool());
});
