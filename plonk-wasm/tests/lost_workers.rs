//! A worker that dies in the middle of a job. Natively no thread can die, so
//! a piece of the job that never returns stands in for the dead worker's
//! piece, and `worker_lost` stands in for the host's report. The caller must
//! get `POOL_WORKER_LOST` within a bound instead of waiting forever, a job
//! the loss did not touch must still complete, and a recycle must rebuild.

mod common;

use common::{fresh_pool, join_within, serial, wait_until, TIMEOUT};
use plonk_wasm::rayon::native::recycle_thread_pool;
use plonk_wasm::rayon::pool::worker_lost;
use plonk_wasm::rayon::{health, try_run_in_pool, PoolError, RetireOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The longest a stranded caller may wait after the loss: the quiet period
/// (1 s) plus generous slack for a loaded machine.
const GIVE_UP_BOUND: Duration = Duration::from_secs(10);

fn quick_exit() -> RetireOptions {
    RetireOptions {
        drain_timeout_ms: Some(10_000),
        exit_timeout_ms: Some(10_000),
        ..RetireOptions::default()
    }
}

#[test]
fn a_job_stranded_by_a_lost_worker_fails_with_worker_lost_instead_of_hanging() {
    let _serial = serial();
    fresh_pool(2);
    let generation = health().generation.expect("a running pool serves");
    // The piece "held by the dead worker": it returns only when released.
    static RELEASE: AtomicBool = AtomicBool::new(false);
    static HELD: AtomicBool = AtomicBool::new(false);
    RELEASE.store(false, Ordering::SeqCst);
    HELD.store(false, Ordering::SeqCst);

    let caller = thread::spawn(|| {
        try_run_in_pool(|| {
            rayon::join(
                || {
                    HELD.store(true, Ordering::SeqCst);
                    while !RELEASE.load(Ordering::SeqCst) {
                        thread::sleep(Duration::from_millis(5));
                    }
                },
                || (),
            );
            "finished"
        })
    });
    wait_until("a worker holds the stranded piece", TIMEOUT, || {
        HELD.load(Ordering::SeqCst)
    });

    let lost_at = Instant::now();
    worker_lost(generation, "worker 1 was terminated".into());
    wait_until("the caller gives up", GIVE_UP_BOUND, || {
        caller.is_finished()
    });
    let waited = lost_at.elapsed();
    let outcome = join_within("the caller", caller);
    assert_eq!(
        outcome,
        Err(PoolError::WorkerLost {
            generation,
            reason: "worker 1 was terminated".to_string(),
        })
    );
    let message = outcome.unwrap_err().tagged();
    assert!(
        message.starts_with("plonk-wasm [POOL_WORKER_LOST] a worker of thread pool generation"),
        "{}",
        message
    );
    assert!(
        waited >= Duration::from_millis(900),
        "gave up only after the quiet period, not at the first sign: {:?}",
        waited
    );
    println!("a stranded job failed {:?} after the loss", waited);

    let after = health();
    assert_eq!(after.state, "poisoned");
    assert_eq!(after.in_flight, 0, "the lost job no longer counts");
    assert!(matches!(
        try_run_in_pool(|| 1),
        Err(PoolError::Poisoned { .. })
    ));

    // The dead worker's piece "comes back" late: it must only finish its own
    // job (whose result nobody reads), never disturb the pool.
    RELEASE.store(true, Ordering::SeqCst);
    let rebuilt = recycle_thread_pool(None, quick_exit()).expect("a recycle rebuilds");
    assert_eq!(rebuilt.cause, "poisoned");
    assert_eq!(try_run_in_pool(|| 6 * 7), Ok(42));
}

#[test]
fn a_job_the_loss_did_not_touch_completes_and_returns_its_value() {
    let _serial = serial();
    fresh_pool(2);
    let generation = health().generation.expect("a running pool serves");
    static STARTED: AtomicBool = AtomicBool::new(false);
    STARTED.store(false, Ordering::SeqCst);

    // Keeps allocating for 2.5 s (longer than the quiet period): a busy
    // generation is waited for, however long its job takes.
    let caller = thread::spawn(|| {
        try_run_in_pool(|| {
            STARTED.store(true, Ordering::SeqCst);
            let until = Instant::now() + Duration::from_millis(2_500);
            let mut sum = 0u64;
            while Instant::now() < until {
                let chunk = vec![1u8; 4096];
                sum += chunk.iter().map(|&b| u64::from(b)).sum::<u64>();
                thread::sleep(Duration::from_millis(2));
            }
            sum > 0
        })
    });
    wait_until("the job runs", TIMEOUT, || STARTED.load(Ordering::SeqCst));
    worker_lost(generation, "an idle worker exited".into());
    let outcome = join_within("the busy job", caller);
    assert_eq!(outcome, Ok(true), "the job completed despite the loss");
    assert_eq!(health().state, "poisoned");
    recycle_thread_pool(None, quick_exit()).expect("a recycle rebuilds");
    assert_eq!(try_run_in_pool(|| 2 + 2), Ok(4));
}
