//! The global allocator: the system allocator (dlmalloc on wasm) plus counts,
//! and a parking place for freed thread stacks (`stacks`).
//!
//! Every allocation adds to the instance-wide live/peak counters and to the
//! calling worker's slot (see `telemetry`). A soft limit, off by default, makes
//! requests past it fail exactly like an exhausted linear memory, so the
//! out-of-memory path can be tested anywhere.
//!
//! Uninstrumented builds (`PLONK_WASM_UNINSTRUMENTED` set at compile time, by
//! `scripts/build-wasm.sh node-baseline` only) forward every call straight to
//! `System`: no counters, no soft limit, no parked stacks, as if no global
//! allocator were set (upstream sets none). They exist to measure what the
//! instrumentation costs; nothing else uses them, and their health reports
//! show zero allocator bytes.

use super::telemetry::{self, ALLOCATOR};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::Ordering::Relaxed;

pub struct CountingAllocator;

/// False only in uninstrumented builds (see the module doc). A compile-time
/// environment variable rather than a cargo feature: these files are installed
/// into upstream's crate, whose manifest declares no such feature (an unknown
/// `cfg(feature = ...)` would warn there). A constant, so either build
/// compiles the other branch away.
const INSTRUMENTED: bool = option_env!("PLONK_WASM_UNINSTRUMENTED").is_none();

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
        let bytes = layout.size() as u64;
        if self.over_soft_limit(bytes) {
            return self.counted(std::ptr::null_mut(), bytes);
        }
        if let Some(slots) = stacks::slots(&layout) {
            let parked = stacks::take(slots);
            if !parked.is_null() {
                return self.counted(parked, bytes);
            }
        }
        self.counted(System.alloc(layout), bytes)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !INSTRUMENTED {
            return System.alloc_zeroed(layout);
        }
        let bytes = layout.size() as u64;
        if self.over_soft_limit(bytes) {
            return self.counted(std::ptr::null_mut(), bytes);
        }
        self.counted(System.alloc_zeroed(layout), bytes)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !INSTRUMENTED {
            return System.dealloc(ptr, layout);
        }
        if !stacks::slots(&layout).map_or(false, |slots| stacks::park(slots, ptr)) {
            System.dealloc(ptr, layout);
        }
        telemetry::record_dealloc(layout.size() as u64);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !INSTRUMENTED {
            return System.realloc(ptr, layout, new_size);
        }
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

/// Thread stacks. wasm-bindgen allocates each worker's stack (2 MiB by
/// default, 1 MiB in o1js's post-processed glue; align 16) with this
/// allocator when the worker instantiates, and frees it in
/// `__wbindgen_thread_destroy`. Given back to dlmalloc, a freed stack is split
/// by the small allocations of the threads that live on, and the next
/// generation's stacks no longer fit in the hole: linear memory grew by a
/// stack every few recycles. Freed blocks of exactly a stack's layout are
/// parked here instead and handed to the next stack of that size.
mod stacks {
    use std::alloc::Layout;
    use std::sync::atomic::AtomicUsize;
    use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

    /// wasm-bindgen's DEFAULT_THREAD_STACK_SIZE, and o1js's O1JS_WASM_THREAD_STACK_SIZE.
    const STACK_SIZES: [usize; 2] = [2 << 20, 1 << 20];
    const STACK_ALIGN: usize = 16;
    /// Parked stacks per size at most (one generation of up to 16 workers); more go back to dlmalloc.
    const SLOTS: usize = 16;
    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: AtomicUsize = AtomicUsize::new(0);
    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY_CLASS: [AtomicUsize; SLOTS] = [EMPTY; SLOTS];
    static PARKED: [[AtomicUsize; SLOTS]; 2] = [EMPTY_CLASS; 2];

    /// The parking slots for `layout`, if it is a thread stack's.
    pub fn slots(layout: &Layout) -> Option<&'static [AtomicUsize; SLOTS]> {
        if !cfg!(target_arch = "wasm32") || layout.align() != STACK_ALIGN {
            return None;
        }
        STACK_SIZES
            .iter()
            .position(|&size| size == layout.size())
            .map(|class| &PARKED[class])
    }

    /// A parked stack, or null.
    pub fn take(slots: &[AtomicUsize; SLOTS]) -> *mut u8 {
        for slot in slots {
            let block = slot.swap(0, Acquire);
            if block != 0 {
                return block as *mut u8;
            }
        }
        std::ptr::null_mut()
    }

    /// Parks `block`; false when every slot is taken.
    pub fn park(slots: &[AtomicUsize; SLOTS], block: *mut u8) -> bool {
        slots.iter().any(|slot| {
            slot.compare_exchange(0, block as usize, AcqRel, Relaxed)
                .is_ok()
        })
    }
}
