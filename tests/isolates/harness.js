// The pool core on the in-process platform (in-process.js), as the in-process
// tests start it: scripted modules, a warm step, the idle timer out of the
// way unless a test sets it, and every event recorded in order.
import { load, within } from './lib.js';
import { inProcessPlatform, scriptedModule } from './in-process.js';

const { ProverPool } = await load('prover-pool.js');

export const MODULE = 'file:///in-process/prover.js';

const EVENTS = [
  'isolate-start',
  'isolate-ready',
  'isolate-exit',
  'replacement',
  'crash',
  'decision',
  'job-start',
  'job-end',
  'refuse',
  'error',
  'slot-given-up',
  'needs-drain',
  'drain',
  'stop-then-start',
];

/**
 * A pool on the in-process platform; `moduleOptions(id)` gives isolate `id`'s
 * scripted module its options; `platformOptions` go to inProcessPlatform.
 * Each recorded event is its payload with `name` (the event) and `job` (the
 * payload's own `name`, a job's).
 */
export async function startPool(options = {}, moduleOptions = () => ({}), platformOptions = {}) {
  const { platform, isolates } = inProcessPlatform((id) => scriptedModule(id, moduleOptions(id)), platformOptions);
  const events = [];
  const pool = await within(
    10_000,
    'the pool to start',
    ProverPool.start(platform, { module: MODULE, warm: { name: 'warm', args: { cache: 'dir' } }, idleCheckIntervalMs: 60_000, ...options }),
  );
  for (const name of EVENTS) pool.on(name, (payload) => events.push({ ...payload, job: payload.name, name }));
  const module = (id) => isolates.get(id).module;
  return { pool, isolates, module, events, close: () => within(10_000, 'close()', pool.close({ drain: false })) };
}
