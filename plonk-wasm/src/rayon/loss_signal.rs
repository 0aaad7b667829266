//! Worker losses, signalled through shared memory.
//!
//! A caller blocked in `run_in_pool` must learn that a worker of its
//! generation died, or it waits forever for the piece of its job that worker
//! held. No JS can tell it: on Node the caller *is* the main thread, whose
//! event loop is blocked with it, and after a trap no export call may work. So
//! a host thread that is never blocked (the backends' supervisor) writes into
//! this table with plain `Atomics` operations at [`slot_address`], which need
//! no call into the instance. The waiting caller polls it (see `completion`).
//!
//! Layout, part of the JS contract: `SLOTS` slots of two little-endian `u64`s,
//! 16 bytes each, for generation `g` (never 0) at slot `g % SLOTS`:
//! - `[0]` the generation: `g` once a worker of `g` was lost (`Atomics.store`);
//! - `[1]` how many workers of `g` are known to have stopped for good: their
//!   thread runs no more wasm (`Atomics.add`, once per worker, after the loss).
//!
//! When a generation takes over a slot from an older one, the count is reset
//! first (by whichever side stores the generation). Slots are reused every
//! `SLOTS` generations, far more than are ever alive at once.

use std::sync::atomic::{AtomicU64, Ordering};

pub const SLOTS: usize = 64;

#[repr(C, align(16))]
struct Slot {
    generation: AtomicU64,
    stopped: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    generation: AtomicU64::new(0),
    stopped: AtomicU64::new(0),
};
static LOST: [Slot; SLOTS] = [EMPTY; SLOTS];

fn slot(generation: u64) -> &'static Slot {
    &LOST[(generation % SLOTS as u64) as usize]
}

/// Records that a worker of `generation` was lost (what the host's store does).
pub fn mark(generation: u64) {
    let slot = slot(generation);
    if slot.generation.load(Ordering::Acquire) != generation {
        slot.stopped.store(0, Ordering::Release);
        slot.generation.store(generation, Ordering::Release);
    }
}

pub fn is_marked(generation: u64) -> bool {
    generation != 0 && slot(generation).generation.load(Ordering::Acquire) == generation
}

/// Records that one more worker of a lost `generation` stopped for good
/// (what the host's `Atomics.add` does; natively, tests stand in for it).
#[cfg(not(target_arch = "wasm32"))]
pub fn add_stopped(generation: u64) {
    mark(generation);
    slot(generation).stopped.fetch_add(1, Ordering::AcqRel);
}

/// Workers of `generation` known to have stopped for good (0 if none was lost).
pub fn stopped(generation: u64) -> usize {
    let slot = slot(generation);
    if slot.generation.load(Ordering::Acquire) == generation {
        slot.stopped.load(Ordering::Acquire) as usize
    } else {
        0
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
    fn stopped_workers_are_counted_per_generation_and_reset_with_the_slot() {
        let g = 2_000_003;
        assert_eq!(stopped(g), 0);
        add_stopped(g);
        add_stopped(g);
        assert_eq!(stopped(g), 2);
        let next = g + SLOTS as u64;
        mark(next);
        assert_eq!(
            stopped(next),
            0,
            "a new generation in the slot starts from 0"
        );
        assert_eq!(stopped(g), 0, "the old generation no longer owns the slot");
    }
}
