//! Worker stacks: the one allocation that must not fail.
//!
//! wasm-bindgen's start function for a new thread allocates the thread's stack
//! with `__wbindgen_malloc` while it holds a lock in shared memory (the lock of
//! the scratch stack malloc runs on). If that allocation fails, malloc aborts:
//! a trap, with the lock still held, and every later thread start, and every
//! worker that destroys its own stack on exit, waits on that lock forever. So
//! in memory that is nearly full, one failed worker start would wedge every
//! later start of the instance. To rule that out:
//!
//! - before the host starts a generation's workers, [`reserve`] sets aside one
//!   block per worker, on the caller's thread, where a failed allocation is an
//!   ordinary error: the start then fails cleanly before any worker exists;
//! - an allocation made before the calling thread has its TLS block, which is
//!   only ever a starting thread's stack or TLS block, ignores the soft limit
//!   and takes a set-aside block when one is large enough ([`take`]);
//! - a freed block of the stack's layout is set aside again ([`park`]) for the
//!   next generation's workers. Given back to dlmalloc, a freed stack would be
//!   split by the small allocations of the threads that live on, and the next
//!   stacks would no longer fit in the hole: linear memory grew by a stack
//!   every few recycles.
//!
//! Invariants, kept here: a set-aside block was allocated by `System` with
//! exactly the layout it is set aside under (its size in the slot, alignment
//! `STACK_ALIGN`), and is freed with that layout only: a block handed out
//! for a smaller request is recorded as lent, and freed or set aside again
//! under its own size ([`allocated_layout`], which the allocator asks on
//! every free); it is counted in the allocator's live bytes at that size; it
//! is handed out only to a thread that is starting; at most [`SLOTS`] blocks
//! are set aside, and at most [`SLOTS`] lent.
//!
//! Natively there is no such lock and threads have their own stacks: every
//! function here does nothing.

