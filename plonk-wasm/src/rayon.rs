//! A recyclable, instrumented Rayon pool for plonk-wasm / kimchi-wasm.
//!
//! Drop-in for upstream's `rayon.rs`: the same JS ABI (see [`wasm`]) and the
//! same `run_in_pool(op)` every proving export funnels through. What it adds:
//!
//! - an explicit lifecycle with recycling and poisoning ([`lifecycle`]);
//! - generations with an in-flight gate, so a recycle never tears down a pool
//!   that runs a job, and new jobs go to the new generation at once
//!   ([`generation`], `state`, `flows`);
//! - a teardown that lets workers leave Rayon's loop and destroy their thread
//!   state before they are stopped, so recycles do not leak stacks;
//! - memory reporting from every worker through shared-memory counters
//!   ([`telemetry`], [`counting_alloc`]) and `poolHealth()`;
//! - out of memory as a catchable error instead of a trap ([`oom`]).
//!
//! The same code runs natively on std threads ([`native`]) for `cargo test`.
//!
//! # Modules
//!
//! A one-way stack: each row uses only rows below it, never its own or one
//! above (`tests/module_graph.rs` reads every `use` and fails on a cycle or
//! on a row out of place).
//!
//! ```text
//!  ┌─────────────────────────────────────────────────┬────────────────────────────────────────────────┐
//!  │ rayon.rs                                        │ run_in_pool: the choke point of every export   │
//!  ├─────────────────────────────────────────────────┼────────────────────────────────────────────────┤
//!  │ wasm · native · pool_abi                        │ the hosts: JS ABI, std threads; pool-abi.ts    │
//!  ├─────────────────────────────────────────────────┼────────────────────────────────────────────────┤
//!  │ flows · health                                  │ init, recycle, exit over a Host; poolHealth()  │
//!  ├─────────────────────────────────────────────────┼────────────────────────────────────────────────┤
//!  │ state · worker · completion · job               │ the lifecycle behind one lock, admission;      │
//!  │                                                 │ a worker's body; waiting out a job             │
//!  ├─────────────────────────────────────────────────┼────────────────────────────────────────────────┤
//!  │ generation · counting_alloc                     │ a generation: pool, in-flight gate, fence;     │
//!  │                                                 │ the global allocator                           │
//!  ├─────────────────────────────────────────────────┼────────────────────────────────────────────────┤
//!  │ lifecycle · loss_signal · caught · js_args ·    │ the state machine; losses and out words in     │
//!  │ thread_stacks                                   │ shared memory; exports' panics; JS arguments;  │
//!  │                                                 │ worker stacks                                  │
//!  ├─────────────────────────────────────────────────┼────────────────────────────────────────────────┤
//!  │ error                                           │ codes and messages; js_error                   │
//!  ├─────────────────────────────────────────────────┼────────────────────────────────────────────────┤
//!  │ oom · report                                    │ out of memory as a panic; the reports          │
//!  ├─────────────────────────────────────────────────┼────────────────────────────────────────────────┤
//!  │ telemetry · abi · console_log                   │ shared-memory counters, INSTRUMENTED; abi!;    │
//!  │                                                 │ console output                                 │
//!  └─────────────────────────────────────────────────┴────────────────────────────────────────────────┘
//! ```

mod abi;
mod caught;
mod completion;
#[cfg(target_arch = "wasm32")]
mod console_log;
mod counting_alloc;
pub mod error;
mod flows;
mod generation;
pub mod health;
mod job;
#[cfg(target_arch = "wasm32")]
pub(crate) mod js_args;
pub mod lifecycle;
pub(crate) mod loss_signal;
mod oom;
#[cfg(not(target_arch = "wasm32"))]
mod pool_abi;
pub mod report;
mod state;
mod telemetry;
mod thread_stacks;
mod worker;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

#[cfg(target_arch = "wasm32")]
pub use caught::caught;
pub use counting_alloc::{reset_peak_bytes, set_soft_limit_bytes};
pub use error::PoolError;
pub use generation::RetireOptions;
pub use health::{health, PoolHealth};
pub use job::{current_job, JobInfo};
pub use report::{ExitReport, RecycleReport, Retirement, StartReport, WorkerExit};
/// Worker stacks set aside for the next start, and a worker's stack size:
/// part of the allocator's live bytes that follows the thread count.
pub use thread_stacks::{set_aside_bytes as set_aside_stack_bytes, stack_bytes};

/// What native tests need beyond the public API: the hooks through which the
/// hosts report a lost worker, and the pieces the ABI test renders.
#[cfg(not(target_arch = "wasm32"))]
pub mod testing {
    pub use super::loss_signal::{current_worker, mark_out, out_count};
    pub use super::oom::{panic_message, OUT_OF_MEMORY_PREFIX};
    pub use super::pool_abi::typescript;
    pub use super::state::worker_lost;
    pub use super::telemetry::{worker_snapshots, WorkerState};
}

use lifecycle::GenerationRef;
use std::panic::{self, AssertUnwindSafe};

