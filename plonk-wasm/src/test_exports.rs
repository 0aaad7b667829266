//! Fault injection for tests: allocate or leak on every worker, panic or trap
//! on a worker, allocate one large block in a job, set a soft memory limit,
//! hold memory for the application, grow memory scoped to a pool generation.
//! Built only with feature `test-exports`; never installed upstream.

use crate::rayon::{current_job, run_in_pool};
use std::sync::Mutex;

/// Memory the "application" holds outside the pool (keys, caches it keeps):
/// a recycle cannot free it; only the application can ([`release_held`]).
static HELD: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// Memory that belongs to one pool generation, standing in for what a real
/// prover accumulates per pool and a recycle releases (Rayon's per-thread
/// state, deferred garbage of per-thread epochs, worker-scoped caches): each
/// block is tagged with the generation whose job allocated it, and blocks of
/// generations that no longer serve are freed at the next call.
static GENERATION_SCOPED: Mutex<Vec<(u64, Vec<u8>)>> = Mutex::new(Vec::new());

fn touched(bytes: usize) -> Vec<u8> {
    let mut block = vec![0u8; bytes];
    for page in block.iter_mut().step_by(4096) {
        *page = 1;
    }
    block
}

/// Holds `bytes` more for the application; returns the bytes now held.
pub fn hold(bytes: usize) -> u64 {
    let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
    held.push(touched(bytes));
    held.iter().map(|b| b.len() as u64).sum()
}

/// Frees everything [`hold`] holds; returns the bytes freed.
pub fn release_held() -> u64 {
    let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
    let freed = held.iter().map(|b| b.len() as u64).sum();
    held.clear();
    freed
}

/// In a pool job: frees the blocks of generations that no longer serve, then
/// adds `bytes` to the serving generation's. Returns the generation's bytes.
pub fn grow_generation_scoped(bytes: usize) -> u64 {
    run_in_pool(|| {
        let generation = current_job().expect("inside a pool job").generation;
        let block = touched(bytes);
        let mut scoped = GENERATION_SCOPED.lock().unwrap_or_else(|p| p.into_inner());
        scoped.retain(|(owner, _)| *owner == generation);
        scoped.push((generation, block));
        scoped.iter().map(|(_, b)| b.len() as u64).sum()
    })
}

/// Allocates (and touches) `bytes_per_worker` on every worker of the serving
/// generation, all holding their blocks at the same time (a barrier, which a
/// worker whose allocation failed reaches too); `leak` keeps the blocks
/// forever. Returns the bytes allocated. On a busy machine the workers still
/// overlap: without the barrier one could finish and free before the next
/// began, and "all at once past the maximum" would not fail.
pub fn allocate_on_workers(bytes_per_worker: usize, leak: bool) -> u64 {
    run_in_pool(|| {
        let all_hold = std::sync::Barrier::new(rayon::current_num_threads());
        rayon::broadcast(|_| {
            let block = std::panic::catch_unwind(|| touched(bytes_per_worker));
            all_hold.wait();
            let block = block.unwrap_or_else(|payload| std::panic::resume_unwind(payload));
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
    use crate::rayon::js_args::Input;
    use wasm_bindgen::prelude::*;

    fn bytes(callee: &str, name: &str, value: &JsValue) -> Result<usize, JsValue> {
        Ok(Input::argument(callee, name).bytes(value)? as usize)
    }

    #[wasm_bindgen(js_name = testAllocateOnWorkers)]
    pub fn test_allocate_on_workers(
        bytes_per_worker: JsValue,
        leak: JsValue,
    ) -> Result<f64, JsValue> {
        crate::rayon::caught(move || {
            let bytes = bytes("testAllocateOnWorkers", "bytesPerWorker", &bytes_per_worker)?;
            let leak = Input::argument("testAllocateOnWorkers", "leak").boolean(&leak)?;
            Ok(super::allocate_on_workers(bytes, leak) as f64)
        })
    }

    #[wasm_bindgen(js_name = testAllocateInJob)]
    pub fn test_allocate_in_job(size: JsValue) -> Result<f64, JsValue> {
        crate::rayon::caught(move || {
            let size = bytes("testAllocateInJob", "bytes", &size)?;
            Ok(super::allocate_in_job(size) as f64)
        })
    }

    #[wasm_bindgen(js_name = testPanicOnWorker)]
    pub fn test_panic_on_worker(message: JsValue) -> Result<(), JsValue> {
        crate::rayon::caught(move || {
            let message = Input::argument("testPanicOnWorker", "message").string(&message)?;
            super::panic_on_worker(&message);
            Ok(())
        })
    }

    #[wasm_bindgen(js_name = testHoldMemory)]
    pub fn test_hold_memory(size: JsValue) -> Result<f64, JsValue> {
        crate::rayon::caught(move || {
            let size = bytes("testHoldMemory", "bytes", &size)?;
            Ok(super::hold(size) as f64)
        })
    }

    #[wasm_bindgen(js_name = testReleaseHeldMemory)]
    pub fn test_release_held_memory() -> f64 {
        super::release_held() as f64
    }

    #[wasm_bindgen(js_name = testGrowGenerationScoped)]
    pub fn test_grow_generation_scoped(size: JsValue) -> Result<f64, JsValue> {
        crate::rayon::caught(move || {
            let size = bytes("testGrowGenerationScoped", "bytes", &size)?;
            Ok(super::grow_generation_scoped(size) as f64)
        })
    }

    /// Executes `unreachable` on a pool worker: a trap, not a panic.
    #[wasm_bindgen(js_name = testTrapOnWorker)]
    pub fn test_trap_on_worker() {
        crate::rayon::run_in_pool(|| core::arch::wasm32::unreachable())
    }

    /// Executes `unreachable` on the calling thread, outside the pool: the
    /// export's Rust frames are abandoned without unwinding.
    #[wasm_bindgen(js_name = testTrapOnCaller)]
    pub fn test_trap_on_caller() {
        core::arch::wasm32::unreachable()
    }

    /// Sets the allocator's soft limit on live bytes (0 removes it); returns
    /// the previous limit.
    #[wasm_bindgen(js_name = setAllocatorSoftLimit)]
    pub fn set_allocator_soft_limit(limit: JsValue) -> Result<f64, JsValue> {
        let limit = Input::argument("setAllocatorSoftLimit", "bytes").bytes(&limit)?;
        Ok(crate::rayon::set_soft_limit_bytes(limit) as f64)
    }
}
