//! Every lifecycle operation on the real native pool: what each one returns in
//! every state, with the exact error a caller gets, and what the pool looks
//! like afterwards. Operations that overlap (recycle or exit while the pool
//! starts, exit during a recycle, two recycles) are made to overlap by slowing
//! worker starts down, and every wait is bounded.

mod common;

use common::{fresh_pool, join_within, serial, slow_starts, wait_until, TIMEOUT};
use plonk_wasm::rayon::native::{exit_thread_pool, init_thread_pool, recycle_thread_pool};
use plonk_wasm::rayon::testing::panic_message;
use plonk_wasm::rayon::testing::worker_lost;
use plonk_wasm::rayon::WorkerExit;
use plonk_wasm::rayon::{health, run_in_pool, try_run_in_pool, PoolError, RetireOptions};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::{self, JoinHandle};

/// Bounds generous enough that no worker is ever forced on a loaded machine.
fn patient() -> RetireOptions {
    RetireOptions {
        drain_timeout_ms: Some(60_000),
        exit_timeout_ms: Some(30_000),
        ..RetireOptions::default()
    }
}

/// Every worker of a generation left on its own: none was forced.
fn all_exited(threads: usize) -> WorkerExit {
    WorkerExit {
        exited: threads,
        forced: 0,
        reclaimed: 0,
    }
}

/// Leaves no pool at all.
fn no_pool() {
    exit_thread_pool(patient()).expect("exit before the test");
    assert_eq!(health().state, "uninit");
}

/// Runs a blocking pool operation on its own thread and waits for it, bounded.
fn within<T: Send + 'static>(what: &str, operation: impl FnOnce() -> T + Send + 'static) -> T {
    join_within(what, thread::spawn(operation))
}

/// Starts `init_thread_pool(threads)` on a thread and returns once the pool
/// is starting. The caller holds a [`SlowStarts`] so the start takes a while.
fn init_in_background(threads: usize) -> JoinHandle<Result<u64, PoolError>> {
    let init = thread::spawn(move || init_thread_pool(threads).map(|report| report.generation));
    wait_until("the pool is starting", TIMEOUT, || {
        health().state == "starting"
    });
    init
}

fn running_workers() -> Vec<u64> {
    health()
        .workers
        .iter()
        .filter(|worker| worker.state == "running")
        .map(|worker| worker.generation)
        .collect()
}

#[test]
fn recycling_before_init_is_not_initialized_and_says_to_call_init_first() {
    let _serial = serial();
    no_pool();

    let error = recycle_thread_pool(None, patient()).unwrap_err();
    assert_eq!(error, PoolError::NotInitialized);
    assert_eq!(error.code(), "POOL_NOT_INITIALIZED");
    assert_eq!(
        error.to_string(),
        "the thread pool is not initialized; call initThreadPool(numThreads) first"
    );
    assert_eq!(
        error.tagged(),
        "plonk-wasm [POOL_NOT_INITIALIZED] the thread pool is not initialized; \
         call initThreadPool(numThreads) first"
    );
    let inline_before = health().inline_jobs;
    assert_eq!(
        try_run_in_pool(|| 1),
        Ok(1),
        "a job before init runs inline on the calling thread, as upstream's does"
    );
    assert_eq!(health().inline_jobs, inline_before + 1);
    let after = health();
    assert_eq!(after.state, "uninit");
    assert_eq!(after.generation, None);
    assert_eq!(after.threads, 0);
}

#[test]
fn exiting_before_init_is_a_no_op_and_so_is_a_second_exit() {
    let _serial = serial();
    no_pool();

    let report = exit_thread_pool(patient()).expect("exit without a pool");
    assert!(
        report.retirement.is_none(),
        "nothing to retire: {:?}",
        report
    );
    assert_eq!(health().state, "uninit");

    let generation = init_thread_pool(2).expect("init").generation;
    let first = exit_thread_pool(patient()).expect("a real exit");
    let retirement = first
        .retirement
        .expect("a real exit retires the running generation");
    assert_eq!(retirement.generation, generation);
    assert_eq!(retirement.jobs_abandoned, 0);
    assert_eq!(retirement.workers, all_exited(2));
    assert_eq!(health().state, "uninit");

    let second = exit_thread_pool(patient()).expect("a second exit");
    assert!(
        second.retirement.is_none(),
        "a second exit is a no-op: {:?}",
        second
    );
    let after = health();
    assert_eq!(after.state, "uninit");
    assert_eq!(after.generation, None);
    assert!(
        after.workers.iter().all(|w| w.generation != generation),
        "the exited generation's workers are gone: {:?}",
        after.workers
    );
}

