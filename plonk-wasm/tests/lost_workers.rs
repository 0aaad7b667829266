//! A worker that dies in the middle of a job. Natively no thread can die, so
//! a piece of the job that never returns stands in for the dead worker's
//! piece, `worker_lost` for the host's report of the loss, and
//! `loss_signal::mark_out` (by the worker's index) for the host's evidence
//! that the worker runs no more code (Node's `exit` event; on the web, its
//! Web Lock released). A worker that was only told to stop is not out.
//! The caller must get `POOL_WORKER_LOST` instead of waiting forever, but only
//! once no surviving piece can still run (the generation is fenced), however
//! long a surviving piece computes; a job the loss did not touch must still
//! complete, and a recycle must rebuild.

mod common;

use common::{fresh_pool, join_within, serial, wait_until, TIMEOUT};
use plonk_wasm::rayon::native::recycle_thread_pool;
use plonk_wasm::rayon::testing as loss_signal;
use plonk_wasm::rayon::testing::worker_lost;
use plonk_wasm::rayon::{health, try_run_in_pool, PoolError, RetireOptions};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The longest a stranded caller may take to give up once its generation is
/// fenced (it polls every 20 ms): generous slack for a loaded machine.
const GIVE_UP_BOUND: Duration = Duration::from_secs(10);

fn quick_exit() -> RetireOptions {
    RetireOptions {
        drain_timeout_ms: Some(10_000),
        // The fenced workers of a poisoned generation never leave on their own.
        exit_timeout_ms: Some(1_000),
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
    static HELD_BY: AtomicUsize = AtomicUsize::new(usize::MAX);
    RELEASE.store(false, Ordering::SeqCst);
    HELD.store(false, Ordering::SeqCst);

    let caller = thread::spawn(|| {
        try_run_in_pool(|| {
            rayon::join(
                || {
                    let worker = loss_signal::current_worker().expect("a pool worker has an index");
                    HELD_BY.store(worker, Ordering::SeqCst);
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

    let dead = HELD_BY.load(Ordering::SeqCst);
    let survivor = 1 - dead;
    worker_lost(generation, "worker 1 was terminated".into());
    // Lost, but not proven to have stopped (it was only told to): the caller
    // keeps waiting once the other worker is fenced, as the "dead" one could
    // still run.
    wait_until("the surviving worker parks at the fence", TIMEOUT, || {
        loss_signal::out_count(generation, 2) == 1
    });
    // Evidence about the worker that is already parked (say, a kill of it)
    // names the same worker: it must not count a second time.
    loss_signal::mark_out(generation, survivor);
    assert_eq!(loss_signal::out_count(generation, 2), 1);
    thread::sleep(Duration::from_millis(300));
    assert!(
        !caller.is_finished(),
        "no give-up while a worker of the generation may still run"
    );
    let stopped_at = Instant::now();
    loss_signal::mark_out(generation, dead);
    wait_until("the caller gives up", GIVE_UP_BOUND, || {
        caller.is_finished()
    });
    let waited = stopped_at.elapsed();
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
    println!(
        "a stranded job failed {:?} after the last worker was known stopped",
        waited
    );

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

#[test]
fn a_surviving_piece_that_computes_for_seconds_without_allocating_is_waited_for() {
    let _serial = serial();
    fresh_pool(2);
    let generation = health().generation.expect("a running pool serves");
    static RELEASE: AtomicBool = AtomicBool::new(false);
    static HELD: AtomicBool = AtomicBool::new(false);
    static COMPUTING: AtomicBool = AtomicBool::new(false);
    static COMPUTED: AtomicBool = AtomicBool::new(false);
    static HELD_BY: AtomicUsize = AtomicUsize::new(usize::MAX);
    for flag in [&RELEASE, &HELD, &COMPUTING, &COMPUTED] {
        flag.store(false, Ordering::SeqCst);
    }
    // One piece stands in for the dead worker's; the other computes for 2 s,
    // allocating nothing (a quiet-time heuristic would have given it up).
    let caller = thread::spawn(|| {
        try_run_in_pool(|| {
            rayon::join(
                || {
                    let worker = loss_signal::current_worker().expect("a pool worker has an index");
                    HELD_BY.store(worker, Ordering::SeqCst);
                    HELD.store(true, Ordering::SeqCst);
                    while !RELEASE.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                },
                || {
                    COMPUTING.store(true, Ordering::SeqCst);
                    let until = Instant::now() + Duration::from_millis(2_000);
                    let mut x = 1u64;
                    while Instant::now() < until {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    }
                    std::hint::black_box(x);
                    COMPUTED.store(true, Ordering::SeqCst);
                },
            );
        })
    });
    wait_until("both pieces run", TIMEOUT, || {
        HELD.load(Ordering::SeqCst) && COMPUTING.load(Ordering::SeqCst)
    });
    worker_lost(generation, "worker 0 was terminated".into());
    loss_signal::mark_out(generation, HELD_BY.load(Ordering::SeqCst));
    thread::sleep(Duration::from_millis(1_200));
    assert!(
        !caller.is_finished(),
        "the job is not given up while a surviving piece computes (1.2 s in, no allocation)"
    );
    wait_until("the caller gives up", GIVE_UP_BOUND, || {
        caller.is_finished()
    });
    assert!(
        COMPUTED.load(Ordering::SeqCst),
        "the caller gave up only after the surviving piece had finished"
    );
    assert!(matches!(
        join_within("the caller", caller),
        Err(PoolError::WorkerLost { .. })
    ));
    RELEASE.store(true, Ordering::SeqCst);
    recycle_thread_pool(None, quick_exit()).expect("a recycle rebuilds");
    assert_eq!(try_run_in_pool(|| 1 + 1), Ok(2));
}
