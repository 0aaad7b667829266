/**
 * When a slot's isolate is started again, as pure functions: the restart
 * backoff and the crash-rate breaker. No clocks or timers: the pool passes
 * the time and keeps the state (pool-core.ts `SlotState`), slot-restarts.ts
 * acts on the verdicts; tests/isolates/slot-policy.test.js checks them from
 * plain values.
 *
 * Backoff: the n-th restart in a row waits restartDelayMs × 2^(n−1), at most
 * MAX_RESTART_DELAY_MS (30 s). A failed start counts from the first; a crash
 * of a serving isolate restarts at once the first time in crashWindowMs, and
 * backs off from the second.
 *
 * Breaker (I9): a slot whose serving isolates crashed maxCrashes times within
 * crashWindowMs is not refilled any more: an isolate that dies after becoming
 * ready would otherwise be respawned for ever, each time paying a full start
 * and warm step. The slot is given up (an event, its health), and jobs no
 * isolate is left for are refused with a typed error (`crash-loop`).
 */

/** The longest delay before a restart. */
export const MAX_RESTART_DELAY_MS = 30_000;

/** Why a slot is given up: its empty slot's starts kept failing, or its isolates kept crashing. */
export type SlotGiveUpReason = 'start-failures' | 'crash-loop';

/** The delay before the `attempt`-th restart in a row (1-based). */
export function backoffMs(restartDelayMs: number, attempt: number): number {
  return Math.min(restartDelayMs * 2 ** Math.max(0, attempt - 1), MAX_RESTART_DELAY_MS);
}

export interface CrashSettings {
  readonly maxCrashes: number;
  readonly crashWindowMs: number;
  readonly restartDelayMs: number;
}

export type CrashVerdict =
  /** Start a new isolate after `delayMs` (0: at once). */
  | { readonly kind: 'refill'; readonly delayMs: number; readonly crashesInWindow: number }
  /** The breaker opens: the slot is given up. */
  | { readonly kind: 'give-up'; readonly crashesInWindow: number };

/** A crash at `nowMs`: the slot's crash times within the window (this one included), and what to do. */
export function afterCrash(crashTimesMs: readonly number[], nowMs: number, settings: CrashSettings): { readonly timesMs: readonly number[]; readonly verdict: CrashVerdict } {
  const timesMs = [...crashTimesMs.filter((t) => nowMs - t < settings.crashWindowMs), nowMs];
  const crashesInWindow = timesMs.length;
  if (crashesInWindow >= settings.maxCrashes) return { timesMs, verdict: { kind: 'give-up', crashesInWindow } };
  const delayMs = crashesInWindow === 1 ? 0 : backoffMs(settings.restartDelayMs, crashesInWindow - 1);
  return { timesMs, verdict: { kind: 'refill', delayMs, crashesInWindow } };
}

/** Crashes of a slot still within the window at `nowMs`. */
export function crashesInWindow(crashTimesMs: readonly number[], nowMs: number, crashWindowMs: number): number {
  return crashTimesMs.filter((t) => nowMs - t < crashWindowMs).length;
}
