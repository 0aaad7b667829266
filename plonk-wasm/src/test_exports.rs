//! Fault injection for tests: allocate or leak on every worker, panic or trap
//! on a worker, allocate one large block in a job, set a soft memory limit,
//! hold memory for the application, grow memory scoped to a pool generation,
//! a job piece that keeps writing into its caller's frame (`stray_writer`).
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

/// A job piece that keeps writing into its caller's frame until told to
/// stop, on a worker the test then terminates: the stand-in for a worker that
/// was terminated (`terminate()` called) while it still ran wasm inside a job
/// (tests/web/stray-writer.test.js). The state lives in shared memory, so the
/// page reads and drives it from its own instance while the main worker
/// blocks in the job.
pub mod stray_writer {
    use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::SeqCst};

    /// Bytes of the caller's frame the writer overwrites (and the canary fills).
    pub const FRAME_BYTES: usize = 16 * 1024;
    /// What the writer writes, and what the canary holds.
    pub const STRAY: u8 = 0xAB;
    pub const CANARY: u8 = 0x5A;

    pub static RUNNING: AtomicBool = AtomicBool::new(false);
    pub static STOP: AtomicBool = AtomicBool::new(false);
    /// Set when the writer left its loop: it writes nothing any more.
    pub static STOPPED: AtomicBool = AtomicBool::new(false);
    /// Full passes over the frame.
    pub static PASSES: AtomicU64 = AtomicU64::new(0);
    /// The host's index of the worker that runs the writer (-1: none yet).
    pub static WORKER: AtomicI64 = AtomicI64::new(-1);
    /// Test hook for the web supervisor (`testTerminationsHeld`): while set,
    /// its workers' `terminate()` waits, as one that has not taken effect yet.
    pub static HOLD_TERMINATIONS: AtomicBool = AtomicBool::new(false);

    pub fn reset() {
        RUNNING.store(false, SeqCst);
        STOP.store(false, SeqCst);
        STOPPED.store(false, SeqCst);
        PASSES.store(0, SeqCst);
        WORKER.store(-1, SeqCst);
    }

    /// The writer: on a pool worker, overwrites `frame` until [`STOP`].
    pub fn write_until_stopped(frame: &mut [u8]) {
        let worker = crate::rayon::loss_signal::current_worker().map_or(-1, |w| w as i64);
        WORKER.store(worker, SeqCst);
        RUNNING.store(true, SeqCst);
        while !STOP.load(SeqCst) {
            for byte in frame.iter_mut() {
                // SAFETY: a valid, aligned, exclusive `&mut u8`; volatile so
                // that every pass really writes the memory.
                unsafe { std::ptr::write_volatile(byte, STRAY) };
            }
            PASSES.fetch_add(1, SeqCst);
        }
        STOPPED.store(true, SeqCst);
    }

    /// What ran on the frame.
    pub enum Ran {
        /// The writer's job: completed, or the pool's error.
        Job(Result<(), crate::rayon::PoolError>),
        /// The later job: whether the canary stayed intact, the writer's
        /// passes meanwhile, and whether the wait hit its bound.
        Canary {
            intact: bool,
            passes: u64,
            timed_out: bool,
        },
    }

    /// Runs the writer's job (`job`) or the later job on a frame of this
    /// function, the same stack address for both when called from the same
    /// place (the same export on the same thread). Returns that address.
    #[inline(never)]
    pub fn on_frame(job: bool, timeout: &dyn Fn() -> bool) -> (usize, Ran) {
        let mut frame = [0u8; FRAME_BYTES];
        let address = std::hint::black_box(&mut frame).as_ptr() as usize;
        let ran = if job {
            Ran::Job(run_job(&mut frame))
        } else {
            canary(&mut frame, timeout)
        };
        std::hint::black_box(&mut frame);
        (address, ran)
    }

    /// A `join` whose first piece is the writer, borrowing the caller's frame.
    #[inline(never)]
    fn run_job(frame: &mut [u8]) -> Result<(), crate::rayon::PoolError> {
        crate::rayon::try_run_in_pool(move || {
            rayon::join(|| write_until_stopped(frame), || ());
        })
    }

    /// The later job: fills the frame with the canary, then waits until the
    /// writer made two more passes (it would have overwritten the canary by
    /// then) or has stopped for good, and says whether the canary is intact.
    #[inline(never)]
    fn canary(frame: &mut [u8], timeout: &dyn Fn() -> bool) -> Ran {
        for byte in frame.iter_mut() {
            // SAFETY: as in `write_until_stopped`.
            unsafe { std::ptr::write_volatile(byte, CANARY) };
        }
        let before = PASSES.load(SeqCst);
        let mut timed_out = false;
        while !STOPPED.load(SeqCst) && PASSES.load(SeqCst) < before + 2 {
            if timeout() {
                timed_out = true;
                break;
            }
            std::hint::spin_loop();
        }
        let intact = frame
            .iter()
            // SAFETY: a valid, aligned `&u8`; volatile, so another thread's writes are seen.
            .all(|byte| unsafe { std::ptr::read_volatile(byte) } == CANARY);
        Ran::Canary {
            intact,
            passes: PASSES.load(SeqCst) - before,
            timed_out,
        }
    }
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

    fn object(fields: &[(&str, JsValue)]) -> JsValue {
        let object = js_sys::Object::new();
        for (name, value) in fields {
            let _ = js_sys::Reflect::set(&object, &JsValue::from_str(name), value);
        }
        object.into()
    }

    /// `mode` `"job"`: runs the stray writer's job (see `stray_writer`),
    /// resolving `{ frame, code }` (`code` null when it completed, else its
    /// error code); `"canary"`: the later job on the same frame, `{ frame,
    /// intact, passesDuring, timedOut }`. Both on the thread that owns the pool.
    #[wasm_bindgen(js_name = testStrayWriter)]
    pub fn test_stray_writer(mode: JsValue) -> Result<JsValue, JsValue> {
        use super::stray_writer;
        crate::rayon::caught(move || {
            let mode =
                Input::argument("testStrayWriter", "mode").one_of(&mode, &["job", "canary"])?;
            let began = js_sys::Date::now();
            let bound = || js_sys::Date::now() - began > 30_000.0;
            let (frame, ran) = stray_writer::on_frame(mode == "job", &bound);
            let frame = ("frame", JsValue::from_f64(frame as f64));
            Ok(match ran {
                stray_writer::Ran::Job(outcome) => {
                    let code = match outcome {
                        Ok(()) => JsValue::NULL,
                        Err(error) => JsValue::from_str(error.code()),
                    };
                    object(&[frame, ("code", code)])
                }
                stray_writer::Ran::Canary {
                    intact,
                    passes,
                    timed_out,
                } => object(&[
                    frame,
                    ("intact", JsValue::from_bool(intact)),
                    ("passesDuring", JsValue::from_f64(passes as f64)),
                    ("timedOut", JsValue::from_bool(timed_out)),
                ]),
            })
        })
    }

    /// The stray writer's state, read on any thread (no lock, no allocation
    /// in Rust): `{ running, stopped, passes, worker }`.
    #[wasm_bindgen(js_name = testStrayWriterState)]
    pub fn test_stray_writer_state() -> JsValue {
        use super::stray_writer::{PASSES, RUNNING, STOPPED, WORKER};
        use std::sync::atomic::Ordering::SeqCst;
        object(&[
            ("running", JsValue::from_bool(RUNNING.load(SeqCst))),
            ("stopped", JsValue::from_bool(STOPPED.load(SeqCst))),
            ("passes", JsValue::from_f64(PASSES.load(SeqCst) as f64)),
            ("worker", JsValue::from_f64(WORKER.load(SeqCst) as f64)),
        ])
    }

    /// `"reset"`, `"stop"` (the writer leaves its loop), `"hold"` / `"release"`
    /// (the web supervisor's `terminate()` waits / takes effect).
    #[wasm_bindgen(js_name = testStrayWriterControl)]
    pub fn test_stray_writer_control(action: JsValue) -> Result<(), JsValue> {
        use super::stray_writer::{reset, HOLD_TERMINATIONS, STOP};
        use std::sync::atomic::Ordering::SeqCst;
        let action = Input::argument("testStrayWriterControl", "action")
            .one_of(&action, &["reset", "stop", "hold", "release"])?;
        match action.as_str() {
            "reset" => reset(),
            "stop" => STOP.store(true, SeqCst),
            "hold" => HOLD_TERMINATIONS.store(true, SeqCst),
            _ => HOLD_TERMINATIONS.store(false, SeqCst),
        }
        Ok(())
    }

    /// For the web supervisor: whether `terminate()` must wait (see `"hold"`).
    #[wasm_bindgen(js_name = testTerminationsHeld)]
    pub fn test_terminations_held() -> bool {
        super::stray_writer::HOLD_TERMINATIONS.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many workers of `generation` are out in the loss signal (parked at
    /// the fence or proven gone): the fence opens at the generation's threads.
    #[wasm_bindgen(js_name = testLossSignalOut)]
    pub fn test_loss_signal_out(generation: JsValue) -> Result<f64, JsValue> {
        let generation = Input::argument("testLossSignalOut", "generation").whole(
            &generation,
            1.0,
            crate::rayon::js_args::MAX_SAFE_INTEGER,
            "a generation number",
        )? as u64;
        Ok(
            crate::rayon::loss_signal::out_count(generation, crate::rayon::error::MAX_THREADS)
                as f64,
        )
    }

    /// `[setAsideBytes, stackBytes]`: the worker stacks set aside for the
    /// next start (part of the allocator's live bytes) and one worker's stack
    /// size, so a test can tell stacks, which follow the thread count, from
    /// the rest of the live bytes (tests/node/chaos-memory.js).
    #[wasm_bindgen(js_name = testThreadStacks)]
    pub fn test_thread_stacks() -> Vec<f64> {
        vec![
            crate::rayon::set_aside_stack_bytes() as f64,
            crate::rayon::stack_bytes() as f64,
        ]
    }

    /// Sets the allocator's peak of live bytes to its live bytes now, so that
    /// the next `allocatorPeakBytes` is the peak of what runs after; returns
    /// the old peak. Tests measure one job's working set so.
    #[wasm_bindgen(js_name = testResetAllocatorPeak)]
    pub fn test_reset_allocator_peak() -> f64 {
        crate::rayon::reset_peak_bytes() as f64
    }

    /// Sets the allocator's soft limit on live bytes (0 removes it); returns
    /// the previous limit.
    #[wasm_bindgen(js_name = setAllocatorSoftLimit)]
    pub fn set_allocator_soft_limit(limit: JsValue) -> Result<f64, JsValue> {
        let limit = Input::argument("setAllocatorSoftLimit", "bytes").bytes(&limit)?;
        Ok(crate::rayon::set_soft_limit_bytes(limit) as f64)
    }
}
