//! The standby generation on the real native pool: started ahead and parked,
//! it serves no job until a recycle swaps it in; a recycle that wants another
//! size, a standby that lost a worker, an exit and turning it off retire it
//! instead; a recycle waits for one that is starting and takes it.

mod common;

use common::{fresh_pool, join_within, serial, slow_starts, wait_until, TIMEOUT};
use plonk_wasm::rayon::native::{
    exit_thread_pool, recycle_thread_pool, set_pool_standby, worker_threads_for_tests,
};
use plonk_wasm::rayon::testing::worker_lost;
use plonk_wasm::rayon::{current_job, health, run_in_pool, RetireOptions};
use std::thread;

/// The generation a job submitted now runs on.
fn job_generation() -> u64 {
    run_in_pool(|| current_job().expect("a pool job").generation)
}

/// The standby's generation once it is ready (the background start after a
/// recycle takes a moment).
fn ready_standby() -> u64 {
    wait_until("a standby is ready", TIMEOUT, || {
        health().standby.map(|s| s.phase) == Some("ready")
    });
    health().standby.expect("a ready standby").generation
}

/// A pool of `threads` workers with a ready standby.
fn pool_with_standby(threads: usize) -> u64 {
    set_pool_standby(false).expect("standby off");
    fresh_pool(threads);
    let standby = set_pool_standby(true)
        .expect("standby on")
        .expect("a running pool starts a standby");
    assert_eq!(ready_standby(), standby);
    standby
}

/// A recycle with a short exit bound: a generation that lost a worker has
/// one that never reports its exit.
fn recycle_past_a_lost_worker(
) -> Result<plonk_wasm::rayon::RecycleReport, plonk_wasm::rayon::PoolError> {
    recycle_thread_pool(
        None,
        RetireOptions {
            exit_timeout_ms: Some(1_000),
            ..RetireOptions::default()
        },
    )
}

fn turn_standby_off() {
    set_pool_standby(false).expect("standby off");
    assert!(health().standby.is_none());
}

#[test]
fn a_recycle_swaps_in_the_ready_standby_and_the_next_one_is_started() {
    let _serial = serial();
    let standby = pool_with_standby(2);
    let serving = health().generation.expect("a serving generation");
    assert!(standby > serving);
    assert_eq!(job_generation(), serving, "a standby serves no job");
    assert_eq!(
        worker_threads_for_tests(standby),
        2,
        "its workers are up, waiting"
    );

    let report = recycle_thread_pool(None, RetireOptions::default()).expect("recycle");
    assert!(report.standby, "the recycle only swapped: {:?}", report);
    assert_eq!(
        (report.from_generation, report.to_generation, report.threads),
        (serving, standby, 2)
    );
    assert_eq!(report.workers.forced, 0);
    assert_eq!(job_generation(), standby, "the standby serves at once");
    assert_eq!(worker_threads_for_tests(serving), 0, "the old workers left");

    let next = ready_standby();
    assert!(next > standby, "a new standby is started after the swap");
    let again = recycle_thread_pool(None, RetireOptions::default()).expect("recycle");
    assert!(again.standby && again.to_generation == next);
    assert_eq!(job_generation(), next);

    let last = ready_standby();
    turn_standby_off();
    assert_eq!(
        worker_threads_for_tests(last),
        0,
        "turned off, it is retired"
    );
    let plain = recycle_thread_pool(None, RetireOptions::default()).expect("recycle");
    assert!(
        !plain.standby,
        "with the standby off a recycle starts its generation"
    );
    assert!(health().standby.is_none(), "and none is started after it");
}

#[test]
fn a_recycle_to_another_size_retires_the_standby_and_starts_its_own() {
    let _serial = serial();
    let standby = pool_with_standby(2);
    let report = recycle_thread_pool(Some(3), RetireOptions::default()).expect("recycle");
    assert!(!report.standby);
    assert_eq!(report.threads, 3);
    assert!(report.to_generation > standby);
    assert_eq!(
        worker_threads_for_tests(standby),
        0,
        "the 2-worker standby is gone"
    );
    let next = ready_standby();
    assert_eq!(
        health().standby.unwrap().threads,
        3,
        "the next standby has the new size"
    );
    assert!(next > report.to_generation);
    turn_standby_off();
}

#[test]
fn a_poisoned_pool_is_rebuilt_by_swapping_in_its_standby() {
    let _serial = serial();
    let standby = pool_with_standby(2);
    let serving = health().generation.unwrap();
    worker_lost(serving, "worker 0 exited (test)".into());
    let poisoned = health();
    assert_eq!(poisoned.state, "poisoned");
    assert_eq!(
        poisoned.standby.map(|s| (s.generation, s.phase)),
        Some((standby, "ready")),
        "the standby outlives the loss"
    );
    let report = recycle_past_a_lost_worker().expect("rebuild");
    assert!(report.standby);
    assert_eq!((report.cause, report.to_generation), ("poisoned", standby));
    assert_eq!(health().state, "running");
    assert_eq!(job_generation(), standby);
    ready_standby();
    turn_standby_off();
}

#[test]
fn a_standby_that_lost_a_worker_is_retired_not_swapped_in() {
    let _serial = serial();
    let standby = pool_with_standby(2);
    worker_lost(standby, "worker 1 exited (test)".into());
    assert_eq!(
        health().state,
        "running",
        "the serving generation is not touched"
    );
    let report = recycle_past_a_lost_worker().expect("recycle");
    assert!(
        !report.standby,
        "a standby that lost a worker is never swapped in"
    );
    assert!(report.to_generation > standby);
    assert_eq!(job_generation(), report.to_generation);
    ready_standby();
    turn_standby_off();
}

#[test]
fn a_recycle_during_the_standby_start_waits_for_it_and_swaps_it_in() {
    let _serial = serial();
    set_pool_standby(false).expect("standby off");
    fresh_pool(2);
    let serving = health().generation.unwrap();
    let starting = {
        let _slow = slow_starts();
        let turn_on = thread::spawn(|| set_pool_standby(true));
        wait_until("the standby is starting", TIMEOUT, || {
            health().standby.map(|s| s.phase) == Some("starting")
        });
        let standby = health().standby.unwrap().generation;
        let recycle = thread::spawn(|| recycle_thread_pool(None, RetireOptions::default()));
        // Jobs keep going to the serving generation meanwhile.
        assert_eq!(job_generation(), serving);
        let report = join_within("the recycle", recycle).expect("recycle");
        assert_eq!(
            join_within("turning the standby on", turn_on).expect("standby on"),
            Some(standby)
        );
        assert!(report.standby, "it took the standby: {:?}", report);
        assert_eq!(report.to_generation, standby);
        standby
    };
    assert_eq!(job_generation(), starting);
    ready_standby();
    turn_standby_off();
}

#[test]
fn an_exit_retires_the_standby_and_a_new_pool_starts_without_one_until_asked() {
    let _serial = serial();
    let standby = pool_with_standby(2);
    let report = exit_thread_pool(RetireOptions::default()).expect("exit");
    assert!(report.retirement.is_some());
    assert_eq!(health().state, "uninit");
    assert!(health().standby.is_none());
    assert_eq!(
        worker_threads_for_tests(standby),
        0,
        "its workers left with the pool"
    );
    set_pool_standby(false).expect("standby off");
    fresh_pool(1);
    assert!(health().standby.is_none());
}
