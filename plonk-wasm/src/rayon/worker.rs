//! The body of a pool worker, the same on wasm (from `wbg_rayon_start_worker`)
//! and natively (a std thread).

use super::generation::Inbox;
use super::telemetry;

/// Registers the worker's telemetry slot, waits for its Rayon thread, runs
/// Rayon's loop until the generation's pool is dropped, then marks the slot
/// exited. On wasm the caller destroys the thread state afterwards.
pub fn run_worker(inbox: &Inbox) {
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
