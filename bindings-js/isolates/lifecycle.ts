/**
 * The two state machines of the pool, each one `state` field on its record,
 * a table of its edges, and the kernel's `transition`, which throws on an edge
 * the table does not allow (a bug in the pool, never a user error).
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
import { transition, type TransitionTable } from '../lib/proof-system/kernel/state-machine.js';
import type { IsolateState } from './health.js';

export type JobState = 'queued' | 'running' | 'settled';

export const ISOLATE_TRANSITIONS: TransitionTable<IsolateState> = {
  starting: ['idle', 'stopping'],
  idle: ['busy', 'stopping'],
  busy: ['idle', 'draining', 'stopping'],
  draining: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

export const JOB_TRANSITIONS: TransitionTable<JobState> = {
  queued: ['running', 'settled'],
  running: ['settled'],
  settled: [],
};

/** Moves an isolate along ISOLATE_TRANSITIONS (the kernel's `transition`: an illegal edge is a pool bug). */
export function moveIsolate(record: { state: IsolateState; readonly id: number }, to: IsolateState): void {
  transition(record, to, ISOLATE_TRANSITIONS, `prover pool: isolate ${record.id}`);
}

/** Moves a job along JOB_TRANSITIONS. */
export function moveJob(record: { state: JobState; readonly id: number }, to: JobState): void {
  transition(record, to, JOB_TRANSITIONS, `prover pool: job ${record.id}`);
}