/// Runs `op` on the pool and returns its result (upstream's signature).
///
/// With no pool at all (before `initThreadPool`, after `exitThreadPool`) it
/// runs `op` inline on the calling thread, as upstream's does, counted in
/// `poolHealth().inlineJobs`. Fails, with a message that starts
/// `plonk-wasm [CODE]`, if a pool exists but no generation can take the job
/// (starting, poisoned, exiting); a panic or an out-of-memory inside `op`,
/// pooled or inline, fails the call with the panic's message (out of memory:
/// `plonk-wasm [OUT_OF_MEMORY] …`). See [`fail`] for how a failure reaches
/// the caller.
pub fn run_in_pool<OP, R>(op: OP) -> R
where
    OP: FnOnce() -> R + Send,
    R: Send,
{
    // Natively, and nested on a pool thread (inside an enclosing job), a
    // failure is a panic, which the caller's `catch_unwind` takes as it is.
    // Inside one of our exports (`caught`), a panic: the export turns it into the JS error.
    let throws_to_js =
        cfg!(target_arch = "wasm32") && !worker::on_pool_worker() && !caught::inside();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| try_run_in_pool(op)));
    // An out of memory used the reserve; it is set aside again only once the
    // failure is written, which may need the room the reserve left.
    match outcome {
        Ok(Ok(result)) => {
            oom::refill_reserve();
            result
        }
        Ok(Err(error)) => {
            let message = error.tagged();
            oom::refill_reserve();
            fail(throws_to_js, message)
        }
        Err(payload) if !throws_to_js => {
            oom::refill_reserve();
            panic::resume_unwind(payload)
        }
        Err(payload) => {
            let message = caught::failure_message(&*payload);
            drop(payload);
            oom::refill_reserve();
            fail(true, message)
        }
    }
}

/// How a failed `run_in_pool` reaches its caller: with `throw_to_js` (on
/// wasm, at the outermost call) a JS `Error` with the message, thrown with
/// `wasm_bindgen::throw_str`; otherwise a panic with the message.
///
/// Why not a panic on wasm: a Rust panic that leaves the export reaches JS as
/// an opaque `WebAssembly.Exception` (wasm-bindgen 0.2.106, upstream's pin,
/// does not catch panics at exports) and leaves the thread's panic count
/// raised, so that its next panic would abort. Here the panic was already
/// caught, so nothing is in flight when the JS error is thrown.
fn fail(throw_to_js: bool, message: String) -> ! {
    #[cfg(target_arch = "wasm32")]
    {
        if throw_to_js {
            wasm_bindgen::throw_str(&message);
        }
    }
    let _ = throw_to_js;
    panic::resume_unwind(Box::new(message))
}

/// Like [`run_in_pool`], but a job the pool cannot take is an `Err`.
pub fn try_run_in_pool<OP, R>(op: OP) -> Result<R, PoolError>
where
    OP: FnOnce() -> R + Send,
    R: Send,
{
    oom::install_alloc_error_hook();
    let mut lease = match state::admit()? {
        state::Admission::Pool(lease) => lease,
        state::Admission::Inline => return Ok(run_inline(op)),
    };
    let generation = lease.generation().clone();
    // Owns its generation handle: after a lost worker this closure may outlive
    // the call (see `completion`), so it borrows nothing of ours but `op`.
    let job_generation = generation.clone();
    let job = move || {
        telemetry::note_job_started();
        let _scope = job::JobScope::enter(&job_generation);
        op()
    };
    let outcome = if worker::on_pool_worker() {
        // Already on a pool thread (a nested call): Rayon runs it inline.
        panic::catch_unwind(AssertUnwindSafe(|| lease.pool().install(job)))
    } else {
        match completion::run(lease.pool(), &generation, job) {
            completion::Outcome::Finished(outcome) => outcome,
            completion::Outcome::Lost => {
                lease.mark_failed();
                drop(lease);
                let reason = generation
                    .lost_worker()
                    .unwrap_or_else(|| "signalled by the host".to_string());
                tracing::error!(target: "plonk_wasm::pool", generation = generation.number, %reason, "job lost with a worker");
                return Err(PoolError::WorkerLost {
                    generation: generation.number,
                    reason,
                });
            }
        }
    };
    let generation_number = generation.number;
    if outcome.is_err() {
        lease.mark_failed();
    }
    drop(lease);
    match outcome {
        Ok(result) => Ok(result),
        Err(payload) => {
            if let Some(message) = oom::panic_message(&*payload) {
                if message.starts_with(oom::OUT_OF_MEMORY_PREFIX) {
                    tracing::warn!(target: "plonk_wasm::pool", generation = generation_number, %message, "job ran out of memory");
                }
            }
            panic::resume_unwind(payload)
        }
    }
}

/// Runs `op` on the calling thread, as upstream's `run_in_pool` does when
/// there is no pool, and counts it (`poolHealth().inlineJobs`). A panic or an
/// out of memory unwinds to [`run_in_pool`] as from a pooled job, which makes
/// it the same typed error; every frame of `op` is dropped on the way.
fn run_inline<OP, R>(op: OP) -> R
where
    OP: FnOnce() -> R,
{
    telemetry::JOBS
        .inline
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(target: "plonk_wasm::pool", "no thread pool: the job runs on the calling thread");
    match panic::catch_unwind(AssertUnwindSafe(op)) {
        Ok(result) => result,
        Err(payload) => {
            if let Some(message) = oom::panic_message(&*payload) {
                if message.starts_with(oom::OUT_OF_MEMORY_PREFIX) {
                    tracing::warn!(target: "plonk_wasm::pool", %message, "inline job (no thread pool) ran out of memory");
                }
            }
            panic::resume_unwind(payload)
        }
    }
}
