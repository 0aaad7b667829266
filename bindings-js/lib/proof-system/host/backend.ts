/**
 * The backend facade both o1js backends export: host options, the pool's
 * lifetime (WithThreadPool), the health coordinator, `withThreadPool`,
 * recycles and exit, the worker host and its events. Written once; the
 * platform adapters (node-backend.js, web-backend.js) give it a
 * `BackendPlatform`: where the pool's instance is called (Node: this thread;
 * web: the main worker) and where the health is read without waiting on a
 * proof (Node's main thread reads it directly between jobs; the supervisor
 * answers it from any thread, any time).
 */
import { PoolHealthCoordinator, type CoordinatorLogEvent } from '../pool-health-coordinator.js';
import type { CoordinatorOptions } from '../coordinator-config.js';
import { PoolArgumentError, PoolHostError, PoolInstanceTerminatedError, PoolTimeoutError, fromWasmError } from '../errors.js';
import { rejectAfter } from '../kernel/deferred.js';
import { boundedHealthRead } from '../health-read.js';
import { checkPoolOptions, isPlainObject, rules, type FieldRule, type FieldRules } from '../options.js';
import type { PoolHealth, RecycleOptions, RecycleReport } from '../pool-health.js';
import { TypedEmitter } from '../typed-emitter.js';
import { WithThreadPool, workers, type ThreadPoolLifetime, type ThreadPoolState } from '../workers.js';
import type { InstanceGuard } from './instance-guard.js';
import type { Requester } from './protocol.js';
import type { HostEvent, WorkerSummary } from './supervisor.js';

/** The host options every platform has; each adds its own (`BackendPlatform.optionRules`). */
export interface CommonHostOptions {
  /** 'process' (o1js >= 2.15): one pool for the process; 'operation': it exits after each outermost operation. */
  readonly lifetime: ThreadPoolLifetime;
  /** Bound for a generation's workers to report ready. */
  readonly startTimeoutMs: number;
  /**
   * 'destroy' (ours): workers leave Rayon's loop and free their thread state,
   * and are terminated only past the exit bound; 'terminate': upstream's
   * order, workers stopped first (leaks every worker's stack; for comparisons).
   */
  readonly teardown: 'destroy' | 'terminate';
  /** Bound on `exitThreadPool()` once the last operation left (drain, exit, stop). */
  readonly exitTimeoutMs: number;
  /**
   * Keep a standby generation: workers started ahead and parked, so that a
   * recycle only swaps them in. Costs one more set of idle workers for as
   * long as the pool runs, so it is off unless asked for.
   */
  readonly standby: boolean;
}

export const COMMON_HOST_OPTION_RULES: FieldRules<CommonHostOptions> = {
  lifetime: rules.oneOf('process', 'operation'),
  startTimeoutMs: rules.timerMs(1),
  teardown: rules.oneOf('destroy', 'terminate'),
  exitTimeoutMs: rules.timerMs(1),
  standby: rules.flag(),
};

export const COMMON_HOST_DEFAULTS: CommonHostOptions = Object.freeze({
  lifetime: 'process',
  startTimeoutMs: 30_000,
  teardown: 'destroy',
  exitTimeoutMs: 120_000,
  standby: false,
});

/** What the facade needs from a platform. */
export interface BackendPlatform<PlatformOptions extends object> {
  readonly name: 'node' | 'web';
  /** Upstream's default thread count: available parallelism - 1, at least 1. */
  defaultThreadCount(): number;
  readonly optionRules: FieldRules<PlatformOptions>;
  readonly optionDefaults: PlatformOptions;
  /** Checks a change of options against the platform's state (e.g. too late for the memory maximum); throws to refuse it. */
  checkChange?(changes: Partial<PlatformOptions & CommonHostOptions>): void;
  /** The pool's calls, wherever its instance is. */
  readonly pool: {
    /** Starts the pool, keeping a standby as `options.standby` says. */
    init(threads: number, options: HostOptions<PlatformOptions>): Promise<unknown>;
    /** Turns the standby on (starts one now) or off (retires it) in a running pool. */
    standby(enabled: boolean): Promise<unknown>;
    exit(): Promise<unknown>;
    /** `options` as the caller gave them (resolved): the wasm validates them, the one place recycle options are checked. */
    recycle(options: unknown): Promise<RecycleReport>;
    /** A snapshot, read where it does not wait on a proof. */
    health(): PoolHealth | Promise<PoolHealth>;
    /**
     * A snapshot for the coordinator's idle checks, read without the thread
     * that owns the instance (Node: from the supervisor). Absent: `health`.
     */
    idleHealth?(): Promise<PoolHealth>;
    log(level: 'error' | 'warn' | 'info', message: string): void;
  };
  /** The supervisor, once it runs (null before the first pool start). */
  supervisor(): Pick<Requester, 'ask'> | null;
  /**
   * The guard on the exports of the instance this thread calls
   * (host/instance-guard.ts): the evidence of a trap. Absent: no call of this
   * thread is taken as a trap of the instance.
   */
  readonly instanceGuard?: InstanceGuard;
}

