/**
 * Idle scale-down, as piscina's and tinypool's `idleTimeout`: with
 * `minIsolates` below `isolates`, an isolate that stayed idle for
 * `idleTimeoutMs` is stopped (`isolate-exit` reason `idle`; all its memory
 * goes back to the OS) while more than `minIsolates` slots are active, and
 * its slot is parked. Jobs that queue with no isolate free start parked slots
 * again (`isolate-start` cause `demand`): a warm start, paying the module's
 * load and the warm step, one slot per waiting job.
 *
 * Checked by the idle timer (every idleCheckIntervalMs, pool-health-report.ts)
 * for the scale-down, and at every dispatch for the start on demand. An
 * isolate being replaced, or that replaces another, is never parked.
 */
import type { PoolCore } from './pool-core.js';

/** Stops isolates idle for idleTimeoutMs while more than minIsolates slots are active; highest slots first. */
export function scaleDown(core: PoolCore): void {
  const { minIsolates, idleTimeoutMs, isolates } = core.config;
  if (core.state !== 'open' || minIsolates >= isolates || core.queue.length > 0) return;
  let active = core.slots.filter((slot) => !slot.parked && slot.givenUp === null).length;
  const now = core.platform.now();
  const idle = [...core.isolates.values()]
    .filter((r) => r.state === 'idle' && r.successor === null && r.predecessor === null && r.replacement === null && now - r.lastActiveMs >= idleTimeoutMs)
    .sort((a, b) => b.slot - a.slot);
  for (const record of idle) {
    if (active <= minIsolates) return;
    core.slots[record.slot]!.parked = true;
    active--;
    core.totals.idleStops++;
    void core.act.stop(record, 'idle');
  }
}

/** Starts parked slots for jobs that wait with no isolate free: as many as jobs wait beyond the isolates already starting. */
export function scaleUp(core: PoolCore): void {
  if (core.state !== 'open' || core.queue.length === 0) return;
  let coming = 0;
  for (const record of core.isolates.values()) if (record.state === 'starting' && record.predecessor === null) coming++;
  core.slots.forEach((slot, index) => {
    if (!slot.parked || core.queue.length <= coming) return;
    slot.parked = false;
    coming++;
    core.act.spawn(index, 'demand', null);
  });
}
