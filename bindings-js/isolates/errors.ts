/**
 * Every error the prover pool (isolates) throws, in one module.
 *
 * Each class has a stable `code` a caller can branch on (never parse the
 * message), the context that explains it, and the original error as `cause`
 * when it wraps one; the base class is the kernel's (kernel/errors.ts), as
 * for the pool's errors. Messages say what happened, what was expected and
 * what to do. Errors that happened inside an isolate cross the thread
 * boundary as a `RemoteError` (the kernel's plain error: name, message, code,
 * stack and context fields) and come back as `cause`, rebuilt as an `Error`
 * with those fields.
 */
import { CodedError, fromPlainError, type PlainError } from '../lib/proof-system/kernel/errors.js';
import { optionMessage } from '../lib/proof-system/kernel/options.js';
import type { IsolateSnapshot } from './health.js';
import type { StopReason } from './pool-events.js';

export type ProverPoolErrorCode =
  | 'PROVER_POOL_INVALID_CONFIG'
  | 'PROVER_POOL_CLOSED'
  | 'PROVER_POOL_ADMISSION_REFUSED'
  | 'PROVER_POOL_UNKNOWN_JOB'
  | 'PROVER_POOL_JOB_ABORTED'
  | 'PROVER_POOL_JOB_TIMEOUT'
  | 'PROVER_POOL_INVALID_ARGUMENT'
  | 'PROVER_POOL_JOB_FAILED'
  | 'PROVER_POOL_ISOLATE_CRASHED'
  | 'PROVER_POOL_START_FAILED'
  | 'PROVER_POOL_REPLACEMENT_FAILED';

/** An error as it crosses from an isolate: plain, structured-cloneable data (kernel `toPlainError`). */
export type RemoteError = PlainError;

/** Base of every prover pool error: a stable `code`, and `cause` when it wraps one. */
export class ProverPoolError extends CodedError<ProverPoolErrorCode> {}

/** `PROVER_POOL_INVALID_CONFIG`: one option of createProverPool is out of range. */
export class ProverPoolConfigError extends ProverPoolError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    // The one message shape for every option (kernel/options.ts; tests check it by text).
    super('PROVER_POOL_INVALID_CONFIG', optionMessage('prover pool', field, value, expected));
  }
}

/** Where a job was when the pool closed under it or a caller aborted it. */
export type JobPhase = 'queued' | 'running';

/** `PROVER_POOL_CLOSED`: the pool is closing or closed; the job was not taken, or was cut off by close(). */
export class ProverPoolClosedError extends ProverPoolError {
  constructor(
    readonly phase: JobPhase | 'submitted',
    detail: string,
  ) {
    super(
      'PROVER_POOL_CLOSED',
      phase === 'submitted'
        ? `the prover pool is ${detail}: expected an open pool. Create a new pool to run more jobs.`
        : `the prover pool closed while this job was ${phase} (${detail}); expected close() to drain it. ` +
            `Give close() a longer timeoutMs, or finish your jobs before closing.`,
    );
  }
}

/** Why a job was refused at admission. */
export type AdmissionRefusal = 'queue-full' | 'memory-headroom' | 'no-isolate' | 'crash-loop';

/**
 * `PROVER_POOL_ADMISSION_REFUSED`: no isolate can take the job within its
 * limits: the queue is at maxQueuedJobs; or even a freshly warmed isolate
 * would have less than admissionHeadroomBytes of wasm memory left; or no
 * isolate is up or starting (their starts kept failing: `no-isolate`; their
 * isolates kept crashing and the slots' breakers opened: `crash-loop`).
 */
export class ProverPoolAdmissionError extends ProverPoolError {
  readonly kind: AdmissionRefusal;
  readonly jobName: string;
  /** memory-headroom: the headroom required; queue-full: maxQueuedJobs. */
  readonly needed: number | null;
  /** memory-headroom: what a fresh isolate has; queue-full: jobs queued. */
  readonly available: number | null;

  constructor(kind: AdmissionRefusal, jobName: string, message: string, numbers: { needed?: number; available?: number } = {}) {
    super('PROVER_POOL_ADMISSION_REFUSED', `refused job '${jobName}': ${message}`);
    this.kind = kind;
    this.jobName = jobName;
    this.needed = numbers.needed ?? null;
    this.available = numbers.available ?? null;
  }
}

