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
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Once;

/// Every out-of-memory message starts with this, so callers (and the JS
/// backends) can recognise it without parsing the rest.
pub const OUT_OF_MEMORY_PREFIX: &str = "plonk-wasm [OUT_OF_MEMORY] out of memory";

/// Installs the hook once per instance (the hook is process-wide state in
/// shared memory, so any thread may install it for all).
pub fn install_alloc_error_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| std::alloc::set_alloc_error_hook(on_alloc_error));
}

fn on_alloc_error(layout: Layout) {
    // The message is formatted after `panic!` has marked this thread as
    // panicking, which exempts it from the allocator's soft limit.
    panic!("{}", describe_failure(layout.size() as u64));
}

/// Describes a failed request of `requested_bytes` with the memory state now.
pub fn describe_failure(requested_bytes: u64) -> String {
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let linear = match (
        telemetry::linear_memory_bytes(),
        telemetry::linear_memory_max_bytes(),
    ) {
        (Some(size), Some(max)) => {
            format!("linear memory {:.1} MiB of {:.1} MiB", mib(size), mib(max))
        }
        _ => "native process memory".to_string(),
    };
    let limit = match ALLOCATOR.limit_bytes.load(Relaxed) {
        0 => String::new(),
        limit => format!(", soft limit {:.1} MiB", mib(limit)),
    };
    format!(
        "{}: a request for {} bytes ({:.1} MiB) failed; allocator live {:.1} MiB, peak {:.1} MiB, {}{}. \
         The failed job's allocations were released and the pool keeps working; \
         retry with less work, or recycle the pool if memory stays high",
        OUT_OF_MEMORY_PREFIX,
        requested_bytes,
        mib(requested_bytes),
        mib(ALLOCATOR.live_bytes.load(Relaxed)),
        mib(ALLOCATOR.peak_live_bytes.load(Relaxed)),
        linear,
        limit,
    )
}

/// The message of a panic payload, if it is a string.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&'static str>().copied())
}
