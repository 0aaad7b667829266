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

/// `code` for a bad argument of an export.
pub const INVALID_ARGUMENT: &str = "POOL_INVALID_ARGUMENT";
/// `code` for a bad option in an options object.
pub const INVALID_CONFIG: &str = "POOL_INVALID_CONFIG";
/// `code` for a bad thread count, argument or option (kept from upstream's API).
pub const INVALID_THREAD_COUNT: &str = "POOL_INVALID_THREAD_COUNT";
/// `code` of a job that ran out of memory (see `oom`).
pub const OUT_OF_MEMORY: &str = "OUT_OF_MEMORY";
/// `code` of a job that panicked.
pub const JOB_PANICKED: &str = "POOL_JOB_PANICKED";

/// Every code the wasm puts on an error it throws: the [`PoolError`] codes,
/// the argument checks' and the failed jobs'. The JS side's list is generated
/// from this one (see `abi`); the test below keeps this one complete.
pub const WASM_ERROR_CODES: [&str; 14] = [
    "POOL_NOT_INITIALIZED",
    "POOL_ALREADY_INITIALIZED",
    "POOL_STARTING",
    "POOL_EXITING",
    "POOL_REBUILDING",
    "POOL_POISONED",
    INVALID_THREAD_COUNT,
    "POOL_UNKNOWN_RECEIVER",
    "POOL_START_FAILED",
    "POOL_WORKER_LOST",
    INVALID_ARGUMENT,
    INVALID_CONFIG,
    OUT_OF_MEMORY,
    JOB_PANICKED,
];

impl PoolError {
    /// The message with its code in front, as `run_in_pool` panics with it:
    /// `plonk-wasm [POOL_POISONED] thread pool generation 3 is poisoned: …`.
    /// JS backends recognise the code by the `plonk-wasm [CODE]` prefix.
    pub fn tagged(&self) -> String {
        format!("plonk-wasm [{}] {}", self.code(), self)
    }
}

/// A JS `Error` with a `code` property callers can branch on.
#[cfg(target_arch = "wasm32")]
pub fn js_error(code: &str, message: &str) -> wasm_bindgen::JsValue {
    use wasm_bindgen::JsValue;
    let error = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code));
    error.into()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of each kind: a new variant fails to compile here until it
    /// is added, and then the test below asks for its code in the list.
    fn one_of_each() -> Vec<PoolError> {
        let all = vec![
            PoolError::NotInitialized,
            PoolError::AlreadyInitialized {
                generation: 1,
                threads: 2,
            },
            PoolError::Starting { generation: 1 },
            PoolError::Exiting,
            PoolError::Rebuilding { generation: 2 },
            PoolError::Poisoned {
                generation: 1,
                reason: "r".into(),
            },
            PoolError::InvalidThreadCount { value: "0".into() },
            PoolError::UnknownReceiver { value: 7 },
            PoolError::StartFailed {
                generation: 1,
                message: "m".into(),
            },
            PoolError::WorkerLost {
                generation: 1,
                reason: "r".into(),
            },
        ];
        for error in &all {
            match error {
                PoolError::NotInitialized
                | PoolError::AlreadyInitialized { .. }
                | PoolError::Starting { .. }
                | PoolError::Exiting
                | PoolError::Rebuilding { .. }
                | PoolError::Poisoned { .. }
                | PoolError::InvalidThreadCount { .. }
                | PoolError::UnknownReceiver { .. }
                | PoolError::StartFailed { .. }
                | PoolError::WorkerLost { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_code_the_wasm_throws_is_listed_once() {
        let mut codes: Vec<&str> = one_of_each().iter().map(PoolError::code).collect();
        codes.extend([
            INVALID_ARGUMENT,
            INVALID_CONFIG,
            OUT_OF_MEMORY,
            JOB_PANICKED,
        ]);
        for code in &codes {
            assert!(
                WASM_ERROR_CODES.contains(code),
                "{} is missing from WASM_ERROR_CODES",
                code
            );
        }
        let mut listed = WASM_ERROR_CODES.to_vec();
        listed.sort_unstable();
        listed.dedup();
        assert_eq!(
            listed.len(),
            WASM_ERROR_CODES.len(),
            "a code is listed twice"
        );
        assert_eq!(
            WASM_ERROR_CODES.len(),
            codes.len(),
            "WASM_ERROR_CODES lists a code nothing throws"
        );
    }

    #[test]
    fn the_failed_job_prefixes_carry_their_codes() {
        assert!(crate::rayon::oom::OUT_OF_MEMORY_PREFIX
            .starts_with(&format!("plonk-wasm [{}]", OUT_OF_MEMORY)));
    }
}
