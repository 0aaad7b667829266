//! `poolHealth()`: a plain snapshot of the pool, cheap enough to take before
//! every job. Its TypeScript mirror is generated from these definitions (see
//! `abi`); docs/api.md's "Health fields" says what each field means.

use super::abi::abi;
use super::lifecycle::{Lifecycle, NewGeneration, RecycleCause, Standby};
use super::state::{self, workers_left};
use super::telemetry::{self, ALLOCATOR};
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;

abi! {
    /// `poolHealth()`: a plain snapshot, cheap enough to take before every job.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PoolHealth {
        @ts("PoolLifecycleState")
        pub state: &'static str,
        /// The generation that takes new jobs (`null` when none does).
        pub generation: Option<u64>,
        pub threads: usize,
        /// Jobs running now, on any generation.
        pub in_flight: usize,
        /// Jobs finished since the instance started.
        pub jobs_completed: u64,
        /// Panicked or out of memory.
        pub jobs_failed: u64,
        /// Jobs run inline on the calling thread because there was no pool
        /// (before initThreadPool, after exitThreadPool), as upstream runs
        /// them; not counted in the other job fields.
        pub inline_jobs: u64,
        /// Jobs finished on the serving generation.
        pub generation_jobs: u64,
        pub generation_age_ms: u64,
        /// Completed recycles.
        pub recycles: u64,
        pub recycle: Option<RecycleProgress>,
        pub poisoned: Option<Poisoning>,
        /// The generation started ahead for the next recycle (`null` when
        /// there is none: standby off, or being replaced after a recycle).
        pub standby: Option<StandbyHealth>,
        pub memory: MemoryHealth,
        pub workers: Vec<WorkerHealth>,
        /// When the snapshot was taken (epoch ms).
        pub timestamp_ms: u64,
    }
}

abi! {
    /// Present during a recycle.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RecycleProgress {
        pub from_generation: u64,
        pub to_generation: u64,
        /// `starting`: the old generation still serves; `retiring`: the new one serves.
        @ts("'starting' | 'retiring'")
        pub phase: &'static str,
        @ts("RecycleCause")
        pub cause: &'static str,
    }
}

abi! {
    /// Present when a worker of the generation died.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Poisoning {
        pub generation: u64,
        pub reason: String,
    }
}

abi! {
    /// The standby generation: its workers started and parked, serving no job
    /// until a recycle swaps it in.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct StandbyHealth {
        pub generation: u64,
        pub threads: usize,
        /// `starting`: its workers are being started; `ready`: a recycle only swaps.
        @ts("'starting' | 'ready'")
        pub phase: &'static str,
    }
}

abi! {
    /// Linear memory and the allocator's counters.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct MemoryHealth {
        /// Wasm linear memory size; never shrinks. `null` natively.
        pub linear_bytes: Option<u64>,
        /// The linear memory maximum. `null` natively.
        pub linear_max_bytes: Option<u64>,
        /// Bytes handed out by the allocator and not returned.
        pub allocator_live_bytes: u64,
        pub allocator_peak_bytes: u64,
        pub allocations: u64,
        pub failed_allocations: u64,
        pub largest_failed_request_bytes: u64,
        /// Soft limit on live bytes, if one is set (tests use it to force out-of-memory).
        pub soft_limit_bytes: Option<u64>,
    }
}

abi! {
    /// One worker, as its telemetry slot reports it.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct WorkerHealth {
        /// Rayon's index of the worker in its generation (`null` while it starts).
        pub index: Option<u32>,
        pub generation: u64,
        @ts("'starting' | 'running' | 'exited'")
        pub state: &'static str,
        /// Top-level jobs started on this worker.
        pub jobs: u64,
        /// Bytes this worker allocated since it started (frees are not
        /// attributed: memory is often freed by another thread than its owner).
        pub allocated_bytes: u64,
        /// Epoch ms of the worker's last job start or state change.
        pub last_activity_ms: u64,
    }
}

