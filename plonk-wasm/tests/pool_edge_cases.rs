//! Edge cases of the pool's lifecycle on the real native pool: a generation
//! abandoned to a job that outlives the drain bound must still be cleaned up
//! once that job ends, and a worker lost while its generation starts must
//! poison that generation instead of being ignored. Every wait is bounded.

mod common;

use common::{fresh_pool, join_within, serial, slow_starts, wait_until, TIMEOUT};
use plonk_wasm::rayon::native::{
    exit_thread_pool, init_thread_pool, recycle_thread_pool, worker_threads_for_tests,
};
use plonk_wasm::rayon::testing::worker_lost;
use plonk_wasm::rayon::WorkerExit;
use plonk_wasm::rayon::{current_job, health, try_run_in_pool, PoolError, RetireOptions};
use std::thread;
use std::time::Duration;

/// Bound for every wait: far above what any step takes on a loaded machine.
/// How long the job that outlives the drain bound runs.
const LONG_JOB_MS: u64 = 500;

/// Bounds generous enough that no worker is ever forced on a loaded machine.
fn patient() -> RetireOptions {
    RetireOptions {
        drain_timeout_ms: Some(60_000),
        exit_timeout_ms: Some(30_000),
        ..RetireOptions::default()
    }
}

fn workers_of(generation: u64) -> Vec<&'static str> {
    health()
        .workers
        .iter()
        .filter(|w| w.generation == generation)
        .map(|w| w.state)
        .collect()
}

/// Runs a job that sleeps past a 10 ms drain bound, recycles under it, and
/// returns once the job ended: the abandoned generation's number.
fn abandon_a_generation_to_a_long_job() -> u64 {
    fresh_pool(2);
    let abandoned = health().generation.expect("a running pool serves");
    wait_until("both workers run", TIMEOUT, || {
        workers_of(abandoned) == ["running", "running"]
    });
    let job = thread::spawn(|| {
        try_run_in_pool(|| {
            thread::sleep(Duration::from_millis(LONG_JOB_MS));
            current_job().expect("inside a pool job").generation
        })
    });
    wait_until("the long job runs", TIMEOUT, || health().in_flight == 1);

    let report = recycle_thread_pool(
        None,
        RetireOptions {
            drain_timeout_ms: Some(10),
            ..patient()
        },
    )
    .expect("a recycle past the drain bound still succeeds");
    assert_eq!(report.from_generation, abandoned);
    assert_eq!(report.jobs_abandoned, 1, "the long job outlived the bound");
    assert_eq!(
        report.workers,
        WorkerExit::default(),
        "nothing is stopped under a running job"
    );
    assert_eq!(
        health().in_flight,
        1,
        "a job on an abandoned generation still counts as in flight"
    );

    let ran_on = join_within("the long job ends", job);
    assert_eq!(ran_on, Ok(abandoned), "the job finished where it started");
    abandoned
}

#[test]
fn an_abandoned_generations_workers_leave_health_once_its_last_job_ends() {
    let _serial = serial();
    let abandoned = abandon_a_generation_to_a_long_job();

    wait_until(
        "the abandoned generation's workers are gone from health",
        TIMEOUT,
        || workers_of(abandoned).is_empty(),
    );
    let after = health();
    assert_eq!(after.state, "running");
    assert_eq!(after.generation, Some(abandoned + 1));
    assert_eq!(try_run_in_pool(|| 6 * 7), Ok(42));
}

#[test]
fn the_next_recycle_joins_the_threads_of_an_abandoned_generation_whose_job_ended() {
    let _serial = serial();
    let abandoned = abandon_a_generation_to_a_long_job();
    assert_eq!(
        worker_threads_for_tests(abandoned),
        2,
        "the abandoned workers are not joined under their job"
    );
    // Once the job ended its workers leave Rayon's loop on their own.
    wait_until("the abandoned workers left", TIMEOUT, || {
        workers_of(abandoned)
            .iter()
            .all(|state| *state != "starting" && *state != "running")
    });

    let report = recycle_thread_pool(None, patient()).expect("the next recycle");
    assert_eq!(report.from_generation, abandoned + 1);
    assert_eq!(report.workers.forced, 0);

    assert_eq!(
        worker_threads_for_tests(abandoned),
        0,
        "the recycle joined the abandoned generation's threads"
    );
    assert!(
        workers_of(abandoned).is_empty(),
        "and freed their slots: {:?}",
        health().workers
    );
}

#[test]
fn a_worker_lost_while_the_pool_starts_poisons_the_generation_it_starts() {
    let _serial = serial();
    fresh_pool(2);
    let starting = health().generation.expect("a running pool serves") + 1;
    exit_thread_pool(patient()).expect("exit before the test");
    let slow = slow_starts();
    let init = thread::spawn(|| init_thread_pool(2));
    wait_until("the pool is starting", TIMEOUT, || {
        health().state == "starting"
    });

    worker_lost(starting, "worker 1 trapped".into());

    let started = join_within("init finishes", init);
    drop(slow);
    let poisoned = PoolError::Poisoned {
        generation: starting,
        reason: "worker 1 trapped".to_string(),
    };
    assert_eq!(
        started.map(|report| report.generation),
        Err(poisoned.clone()),
        "init says its generation came up poisoned"
    );
    let after = health();
    assert_eq!(after.state, "poisoned");
    assert_eq!(after.generation, None);
    let poisoning = after.poisoned.expect("health says why");
    assert_eq!(poisoning.generation, starting);
    assert_eq!(poisoning.reason, "worker 1 trapped");
    assert_eq!(try_run_in_pool(|| 1), Err(poisoned));

    let rebuilt = recycle_thread_pool(None, patient()).expect("a recycle rebuilds the pool");
    assert_eq!(rebuilt.cause, "poisoned");
    assert_eq!(rebuilt.from_generation, starting);
    assert_eq!(rebuilt.to_generation, starting + 1);
    let after = health();
    assert_eq!(after.state, "running");
    assert!(after.poisoned.is_none());
    assert_eq!(try_run_in_pool(|| 6 * 7), Ok(42));
}

#[test]
fn a_worker_lost_while_a_recycle_starts_the_new_generation_ends_the_recycle_poisoned() {
    let _serial = serial();
    fresh_pool(2);
    let from = health().generation.expect("a running pool serves");
    let slow = slow_starts();
    let recycle = thread::spawn(|| recycle_thread_pool(None, patient()));
    wait_until("the recycle starts the new generation", TIMEOUT, || {
        health()
            .recycle
            .map_or(false, |progress| progress.phase == "starting")
    });
    let starting = health()
        .recycle
        .expect("a recycle in progress")
        .to_generation;
    assert_eq!(starting, from + 1);

    worker_lost(starting, "worker 0 exited".into());

    let recycled = join_within("the recycle finishes", recycle);
    drop(slow);
    let recycled = recycled.expect("the recycle itself completes");
    assert_eq!(recycled.to_generation, starting);
    let after = health();
    assert_eq!(after.state, "poisoned");
    assert_eq!(
        after.poisoned.map(|p| (p.generation, p.reason)),
        Some((starting, "worker 0 exited".to_string()))
    );
    assert!(matches!(
        try_run_in_pool(|| 1),
        Err(PoolError::Poisoned { generation, .. }) if generation == starting
    ));

    let rebuilt = recycle_thread_pool(None, patient()).expect("a recycle rebuilds the pool");
    assert_eq!(rebuilt.cause, "poisoned");
    assert_eq!(rebuilt.from_generation, starting);
    assert_eq!(health().state, "running");
    assert_eq!(try_run_in_pool(|| 6 * 7), Ok(42));
}
