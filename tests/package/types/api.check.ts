// Type-level checks of the package's public API, compiled (never run) inside
// the npm app against the installed package's declarations
// (tests/package/types.test.js). Each @ts-expect-error fails the compile if
// the line below it stops being an error; each `expectType` fails it if a type
// is not exactly the one named (e.g. because it became `any` or `unknown`).
import * as o1js from 'o1js';
import {
  poolHealth,
  recycleThreadPool,
  configurePoolHealth,
  configureThreadPool,
  poolHealthCoordinator,
  workerHost,
  withThreadPool,
  openPoolHealthPort,
  poolHealthReader,
  loadPoolBackend,
  PoolMemoryError,
  type PoolHealth,
  type RecycleReport,
  type PoolHealthCoordinator,
  type ThreadPoolSettings,
  type WorkerSummary,
  type PoolBackendApi,
} from 'o1js/pool';
import { createProverPool, ProverPool, ProverPoolError, type ProverPoolHealth, type ProverPoolErrorCode, type JobContext } from 'o1js/isolates';
import type * as Prover from './prover-module.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** `expectType<T>()(value)` compiles only when value's type is exactly T (the extra argument it then asks for names both). */
function expectType<T>() {
  return <U>(value: U, ..._mismatch: Equal<T, U> extends true ? [] : ['expected', T, 'got', U]) => value;
}

export async function pool(): Promise<void> {
  // One shape on Node and in browsers: a Promise of the health.
  const health = await poolHealth();
  expectType<PoolHealth>()(health);
  expectType<Promise<PoolHealth>>()(poolHealth());
  expectType<number>()(health.memory.allocatorLiveBytes);
  // @ts-expect-error: the health has no such field
  health.noSuchField;
  // @ts-expect-error: not a value: a Promise
  poolHealth().state;

  expectType<RecycleReport>()(await recycleThreadPool({ threads: 2 }));
  // @ts-expect-error: recycle options are typed
  await recycleThreadPool({ threads: 'two' });

  const coordinator = configurePoolHealth({ maxAllocatorLiveBytes: 2 ** 30, cooldownMs: 1_000 });
  expectType<PoolHealthCoordinator>()(coordinator);
  expectType<PoolHealthCoordinator>()(poolHealthCoordinator());
  // @ts-expect-error: coordinator options are typed
  configurePoolHealth({ maxAllocatorLiveBytes: 'a lot' });
  coordinator.on('recycle', ({ report, decision }) => {
    expectType<RecycleReport>()(report);
    expectType<string>()(decision.reason);
  });

  const settings = configureThreadPool({ lifetime: 'process', startTimeoutMs: 60_000 });
  expectType<ThreadPoolSettings>()(settings);
  // @ts-expect-error: a lifetime is one of two words
  configureThreadPool({ lifetime: 'forever' });

  expectType<WorkerSummary[]>()(await workerHost().list());
  const answer = await withThreadPool()(async () => 42);
  expectType<number>()(answer);
  expectType<'none' | 'initializing' | 'running' | 'recycling' | 'exiting'>()(withThreadPool().state());

  const port = await openPoolHealthPort();
  expectType<PoolHealth>()(await poolHealthReader(port)());
  expectType<PoolBackendApi>()(await loadPoolBackend());

  try {
    await recycleThreadPool();
  } catch (error) {
    if (error instanceof PoolMemoryError) expectType<'admission-refused' | 'job-out-of-memory'>()(error.kind);
  }
  o1js.setNumberOfWorkers(2);
}

export async function isolates(): Promise<void> {
  const prover = await createProverPool<typeof Prover.jobs>({ module: new URL('./prover-module.js', import.meta.url), isolates: 2 });
  expectType<ProverPool<typeof Prover.jobs>>()(prover);

  // run() takes the job's own argument type and resolves with its own result type.
  const proved = await prover.run('prove', { x: 1, y: 2 });
  expectType<{ proof: string; output: string }>()(proved);
  expectType<number>()(await prover.run('count'));
  expectType<string>()(await prover.run('name', undefined, { signal: AbortSignal.timeout(1_000) }));
  expectType<string>()(await prover.run('name', undefined, { timeoutMs: 60_000 }));
  expectType<string>()(await prover.metrics());
  // @ts-expect-error: no such job
  await prover.run('noSuchJob', {});
  // @ts-expect-error: the argument is { x, y }
  await prover.run('prove', { x: 1 });
  // @ts-expect-error: the argument is required
  await prover.run('prove');
  // @ts-expect-error: a job without parameters takes no argument
  await prover.run('count', { x: 1 });

  const health = await prover.health();
  expectType<ProverPoolHealth>()(health);
  expectType<number | null>()(health.processRssBytes);
  prover.on('job-end', ({ outcome, runMs }) => {
    expectType<'completed' | 'failed' | 'crashed' | 'aborted' | 'timed-out' | 'refused' | 'closed'>()(outcome);
    expectType<number | null>()(runMs);
  });
  {
    // `await using`: closed when the scope ends.
    await using scoped = await createProverPool<typeof Prover.jobs>({ module: './prover-module.js' });
    expectType<number>()(await scoped.run('count'));
  }
  try {
    await prover.close();
  } catch (error) {
    if (error instanceof ProverPoolError) expectType<ProverPoolErrorCode>()(error.code);
  }
}

export type { JobContext };
