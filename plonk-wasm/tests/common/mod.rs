//! Helpers shared by the native integration tests. Each test file is its own
//! process with its own global pool; tests inside a file take `serial()`.

#![allow(dead_code)]

use plonk_wasm::rayon::native::{
    delay_worker_starts_for_tests, exit_thread_pool, init_thread_pool,
};
use plonk_wasm::rayon::{health, RetireOptions};
use std::panic::resume_unwind;
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs one test at a time against the process-wide pool.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Leaves the pool running with `threads` workers, whatever it was before.
pub fn fresh_pool(threads: usize) {
    exit_thread_pool(RetireOptions::default()).expect("exit before a fresh pool");
    init_thread_pool(threads).expect("init a fresh pool");
    assert_eq!(health().state, "running");
}

/// Waits for `condition`, failing with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {:?} waiting until {}",
            timeout,
            what
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Proof bytes as the snapshot stores them: hex, 64 characters a line.
pub fn hex_lines(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{:02x}", b)).collect();
    hex.as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Bound for every wait in these tests: generous, the machines are noisy.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// How long each worker start takes under [`slow_starts`]: long enough for a
/// test to act while a pool is starting.
pub const SLOW_START_MS: u64 = 300;

/// Slows every worker start down until dropped, even if the test panics.
pub struct SlowStarts;

pub fn slow_starts() -> SlowStarts {
    delay_worker_starts_for_tests(SLOW_START_MS);
    SlowStarts
}

impl Drop for SlowStarts {
    fn drop(&mut self) {
        delay_worker_starts_for_tests(0);
    }
}

/// Waits (bounded) for a thread to finish and returns its result; a panic on
/// the thread goes on in the test.
pub fn join_within<T>(what: &str, handle: JoinHandle<T>) -> T {
    wait_until(what, TIMEOUT, || handle.is_finished());
    handle
        .join()
        .unwrap_or_else(|payload| resume_unwind(payload))
}
