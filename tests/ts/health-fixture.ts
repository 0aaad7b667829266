// Builds PoolHealth snapshots for tests: a healthy running pool, with overrides.
import type { PoolHealth, PoolMemoryHealth } from '../../bindings-js/lib/proof-system/pool-health.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

type HealthOverrides = Partial<Omit<PoolHealth, 'memory'>> & { memory?: Partial<PoolMemoryHealth> };

export function healthWith(overrides: HealthOverrides = {}): PoolHealth {
  const { memory, ...rest } = overrides;
  return {
    state: 'running',
    generation: 1,
    threads: 4,
    inFlight: 0,
    jobsCompleted: 0,
    jobsFailed: 0,
    inlineJobs: 0,
    generationJobs: 0,
    generationAgeMs: 1_000,
    recycles: 0,
    recycle: null,
    poisoned: null,
    standby: null,
    workers: [],
    timestampMs: 1_700_000_000_000,
    ...rest,
    memory: {
      linearBytes: 1 * GiB,
      linearMaxBytes: 4 * GiB,
      allocatorLiveBytes: 512 * MiB,
      allocatorPeakBytes: 600 * MiB,
      allocations: 100,
      failedAllocations: 0,
      largestFailedRequestBytes: 0,
      softLimitBytes: null,
      ...memory,
    },
  };
}

/** A memory state at `fraction` of a 4 GiB maximum, with little live data (no admission refusal). */
export function linearFraction(fraction: number): Partial<PoolMemoryHealth> {
  return { linearBytes: Math.round(fraction * 4 * GiB), linearMaxBytes: 4 * GiB, allocatorLiveBytes: 256 * MiB };
}
