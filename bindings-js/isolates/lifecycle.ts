/**
 * The two state machines of the pool, each one `state` field on its record and
 * one transition helper that throws on an edge the table does not allow (a
 * bug in the pool, never a user error).
 *
 * Isolate (one thread with its own o1js, wasm memory and Rayon pool):
 *
 *   starting ──ready──▶ idle ◀──job ended──▶ busy ──successor ready──▶ draining
 *      │                  │                     │                              │
 *      │ start failed,    │ successor ready,    │ aborted, trapped,            │ job ended
 *      │ timeout, close   │ close               │ close cut it off             │
 *      ▼                  ▼                     ▼                              ▼
 *   stopping ◀────────────┴─────────────────────┴──────────────────────────────┘
 *      │ terminate() resolved
 *      ▼
 *   stopped
 *
 *   A thread that ends by itself (a crash) goes the same way: from any live
 *   state to stopping (terminate() is then a no-op) and stopped.
 *
 *   - starting: spawned; loading the module and o1js, running the warm step.
 *     Takes no jobs. A replacement keeps its predecessor serving meanwhile.
 *   - idle / busy: serving; busy runs exactly one job (`record.job`).
 *   - draining: its successor serves; it finishes its one job, takes no other.
 *   - stopping: terminate() was called; messages from it are ignored.
 *   - stopped: its thread has ended and its memory is released. Terminal.
 *
 * Job:  queued ──▶ running ──▶ settled,  queued ──▶ settled (aborted, refused, closed)
 */
import type { IsolateState } from './health.js';

export type JobState = 'queued' | 'running' | 'settled';

export const ISOLATE_TRANSITIONS: { readonly [S in IsolateState]: readonly IsolateState[] } = {
  starting: ['idle', 'stopping'],
  idle: ['busy', 'stopping'],
  busy: ['idle', 'draining', 'stopping'],
  draining: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

export const JOB_TRANSITIONS: { readonly [S in JobState]: readonly JobState[] } = {
  queued: ['running', 'settled'],
  running: ['settled'],
  settled: [],
};

/** Moves `record` to `to`; throws (a pool bug) when the table has no such edge. */
export function transition<S extends string>(
  record: { state: S; readonly id: number },
  to: S,
  table: { readonly [K in S]: readonly S[] },
  what: 'isolate' | 'job',
): void {
  if (!table[record.state].includes(to)) {
    throw new Error(`prover pool bug: ${what} ${record.id} cannot go from ${record.state} to ${to} (allowed: ${table[record.state].join(', ') || 'none'})`);
  }
  record.state = to;
}
