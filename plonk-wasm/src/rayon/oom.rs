//! Out of memory as an error, not a trap.
//!
//! With `panic=unwind`, an alloc error hook that panics turns an exhausted
//! allocation on any thread into an unwinding panic. Inside a pool job Rayon
//! carries it to the thread that called `run_in_pool`, every allocation the
//! job made is dropped on the way, and the pool stays usable. Without the hook
//! (or with `panic=abort`) the same failure is `RuntimeError: unreachable` in
//! one worker and a caller that waits forever.

use super::telemetry::{self, ALLOCATOR};
use std::alloc::Layout;
use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Relaxed};
use std::sync::Once;

/// Every out-of-memory message starts with this, so callers (and the JS
/// backends) can recognise it without parsing the rest.
pub const OUT_OF_MEMORY_PREFIX: &str = "plonk-wasm [OUT_OF_MEMORY] out of memory";

/// Memory kept aside for reporting an out of memory: when an allocation
/// fails, the hook frees it first, so that the panic (its message, its
/// payload, unwinding) has room even when the allocator has none left. It is
/// taken again once the failed job is over ([`refill_reserve`]).
const RESERVE_BYTES: usize = 256 * 1024;
static RESERVE: AtomicUsize = AtomicUsize::new(0);

fn reserve_layout() -> Layout {
    Layout::from_size_align(RESERVE_BYTES, 16).expect("a valid layout")
}

/// Installs the hook once per instance (the hook is process-wide state in
/// shared memory, so any thread may install it for all) and sets the reserve aside.
pub fn install_alloc_error_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| std::alloc::set_alloc_error_hook(on_alloc_error));
    refill_reserve();
}

/// Sets the reserve aside again if an out of memory used it (and memory allows).
pub fn refill_reserve() {
    if RESERVE.load(Relaxed) != 0 {
        return;
    }
    // SAFETY: a non-zero layout; the block is only ever freed with the same layout.
    let block = unsafe { std::alloc::alloc(reserve_layout()) } as usize;
    if block != 0 && RESERVE.compare_exchange(0, block, AcqRel, Relaxed).is_err() {
        // Another thread refilled it first.
        // SAFETY: allocated just above with this layout, and not published.
        unsafe { std::alloc::dealloc(block as *mut u8, reserve_layout()) };
    }
}

/// Frees the reserve; true if there was one to free.
pub(crate) fn release_reserve() -> bool {
    let block = RESERVE.swap(0, AcqRel);
    if block != 0 {
        // SAFETY: the block was allocated with this layout by `refill_reserve`,
        // and the swap made this thread its only owner.
        unsafe { std::alloc::dealloc(block as *mut u8, reserve_layout()) };
    }
    block != 0
}

fn on_alloc_error(layout: Layout) {
    // Nothing here may allocate before `panic!` has marked this thread as
    // panicking (which exempts it from the soft limit): the message is a
    // `Failure`, formatted into the payload only then. The reserve gives the
    // payload and the unwinding room when memory is really exhausted.
    release_reserve();
    panic!(
        "{}",
        Failure {
            requested_bytes: layout.size() as u64
        }
    );
}

/// The out-of-memory message for a failed request, formatted with the memory
/// state when it is written, without allocating.
pub struct Failure {
    pub requested_bytes: u64,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        write!(
            f,
            "{}: a request for {} bytes ({:.1} MiB) failed; allocator live {:.1} MiB, peak {:.1} MiB, ",
            OUT_OF_MEMORY_PREFIX,
            self.requested_bytes,
            mib(self.requested_bytes),
            mib(ALLOCATOR.live_bytes.load(Relaxed)),
            mib(ALLOCATOR.peak_live_bytes.load(Relaxed)),
        )?;
        match (
            telemetry::linear_memory_bytes(),
            telemetry::linear_memory_max_bytes(),
        ) {
            // `max` is the module's declared maximum: wasm cannot read its
            // memory's own. The JS that made a smaller memory rewrites this
            // phrase (kernel/errors.ts `withMemoryMaximum`): keep its shape.
            (Some(size), Some(max)) => write!(
                f,
                "linear memory {:.1} MiB of {:.1} MiB",
                mib(size),
                mib(max)
            )?,
            _ => write!(f, "native process memory")?,
        }
        match ALLOCATOR.limit_bytes.load(Relaxed) {
            0 => {}
            limit => write!(f, ", soft limit {:.1} MiB", mib(limit))?,
        }
        write!(
            f,
            ". The failed job's allocations were released and the pool keeps working; \
             retry with less work, or recycle the pool if memory stays high"
        )
    }
}

/// The message of a panic payload, if it is a string.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&'static str>().copied())
}
