//! The body of a pool worker, the same on wasm (from `wbg_rayon_start_worker`)
//! and natively (a std thread).

use super::generation::Inbox;
use super::{loss_signal, telemetry};
use std::cell::Cell;

thread_local! {
    // Whether this thread runs `run_worker`: one of the pool's workers.
    // Const-initialised and destructor-free.
    static POOL_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// True on a pool worker (of any generation), where a nested `run_in_pool`
/// runs on the worker's own pool. Not `rayon::current_thread_index()`: a
/// thread that ran an inline job may have become a worker of Rayon's global
/// pool (on wasm Rayon falls back to the calling thread for it), and is not
/// one of ours.
pub fn on_pool_worker() -> bool {
    POOL_WORKER.with(Cell::get)
}

/// Registers the worker's telemetry slot, waits for its Rayon thread, runs
/// Rayon's loop until the generation's pool is dropped, then marks the slot
/// exited. On wasm the caller destroys the thread state afterwards.
///
/// `worker` is the worker's index in its generation as the host numbers it
/// (the index of its out word in the loss signal, which the fence writes
/// when it parks this thread); `None` if the host gave none.
pub fn run_worker(inbox: &Inbox, worker: Option<usize>) {
    POOL_WORKER.with(|flag| flag.set(true));
    loss_signal::set_current_worker(worker);
    // Memory reporting starts here: from now on this thread's allocations
    // are attributed to its slot.
    let claim = telemetry::claim_worker_slot(inbox.generation);
    if claim.is_none() {
        tracing::warn!(target: "plonk_wasm::pool", generation = inbox.generation, "no free telemetry slot; this worker runs unattributed");
    }
    let thread = match inbox.receive() {
        Some(thread) => thread,
        None => {
            tracing::debug!(target: "plonk_wasm::pool", generation = inbox.generation, "worker released before its pool was built");
            return;
        }
    };
    let index = thread.index();
    if let Some(claim) = &claim {
        claim.set_running(index);
    }
    tracing::debug!(target: "plonk_wasm::pool", generation = inbox.generation, worker = index, "worker started");
    thread.run();
    tracing::debug!(target: "plonk_wasm::pool", generation = inbox.generation, worker = index, "worker left the rayon loop");
}