/// wasm-bindgen's default thread stack (2 MiB); o1js's glue asks for 1 MiB. The
/// size in use is learnt from the first worker that starts (`stack_bytes`).
pub const DEFAULT_STACK_BYTES: usize = 2 << 20;
/// wasm-bindgen allocates stacks with this alignment.
#[cfg(target_arch = "wasm32")]
const STACK_ALIGN: usize = 16;
/// At most one generation of the largest pool.
#[cfg(target_arch = "wasm32")]
const SLOTS: usize = super::error::MAX_THREADS;

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{DEFAULT_STACK_BYTES, SLOTS, STACK_ALIGN};
    use crate::rayon::telemetry;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
    use std::sync::atomic::{AtomicU64, AtomicUsize};

    /// A set-aside block: address in the high half, size in the low half; 0 is empty.
    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: AtomicU64 = AtomicU64::new(0);
    static PARKED: [AtomicU64; SLOTS] = [EMPTY; SLOTS];
    /// Set-aside blocks handed out for a smaller request than their size
    /// (see [`take`]), packed like `PARKED`: address and real size.
    static LENT: [AtomicU64; SLOTS] = [EMPTY; SLOTS];
    /// A `LENT` entry claimed by a `take` that has not stored its block yet.
    const RESERVED: u64 = u64::MAX;
    /// The stack size the glue uses, once a worker started (0 before).
    static SEEN_STACK_BYTES: AtomicUsize = AtomicUsize::new(0);

    thread_local! {
        static TLS_MARK: u8 = const { 0 };
    }

    fn pack(block: *mut u8, bytes: usize) -> u64 {
        ((block as usize as u64) << 32) | bytes as u64
    }

    fn unpack(entry: u64) -> (*mut u8, usize) {
        (
            (entry >> 32) as usize as *mut u8,
            (entry & 0xffff_ffff) as usize,
        )
    }

    /// True on a thread whose TLS block does not exist yet: wasm-bindgen's
    /// start function allocates the stack, then the TLS block, before it sets
    /// `__tls_base`. Until then `__tls_base` is 0 and a thread-local's address
    /// is its small offset; afterwards it lies in the heap, far above the first
    /// 64 KiB (the bottom of the main thread's stack). Only the address is
    /// computed: nothing is read through it.
    #[inline]
    pub fn thread_is_starting() -> bool {
        TLS_MARK.with(|mark| (mark as *const u8 as usize) < 64 * 1024)
    }

    /// The stack size in use: learnt from the first worker, else wasm-bindgen's default.
    pub fn stack_bytes() -> usize {
        match SEEN_STACK_BYTES.load(Relaxed) {
            0 => DEFAULT_STACK_BYTES,
            seen => seen,
        }
    }

    fn is_stack_layout(layout: &Layout) -> bool {
        layout.align() == STACK_ALIGN && layout.size() == stack_bytes()
    }

    /// For a starting thread's stack: a set-aside block at least as large as
    /// `layout`, or null (also for its TLS block, which is small and never
    /// takes one). The first stack request is remembered as the stack size.
    ///
    /// A block set aside under a larger size (reserved before the first
    /// worker told the stack size in use: o1js's glue asks for 1 MiB, the
    /// reserve assumes wasm-bindgen's 2 MiB) is lent: recorded in `LENT`, so
    /// that when its owner frees it under `layout` it is freed, or set aside
    /// again, with the layout it was allocated with ([`allocated_layout`]).
    pub fn take(layout: &Layout) -> *mut u8 {
        let bytes = layout.size();
        if !is_stack_shaped(layout) {
            return std::ptr::null_mut();
        }
        SEEN_STACK_BYTES.store(bytes, Relaxed);
        for slot in PARKED.iter() {
            let entry = slot.load(Acquire);
            if entry == 0 || unpack(entry).1 < bytes {
                continue;
            }
            let larger = unpack(entry).1 > bytes;
            // A larger block needs a free `LENT` entry; claimed first, so a
            // block is never handed out without one.
            let lent = if larger {
                match LENT
                    .iter()
                    .find(|lent| lent.compare_exchange(0, RESERVED, AcqRel, Relaxed).is_ok())
                {
                    Some(lent) => Some(lent),
                    None => continue,
                }
            } else {
                None
            };
            if slot.compare_exchange(entry, 0, AcqRel, Relaxed).is_err() {
                if let Some(lent) = lent {
                    lent.store(0, Release);
                }
                continue;
            }
            let (block, parked_bytes) = unpack(entry);
            if let Some(lent) = lent {
                lent.store(entry, Release);
            }
            // Counted at `parked_bytes` while set aside, and still (that is
            // the size it will be freed with); one more allocation.
            telemetry::record_dealloc(parked_bytes as u64);
            telemetry::record_alloc_unattributed(parked_bytes as u64);
            return block;
        }
        std::ptr::null_mut()
    }

    /// The layout `block` was allocated with, given the layout its owner
    /// holds it under: its real one if [`take`] lent it, else `layout`.
    /// `freed`: the block is being freed (or was just reallocated), so it is
    /// no longer lent and its entry is dropped.
    #[inline]
    pub fn allocated_layout(block: *mut u8, layout: Layout, freed: bool) -> Layout {
        if !is_stack_shaped(&layout) {
            return layout;
        }
        for lent in LENT.iter() {
            let entry = lent.load(Acquire);
            if entry == 0 || entry == RESERVED || unpack(entry).0 != block {
                continue;
            }
            // Only the block's owner frees or reallocates it: nobody races this.
            if freed {
                lent.store(0, Release);
            }
            return stack_layout(unpack(entry).1);
        }
        layout
    }

    /// What a stack request looks like (a TLS block never does).
    fn is_stack_shaped(layout: &Layout) -> bool {
        let bytes = layout.size();
        layout.align() == STACK_ALIGN && bytes >= 64 * 1024 && bytes % (64 * 1024) == 0
    }

    fn stack_layout(bytes: usize) -> Layout {
        Layout::from_size_align(bytes, STACK_ALIGN).expect("a valid stack layout")
    }

    /// Sets `block` aside if it has a stack's layout and a slot is free.
    ///
    /// # Safety
    ///
    /// `block` must have been allocated by `System` with exactly `layout`
    /// (so that `take` can hand it out, and `trim` free it, with that layout)
    /// and must not be used or freed by anyone after this call if it returns
    /// true: ownership passes to the set-aside slot. If it returns false the
    /// caller still owns the block.
    pub unsafe fn park(block: *mut u8, layout: &Layout) -> bool {
        if !is_stack_layout(layout) {
            return false;
        }
        let entry = pack(block, layout.size());
        PARKED
            .iter()
            .any(|slot| slot.compare_exchange(0, entry, AcqRel, Relaxed).is_ok())
    }

    fn parked_at_least(bytes: usize) -> usize {
        PARKED
            .iter()
            .filter(|slot| {
                let entry = slot.load(Acquire);
                entry != 0 && unpack(entry).1 >= bytes
            })
            .count()
    }

    /// Sets aside blocks until `workers` stacks are ready for starting
    /// threads. Err: the bytes that could not be allocated.
    pub fn reserve(workers: usize) -> Result<(), usize> {
        // An uninstrumented allocator (the benchmark's baseline) is upstream's:
        // it never hands set-aside blocks out, so none are set aside.
        if !telemetry::INSTRUMENTED {
            return Ok(());
        }
        let bytes = stack_bytes();
        let layout = stack_layout(bytes);
        let mut missing = workers.min(SLOTS).saturating_sub(parked_at_least(bytes));
        while missing > 0 {
            // SAFETY: `layout` is valid and non-zero (a stack size, a multiple
            // of 64 KiB); the block is parked or freed below.
            let block = unsafe { System.alloc(layout) };
            if block.is_null() {
                telemetry::record_failed_alloc(bytes as u64);
                return Err(missing * bytes);
            }
            telemetry::record_alloc_unattributed(bytes as u64);
            // SAFETY: allocated by `System` with exactly `layout` just above,
            // and used by nobody else: ownership passes to the slot.
            if !unsafe { park(block, &layout) } {
                // Every slot is taken by blocks of another size: not ours to fix here.
                // SAFETY: not parked, so still ours; allocated with `layout` above.
                unsafe { System.dealloc(block, layout) };
                telemetry::record_dealloc(bytes as u64);
                return Ok(());
            }
            missing -= 1;
        }
        Ok(())
    }

    /// Bytes of the blocks set aside now (counted in the allocator's live bytes).
    pub fn set_aside_bytes() -> usize {
        PARKED.iter().map(|slot| unpack(slot.load(Acquire)).1).sum()
    }

    /// Frees set-aside blocks beyond `keep`.
    pub fn trim(keep: usize) {
        let mut kept = 0;
        for slot in PARKED.iter() {
            if slot.load(Acquire) == 0 {
                continue;
            }
            if kept < keep {
                kept += 1;
                continue;
            }
            let entry = slot.swap(0, AcqRel);
            if entry != 0 {
                let (block, bytes) = unpack(entry);
                // SAFETY: a set-aside block was allocated by `System` with
                // exactly this layout (`park`'s contract, which the allocator
                // keeps by asking `allocated_layout` first), and the swap
                // made this thread its only owner.
                unsafe { System.dealloc(block, stack_layout(bytes)) };
                telemetry::record_dealloc(bytes as u64);
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::alloc::Layout;

    #[inline]
    pub fn thread_is_starting() -> bool {
        false
    }
    pub fn stack_bytes() -> usize {
        super::DEFAULT_STACK_BYTES
    }
    pub fn take(_layout: &Layout) -> *mut u8 {
        std::ptr::null_mut()
    }
    #[inline]
    pub fn allocated_layout(_block: *mut u8, layout: Layout, _freed: bool) -> Layout {
        layout
    }
    /// # Safety
    ///
    /// As on wasm; natively nothing is set aside and the caller keeps the block.
    pub unsafe fn park(_block: *mut u8, _layout: &Layout) -> bool {
        false
    }
    pub fn reserve(_workers: usize) -> Result<(), usize> {
        Ok(())
    }
    pub fn set_aside_bytes() -> usize {
        0
    }
    pub fn trim(_keep: usize) {}
}

pub use imp::{
    allocated_layout, park, reserve, set_aside_bytes, stack_bytes, take, thread_is_starting, trim,
};