#[test]
fn initializing_twice_is_already_initialized_with_the_running_generation_and_threads() {
    let _serial = serial();
    fresh_pool(2);
    let generation = health().generation.expect("a running pool serves");

    let error = init_thread_pool(3).unwrap_err();
    assert_eq!(
        error,
        PoolError::AlreadyInitialized {
            generation,
            threads: 2
        }
    );
    assert_eq!(error.code(), "POOL_ALREADY_INITIALIZED");
    assert_eq!(
        error.to_string(),
        format!(
            "the thread pool is already running (generation {}, 2 threads); \
             call recycleThreadPool() to replace it or exitThreadPool() before initThreadPool()",
            generation
        )
    );

    let after = health();
    assert_eq!(after.state, "running");
    assert_eq!(after.generation, Some(generation), "the pool is untouched");
    assert_eq!(after.threads, 2);
    assert_eq!(try_run_in_pool(|| 6 * 7), Ok(42));
}

#[test]
fn initializing_with_0_or_1000_threads_is_an_invalid_thread_count_and_leaves_the_pool_uninit() {
    let _serial = serial();
    no_pool();

    for (threads, shown) in [(0, "0"), (1000, "1000")] {
        let error = init_thread_pool(threads).unwrap_err();
        assert_eq!(
            error,
            PoolError::InvalidThreadCount {
                value: shown.to_string()
            }
        );
        assert_eq!(error.code(), "POOL_INVALID_THREAD_COUNT");
        assert_eq!(
            error.to_string(),
            format!(
                "invalid thread count {}: expected a whole number from 1 to 256",
                shown
            )
        );
        let after = health();
        assert_eq!(after.state, "uninit", "after init({})", threads);
        assert_eq!(after.generation, None);
        assert_eq!(after.threads, 0);
        assert_eq!(
            try_run_in_pool(|| 1),
            Ok(1),
            "no pool after a refused init: the job runs inline"
        );
    }
}

/// Upstream's `run_in_pool` (kimchi-wasm HEAD) runs the work on the calling
/// thread when there is no pool, before the first init and after an exit;
/// ours does too, counts it in `inlineJobs`, and a panic in it is the same
/// failure as in a pooled job. A pool that exists but cannot take the job
/// (starting, exiting, poisoned) still refuses it with its typed error.
#[test]
fn a_job_without_a_pool_runs_inline_on_the_calling_thread_before_init_and_after_exit() {
    let _serial = serial();
    no_pool();
    let caller = thread::current().id();
    let before = health();

    let ran_on = run_in_pool(|| (thread::current().id(), plonk_wasm::rayon::current_job()));
    assert_eq!(
        ran_on,
        (caller, None),
        "inline, on the caller, outside any generation"
    );
    let failure = catch_unwind(AssertUnwindSafe(|| {
        run_in_pool(|| -> u32 { panic!("inline failure") })
    }))
    .expect_err("the panic reaches the caller");
    assert_eq!(panic_message(&*failure), Some("inline failure"));
    let counted = health();
    assert_eq!(counted.inline_jobs, before.inline_jobs + 2);
    assert_eq!(
        (counted.jobs_completed, counted.jobs_failed),
        (before.jobs_completed, before.jobs_failed),
        "inline jobs are counted apart from pool jobs"
    );
    assert_eq!(counted.state, "uninit", "an inline job starts no pool");

    // After an exit, the same.
    init_thread_pool(2).expect("init");
    let pooled = run_in_pool(|| thread::current().id());
    assert_ne!(pooled, caller, "with a pool, the job runs on a worker");
    assert_eq!(health().inline_jobs, before.inline_jobs + 2);
    exit_thread_pool(patient()).expect("exit");
    assert_eq!(run_in_pool(|| thread::current().id()), caller);
    assert_eq!(health().inline_jobs, before.inline_jobs + 3);

    // A pool that is starting refuses, with its own error, as before.
    let _slow = slow_starts();
    let init = init_in_background(2);
    assert!(matches!(
        try_run_in_pool(|| 1),
        Err(PoolError::Starting { .. })
    ));
    join_within("the init", init).expect("init");
    assert_eq!(health().inline_jobs, before.inline_jobs + 3);
}