/** `PROVER_POOL_UNKNOWN_JOB`: the proving module exports no job of that name. */
export class ProverPoolUnknownJobError extends ProverPoolError {
  constructor(
    readonly jobName: string,
    readonly known: readonly string[],
  ) {
    super(
      'PROVER_POOL_UNKNOWN_JOB',
      `the proving module has no job '${jobName}': expected one of ${known.map((n) => `'${n}'`).join(', ') || '(none)'} ` +
        '(the functions of its `jobs` export)',
    );
  }
}

/**
 * `PROVER_POOL_JOB_ABORTED`: the caller's AbortSignal fired. A queued job was
 * removed from the queue and never ran; a running job's isolate was
 * terminated (the only way to stop a running proof) and a replacement started.
 */
export class ProverPoolAbortError extends ProverPoolError {
  constructor(
    readonly phase: JobPhase,
    readonly isolateId: number | null,
    reason: unknown,
  ) {
    super(
      'PROVER_POOL_JOB_ABORTED',
      phase === 'queued'
        ? 'the job was aborted by its signal while queued: it never ran'
        : `the job was aborted by its signal while running on isolate ${isolateId}: the isolate was terminated ` +
            '(the only way to stop a running proof) and a replacement is starting',
      reason,
    );
  }
}

/**
 * `PROVER_POOL_JOB_TIMEOUT`: the job's deadline (`run()`'s `timeoutMs`, or the
 * pool's `jobTimeoutMs`, counted from `run()`) passed. A queued job left the
 * queue and never ran; a running job's isolate was terminated (the only way
 * to stop a running proof, or to get past an isolate that went silent) and a
 * replacement started. The job is rejected once that isolate is stopped.
 */
export class ProverPoolTimeoutError extends ProverPoolError {
  constructor(
    readonly phase: JobPhase,
    readonly jobName: string,
    readonly timeoutMs: number,
    readonly isolateId: number | null,
  ) {
    super(
      'PROVER_POOL_JOB_TIMEOUT',
      phase === 'queued'
        ? `job '${jobName}' did not start within its deadline of ${timeoutMs} ms: it left the queue and never ran. ` +
            'Give it a longer timeoutMs, or add isolates.'
        : `job '${jobName}' did not end within its deadline of ${timeoutMs} ms: isolate ${isolateId} was terminated ` +
            '(the only way to stop a running proof) and a replacement is starting. Give it a longer timeoutMs if the job needs it.',
    );
  }
}

/**
 * `PROVER_POOL_INVALID_ARGUMENT`: a job's arguments cannot be sent to an
 * isolate (they are not structured-cloneable: a function, a class instance
 * with methods, a symbol…). Refused at `run()`; nothing was queued. `cause`
 * is the DataCloneError.
 */
export class ProverPoolArgumentError extends ProverPoolError {
  constructor(
    readonly jobName: string,
    cause: unknown,
  ) {
    super(
      'PROVER_POOL_INVALID_ARGUMENT',
      `the arguments of job '${jobName}' cannot be sent to an isolate (${cause instanceof Error ? cause.message : String(cause)}): ` +
        'expected structured-cloneable data (plain objects, arrays, strings, numbers, typed arrays, Maps; no functions or class instances). ' +
        'Pass proofs and keys as JSON.',
      cause,
    );
  }
}

/**
 * `PROVER_POOL_JOB_FAILED`: the job's function threw inside the isolate (a
 * bug, bad arguments, a wasm out-of-memory error the instance survived). The
 * isolate keeps serving. `remote` holds the error as it was thrown there.
 */
export class ProverPoolJobError extends ProverPoolError {
  constructor(
    readonly jobName: string,
    readonly isolateId: number,
    /** The error as it was thrown inside the isolate. */
    readonly remote: RemoteError,
  ) {
    super(
      'PROVER_POOL_JOB_FAILED',
      `job '${jobName}' failed in isolate ${isolateId}: ${remote.name}${remote.code ? ` [${remote.code}]` : ''}: ${remote.message}`,
      fromPlainError(remote),
    );
  }
}

/** How an isolate was lost. */
export type IsolateCrashKind =
  /** The thread ended (process.exit in the isolate, an uncaught error, a V8 heap out-of-memory). */
  | 'exit'
  /** An uncaught error in a Web Worker (browsers keep the worker; the pool terminates it). */
  | 'error'
  /** A message from the isolate could not be deserialized. */
  | 'messageerror'
  /** The isolate's wasm instance trapped (a trap, or an out-of-memory trap): no call into it can succeed again. */
  | 'instance-terminated'
  /** It posted a malformed message on the pool's private channel (an unknown type, a wrong token, a missing field). */
  | 'protocol';