export type HostOptions<PlatformOptions> = Readonly<PlatformOptions & CommonHostOptions>;

export interface Backend<PlatformOptions extends object> {
  withThreadPool: (<T>(run: () => T | Promise<T>) => Promise<T>) & {
    state(): ThreadPoolState;
    users(): number;
    recycle(options?: unknown): Promise<RecycleReport>;
    exit(): Promise<void>;
  };
  poolHealth(): PoolHealth | Promise<PoolHealth>;
  recycleThreadPool(options?: unknown): Promise<RecycleReport>;
  exitThreadPool(): Promise<void>;
  configureThreadPool(options: unknown): HostOptions<PlatformOptions>;
  configurePoolHealth(options?: CoordinatorOptions): PoolHealthCoordinator;
  readonly poolHealthCoordinator: PoolHealthCoordinator;
  readonly hostOptions: HostOptions<PlatformOptions>;
  readonly workerHost: WorkerHost;
  /** For the adapter: a host event from the supervisor or the platform. */
  emitHostEvent(event: HostEvent | { readonly type: string; readonly [key: string]: unknown }): void;
}

export interface WorkerHost {
  /** The pool's worker threads as the supervisor sees them. */
  list(): Promise<WorkerSummary[]>;
  /** Terminates one worker from outside after `afterMs` on the supervisor's clock (fault drills); resolves when scheduled. */
  kill(generation: number, index: number, options?: { afterMs?: number }): Promise<void>;
  /** Host events: worker-lost, workers-started, workers-stopped (web: also backend-failed). Returns the unsubscribe function. */
  on(listener: (event: HostEvent) => void): () => void;
}

/** `workerHost.kill`'s arguments. */
const KILL_RULES = {
  generation: rules.wholeNumber(1, Number.MAX_SAFE_INTEGER),
  index: rules.wholeNumber(0, 255),
} as const;

/** Throws PoolArgumentError (POOL_INVALID_ARGUMENT) unless `rule` accepts `value`. */
function checkArgument(callee: string, field: string, value: unknown, rule: FieldRule): void {
  if (!rule.accepts(value)) throw new PoolArgumentError(callee, field, value, rule.expected);
}

/** What the wasm's recycleThreadPool gets for a caller's options, given the pool's state and the host's teardown. */
export function resolveRecycleOptions(options: unknown, pool: { readonly poisoned: boolean; readonly teardown: 'destroy' | 'terminate' }): unknown {
  // Not an object: the wasm refuses it with the message (the one place recycle options are checked).
  if (options !== undefined && !isPlainObject(options)) return options;
  const resolved: { -readonly [K in keyof RecycleOptions]: RecycleOptions[K] } = { ...(options as RecycleOptions | undefined) };
  // A poisoned generation cannot exit cleanly (a worker is gone, the others are fenced): do not wait the full exit bound.
  if (resolved.exitTimeoutMs === undefined && pool.poisoned) resolved.exitTimeoutMs = 1_000;
  // Upstream's order: stop the workers while they sleep in Rayon's loop.
  if (pool.teardown === 'terminate') resolved.stopWorkersFirst = true;
  // setNumberOfWorkers after the pool started applies at the next recycle.
  if (resolved.threads === undefined && workers.numWorkers !== undefined) resolved.threads = workers.numWorkers;
  return resolved;
}

/** One line for a coordinator event, with the numbers behind it (for the pool's log). */
export function describeCoordinatorEvent(event: CoordinatorLogEvent): string {
  let summary: string;
  switch (event.event) {
    case 'recycle':
      summary =
        `${event.decision.kind} (${event.decision.reason}) generation ${event.report.fromGeneration} → ` +
        `${event.report.toGeneration} in ${event.durationMs.toFixed(1)} ms`;
      break;
    case 'refuse':
      summary = `needed ${event.decision.neededBytes} bytes of headroom, ${event.decision.availableBytes} available`;
      break;
    case 'error': {
      const error = event.error as { message?: unknown } | null | undefined;
      summary = `${event.during}: ${String(error?.message ?? error)}`;
      break;
    }
    case 'decision':
      summary = JSON.stringify(event.decision);
      break;
  }
  return `pool-health-coordinator ${event.event}: ${summary}`;
}