#[test]
fn recycling_with_an_invalid_thread_count_fails_and_keeps_the_running_generation() {
    let _serial = serial();
    fresh_pool(2);
    let before = health();

    let error = recycle_thread_pool(Some(0), patient()).unwrap_err();
    assert_eq!(
        error,
        PoolError::InvalidThreadCount {
            value: "0".to_string()
        }
    );

    let after = health();
    assert_eq!(after.state, "running");
    assert_eq!(after.generation, before.generation);
    assert_eq!(after.threads, 2);
    assert_eq!(after.recycles, before.recycles);
}

#[test]
fn recycling_while_the_pool_starts_fails_with_starting() {
    let _serial = serial();
    no_pool();
    let slow = slow_starts();
    let init = init_in_background(2);

    let error = recycle_thread_pool(None, patient()).unwrap_err();

    let generation = join_within("init finishes", init).expect("init succeeds");
    drop(slow);
    assert_eq!(error, PoolError::Starting { generation });
    assert_eq!(error.code(), "POOL_STARTING");
    assert_eq!(
        error.to_string(),
        format!(
            "the thread pool is still starting (generation {}); \
             await initThreadPool() before this call",
            generation
        )
    );
    let after = health();
    assert_eq!(after.state, "running");
    assert_eq!(
        after.generation,
        Some(generation),
        "the refused recycle changed nothing"
    );
    assert!(
        after.recycle.is_none(),
        "no recycle ran: {:?}",
        after.recycle
    );
}

#[test]
fn a_job_submitted_while_the_pool_starts_fails_with_starting_and_run_in_pool_panics_with_its_code()
{
    let _serial = serial();
    no_pool();
    let slow = slow_starts();
    let init = init_in_background(2);

    let tried = try_run_in_pool(|| 1);
    let panicked = catch_unwind(AssertUnwindSafe(|| run_in_pool(|| 1)));

    let generation = join_within("init finishes", init).expect("init succeeds");
    drop(slow);
    assert_eq!(tried, Err(PoolError::Starting { generation }));
    let payload = panicked.expect_err("run_in_pool panics while the pool starts");
    let message = panic_message(&*payload).expect("a string payload");
    assert!(
        message.starts_with("plonk-wasm [POOL_STARTING]"),
        "unexpected panic message: {}",
        message
    );
    assert_eq!(message, PoolError::Starting { generation }.tagged());

    assert_eq!(
        try_run_in_pool(|| 2 + 2),
        Ok(4),
        "once started, the pool takes jobs"
    );
    assert_eq!(health().in_flight, 0);
}

#[test]
fn exiting_while_the_pool_starts_waits_for_the_start_then_exits() {
    let _serial = serial();
    no_pool();
    let slow = slow_starts();
    let init = init_in_background(2);

    let exited = within("exit finishes", || exit_thread_pool(patient()));

    let generation = join_within("init finishes", init).expect("init is not interrupted");
    drop(slow);
    let report = exited.expect("exit waits for the start, then succeeds");
    let retirement = report
        .retirement
        .expect("exit retires the generation init started");
    assert_eq!(retirement.generation, generation);
    assert_eq!(retirement.jobs_abandoned, 0);
    assert_eq!(retirement.workers, all_exited(2));
    let after = health();
    assert_eq!(after.state, "uninit");
    assert_eq!(after.generation, None);
}

