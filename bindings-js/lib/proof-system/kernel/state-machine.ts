/**
 * Every lifecycle in the host is one `state` field and a table of the edges
 * it may take; `transition` is the only way to change it, and it throws on an
 * edge the table lacks. Such an edge is always a bug in the code that asked
 * for it, never a user error, so the message says so.
 *
 * The tables live with the lifecycles: WithThreadPool's (workers.ts), the
 * coordinator's (pool-health-coordinator.ts), a Rayon worker's
 * (host/supervisor.ts), and an isolate's and a job's (isolates/lifecycle.ts).
 *
 * Shippable: the supervisor runs in a worker built from function sources, so
 * `transition` uses only its arguments.
 */

/** For each state, the states it may go to next (empty: terminal). */
export type TransitionTable<State extends string> = { readonly [From in State]: readonly State[] };

/**
 * Moves `holder.state` to `to`. Throws when `table` has no edge from the
 * current state to `to`; `what` names the holder in the message (e.g.
 * `isolate 3`, `WithThreadPool`).
 */
export function transition<State extends string>(holder: { state: State }, to: State, table: TransitionTable<State>, what: string): void {
  const allowed = table[holder.state];
  if (!allowed.includes(to)) {
    throw new Error(
      `${what}: illegal transition ${holder.state} → ${to} (allowed from ${holder.state}: ${allowed.join(', ') || 'none'}); this is a bug`,
    );
  }
  holder.state = to;
}
