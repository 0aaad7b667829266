//! Which generation the current job runs on, for the job itself to see.

use super::generation::Generation;
use std::cell::Cell;
use std::ptr;

thread_local! {
    // A raw pointer, not an `Arc`: a destructor-free thread-local costs
    // nothing on wasm threads, whose thread-local destructors never run.
    static CURRENT: Cell<*const Generation> = const { Cell::new(ptr::null()) };
}

/// Marks the calling thread as running a job of `generation` until dropped.
pub struct JobScope {
    previous: *const Generation,
}

impl JobScope {
    pub fn enter(generation: &Generation) -> JobScope {
        let previous = CURRENT.with(|current| current.replace(generation));
        JobScope { previous }
    }
}

impl Drop for JobScope {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.previous));
    }
}

/// What a running job knows about the generation it runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobInfo {
    pub generation: u64,
    /// True if the generation's `ThreadPool` was already dropped: this must
    /// never be seen from inside a job (the in-flight gate prevents it).
    pub torn_down: bool,
}

/// The job running on this thread (`None` outside a top-level pool job).
pub fn current_job() -> Option<JobInfo> {
    let generation = CURRENT.with(Cell::get);
    // SAFETY: `CURRENT` is non-null only between `JobScope::enter(g)` and the
    // scope's drop, on this thread, and the job closure that holds the scope
    // owns an `Arc` of `g` for at least as long (`job_generation` in
    // `try_run_in_pool`, which lives as long as the closure, even past a lost
    // job's lease); so the pointee is alive.
    unsafe { generation.as_ref() }.map(|generation| JobInfo {
        generation: generation.number,
        torn_down: generation.is_torn_down(),
    })
}
