//! What the pool's operations report: the start, recycle and exit reports
//! and how a generation's workers left. Serialized to JS with serde's
//! JSON-compatible serializer (an absent `Option` is `null`); their
//! TypeScript mirror is generated from these definitions (see `abi`).

use super::abi::abi;
use serde::Serialize;

abi! {
    /// How a generation's workers left when it was stopped.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct WorkerExit {
        /// Workers that left on their own after destroying their thread state.
        pub exited: usize,
        /// Workers stopped by force after the bound (their stacks leak unless reclaimed).
        pub forced: usize,
        /// Workers that ended without destroying their thread state (stopped by
        /// force, or lost) whose stack and TLS block the host freed for them once
        /// their thread was gone.
        pub reclaimed: usize,
    }
}

abi! {
    /// What `initThreadPool()` resolves with.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct StartReport {
        pub generation: u64,
        pub threads: usize,
        pub start_ms: f64,
    }
}

abi! {
    /// How a generation that no longer serves was retired.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Retirement {
        pub generation: u64,
        /// Its jobs finished.
        pub drain_ms: f64,
        /// Its workers left and were stopped.
        pub exit_ms: f64,
        /// Jobs still running on it when the drain bound passed (it is then left to them).
        pub jobs_abandoned: usize,
        pub workers: WorkerExit,
        /// Allocator live bytes before the exit phase minus after it: the workers'
        /// TLS blocks and what else they freed (their stacks stay set aside for
        /// the next workers, and count as live).
        pub allocator_bytes_released: i64,
    }
}

abi! {
    /// What `recycleThreadPool()` resolves with.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RecycleReport {
        pub from_generation: u64,
        pub to_generation: u64,
        pub threads: usize,
        /// `"requested"`, or `"poisoned"` for a rebuild after a worker died.
        @ts("RecycleCause")
        pub cause: &'static str,
        /// The new generation was up (the old one served meanwhile).
        pub start_ms: f64,
        /// The old generation's jobs finished.
        pub drain_ms: f64,
        /// The old workers left and were stopped.
        pub exit_ms: f64,
        pub total_ms: f64,
        /// Jobs still running at the drain bound (the old generation is left to them).
        pub jobs_abandoned: usize,
        pub workers: WorkerExit,
        /// Allocator live bytes before the exit phase minus after.
        pub allocator_bytes_released: i64,
        pub linear_memory_bytes: Option<u64>,
        /// True when the new generation was the standby, started ahead: the
        /// recycle only swapped (`start_ms` is then the swap).
        pub standby: bool,
        /// True when this request joined a recycle that was already in progress.
        pub joined: bool,
    }
}

abi! {
    /// What `exitThreadPool()` resolves with.
    #[derive(Clone, Debug, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ExitReport {
        /// `null` when there was no pool to exit (a second exit is a no-op).
        pub retirement: Option<Retirement>,
    }
}
