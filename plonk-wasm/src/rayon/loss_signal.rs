//! Worker losses, and which workers of a generation can never run job code
//! again, signalled through shared memory.
//!
//! A caller blocked in `run_in_pool` must learn that a worker of its
//! generation died, or it waits forever for the piece of its job that worker
//! held. No JS can tell it: on Node the caller *is* the main thread, whose
//! event loop is blocked with it, and after a trap no export call may work. So
//! a host thread that is never blocked (the backends' supervisor) writes into
//! this table with plain `Atomics` operations at [`slot_address`], which need
//! no call into the instance. The waiting caller polls it (see `completion`).
//!
//! Layout, part of the JS contract (host/loss.ts): per generation `g` (never
//! 0) a slot of little-endian `u64`s at [`slot_address`] (one of `SLOTS`,
//! reused every `SLOTS` generations):
//! - `[0]` lost: `g` once a worker of `g` was lost (`Atomics.store`);
//! - `[1 + i]`, `i` < `MAX_THREADS`, worker `i`'s *out* word: `g` once worker
//!   `i` of `g` (the host's numbering, the `worker` argument of
//!   `wbg_rayon_start_worker`) provably runs no job code of `g`, ever again.
//!
//! Who writes an out word, and the evidence each write rests on (this is the
//! invariant the fence in `completion` relies on; every write is `Release`,
//! every read `Acquire`):
//! - the worker itself, in Rust, right before it parks at its generation's
//!   fence for good ([`mark_current_worker_out`], `generation::Fence`);
//! - the worker itself, in JS, on its own thread, after its last call into
//!   wasm returned or threw (host/rayon-worker.ts);
//! - the host, on evidence that the worker's thread ran its last script:
//!   Node's `exit` event, a Web Worker's `error` event (its task threw out),
//!   or its Web Lock released (host/supervisor.ts, worker-helpers.js). Never
//!   on `terminate()` alone, which does not wait for the thread to stop.
//!
//! Every word holds a generation number, never a count or a flag, so each
//! write is idempotent (two pieces of evidence for one worker count once)
//! and a word left by an older generation in a reused slot never reads as
//! the new one's: nothing is ever reset, and no writer races a reset. Slots
//! are reused every `SLOTS` generations, far more than are ever alive at once.

use super::error::MAX_THREADS;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

pub const SLOTS: usize = 32;

#[repr(C, align(16))]
struct Slot {
    lost: AtomicU64,
    out: [AtomicU64; MAX_THREADS],
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    lost: ZERO,
    out: [ZERO; MAX_THREADS],
};
static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];

const NO_WORKER: u32 = u32::MAX;

thread_local! {
    // The calling pool worker's index in its generation, as the host numbers
    // it (set by `worker::run_worker`). Const-initialised, destructor-free.
    static CURRENT_WORKER: Cell<u32> = const { Cell::new(NO_WORKER) };
}

fn slot(generation: u64) -> &'static Slot {
    &TABLE[(generation % SLOTS as u64) as usize]
}

/// Records that a worker of `generation` was lost (what the host's store does).
pub fn mark(generation: u64) {
    slot(generation).lost.store(generation, Ordering::Release);
}

pub fn is_marked(generation: u64) -> bool {
    generation != 0 && slot(generation).lost.load(Ordering::Acquire) == generation
}

/// Records that worker `worker` of `generation` runs no job code of it ever
/// again. Only with evidence of that (see the module doc); natively, tests
/// stand in for the host's evidence with it.
pub fn mark_out(generation: u64, worker: usize) {
    if let Some(word) = slot(generation).out.get(worker) {
        word.store(generation, Ordering::Release);
    }
}

/// How many of workers `0..threads` of `generation` are out (see [`mark_out`]).
pub fn out_count(generation: u64, threads: usize) -> usize {
    slot(generation)
        .out
        .iter()
        .take(threads)
        .filter(|word| word.load(Ordering::Acquire) == generation)
        .count()
}

/// Sets which worker of its generation the calling thread is (`None`: the
/// host gave no index, and writes no out word for it).
pub fn set_current_worker(worker: Option<usize>) {
    let index = worker
        .filter(|&w| w < MAX_THREADS)
        .map_or(NO_WORKER, |w| w as u32);
    CURRENT_WORKER.with(|current| current.set(index));
}

/// The calling thread's index as the host numbers it, if it is a pool worker
/// the host gave one.
pub fn current_worker() -> Option<usize> {
    match CURRENT_WORKER.with(Cell::get) {
        NO_WORKER => None,
        index => Some(index as usize),
    }
}

/// Marks the calling worker out of `generation` ([`mark_out`]): call it only
/// when this thread will run no job code of it again (it parks for good next).
/// False if the thread has no index, so that the caller counts it apart.
pub fn mark_current_worker_out(generation: u64) -> bool {
    match current_worker() {
        Some(worker) => {
            mark_out(generation, worker);
            true
        }
        None => false,
    }
}

/// Byte address of `generation`'s slot in linear memory (16-byte aligned).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn slot_address(generation: u64) -> usize {
    slot(generation) as *const Slot as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_names_one_generation_at_a_time() {
        let g = 1_000_003;
        assert!(!is_marked(g));
        mark(g);
        assert!(is_marked(g));
        // The generation that reuses the slot later is not lost by inheritance.
        assert!(!is_marked(g + SLOTS as u64));
        assert_eq!(slot_address(g) % 16, 0);
        assert!(!is_marked(0));
    }

    #[test]
    fn out_words_count_each_worker_once_and_never_for_a_later_generation() {
        let g = 2_000_003;
        assert_eq!(out_count(g, 4), 0);
        mark_out(g, 1);
        mark_out(g, 1);
        mark_out(g, 3);
        assert_eq!(
            out_count(g, 4),
            2,
            "two pieces of evidence for worker 1 count once"
        );
        assert_eq!(out_count(g, 3), 1, "only workers below `threads` count");
        mark_out(g, MAX_THREADS);
        assert_eq!(
            out_count(g, MAX_THREADS),
            2,
            "an index past the table is ignored"
        );
        let next = g + SLOTS as u64;
        assert_eq!(
            out_count(next, 4),
            0,
            "a reused slot starts with nobody out"
        );
        mark_out(next, 1);
        assert_eq!(out_count(next, 4), 1);
        assert_eq!(
            out_count(g, 4),
            1,
            "a word the new generation wrote is no longer the old one's"
        );
    }

    #[test]
    fn the_layout_is_the_js_contract() {
        assert_eq!(
            std::mem::size_of::<Slot>(),
            8 + 8 * MAX_THREADS + 8,
            "lost word, out words, padding"
        );
        let g = 3_000_003;
        let base = slot_address(g);
        assert_eq!(&slot(g).lost as *const AtomicU64 as usize, base);
        assert_eq!(
            &slot(g).out[5] as *const AtomicU64 as usize,
            base + 8 * (1 + 5)
        );
    }

    #[test]
    fn a_thread_without_an_index_marks_nothing() {
        let g = 4_000_003;
        std::thread::spawn(move || {
            assert!(!mark_current_worker_out(g));
            set_current_worker(Some(2));
            assert_eq!(current_worker(), Some(2));
            assert!(mark_current_worker_out(g));
        })
        .join()
        .unwrap();
        assert_eq!(out_count(g, 4), 1);
        assert_eq!(current_worker(), None, "the index is per thread");
    }
}