#[test]
fn exiting_during_a_recycle_waits_for_the_recycle_then_exits() {
    let _serial = serial();
    fresh_pool(2);
    let from = health().generation.expect("a running pool serves");
    let slow = slow_starts();
    let recycle = thread::spawn(|| recycle_thread_pool(None, patient()));
    wait_until("the recycle is in progress", TIMEOUT, || {
        health().state == "recycling"
    });

    let exited = within("exit finishes", || exit_thread_pool(patient()));

    let recycled = join_within("the recycle finishes", recycle);
    drop(slow);
    let recycled = recycled.expect("the recycle is not interrupted by the exit");
    assert_eq!(recycled.from_generation, from);
    assert_eq!(recycled.to_generation, from + 1);
    assert!(!recycled.joined);
    let report = exited.expect("exit waits for the recycle, then succeeds");
    let retirement = report
        .retirement
        .expect("exit retires the recycled generation");
    assert_eq!(
        retirement.generation, recycled.to_generation,
        "exit retired the generation the recycle started"
    );
    assert_eq!(retirement.workers, all_exited(2));
    assert_eq!(health().state, "uninit");
}

#[test]
fn a_concurrent_recycle_asking_for_other_threads_runs_its_own_after_the_one_in_progress() {
    let _serial = serial();
    fresh_pool(2);
    let from = health().generation.expect("a running pool serves");
    let slow = slow_starts();
    let first = thread::spawn(|| recycle_thread_pool(None, patient()));
    wait_until("the first recycle is in progress", TIMEOUT, || {
        health().state == "recycling"
    });
    let resized = thread::spawn(|| recycle_thread_pool(Some(3), patient()));
    let first =
        join_within("the first recycle finishes", first).expect("the first recycle succeeds");
    let resized = join_within("the resizing recycle finishes", resized)
        .expect("the resizing recycle succeeds");
    drop(slow);
    assert!(!first.joined);
    assert_eq!(first.threads, 2);
    assert!(
        !resized.joined,
        "a request for other threads is not answered with another's report"
    );
    assert_eq!(resized.threads, 3, "it got the threads it asked for");
    assert_eq!(resized.from_generation, first.to_generation);
    assert_eq!(health().threads, 3);
    assert_eq!(health().generation, Some(from + 2));
}

#[test]
fn two_concurrent_recycles_coalesce_into_one() {
    let _serial = serial();
    fresh_pool(2);
    let before = health();
    let from = before.generation.expect("a running pool serves");
    let slow = slow_starts();
    let first = thread::spawn(|| recycle_thread_pool(None, patient()));
    wait_until("the first recycle is in progress", TIMEOUT, || {
        health().state == "recycling"
    });

    let second = within("the second recycle finishes", || {
        recycle_thread_pool(None, patient())
    });

    let first = join_within("the first recycle finishes", first);
    drop(slow);
    let first = first.expect("the first recycle succeeds");
    let second = second.expect("the second recycle gets the first one's outcome");
    assert!(!first.joined, "the first request ran the recycle");
    assert!(second.joined, "the second request joined it");
    assert_eq!(first.from_generation, from);
    assert_eq!(second.from_generation, from);
    assert_eq!(first.to_generation, from + 1);
    assert_eq!(second.to_generation, first.to_generation);

    let after = health();
    assert_eq!(
        after.recycles,
        before.recycles + 1,
        "two requests, one recycle"
    );
    assert_eq!(after.state, "running");
    assert_eq!(after.generation, Some(first.to_generation));
}

#[test]
fn recycling_with_three_threads_runs_three_workers_of_the_new_generation_and_removes_the_old_ones()
{
    let _serial = serial();
    fresh_pool(2);
    let old = health().generation.expect("a running pool serves");
    wait_until("the 2 old workers run", TIMEOUT, || {
        running_workers() == vec![old, old]
    });

    let report = recycle_thread_pool(Some(3), patient()).expect("recycle to 3 threads");
    assert_eq!(report.from_generation, old);
    assert_eq!(report.to_generation, old + 1);
    assert_eq!(report.threads, 3);
    assert_eq!(report.cause, "requested");
    assert_eq!(report.jobs_abandoned, 0);
    assert_eq!(report.workers, all_exited(2));
    assert!(!report.joined);

    let new = report.to_generation;
    let after = health();
    assert_eq!(after.state, "running");
    assert_eq!(after.generation, Some(new));
    assert_eq!(after.threads, 3);
    assert!(
        after.recycle.is_none(),
        "the recycle is over: {:?}",
        after.recycle
    );
    assert!(
        after.workers.iter().all(|w| w.generation != old),
        "the old generation's workers are gone: {:?}",
        after.workers
    );
    wait_until("the 3 new workers run", TIMEOUT, || {
        running_workers() == vec![new, new, new]
    });
    assert!(
        health().workers.iter().all(|w| w.generation == new),
        "only the new generation's workers are listed: {:?}",
        health().workers
    );
    assert_eq!(try_run_in_pool(rayon::current_num_threads), Ok(3));
}

