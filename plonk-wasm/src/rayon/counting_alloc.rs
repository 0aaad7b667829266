//! The global allocator: the system allocator (dlmalloc on wasm) plus counts.
//!
//! Every allocation adds to the instance-wide live/peak counters and to the
//! calling worker's slot (see `telemetry`). A soft limit, off by default, makes
//! requests past it fail exactly like an exhausted linear memory, so the
//! out-of-memory path can be tested anywhere.

use super::telemetry::{self, ALLOCATOR};
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
// pointer unchanged; the counters are side effects that never touch memory
// handed out to callers.
unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let bytes = layout.size() as u64;
        if self.over_soft_limit(bytes) {
            return self.counted(std::ptr::null_mut(), bytes);
        }
        self.counted(System.alloc(layout), bytes)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let bytes = layout.size() as u64;
        if self.over_soft_limit(bytes) {
            return self.counted(std::ptr::null_mut(), bytes);
        }
        self.counted(System.alloc_zeroed(layout), bytes)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        telemetry::record_dealloc(layout.size() as u64);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size() as u64;
        let new = new_size as u64;
        if new > old && self.over_soft_limit(new - old) {
            telemetry::record_failed_alloc(new);
            return std::ptr::null_mut();
        }
        let moved = System.realloc(ptr, layout, new_size);
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
