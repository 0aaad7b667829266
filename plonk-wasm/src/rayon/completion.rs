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
//! After a loss the caller raises the generation's fence (see
//! `generation::Fence`) and keeps waiting for the job. It gives the job up
//! only when every worker of the generation is *out*: parked for good at the
//! fence, or proven to run no more wasm by evidence from its own thread (its
//! out word in `loss_signal`, whose module doc lists who writes it and on
//! what evidence; a worker that was only asked to stop, `terminate()`, is
//! not out). From then on no thread runs any piece of the job, so nothing can
//! touch the caller's frame any more, however long a surviving piece had
//! computed. A job the loss did not touch finishes before its workers take
//! the fence, and the caller gets its result as if nothing happened. No
//! timing is involved: a worker that never proves it is out keeps the caller
//! waiting, as a worker that keeps computing does.

use super::generation::{lock, Generation};
use super::loss_signal;
use rayon::ThreadPool;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// How often a waiting caller looks at the loss signal.
const POLL: Duration = Duration::from_millis(20);

pub enum Outcome<R> {
    /// The job ran to its end: its value, or the payload it panicked with.
    Finished(thread::Result<R>),
    /// A worker of the generation died, and every worker of it is out (see
    /// the module doc): the job cannot finish, and no piece of it runs.
    Lost,
}

struct Slot<R> {
    result: Mutex<Option<thread::Result<R>>>,
    done: Condvar,
}

/// Runs `op` on `pool`, the pool of `generation`, and waits for it.
pub fn run<'op, R, OP>(pool: &ThreadPool, generation: &Generation, op: OP) -> Outcome<R>
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
    // 'static. Extending the lifetime is sound because this function returns
    // only (a) once the job ran to its end (its result is in the slot, written
    // after `op` returned or unwound: no thread uses `op` or its borrows any
    // more), or (b) with `Outcome::Lost`, once `generation.is_fenced()`:
    // every worker of the generation is out (invariant of the out words, kept
    // in `loss_signal` by its writers: parked for good by the fence, or proven
    // to run no more wasm by evidence from the worker's own thread, never by
    // `terminate()` alone), and the job's pieces run only on the generation's
    // pool threads, each run by one of those workers; so no piece of `op`
    // runs, or will ever run, again. The parked pieces keep their frames,
    // which reference the caller's, but never resume. The slot is shared
    // through an `Arc`, so its own memory outlives everyone.
    let job: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(job) };
    pool.spawn(job);

    let mut result = lock(&slot.result);
    loop {
        if let Some(finished) = result.take() {
            return Outcome::Finished(finished);
        }
        if loss_signal::is_marked(generation.number) {
            generation.raise_fence(pool);
            if generation.is_fenced() {
                // Last look: the job may have finished just before the last worker parked.
                return match result.take() {
                    Some(finished) => Outcome::Finished(finished),
                    None => Outcome::Lost,
                };
            }
        }
        result = slot
            .done
            .wait_timeout(result, POLL)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0;
    }
}