/**
 * `PROVER_POOL_ISOLATE_CRASHED`: the isolate running the job died or its
 * instance trapped; the job's result is lost. Only this job failed: a
 * replacement isolate is starting, other isolates are untouched.
 */
export class ProverPoolCrashError extends ProverPoolError {
  readonly kind: IsolateCrashKind;
  readonly isolateId: number;
  readonly jobName: string | null;
  readonly exitCode: number | null;
  /** The isolate's last health snapshot, taken after its previous job or warm-up. */
  readonly lastSnapshot: IsolateSnapshot | null;

  constructor(
    kind: IsolateCrashKind,
    context: { isolateId: number; jobName: string | null; exitCode?: number | null; lastSnapshot: IsolateSnapshot | null; detail: string; cause?: unknown },
  ) {
    super(
      'PROVER_POOL_ISOLATE_CRASHED',
      `isolate ${context.isolateId} was lost (${kind}: ${context.detail})` +
        (context.jobName !== null ? ` while running job '${context.jobName}': the job's result is lost; retry it` : '') +
        '. Its slot is refilled (after a backoff if it keeps crashing, given up past maxCrashes); other isolates are untouched.',
      context.cause,
    );
    this.kind = kind;
    this.isolateId = context.isolateId;
    this.jobName = context.jobName;
    this.exitCode = context.exitCode ?? null;
    this.lastSnapshot = context.lastSnapshot;
  }
}

/** Which step of an isolate's start failed. */
export type StartStage = 'spawn' | 'load' | 'warm' | 'timeout' | 'exit' | 'protocol' | 'module-changed';

/**
 * `PROVER_POOL_START_FAILED`: an isolate did not become ready: the module did
 * not load, its warm step threw, it died, it was not ready within
 * startTimeoutMs, it posted a malformed message (`protocol`), or its module is
 * not the one the pool serves (`module-changed`: the file changed on disk, or
 * it exports other jobs).
 */
export class ProverPoolStartError extends ProverPoolError {
  constructor(
    readonly stage: StartStage,
    readonly isolateId: number,
    detail: string,
    cause?: unknown,
  ) {
    super(
      'PROVER_POOL_START_FAILED',
      `isolate ${isolateId} failed to start (${stage}: ${detail}); ` +
        (stage === 'module-changed'
          ? 'expected the module the pool started with: the pool keeps serving it with its other isolates. Create a new pool to deploy a new version.'
          : 'expected it to load the proving module and finish its warm step. Check the module path, that it imports a patched o1js, and the warm job.'),
      cause,
    );
  }
}

/** How an isolate went before its replacement completed (a pool's close rejects with PROVER_POOL_CLOSED instead). */
export type ReplacementLoss = Exclude<StopReason, 'closed'>;

/**
 * `PROVER_POOL_REPLACEMENT_FAILED`: replaceIsolate()'s isolate went before its
 * successor served: it crashed, or a job on it was aborted or passed its
 * deadline (which stops an isolate). `cause` is that isolate's loss or that
 * job's error (another caller's: this replacement did not fail of it). Its
 * slot is refilled as after any such loss; a successor already warming takes
 * the slot.
 */
export class ProverPoolReplacementError extends ProverPoolError {
  constructor(
    readonly isolateId: number,
    readonly loss: ReplacementLoss,
    cause?: unknown,
  ) {
    const how = {
      crashed: 'was lost (it crashed) before its successor served',
      'instance-terminated': 'was lost (its wasm instance trapped) before its successor served',
      aborted: 'was stopped: a job on it was aborted by its signal before its successor served',
      'timed-out': 'was stopped: a job on it passed its deadline before its successor served',
      idle: 'was stopped by idle scale-down before its successor served',
      // Stop-then-start (limits.rssBudgetBytes): the isolate stopped first, then its successor did not start.
      'start-failed': 'stopped first (limits.rssBudgetBytes allows one instance at a time), and its successor failed to start',
      replaced: 'was stopped without a successor',
    }[loss];
    super(
      'PROVER_POOL_REPLACEMENT_FAILED',
      `the replacement of isolate ${isolateId} did not complete: the isolate ${how}. ` +
        'Its slot is refilled as after any such loss: call replaceIsolate() again if you need a particular isolate replaced.',
      cause,
    );
  }
}
