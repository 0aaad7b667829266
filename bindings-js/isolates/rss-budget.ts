/**
 * limits.rssBudgetBytes: whether a replacement may start its successor while
 * its predecessor still serves (blue/green), or must stop the predecessor
 * first (stop-then-start) so that the pool never crosses its RSS budget by
 * starting a successor.
 *
 * The pool's RSS is this process's, plus each isolate's own process with
 * isolation 'process' (its snapshot's rssShareBytes is then that process's
 * measured RSS). The successor is expected to cost what the newest isolate
 * measured right after its warm step: it loads the same module and runs the
 * same warm step. What the pool cannot measure it cannot show to fit, so an
 * unknown figure means stop-then-start.
 */
import type { IsolateRecord, PoolCore } from './pool-core.js';

export type ReplacementOrder = 'blue-green' | 'stop-then-start';

/** The figures a stop-then-start was decided on (the `stop-then-start` event's payload, with the isolate). */
export interface BudgetVerdict {
  /** The pool's RSS now (all its processes), `null` when unknown. */
  readonly poolRssBytes: number | null;
  /** What the successor is expected to add, `null` when unknown. */
  readonly successorRssBytes: number | null;
  readonly budgetBytes: number;
  readonly reason: string;
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/**
 * The pool's RSS: this process's, plus the isolates' own processes (isolation
 * 'process'), a starting one's at what it is expected to reach; `null` when unknown.
 */
export function poolRssBytes(core: PoolCore): number | null {
  const own = core.platform.processRssBytes();
  if (own === null || !core.platform.isolateProcesses) return own;
  let total = own;
  for (const record of core.isolates.values()) {
    if (record.state === 'stopped') continue;
    total += record.snapshot?.memory.rssShareBytes ?? core.fresh.baseline?.rssBytes ?? 0;
  }
  return total;
}

/** The RSS a successor of `record` is expected to take once warm: the newest post-warm figure, or its predecessor's own. */
function successorRssBytes(core: PoolCore, record: IsolateRecord): number | null {
  return core.fresh.baseline?.rssBytes ?? record.policy.baseline?.rssBytes ?? null;
}

/** How `record`'s successor starts: `null` for blue/green, else why it must wait for `record` to stop. */
export function budgetForbidsSuccessor(core: PoolCore, record: IsolateRecord): BudgetVerdict | null {
  const budgetBytes = core.config.limits.rssBudgetBytes;
  if (budgetBytes === null) return null;
  const pool = poolRssBytes(core);
  const successor = successorRssBytes(core, record);
  if (pool !== null && successor !== null && pool + successor <= budgetBytes) return null;
  const reason =
    pool === null || successor === null
      ? `the pool's RSS or a successor's is not measured yet, so a successor cannot be shown to fit limits.rssBudgetBytes ${mib(budgetBytes)}`
      : `the pool's RSS ${mib(pool)} plus a successor's ${mib(successor)} would cross limits.rssBudgetBytes ${mib(budgetBytes)}`;
  return { poolRssBytes: pool, successorRssBytes: successor, budgetBytes, reason };
}
