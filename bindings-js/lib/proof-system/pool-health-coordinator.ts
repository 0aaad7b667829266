/**
 * The pool health coordinator: policy over plonk-wasm's mechanism.
 *
 * It reads `poolHealth()` before jobs (`beforeJob()`) and on an idle timer
 * (`start()` / `stop()`), asks the pure `decide()` what to do, and does it:
 * recycle on thresholds, rebuild a poisoned pool, refuse a job that even a
 * fresh pool could not hold (PoolMemoryError with the snapshot), or let the job
 * proceed. Every decision edge is an event and a log line with its numbers.
 *
 * Coordinator states (one field, transitions checked by `transition()`):
 *
 *   stopped ◀──stop()/start()──▶ idle          (resting states: timer off / on)
 *   stopped | idle ──▶ checking ──▶ recycling ──▶ stopped | idle
 *                         └─────────────────────▶ stopped | idle
 *
 * `stopped` only means the idle timer is off: `beforeJob()` works in both
 * resting states. A check or recycle returns to whichever resting state the
 * timer implies at its end, so `stop()` during a recycle does not cut it short.
 *
 * Invariants:
 *  - at most one check runs at a time (one health read, one decision);
 *    callers arriving during a check share its outcome, so the coordinator
 *    asks for at most one recycle at a time. Whether that request starts a
 *    recycle or joins one already in progress (the user's, a rebuild) is
 *    decided in one place, WithThreadPool (workers.ts), which the backend's
 *    `recycleThreadPool` is;
 *  - the policy state advances when a recycle is decided, not when it
 *    succeeds: a failing recycle leaves its generation in place and its
 *    crossing latched, so it is retried, but only after `cooldownMs`, never
 *    in a tight loop;
 *  - a recycle that outlasts `recycleTimeoutMs` rejects the waiting callers
 *    with PoolRecycleTimeoutError; the wasm may still finish it, and a later
 *    check that decides a recycle meanwhile joins it (WithThreadPool) instead
 *    of starting another.
 */
import { resolveConfig, type CoordinatorConfig, type CoordinatorOptions } from './coordinator-config.js';
import { INITIAL_POLICY_STATE, decide, type Decision, type PolicyState } from './coordinator-policy.js';
import { PoolMemoryError, PoolRecycleTimeoutError, fromWasmError } from './errors.js';
import { rejectAfter } from './kernel/deferred.js';
import { transition, type TransitionTable } from './kernel/state-machine.js';
import { jitterUnitOf } from './kernel/thresholds.js';
import type { PoolHealth, RecycleOptions, RecycleReport } from './pool-health.js';
import { TypedEmitter } from './typed-emitter.js';

export * from './pool-health.js';
export * from './coordinator-config.js';
export * from './coordinator-policy.js';

/**
 * What the coordinator needs from a backend (the host, or a fake in tests).
 * The health may come back at once (Node's main thread) or as a Promise (read
 * by the supervisor, which answers while the thread that owns the pool proves).
 */
export interface PoolBackend {
  poolHealth(): PoolHealth | Promise<PoolHealth>;
  /**
   * The health for an idle check, where the backend can read it without the
   * thread that owns the pool (Node: the supervisor answers); absent:
   * `poolHealth`. A job's check always uses `poolHealth`.
   */
  idleHealth?(): Promise<PoolHealth>;
  /** Starts a recycle, or joins the one in progress (the backend's is WithThreadPool's, which decides). */
  recycleThreadPool(options?: RecycleOptions): Promise<RecycleReport>;
}

export type CoordinatorState = 'stopped' | 'idle' | 'checking' | 'recycling';

const COORDINATOR_EDGES: TransitionTable<CoordinatorState> = {
  stopped: ['idle', 'checking'],
  idle: ['stopped', 'checking'],
  checking: ['recycling', 'idle', 'stopped'],
  recycling: ['idle', 'stopped'],
};

/** Where a check came from. */
export type CheckTrigger = 'job' | 'idle';

export interface DecisionEvent {
  readonly decision: Decision;
  readonly trigger: CheckTrigger;
  readonly health: PoolHealth;
}
export interface RecycleEvent {
  readonly decision: Extract<Decision, { kind: 'recycle' | 'rebuild' }>;
  readonly report: RecycleReport;
  readonly durationMs: number;
}
export interface RefuseEvent {
  readonly decision: Extract<Decision, { kind: 'refuse' }>;
  readonly health: PoolHealth;
}
export interface ErrorEvent {
  readonly error: unknown;
  readonly during: 'health' | 'recycle' | 'listener';
}

