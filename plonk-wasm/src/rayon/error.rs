//! The pool's errors: a stable `code` to branch on and a message that says what
//! happened, what was expected, and what to do.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolError {
    NotInitialized,
    AlreadyInitialized { generation: u64, threads: usize },
    Starting { generation: u64 },
    Exiting,
    Rebuilding { generation: u64 },
    Poisoned { generation: u64, reason: String },
    InvalidThreadCount { value: String },
    UnknownReceiver { value: u32 },
    StartFailed { generation: u64, message: String },
    WorkerLost { generation: u64, reason: String },
}

impl PoolError {
    /// Stable identifier, also exposed to JS as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            PoolError::NotInitialized => "POOL_NOT_INITIALIZED",
            PoolError::AlreadyInitialized { .. } => "POOL_ALREADY_INITIALIZED",
            PoolError::Starting { .. } => "POOL_STARTING",
            PoolError::Exiting => "POOL_EXITING",
            PoolError::Rebuilding { .. } => "POOL_REBUILDING",
            PoolError::Poisoned { .. } => "POOL_POISONED",
            PoolError::InvalidThreadCount { .. } => "POOL_INVALID_THREAD_COUNT",
            PoolError::UnknownReceiver { .. } => "POOL_UNKNOWN_RECEIVER",
            PoolError::StartFailed { .. } => "POOL_START_FAILED",
            PoolError::WorkerLost { .. } => "POOL_WORKER_LOST",
        }
    }
}

/// Largest pool we accept: far above any real machine, low enough to catch a
/// byte count or a negative number passed by mistake.
pub const MAX_THREADS: usize = 256;

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::NotInitialized => write!(
                f,
                "the thread pool is not initialized; call initThreadPool(numThreads) first"
            ),
            PoolError::AlreadyInitialized { generation, threads } => write!(
                f,
                "the thread pool is already running (generation {}, {} threads); \
                 call recycleThreadPool() to replace it or exitThreadPool() before initThreadPool()",
                generation, threads
            ),
            PoolError::Starting { generation } => write!(
                f,
                "the thread pool is still starting (generation {}); await initThreadPool() before this call",
                generation
            ),
            PoolError::Exiting => write!(
                f,
                "the thread pool is shutting down; await exitThreadPool(), then call initThreadPool() again"
            ),
            PoolError::Rebuilding { generation } => write!(
                f,
                "the thread pool is being rebuilt after a worker died (new generation {}); \
                 await the pending recycleThreadPool() and retry",
                generation
            ),
            PoolError::Poisoned { generation, reason } => write!(
                f,
                "thread pool generation {} is poisoned: {}; call recycleThreadPool() to rebuild it",
                generation, reason
            ),
            PoolError::InvalidThreadCount { value } => write!(
                f,
                "invalid thread count {}: expected a whole number from 1 to {}",
                value, MAX_THREADS
            ),
            PoolError::UnknownReceiver { value } => write!(
                f,
                "wbg_rayon_start_worker got receiver {}, which is not a live PoolBuilder receiver; \
                 pass the value of builder.receiver() from the startWorkers call being served",
                value
            ),
            PoolError::StartFailed { generation, message } => write!(
                f,
                "starting thread pool generation {} failed: {}",
                generation, message
            ),
            PoolError::WorkerLost { generation, reason } => write!(
                f,
                "a worker of thread pool generation {} died while this job ran ({}), and the job \
                 stopped making progress; its result is lost. The generation is poisoned: \
                 recycleThreadPool() rebuilds it (the pool health coordinator does so before the next job)",
                generation, reason
            ),
        }
    }
}

impl std::error::Error for PoolError {}

impl PoolError {
    /// The message with its code in front, as `run_in_pool` panics with it:
    /// `plonk-wasm [POOL_POISONED] thread pool generation 3 is poisoned: …`.
    /// JS backends recognise the code by the `plonk-wasm [CODE]` prefix.
    pub fn tagged(&self) -> String {
        format!("plonk-wasm [{}] {}", self.code(), self)
    }
}

/// Validates a thread count coming from JS (a float there).
pub fn validate_thread_count(value: f64) -> Result<usize, PoolError> {
    let whole = value.fract() == 0.0;
    if value.is_finite() && whole && value >= 1.0 && value <= MAX_THREADS as f64 {
        Ok(value as usize)
    } else {
        Err(PoolError::InvalidThreadCount {
            value: format!("{}", value),
        })
    }
}
