//! The shape of `poolHealth()`: a JSON snapshot of a fresh 2-thread pool after
//! one job, with every value that varies between runs or machines redacted
//! (and checked to be a number), and what health says after a recycle.
//!
//! Generation numbers and counters are process-wide, so both tests read one
//! scenario run once per process, in a fixed order: init (generation 1), one
//! job, health; recycle (generation 2), health. Whichever test runs first runs
//! it, and the numbers are the same either way.

mod common;

use common::{fresh_pool, serial, wait_until};
use insta::internals::{Content, ContentPath, Redaction};
use plonk_wasm::rayon::native::recycle_thread_pool;
use plonk_wasm::rayon::RecycleReport;
use plonk_wasm::rayon::{health, try_run_in_pool, PoolHealth, RetireOptions};
use std::sync::OnceLock;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

struct Scenario {
    after_one_job: PoolHealth,
    recycle: RecycleReport,
    after_recycle: PoolHealth,
}

/// Health with its workers in a stable order (slots are claimed in whatever
/// order the worker threads happen to run).
fn sorted_health() -> PoolHealth {
    let mut report = health();
    report.workers.sort_by_key(|w| (w.generation, w.index));
    report
}

fn running_workers_of(generation: u64) -> usize {
    health()
        .workers
        .iter()
        .filter(|w| w.generation == generation && w.state == "running")
        .count()
}

fn scenario() -> &'static Scenario {
    static SCENARIO: OnceLock<Scenario> = OnceLock::new();
    SCENARIO.get_or_init(|| {
        fresh_pool(2);
        assert_eq!(
            health().generation,
            Some(1),
            "the scenario starts the process's first pool"
        );
        assert_eq!(try_run_in_pool(|| 6 * 7), Ok(42));
        // Workers report "running" once they took their Rayon thread, which
        // may be after init returned and even after the job ran.
        wait_until("both workers run", TIMEOUT, || running_workers_of(1) == 2);
        let after_one_job = sorted_health();

        let options = RetireOptions {
            drain_timeout_ms: Some(60_000),
            exit_timeout_ms: Some(30_000),
            ..RetireOptions::default()
        };
        let recycle = recycle_thread_pool(None, options).expect("recycle");
        wait_until("both new workers run", TIMEOUT, || {
            running_workers_of(2) == 2
        });
        let after_recycle = sorted_health();
        Scenario {
            after_one_job,
            recycle,
            after_recycle,
        }
    })
}

/// Replaces a value that varies between runs with `label`, after checking
/// that it is a whole number, so the snapshot still pins its type.
fn varies(label: &'static str) -> Redaction {
    insta::dynamic_redaction(move |value: Content, path: ContentPath<'_>| {
        assert!(
            value.as_u64().is_some(),
            "{} should be a whole number, got {:?}",
            path,
            value
        );
        label
    })
}

#[test]
fn health_after_one_job_on_a_fresh_two_thread_pool_has_a_stable_shape() {
    let _serial = serial();
    let report = &scenario().after_one_job;

    insta::assert_json_snapshot!("health_after_one_job", report, {
        ".timestampMs" => varies("[timestamp ms]"),
        ".generationAgeMs" => varies("[age ms]"),
        ".memory.allocatorLiveBytes" => varies("[bytes]"),
        ".memory.allocatorPeakBytes" => varies("[bytes]"),
        ".memory.allocations" => varies("[count]"),
        ".workers[].jobs" => varies("[count]"),
        ".workers[].allocatedBytes" => varies("[bytes]"),
        ".workers[].lastActivityMs" => varies("[timestamp ms]")
    });

    // What the redactions hide, checked where it is stable.
    assert_eq!(
        report.workers.iter().map(|w| w.jobs).sum::<u64>(),
        1,
        "the one job ran on one worker"
    );
    assert!(report.memory.allocator_peak_bytes >= report.memory.allocator_live_bytes);
    assert!(report.memory.allocations > 0);
}

#[test]
fn after_a_recycle_health_counts_it_and_lists_only_the_new_generation() {
    let _serial = serial();
    let Scenario {
        recycle,
        after_recycle: report,
        ..
    } = scenario();

    assert_eq!(recycle.from_generation, 1);
    assert_eq!(recycle.to_generation, 2);
    assert_eq!(report.state, "running");
    assert_eq!(report.recycles, 1);
    assert_eq!(report.generation, Some(2));
    assert_eq!(report.threads, 2);
    assert!(
        report.recycle.is_none(),
        "no recycle in progress: {:?}",
        report.recycle
    );
    assert!(report.poisoned.is_none());
    assert_eq!(report.in_flight, 0);
    assert_eq!(report.generation_jobs, 0, "generation 2 ran no job yet");
    assert_eq!(report.jobs_completed, 1);
    assert_eq!(report.workers.len(), 2);
    assert!(
        report.workers.iter().all(|w| w.generation == 2),
        "only generation 2's workers are listed: {:?}",
        report.workers
    );
    assert!(report.workers.iter().all(|w| w.state == "running"));
}
