//! The pool on std threads: what `cargo test` runs. Every step of the
//! [`Host`] blocks, so the async flows complete in one poll.

use super::error::{PoolError, MAX_THREADS};
use super::flows::{self, Host};
use super::generation::{lock, Generation, PendingGeneration, RetireOptions};
use super::report::{ExitReport, RecycleReport, StartReport, WorkerExit};
use super::state;
use super::worker::run_worker;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

struct NativeHost;

static THREADS: Mutex<Vec<(u64, JoinHandle<()>)>> = Mutex::new(Vec::new());

/// Extra time each worker start takes, so tests can act while a pool starts.
static START_DELAY_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Fault injection for tests: makes every later worker start take `ms` longer.
#[doc(hidden)]
pub fn delay_worker_starts_for_tests(ms: u64) {
    START_DELAY_MS.store(ms, std::sync::atomic::Ordering::Relaxed);
}

/// For tests: how many worker threads of `generation` the host still holds,
/// started and not yet joined.
#[doc(hidden)]
pub fn worker_threads_for_tests(generation: u64) -> usize {
    lock(&THREADS)
        .iter()
        .filter(|(g, _)| *g == generation)
        .count()
}

impl Host for NativeHost {
    async fn start_workers(&self, pending: &Arc<PendingGeneration>) -> Result<(), String> {
        let delay = START_DELAY_MS.load(std::sync::atomic::Ordering::Relaxed);
        if delay > 0 {
            thread::sleep(Duration::from_millis(delay));
        }
        for index in 0..pending.threads {
            let inbox = pending.inbox.clone();
            let handle = thread::Builder::new()
                .name(format!("plonk-wasm-g{}-w{}", pending.number, index))
                .spawn(move || run_worker(&inbox, Some(index)))
                .map_err(|error| format!("spawning worker {}: {}", index, error))?;
            lock(&THREADS).push((pending.number, handle));
        }
        pending.build()
    }

    async fn stop_workers(&self, generation: u64, timeout_ms: u64) -> WorkerExit {
        let handles: Vec<JoinHandle<()>> = {
            let mut threads = lock(&THREADS);
            let (mine, others) = threads.drain(..).partition(|(g, _)| *g == generation);
            *threads = others;
            mine.into_iter().map(|(_, handle)| handle).collect()
        };
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        while handles.iter().any(|h| !h.is_finished()) && Instant::now() < deadline {
            thread::sleep(Duration::from_micros(200));
        }
        let mut exit = WorkerExit::default();
        for handle in handles {
            if handle.is_finished() {
                let _ = handle.join();
                exit.exited += 1;
            } else {
                // A std thread cannot be killed: it is detached and counted.
                exit.forced += 1;
            }
        }
        exit
    }

    async fn drain(&self, generation: &Generation, timeout_ms: u64) -> usize {
        generation.wait_idle(Duration::from_millis(timeout_ms))
    }

    async fn pause(&self, ms: u64) {
        state::wait_for_change(Duration::from_millis(ms));
    }
}

/// Runs a future whose steps block to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = Box::pin(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

fn check_threads(threads: usize) -> Result<usize, PoolError> {
    if (1..=MAX_THREADS).contains(&threads) {
        Ok(threads)
    } else {
        Err(PoolError::InvalidThreadCount {
            value: threads.to_string(),
        })
    }
}

/// Starts the pool with `threads` workers.
pub fn init_thread_pool(threads: usize) -> Result<StartReport, PoolError> {
    let threads = check_threads(threads)?;
    let report = block_on(flows::init(&NativeHost, threads))?;
    prepare_standby_in_background();
    Ok(report)
}

/// Starts the next standby on a thread of its own, when the pool keeps one.
fn prepare_standby_in_background() {
    if state::standby_wanted() {
        thread::spawn(|| {
            let _ = block_on(flows::prepare_standby(&NativeHost));
        });
    }
}

/// Whether the pool keeps a standby generation (see `wasm::set_pool_standby`).
/// Turning it on while the pool runs starts one and returns once it is up;
/// turning it off retires the one there is. Returns the standby's number.
pub fn set_pool_standby(enabled: bool) -> Result<Option<u64>, PoolError> {
    state::want_standby(enabled);
    if enabled {
        block_on(flows::prepare_standby(&NativeHost))
    } else {
        block_on(flows::discard_standby(&NativeHost));
        Ok(None)
    }
}

/// Replaces the pool with a new generation (`threads`: keep the count if `None`).
pub fn recycle_thread_pool(
    threads: Option<usize>,
    options: RetireOptions,
) -> Result<RecycleReport, PoolError> {
    let threads = threads.map(check_threads).transpose()?;
    let report = block_on(flows::recycle(&NativeHost, threads, options))?;
    if !report.joined {
        prepare_standby_in_background();
    }
    Ok(report)
}

/// Shuts the pool down; a no-op when it is not running.
pub fn exit_thread_pool(options: RetireOptions) -> Result<ExitReport, PoolError> {
    block_on(flows::exit(&NativeHost, options))
}
