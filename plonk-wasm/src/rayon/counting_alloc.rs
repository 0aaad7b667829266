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
//! show zero allocator bytes.

use super::oom;
use super::telemetry::{self, ALLOCATOR};
use super::thread_stacks;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::Ordering::Relaxed;

pub struct CountingAllocator;

/// False only in uninstrumented builds (see the module doc). A compile-time
/// environment variable rather than a cargo feature: these files are installed
/// into upstream's crate, whose manifest declares no such feature (an unknown
/// `cfg(feature = ...)` would warn there). A constant, so either build
/// compiles the other branch away.
pub(crate) const INSTRUMENTED: bool = option_env!("PLONK_WASM_UNINSTRUMENTED").is_none();

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
    /// set-aside block if one fits, else the system's; never the soft limit,
    /// and no thread-locals (there are none yet).
    #[cold]
    unsafe fn for_starting_thread(&self, layout: Layout) -> *mut u8 {
        let block = thread_stacks::take(&layout);
        if !block.is_null() {
            return block;
        }
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
// pointer unchanged, except that a freed thread stack may be parked instead
// (`stacks`) and handed out again for the same layout: it was allocated by
// `System` with that layout and nobody else holds it. The counters are side
// effects that never touch memory handed out to callers.
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
        // A set-aside block stays counted as live.
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
