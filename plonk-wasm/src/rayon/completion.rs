//! Runs one job on a generation and waits for it without being stranded by a
//! dead worker.
//!
//! `ThreadPool::install` waits on a latch that only the job can set. If the
//! worker running a piece of the job dies, the caller waits forever, and on
//! Node that caller is the main thread, so nothing in JS can rescue it. Here
//! the job is spawned onto the pool and the caller waits on a slot of its own,
//! waking every [`POLL`] to look at the generation's loss signal
//! ([`loss_signal`](super::loss_signal)), which a host thread sets from outside.
//!
//! After a loss the caller still waits for the job while the generation shows
//! activity, and gives up once it has been quiet for [`QUIET`]: a job that
//! handed a piece to the dead worker stops making progress and waits for that
//! piece forever, while a job the loss did not touch keeps allocating and
//! finishes (then the caller gets its result, as if nothing happened).

use super::generation::lock;
use super::{loss_signal, telemetry};
use rayon::ThreadPool;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// How often a waiting caller looks at the loss signal.
const POLL: Duration = Duration::from_millis(20);

/// How long a generation that lost a worker must show no activity (no
/// allocation by any of its workers) before the job is given up.
pub const QUIET: Duration = Duration::from_millis(1_000);

pub enum Outcome<R> {
    /// The job ran to its end: its value, or the payload it panicked with.
    Finished(thread::Result<R>),
    /// A worker of the generation died and the job stopped making progress.
    Lost,
}

struct Slot<R> {
    result: Mutex<Option<thread::Result<R>>>,
    done: Condvar,
}

/// Runs `op` on `pool` (a generation numbered `generation`) and waits for it.
pub fn run<'op, R, OP>(pool: &ThreadPool, generation: u64, op: OP) -> Outcome<R>
where
    OP: FnOnce() -> R + Send + 'op,
    R: Send + 'op,
{
    let slot = Arc::new(Slot {
        result: Mutex::new(None),
        done: Condvar::new(),
    });
    let job_slot = slot.clone();
    let job: Box<dyn FnOnce() + Send + 'op> = Box::new(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(op));
        *lock(&job_slot.result) = Some(result);
        job_slot.done.notify_all();
    });
    // SAFETY: `op` may borrow from the caller's frame ('op), and `spawn` wants
    // 'static. The borrow is sound because this function returns only after
    // the job has finished (its result is in the slot), with one exception:
    // `Outcome::Lost`, returned once a worker of this generation died *and*
    // the generation has been quiet for QUIET. The pieces of `op` still on
    // other workers then wait for a piece the dead worker took, which never
    // completes, so they never touch the borrowed data again; and the
    // generation is poisoned, so no new work ever wakes its threads. The slot
    // itself is shared through an `Arc`, so a late write to it is harmless.
    let job: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(job) };
    pool.spawn(job);

    // (when the activity was first seen at this value, in monotonic ms; the value).
    // `Instant` is not available on wasm32-unknown-unknown.
    let mut quiet_since: Option<(f64, u64)> = None;
    let mut result = lock(&slot.result);
    loop {
        if let Some(finished) = result.take() {
            return Outcome::Finished(finished);
        }
        if loss_signal::is_marked(generation) {
            let activity = telemetry::generation_allocated_bytes(generation);
            match quiet_since {
                Some((since, seen)) if seen == activity => {
                    if telemetry::monotonic_ms() - since >= QUIET.as_millis() as f64 {
                        return Outcome::Lost;
                    }
                }
                _ => quiet_since = Some((telemetry::monotonic_ms(), activity)),
            }
        }
        result = slot
            .done
            .wait_timeout(result, POLL)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0;
    }
}
