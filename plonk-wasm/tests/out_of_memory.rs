//! Out of memory in a pool job is an error at the caller, not a trap, and the
//! pool keeps working afterwards.

mod common;

use common::{fresh_pool, serial};
use plonk_wasm::rayon::testing::{panic_message, OUT_OF_MEMORY_PREFIX};
use plonk_wasm::rayon::{health, set_soft_limit_bytes};
use plonk_wasm::test_exports::{allocate_in_job, allocate_on_workers, panic_on_worker};
use std::panic::{catch_unwind, AssertUnwindSafe};

const MIB: usize = 1 << 20;

fn failure_message(job: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(job)).expect_err("the job fails");
    panic_message(&*payload)
        .expect("a string payload")
        .to_string()
}

#[test]
fn a_job_past_the_memory_limit_fails_with_the_memory_error_and_the_next_job_succeeds() {
    let _serial = serial();
    fresh_pool(2);
    let before = health();
    let limit = before.memory.allocator_live_bytes + 64 * MIB as u64;
    set_soft_limit_bytes(limit);

    let message = failure_message(|| {
        allocate_in_job(256 * MIB);
    });
    assert!(
        message.starts_with(OUT_OF_MEMORY_PREFIX),
        "unexpected message: {}",
        message
    );
    assert!(
        message.contains("a request for 268435456 bytes"),
        "the message names the request: {}",
        message
    );
    assert!(
        message.contains("soft limit"),
        "the message gives the memory state: {}",
        message
    );

    let after = health();
    assert_eq!(after.state, "running");
    assert!(after.memory.failed_allocations > before.memory.failed_allocations);
    assert!(after.memory.largest_failed_request_bytes >= 256 * MIB as u64);
    assert!(
        after.memory.allocator_live_bytes < limit,
        "the failed job's memory was released"
    );

    // The same pool, with a limit still set: a job that fits succeeds, and so
    // does a proof. The limit is measured again: with RUST_BACKTRACE set, the
    // panic above cached the test binary's debug info (tens of MiB, for the
    // process's life), which is not the job's memory.
    set_soft_limit_bytes(health().memory.allocator_live_bytes + 64 * MIB as u64);
    assert_eq!(allocate_in_job(8 * MIB), 8 * MIB / 4096);
    let proof = plonk_wasm::fixture::prove(8, 1).expect("a proof after the failure");
    assert!(plonk_wasm::fixture::verify(8, &proof).unwrap());
    set_soft_limit_bytes(0);
}

#[test]
fn out_of_memory_in_a_job_without_a_pool_is_the_same_error_and_the_memory_comes_back() {
    let _serial = serial();
    plonk_wasm::rayon::native::exit_thread_pool(Default::default()).expect("no pool");
    let before = health();
    assert_eq!(before.state, "uninit");
    let limit = before.memory.allocator_live_bytes + 64 * MIB as u64;
    set_soft_limit_bytes(limit);

    let message = failure_message(|| {
        allocate_in_job(256 * MIB);
    });
    assert!(
        message.starts_with(OUT_OF_MEMORY_PREFIX),
        "an inline job out of memory fails as a pooled one does: {}",
        message
    );
    let after = health();
    assert_eq!(after.inline_jobs, before.inline_jobs + 1);
    assert!(
        after.memory.allocator_live_bytes < limit,
        "the failed job's memory was released"
    );
    set_soft_limit_bytes(health().memory.allocator_live_bytes + 64 * MIB as u64);
    assert_eq!(
        allocate_in_job(8 * MIB),
        8 * MIB / 4096,
        "the next inline job runs"
    );
    set_soft_limit_bytes(0);
    assert_eq!(health().state, "uninit");
}

#[test]
fn out_of_memory_on_every_worker_is_reported_once_at_the_caller() {
    let _serial = serial();
    fresh_pool(2);
    set_soft_limit_bytes(health().memory.allocator_live_bytes + 32 * MIB as u64);
    let message = failure_message(|| {
        allocate_on_workers(64 * MIB, false);
    });
    assert!(
        message.starts_with(OUT_OF_MEMORY_PREFIX),
        "unexpected message: {}",
        message
    );
    set_soft_limit_bytes(0);
    assert_eq!(allocate_on_workers(MIB, false), 2 * MIB as u64);
    assert_eq!(health().in_flight, 0);
}

#[test]
fn a_panic_on_a_worker_reaches_the_caller_and_the_pool_keeps_working() {
    let _serial = serial();
    fresh_pool(2);
    let failed_before = health().jobs_failed;
    let message = failure_message(|| panic_on_worker("injected failure"));
    assert_eq!(message, "injected failure");
    let after = health();
    assert_eq!(after.jobs_failed, failed_before + 1);
    assert_eq!(after.in_flight, 0);
    assert_eq!(allocate_in_job(MIB), MIB / 4096);
}