export interface CoordinatorEvents {
  decision: DecisionEvent;
  recycle: RecycleEvent;
  refuse: RefuseEvent;
  error: ErrorEvent;
}

/** One log line: the same events, for a tracing path. */
export type CoordinatorLogEvent =
  | ({ readonly level: 'info'; readonly event: 'decision' } & DecisionEvent)
  | ({ readonly level: 'info'; readonly event: 'recycle' } & RecycleEvent)
  | ({ readonly level: 'warn'; readonly event: 'refuse' } & RefuseEvent)
  | ({ readonly level: 'error'; readonly event: 'error' } & ErrorEvent);

export interface CoordinatorHooks {
  /** In [0, 1); draws each generation's jitter. Default Math.random. */
  readonly random?: () => number;
  /** Epoch ms. Default Date.now. */
  readonly now?: () => number;
  /** Receives every event. Default: console at info (warn/error for those levels). */
  readonly log?: (event: CoordinatorLogEvent) => void;
}

function defaultLog(event: CoordinatorLogEvent): void {
  const { level, event: name, ...fields } = event;
  const line = `pool-health-coordinator ${name}`;
  if (level === 'error') console.error(line, fields);
  else if (level === 'warn') console.warn(line, fields);
  else console.info(line, fields);
}

/** Identifies a decision for edge detection: a repeated `proceed` is not news. */
function edgeKey(decision: Decision): string {
  switch (decision.kind) {
    case 'recycle':
      return `recycle:${decision.metric}`;
    case 'proceed':
      return decision.reason === null ? 'proceed' : 'proceed:deferred';
    default:
      return decision.kind;
  }
}

export class PoolHealthCoordinator {
  readonly config: CoordinatorConfig;
  readonly #backend: PoolBackend;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #log: (event: CoordinatorLogEvent) => void;
  readonly #events: TypedEmitter<CoordinatorEvents>;

  readonly #lifecycle: { state: CoordinatorState } = { state: 'stopped' };
  #policy: PolicyState;
  #idleTimer: ReturnType<typeof setInterval> | null = null;
  /** The check in progress; concurrent callers share it. */
  #check: Promise<Decision> | null = null;
  #lastEdgeKey: string | null = null;
  /** The last snapshot read, for the context of errors raised later (a recycle's timeout). */
  #lastHealth: PoolHealth | null = null;

  constructor(backend: PoolBackend, options: CoordinatorOptions = {}, hooks: CoordinatorHooks = {}) {
    this.config = resolveConfig(options);
    this.#backend = backend;
    this.#random = hooks.random ?? Math.random;
    this.#now = hooks.now ?? Date.now;
    this.#log = hooks.log ?? defaultLog;
    this.#events = new TypedEmitter<CoordinatorEvents>((error) => this.#logSafely({ level: 'error', event: 'error', error, during: 'listener' }));
    this.#policy = { ...INITIAL_POLICY_STATE, jitterUnit: this.#drawJitterUnit() };
  }

  get state(): CoordinatorState {
    return this.#lifecycle.state;
  }

  /** The policy state (last recycle, latched crossings, the generation's baseline, jitter draw), for inspection. */
  get policyState(): PolicyState {
    return this.#policy;
  }