#[test]
fn a_lost_worker_poisons_the_generation_until_a_recycle_rebuilds_it() {
    let _serial = serial();
    fresh_pool(2);
    let dead = health().generation.expect("a running pool serves");
    let poisoned = PoolError::Poisoned {
        generation: dead,
        reason: "worker 0 trapped".to_string(),
    };

    worker_lost(dead, "worker 0 trapped".into());

    let report = health();
    assert_eq!(report.state, "poisoned");
    assert_eq!(
        report.generation, None,
        "a poisoned generation serves no job"
    );
    let poisoning = report.poisoned.expect("health says why");
    assert_eq!(poisoning.generation, dead);
    assert_eq!(poisoning.reason, "worker 0 trapped");
    assert_eq!(try_run_in_pool(|| 1), Err(poisoned.clone()));
    assert_eq!(poisoned.code(), "POOL_POISONED");
    assert_eq!(
        poisoned.to_string(),
        format!(
            "thread pool generation {} is poisoned: worker 0 trapped; \
             call recycleThreadPool() to rebuild it",
            dead
        )
    );
    assert_eq!(
        init_thread_pool(2).unwrap_err(),
        poisoned,
        "init does not paper over a poisoned pool"
    );

    let rebuilt = recycle_thread_pool(None, patient()).expect("a recycle rebuilds the pool");
    assert_eq!(rebuilt.cause, "poisoned");
    assert_eq!(rebuilt.from_generation, dead);
    assert_eq!(rebuilt.to_generation, dead + 1);
    assert_eq!(rebuilt.threads, 2);
    assert!(!rebuilt.joined);

    let after = health();
    assert_eq!(after.state, "running");
    assert_eq!(after.generation, Some(rebuilt.to_generation));
    assert!(after.poisoned.is_none());
    assert_eq!(try_run_in_pool(|| 6 * 7), Ok(42));
}

#[test]
fn after_n_jobs_in_flight_is_zero_and_jobs_completed_grew_by_exactly_n() {
    use rayon::prelude::*;

    const SEQUENTIAL: u64 = 20;
    const SUBMITTERS: u64 = 4;
    const JOBS_EACH: u64 = 10;
    let _serial = serial();
    fresh_pool(2);
    let before = health();
    assert_eq!(before.in_flight, 0);

    for i in 0..SEQUENTIAL {
        let (in_flight, sum) = try_run_in_pool(move || {
            let in_flight = health().in_flight;
            (in_flight, (0..=i).into_par_iter().sum::<u64>())
        })
        .expect("a job on a running pool");
        assert_eq!(in_flight, 1, "health counts the job running");
        assert_eq!(sum, i * (i + 1) / 2);
    }
    let submitters: Vec<_> = (0..SUBMITTERS)
        .map(|_| {
            thread::spawn(|| {
                for i in 0..JOBS_EACH {
                    assert_eq!(try_run_in_pool(move || i * 2), Ok(i * 2));
                }
            })
        })
        .collect();
    for submitter in submitters {
        join_within("a submitter finishes", submitter);
    }

    let n = SEQUENTIAL + SUBMITTERS * JOBS_EACH;
    let after = health();
    assert_eq!(after.in_flight, 0);
    assert_eq!(after.jobs_completed, before.jobs_completed + n);
    assert_eq!(after.jobs_failed, before.jobs_failed);
    assert_eq!(after.generation, before.generation);
    assert_eq!(after.generation_jobs, before.generation_jobs + n);
}
