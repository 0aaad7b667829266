//! Worker losses, signalled through shared memory.
//!
//! A caller blocked in `run_in_pool` must learn that a worker of its
//! generation died, or it waits forever for the piece of its job that worker
//! held. No JS can tell it: on Node the caller *is* the main thread, whose
//! event loop is blocked with it, and after a trap every export call fails
//! with "Module terminated". So a host thread that is never blocked (the Node
//! backend's supervisor, the web backend's main worker) writes the lost
//! generation's number into this table with a plain `Atomics.store` at
//! [`slot_address`], which needs no call into the instance. The waiting caller
//! polls the table (see `completion`).
//!
//! Layout, part of the JS contract: `SLOTS` little-endian `u64`s; generation
//! `g` (never 0) is lost when slot `g % SLOTS` holds `g`. Slots are reused
//! every `SLOTS` generations, far more than are ever alive at once.

use std::sync::atomic::{AtomicU64, Ordering};

pub const SLOTS: usize = 64;

#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicU64 = AtomicU64::new(0);
static LOST: [AtomicU64; SLOTS] = [NONE; SLOTS];

fn slot(generation: u64) -> &'static AtomicU64 {
    &LOST[(generation % SLOTS as u64) as usize]
}

/// Records that a worker of `generation` was lost (what the host's store does).
pub fn mark(generation: u64) {
    slot(generation).store(generation, Ordering::Release);
}

pub fn is_marked(generation: u64) -> bool {
    generation != 0 && slot(generation).load(Ordering::Acquire) == generation
}

/// Byte address of `generation`'s slot in linear memory (8-byte aligned).
pub fn slot_address(generation: u64) -> usize {
    slot(generation) as *const AtomicU64 as usize
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
        assert_eq!(slot_address(g) % 8, 0);
        assert!(!is_marked(0));
    }
}