  on<Name extends keyof CoordinatorEvents>(event: Name, listener: (payload: CoordinatorEvents[Name]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Call before each job. Resolves with the decision once the pool may take
   * the job (after a recycle or rebuild it started, if one was needed).
   * Rejects with PoolMemoryError (refused, with the snapshot),
   * PoolRecycleTimeoutError, or the mapped error of a failed recycle.
   */
  beforeJob(): Promise<Decision> {
    return this.#shareCheck('job');
  }

  /** Starts the idle timer (unref'd in Node so it never keeps the process alive). Idempotent. */
  start(): void {
    if (this.#idleTimer !== null) return;
    this.#idleTimer = setInterval(() => this.#idleTick(), this.config.idleCheckIntervalMs);
    (this.#idleTimer as { unref?: () => void }).unref?.();
    if (this.#lifecycle.state === 'stopped') this.#transition('idle');
  }

  /** Stops the idle timer. A check or recycle in progress finishes; the state then rests at `stopped`. Idempotent. */
  stop(): void {
    if (this.#idleTimer === null) return;
    clearInterval(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#lifecycle.state === 'idle') this.#transition('stopped');
  }

  #idleTick(): void {
    // Skip while a check runs: the job path is already looking at the pool.
    if (this.#check !== null) return;
    // Errors are reported through the 'error' event inside the check; a refusal
    // at idle is only news (the 'refuse' event), there is no job to reject.
    this.#shareCheck('idle').catch(() => undefined);
  }

  #shareCheck(trigger: CheckTrigger): Promise<Decision> {
    if (this.#check !== null) return this.#check;
    const check = this.#runCheck(trigger).finally(() => {
      this.#check = null;
      this.#transition(this.#restingState());
    });
    this.#check = check;
    return check;
  }

  async #runCheck(trigger: CheckTrigger): Promise<Decision> {
    this.#transition('checking');
    const health = await this.#readHealth(trigger);
    const { decision, state } = decide(health, this.config, this.#policy, this.#now());
    this.#policy = state;
    this.#emitDecisionEdge({ decision, trigger, health });

    switch (decision.kind) {
      case 'proceed':
      case 'wait':
        // `wait`: the pool is starting or exiting; WithThreadPool owns both, so the job goes ahead.
        return decision;
      case 'refuse': {
        const error = PoolMemoryError.admissionRefused(health, decision.neededBytes, decision.availableBytes);
        throw error;
      }
      case 'recycle':
      case 'rebuild':
        this.#transition('recycling');
        await this.#recycle(decision);
        return decision;
    }
  }

  async #readHealth(trigger: CheckTrigger): Promise<PoolHealth> {
    try {
      const idleHealth = this.#backend.idleHealth;
      this.#lastHealth = await (trigger === 'idle' && idleHealth !== undefined ? idleHealth.call(this.#backend) : this.#backend.poolHealth());
      return this.#lastHealth;
    } catch (error) {
      const mapped = fromWasmError(error);
      this.#report({ level: 'error', event: 'error', error: mapped, during: 'health' });
      throw mapped;
    }
  }

  async #recycle(decision: Extract<Decision, { kind: 'recycle' | 'rebuild' }>): Promise<void> {
    const startedMs = this.#now();
    const timeoutMs = this.config.recycleTimeoutMs;
    try {
      const recycling = this.#backend.recycleThreadPool();
      const report = await rejectAfter(timeoutMs, recycling, () => new PoolRecycleTimeoutError(timeoutMs, this.#lastHealth));
      // A new generation: a new jitter draw, so provers drift apart over time.
      this.#policy = { ...this.#policy, jitterUnit: this.#drawJitterUnit() };
      this.#report({ level: 'info', event: 'recycle', decision, report, durationMs: this.#now() - startedMs });
    } catch (error) {
      // The generation stays, and so does its latched crossing: retried once the cooldown passes.
      const mapped = error instanceof PoolRecycleTimeoutError ? error : fromWasmError(error, { health: this.#lastHealth });
      this.#report({ level: 'error', event: 'error', error: mapped, during: 'recycle' });
      throw mapped;
    }
  }

  #emitDecisionEdge(event: DecisionEvent): void {
    const key = edgeKey(event.decision);
    if (key === this.#lastEdgeKey) return;
    this.#lastEdgeKey = key;
    this.#report({ level: 'info', event: 'decision', ...event });
    if (event.decision.kind === 'refuse') {
      this.#report({ level: 'warn', event: 'refuse', decision: event.decision, health: event.health });
    }
  }

  /** Logs and emits one event. */
  #report(event: CoordinatorLogEvent): void {
    this.#logSafely(event);
    const { level: _level, event: name, ...payload } = event;
    this.#events.emit(name, payload as never);
  }

  #logSafely(event: CoordinatorLogEvent): void {
    try {
      this.#log(event);
    } catch {
      // A broken log hook must not break the pool's protection.
    }
  }

  #drawJitterUnit(): number {
    return jitterUnitOf(this.#random());
  }

  #restingState(): CoordinatorState {
    return this.#idleTimer === null ? 'stopped' : 'idle';
  }

  #transition(to: CoordinatorState): void {
    transition(this.#lifecycle, to, COORDINATOR_EDGES, 'PoolHealthCoordinator');
  }
}
