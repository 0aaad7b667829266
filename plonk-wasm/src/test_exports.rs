//! Fault injection for tests: allocate or leak on every worker, panic or trap
//! on a worker, allocate one large block in a job, set a soft memory limit.
//! Built only with feature `test-exports`; never installed upstream.

use crate::rayon::run_in_pool;

/// Allocates (and touches) `bytes_per_worker` on every worker of the serving
/// generation; `leak` keeps the blocks forever. Returns the bytes allocated.
pub fn allocate_on_workers(bytes_per_worker: usize, leak: bool) -> u64 {
    run_in_pool(|| {
        rayon::broadcast(|_| {
            let mut block = vec![0u8; bytes_per_worker];
            for page in block.iter_mut().step_by(4096) {
                *page = 1;
            }
            if leak {
                std::mem::forget(block);
            }
            bytes_per_worker as u64
        })
        .into_iter()
        .sum()
    })
}

/// Allocates one block of `bytes` inside a pool job and frees it.
pub fn allocate_in_job(bytes: usize) -> usize {
    run_in_pool(|| {
        let block = vec![1u8; bytes];
        block.iter().step_by(4096).map(|&b| b as usize).sum()
    })
}

/// Panics on a pool worker (inside a `join`, so not on the job's own frame).
pub fn panic_on_worker(message: &str) {
    run_in_pool(|| {
        rayon::join(|| (), || panic!("{}", message));
    })
}

#[cfg(target_arch = "wasm32")]
mod exports {
    use wasm_bindgen::prelude::*;

    fn bytes_from_js(name: &str, value: f64) -> Result<usize, JsValue> {
        if value.is_finite() && value.fract() == 0.0 && value >= 0.0 && value <= u32::MAX as f64 {
            Ok(value as usize)
        } else {
            Err(crate::rayon::wasm::js_error(
                "TEST_INVALID_ARGUMENT",
                &format!(
                    "{} = {} is invalid: expected a whole number of bytes from 0 to 2^32 - 1",
                    name, value
                ),
            ))
        }
    }

    #[wasm_bindgen(js_name = testAllocateOnWorkers)]
    pub fn test_allocate_on_workers(bytes_per_worker: f64, leak: bool) -> Result<f64, JsValue> {
        let bytes = bytes_from_js("bytesPerWorker", bytes_per_worker)?;
        Ok(super::allocate_on_workers(bytes, leak) as f64)
    }

    #[wasm_bindgen(js_name = testAllocateInJob)]
    pub fn test_allocate_in_job(bytes: f64) -> Result<f64, JsValue> {
        let bytes = bytes_from_js("bytes", bytes)?;
        Ok(super::allocate_in_job(bytes) as f64)
    }

    #[wasm_bindgen(js_name = testPanicOnWorker)]
    pub fn test_panic_on_worker(message: &str) {
        super::panic_on_worker(message)
    }

    /// Executes `unreachable` on a pool worker: a trap, not a panic.
    #[wasm_bindgen(js_name = testTrapOnWorker)]
    pub fn test_trap_on_worker() {
        crate::rayon::run_in_pool(|| core::arch::wasm32::unreachable())
    }

    /// Sets the allocator's soft limit on live bytes (0 removes it); returns
    /// the previous limit.
    #[wasm_bindgen(js_name = setAllocatorSoftLimit)]
    pub fn set_allocator_soft_limit(bytes: f64) -> Result<f64, JsValue> {
        let bytes = bytes_from_js("bytes", bytes)?;
        Ok(crate::rayon::set_soft_limit_bytes(bytes as u64) as f64)
    }
}