pub fn health() -> PoolHealth {
    let (state, serving, recycle, poisoned, standby, in_flight) = {
        let guarded = state::guarded();
        let lifecycle = &guarded.lifecycle;
        let serving = lifecycle.serving().ok().cloned();
        let recycle = match lifecycle {
            Lifecycle::Recycling { old, new, cause } => Some(RecycleProgress {
                from_generation: old.number,
                to_generation: match new {
                    NewGeneration::Starting { pending } => pending.number,
                    NewGeneration::Serving(g) => g.number,
                },
                phase: match new {
                    NewGeneration::Starting { .. } => "starting",
                    NewGeneration::Serving(_) => "retiring",
                },
                cause: match cause {
                    RecycleCause::Requested => "requested",
                    RecycleCause::Poisoned { .. } => "poisoned",
                },
            }),
            _ => None,
        };
        let poisoned = match lifecycle {
            Lifecycle::Poisoned { dead, reason, .. } => Some(Poisoning {
                generation: dead.number,
                reason: reason.clone(),
            }),
            _ => None,
        };
        let standby = match lifecycle.standby() {
            Some(Standby::Starting { pending }) => Some(StandbyHealth {
                generation: pending.number,
                threads: pending.threads,
                phase: "starting",
            }),
            Some(Standby::Ready(ready)) => Some(StandbyHealth {
                generation: ready.number,
                threads: ready.threads,
                phase: "ready",
            }),
            _ => None,
        };
        let in_flight = lifecycle
            .generations()
            .into_iter()
            .chain(guarded.abandoned.iter())
            .map(|g| g.in_flight())
            .sum();
        // Workers of abandoned generations leave the report as soon as they
        // left; the next operation stops them (see `sweep_abandoned`).
        for abandoned in guarded.abandoned.iter().filter(|g| workers_left(g)) {
            telemetry::release_exited_slots(abandoned.number);
        }
        (
            lifecycle.name(),
            serving,
            recycle,
            poisoned,
            standby,
            in_flight,
        )
    };
    let now = telemetry::now_ms();
    let limit = ALLOCATOR.limit_bytes.load(Relaxed);
    PoolHealth {
        state,
        generation: serving.as_ref().map(|g| g.number),
        threads: serving.as_ref().map_or(0, |g| g.threads),
        in_flight,
        jobs_completed: telemetry::JOBS.completed.load(Relaxed),
        jobs_failed: telemetry::JOBS.failed.load(Relaxed),
        inline_jobs: telemetry::JOBS.inline.load(Relaxed),
        generation_jobs: serving
            .as_ref()
            .map_or(0, |g| g.jobs_completed() + g.jobs_failed()),
        generation_age_ms: serving
            .as_ref()
            .map_or(0, |g| now.saturating_sub(g.started_at_ms)),
        recycles: state::recycles(),
        recycle,
        poisoned,
        standby,
        memory: MemoryHealth {
            linear_bytes: telemetry::linear_memory_bytes(),
            linear_max_bytes: telemetry::linear_memory_max_bytes(),
            allocator_live_bytes: ALLOCATOR.live_bytes.load(Relaxed),
            allocator_peak_bytes: ALLOCATOR.peak_live_bytes.load(Relaxed),
            allocations: ALLOCATOR.allocations.load(Relaxed),
            failed_allocations: ALLOCATOR.failed_allocations.load(Relaxed),
            largest_failed_request_bytes: ALLOCATOR.largest_failed_request_bytes.load(Relaxed),
            soft_limit_bytes: if limit == 0 { None } else { Some(limit) },
        },
        workers: telemetry::worker_snapshots()
            .into_iter()
            .map(|w| WorkerHealth {
                index: w.index,
                generation: w.generation,
                state: w.state.name(),
                jobs: w.jobs,
                allocated_bytes: w.allocated_bytes,
                last_activity_ms: w.last_activity_ms,
            })
            .collect(),
        timestamp_ms: now,
    }
}
