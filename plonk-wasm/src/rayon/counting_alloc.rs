//! The global allocator: the system allocator (dlmalloc on wasm) plus counts,
//! and the worker stacks that must never fail (`thread_stacks`).
//!
//! Every allocation adds to the instance-wide live/peak counters and to the
//! calling worker's slot (see `telemetry`). A soft limit, off by default, makes
//! requests past it fail exactly like an exhausted linear memory, so the
//! out-of-memory path can be tested anywhere.
//!
//! Uninstrumented builds (`PLONK_WASM_UNINSTRUMENTED` set at compile time, by
//! `scripts/build-wasm.sh node-baseline` only) forward every call straight to
//! `System`: no counters, no soft limit, no set-aside stacks, as if no global
//! allocator were set (upstream sets none). They exist to measure what the
//! instrumentation costs; nothing else uses them, and their health reports
//! show zero allocator bytes. The switch is `telemetry::INSTRUMENTED`, which
//! `thread_stacks` reads too.

use super::oom;
use super::telemetry::{self, ALLOCATOR, INSTRUMENTED};
use super::thread_stacks;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::Ordering::Relaxed;

pub struct CountingAllocator;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

impl CountingAllocator {
    #[inline]
    fn over_soft_limit(&self, bytes: u64) -> bool {
        let limit = ALLOCATOR.limit_bytes.load(Relaxed);
        // A panicking thread is exempt: the out-of-memory panic must be able
        // to format its message and unwind, or it would turn into an abort.
        limit != 0
            && ALLOCATOR.live_bytes.load(Relaxed) + bytes > limit
            && !std::thread::panicking()
    }

    /// A starting thread's stack or TLS block (see `thread_stacks`): a
    /// set-aside block at least as large (a larger one is lent: freed later
    /// with its own layout), else the system's; never the soft limit, and no
    /// thread-locals (there are none yet).
    #[cold]
    unsafe fn for_starting_thread(&self, layout: Layout) -> *mut u8 {
        let block = thread_stacks::take(&layout);
        if !block.is_null() {
            return block;
        }
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` received it.
        let block = System.alloc(layout);
        if block.is_null() {
            telemetry::record_failed_alloc(layout.size() as u64);
        } else {
            telemetry::record_alloc_unattributed(layout.size() as u64);
        }
        block
    }

    /// `attempt`, and once more after freeing the out-of-memory reserve if it
    /// failed. Not every caller of the allocator can take a failure: wasm-bindgen's
    /// `__wbindgen_malloc` (a string or bytes passed in from JS) traps on one.
    /// With the reserve freed, the small requests that report a failure or
    /// carry an argument in still succeed; the reserve is set aside again
    /// after the next job (`oom::refill_reserve`).
    #[inline]
    fn with_reserve(&self, attempt: impl Fn() -> *mut u8, bytes: u64) -> *mut u8 {
        let block = attempt();
        if !block.is_null() {
            return self.counted(block, bytes);
        }
        if oom::release_reserve() {
            return self.counted(attempt(), bytes);
        }
        self.counted(std::ptr::null_mut(), bytes)
    }

    #[inline]
    fn counted(&self, ptr: *mut u8, bytes: u64) -> *mut u8 {
        if ptr.is_null() {
            telemetry::record_failed_alloc(bytes);
        } else {
            telemetry::record_alloc(bytes);
        }
        ptr
    }
}

// SAFETY: every method forwards to `System` with the caller's layout and
// pointer unchanged, except for worker stacks (`thread_stacks`): a freed
// block of a stack's layout may be set aside instead of freed, and a
// starting thread may be handed a set-aside block at least as large as it
// asked for. Such a block is owned by nobody else (its slot is emptied by a
// compare-exchange before it is handed out), and it is always freed or set
// aside with the layout `System` allocated it with: `allocated_layout` maps a
// lent block back to its own layout before every free and realloc (the
// invariants are kept in `thread_stacks`). The counters are side effects
// that never touch memory handed out to callers.
unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !INSTRUMENTED {
            return System.alloc(layout);
        }
        if thread_stacks::thread_is_starting() {
            return self.for_starting_thread(layout);
        }
        self.with_reserve(
            || {
                let bytes = layout.size() as u64;
                if self.over_soft_limit(bytes) {
                    return std::ptr::null_mut();
                }
                System.alloc(layout)
            },
            layout.size() as u64,
        )
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !INSTRUMENTED {
            return System.alloc_zeroed(layout);
        }
        if thread_stacks::thread_is_starting() {
            let block = self.for_starting_thread(layout);
            if !block.is_null() {
                std::ptr::write_bytes(block, 0, layout.size());
            }
            return block;
        }
        self.with_reserve(
            || {
                let bytes = layout.size() as u64;
                if self.over_soft_limit(bytes) {
                    return std::ptr::null_mut();
                }
                System.alloc_zeroed(layout)
            },
            layout.size() as u64,
        )
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !INSTRUMENTED {
            return System.dealloc(ptr, layout);
        }
        let layout = thread_stacks::allocated_layout(ptr, layout, true);
        // A set-aside block stays counted as live. SAFETY (of `park`): `ptr`
        // was allocated by `System` with exactly `layout` (the caller's, or
        // the lent block's own, above), and the caller gives it up here.
        if !thread_stacks::park(ptr, &layout) {
            System.dealloc(ptr, layout);
            telemetry::record_dealloc(layout.size() as u64);
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !INSTRUMENTED {
            return System.realloc(ptr, layout, new_size);
        }
        if thread_stacks::allocated_layout(ptr, layout, false) != layout {
            // A lent worker stack (never reallocated in practice): a new
            // block, then the lent one freed through `dealloc`, which frees it
            // with the layout it was allocated with. SAFETY (of the layout):
            // `realloc`'s contract makes `new_size` valid with this alignment.
            let moved = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            return moved;
        }
        let old = layout.size() as u64;
        let new = new_size as u64;
        let attempt = || {
            if new > old && self.over_soft_limit(new - old) {
                return std::ptr::null_mut();
            }
            System.realloc(ptr, layout, new_size)
        };
        let mut moved = attempt();
        if moved.is_null() && oom::release_reserve() {
            moved = attempt();
        }
        if moved.is_null() {
            telemetry::record_failed_alloc(new);
        } else {
            telemetry::record_dealloc(old);
            telemetry::record_alloc(new);
        }
        moved
    }
}

/// Sets the soft limit on live bytes (0 removes it). Returns the previous one.
pub fn set_soft_limit_bytes(limit: u64) -> u64 {
    ALLOCATOR.limit_bytes.swap(limit, Relaxed)
}

/// Sets the peak of live bytes to the live bytes now, so that the next peak
/// is one job's (tests measure a job's working set so). Returns the old peak.
pub fn reset_peak_bytes() -> u64 {
    let live = ALLOCATOR.live_bytes.load(Relaxed);
    ALLOCATOR.peak_live_bytes.swap(live, Relaxed)
}