export function createBackend<PlatformOptions extends object>(platform: BackendPlatform<PlatformOptions>): Backend<PlatformOptions> {
  const optionRules = { ...COMMON_HOST_OPTION_RULES, ...platform.optionRules } as FieldRules<PlatformOptions & CommonHostOptions>;
  let hostOptions: HostOptions<PlatformOptions> = Object.freeze({ ...COMMON_HOST_DEFAULTS, ...platform.optionDefaults });
  const hostEvents = new TypedEmitter<{ host: HostEvent }>();
  let latestHealth: PoolHealth | null = null;
  /**
   * Set once the instance trapped on this thread, by evidence only (the
   * guard saw a trap escape one of its exports, or a thread that ran a call
   * for this one reported it). The trap abandoned that call's Rust frames
   * without unwinding, with whatever locks they held, so a later call could
   * wait on one forever: every later call fails at once instead, with the
   * same error, until the process (or the worker hosting the prover) is
   * replaced. A trap on a pool worker is not this: it loses that worker only
   * (POOL_WORKER_LOST) and the pool is rebuilt. A RuntimeError that user
   * code inside `withThreadPool` throws is not this either: it reaches the
   * caller as it was thrown.
   */
  let terminated: PoolInstanceTerminatedError | null = null;
  const isInstanceTrap = (error: unknown) => platform.instanceGuard?.isTrap(error) === true;

  function refuseIfTerminated(): void {
    // A trap the caller caught and swallowed still ends the instance.
    const trap = platform.instanceGuard?.trap ?? null;
    if (terminated === null && trap !== null) terminated = PoolInstanceTerminatedError.forTrap(trap);
    if (terminated !== null) {
      throw new PoolInstanceTerminatedError(
        `${terminated.message} (this call was refused: the instance trapped earlier)`,
        terminated,
      );
    }
  }

  /** Maps a wasm error, remembering a trap of the instance. */
  function mapped(error: unknown): unknown {
    const typed = fromWasmError(error, { health: latestHealth, isInstanceTrap });
    if (typed instanceof PoolInstanceTerminatedError && terminated === null) terminated = typed;
    return typed;
  }

  /** A health read; one that fails after a trap is evidence of it (the guard saw the trap escape `poolHealth`). */
  async function health(): Promise<PoolHealth> {
    refuseIfTerminated();
    try {
      latestHealth = await bounded(platform.pool.health());
    } catch (error) {
      throw mapped(error);
    }
    return latestHealth;
  }

  /** The idle timer's read: through the platform's other thread where it has one. */
  async function idleHealth(): Promise<PoolHealth> {
    refuseIfTerminated();
    try {
      latestHealth = await bounded((platform.pool.idleHealth ?? platform.pool.health)());
    } catch (error) {
      throw mapped(error);
    }
    return latestHealth;
  }

  /** `poolHealth()` for the application: synchronous where the platform reads it so (Node's main thread). */
  function poolHealth(): PoolHealth | Promise<PoolHealth> {
    refuseIfTerminated();
    let read: PoolHealth | Promise<PoolHealth>;
    try {
      read = platform.pool.health();
    } catch (error) {
      throw mapped(error);
    }
    return read instanceof Promise ? boundedHealthRead(read, healthThread).catch((error: unknown) => Promise.reject(mapped(error))) : read;
  }

  /** A read that another thread answers is bounded; one from this thread's instance is already done. */
  function bounded(read: PoolHealth | Promise<PoolHealth>): PoolHealth | Promise<PoolHealth> {
    return read instanceof Promise ? boundedHealthRead(read, healthThread) : read;
  }
  const healthThread = `the ${platform.name} backend's supervisor`;

  const runner = WithThreadPool<unknown, RecycleReport>(
    {
      async initThreadPool() {
        refuseIfTerminated();
        await platform.pool.init(workers.numWorkers ?? platform.defaultThreadCount(), hostOptions).catch((error) => {
          throw mapped(error);
        });
        coordinator.start();
      },
      async exitThreadPool() {
        coordinator.stop();
        refuseIfTerminated();
        await platform.pool.exit().catch((error) => {
          throw mapped(error);
        });
      },
      async recycleThreadPool(options) {
        const poisoned = (await health()).state === 'poisoned';
        return platform.pool.recycle(resolveRecycleOptions(options, { poisoned, teardown: hostOptions.teardown })).catch((error) => {
          throw mapped(error);
        });
      },
      // During a recycle, a job is served unless the pool is being rebuilt (no generation serves).
      canTakeJobs: () => latestHealth === null || latestHealth.generation !== null,
    },
    { lifetime: () => hostOptions.lifetime },
  );

  let coordinator = makeCoordinator({});

  /**
   * A caller let in during a recycle (a generation served then) whose
   * coordinator check shows that none serves now: a worker died meanwhile and
   * the wasm turned the recycle into a rebuild. Like a caller arriving after
   * that (WithThreadPool's canTakeJobs), it waits for the rebuild, then checks
   * again, instead of failing with POOL_REBUILDING.
   */
  async function untilServing(): Promise<void> {
    while (latestHealth !== null && latestHealth.generation === null && runner.state() === 'recycling') {
      // Joins the recycle in progress (no options); its failure is the recycler's, not this caller's.
      await runner.recycle().catch(() => undefined);
      await coordinator.beforeJob();
    }
  }

  function makeCoordinator(options: CoordinatorOptions): PoolHealthCoordinator {
    return new PoolHealthCoordinator({ poolHealth: health, idleHealth, recycleThreadPool: (o) => runner.recycle(o) }, options, {
      log: (event) => {
        try {
          platform.pool.log(event.level, describeCoordinatorEvent(event));
        } catch {
          // An instance that cannot log (terminated) must not break the caller.
        }
      },
    });
  }

  const withThreadPool = Object.assign(
    <T>(run: () => T | Promise<T>): Promise<T> => {
      if (typeof run !== 'function') return Promise.reject(new PoolArgumentError('withThreadPool', 'run', run, 'a function'));
      return runner(async () => {
        refuseIfTerminated();
        await coordinator.beforeJob();
        await untilServing();
        try {
          return await run();
        } catch (error) {
          throw mapped(error);
        }
      });
    },
    {
      state: () => runner.state(),
      users: () => runner.users(),
      recycle: (options?: unknown) => runner.recycle(options),
      exit: () => exitThreadPool(),
    },
  );

  /** Shuts the pool down once no operation runs, within `exitTimeoutMs`; a no-op when it is not up. */
  function exitThreadPool(): Promise<void> {
    const timeoutMs = hostOptions.exitTimeoutMs;
    const late = () =>
      new PoolTimeoutError(
        'exitThreadPool()',
        timeoutMs,
        'operations still running keep the pool up (it exits when the last one leaves); raise exitTimeoutMs (configureThreadPool) to wait longer',
      );
    return rejectAfter(timeoutMs, runner.exit(), late);
  }

  function supervisorOrNone(): Pick<Requester, 'ask'> | null {
    return platform.supervisor();
  }

  const workerHost: WorkerHost = {
    async list() {
      const supervisor = supervisorOrNone();
      if (supervisor === null) return [];
      // The supervisor's errors cross a thread as plain copies: mapped, they are our classes again.
      return (await supervisor.ask('list').catch((error) => {
        throw mapped(error);
      })) as WorkerSummary[];
    },
    async kill(generation, index, options) {
      checkArgument('workerHost.kill', 'generation', generation, KILL_RULES.generation);
      checkArgument('workerHost.kill', 'index', index, KILL_RULES.index);
      const { afterMs = 0 } = checkPoolOptions('workerHost.kill', options, { afterMs: rules.timerMs(0) });
      const supervisor = supervisorOrNone();
      if (supervisor === null) throw new PoolHostError(`no live worker ${index} in generation ${generation}: no pool was started`);
      await supervisor.ask('kill', { generation, index, afterMs }).catch((error) => {
        throw mapped(error);
      });
    },
    on: (listener) => hostEvents.on('host', listener),
  };

  return {
    withThreadPool,
    poolHealth,
    recycleThreadPool: (options) => runner.recycle(options),
    exitThreadPool,
    configureThreadPool(options) {
      const changes = checkPoolOptions('configureThreadPool', options, optionRules);
      platform.checkChange?.(changes);
      const standbyChanged = changes.standby !== undefined && changes.standby !== hostOptions.standby;
      hostOptions = Object.freeze({ ...hostOptions, ...changes });
      // A pool that runs takes the change now; the next start takes it otherwise.
      if (standbyChanged && runner.state() !== 'none') {
        platform.pool.standby(hostOptions.standby).catch((error: unknown) => {
          try {
            platform.pool.log('warn', `configureThreadPool: the standby could not be ${hostOptions.standby ? 'started' : 'retired'}: ${String((error as Error | null)?.message ?? error)}`);
          } catch {
            // An instance that cannot log (terminated) must not break the caller.
          }
        });
      }
      return hostOptions;
    },
    configurePoolHealth(options = {}) {
      const next = makeCoordinator(options);
      const wasRunning = coordinator.state !== 'stopped';
      coordinator.stop();
      coordinator = next;
      if (wasRunning) next.start();
      return next;
    },
    get poolHealthCoordinator() {
      return coordinator;
    },
    get hostOptions() {
      return hostOptions;
    },
    workerHost,
    emitHostEvent: (event) => hostEvents.emit('host', event as HostEvent),
  };
}
