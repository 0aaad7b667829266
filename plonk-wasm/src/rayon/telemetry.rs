//! Shared-memory telemetry: allocator counters and one slot per pool worker.
//!
//! Rayon workers on wasm cannot run JS timers or message handlers (their JS is
//! blocked inside `wbg_rayon_start_worker`), so they never *send* reports. They
//! write plain atomics in linear memory, which every thread shares, and whoever
//! wants a report reads them: the reader pays, the workers don't post anything.
//!
//! Memory ordering: every counter is `Relaxed`. A health report is a snapshot
//! of independent counters, never used to synchronise other data, so values
//! may be a few operations apart from each other. The exception is a slot's
//! `state`, which publishes the slot: it is claimed with a compare-exchange
//! (two threads never share a slot) into an internal `CLAIMING` value that
//! readers skip, and becomes visible only once its fields hold the new
//! occupant's values (see [`claim_worker_slot`]).

use std::cell::Cell;
use std::sync::atomic::{
    AtomicU32, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

/// How many workers can report at once (all live generations together).
/// A worker that finds no free slot still runs; it is just not attributed.
pub const WORKER_SLOTS: usize = 512;

const NO_SLOT: u32 = u32::MAX;

/// A slot's `state` while a worker claims it: its fields still hold the
/// previous occupant's values. Never a [`WorkerState`]: readers skip it.
const CLAIMING: u32 = u32::MAX;

thread_local! {
    // Const-initialised and destructor-free: the allocator reads it, so it must
    // never allocate or register a destructor itself.
    static CURRENT_SLOT: Cell<u32> = const { Cell::new(NO_SLOT) };
}

/// What a worker slot is doing, as reported in `poolHealth().workers[].state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum WorkerState {
    Free = 0,
    /// Claimed by a worker that waits for its Rayon thread.
    Starting = 1,
    /// Inside Rayon's worker loop.
    Running = 2,
    /// Returned from Rayon's loop; its JS side destroys the thread state next.
    Exited = 3,
}

impl WorkerState {
    fn from_u32(value: u32) -> WorkerState {
        match value {
            1 => WorkerState::Starting,
            2 => WorkerState::Running,
            3 => WorkerState::Exited,
            _ => WorkerState::Free,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WorkerState::Free => "free",
            WorkerState::Starting => "starting",
            WorkerState::Running => "running",
            WorkerState::Exited => "exited",
        }
    }
}

struct WorkerSlot {
    state: AtomicU32,
    generation: AtomicU64,
    index: AtomicU32,
    jobs: AtomicU64,
    allocated_bytes: AtomicU64,
    last_activity_ms: AtomicU64,
}

impl WorkerSlot {
    const fn new() -> WorkerSlot {
        WorkerSlot {
            state: AtomicU32::new(WorkerState::Free as u32),
            generation: AtomicU64::new(0),
            index: AtomicU32::new(u32::MAX),
            jobs: AtomicU64::new(0),
            allocated_bytes: AtomicU64::new(0),
            last_activity_ms: AtomicU64::new(0),
        }
    }
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: WorkerSlot = WorkerSlot::new();
static SLOTS: [WorkerSlot; WORKER_SLOTS] = [EMPTY_SLOT; WORKER_SLOTS];

/// False only in uninstrumented builds (`PLONK_WASM_UNINSTRUMENTED` set at
/// compile time, by `scripts/build-wasm.sh node-baseline` only): the global
/// allocator (`counting_alloc`) then forwards straight to `System`, keeps
/// none of these counters and sets no stacks aside (`thread_stacks`). A
/// compile-time environment variable rather than a cargo feature: these files
/// are installed into upstream's crate, whose manifest declares no such
/// feature (an unknown `cfg(feature = ...)` would warn there). A constant, so
/// either build compiles the other branch away.
pub(crate) const INSTRUMENTED: bool = option_env!("PLONK_WASM_UNINSTRUMENTED").is_none();

/// Allocator counters for the whole instance (all threads).
pub struct AllocatorCounters {
    pub live_bytes: AtomicU64,
    pub peak_live_bytes: AtomicU64,
    pub allocations: AtomicU64,
    pub failed_allocations: AtomicU64,
    pub largest_failed_request_bytes: AtomicU64,
    /// Soft limit on live bytes; 0 means none. Requests past it fail like a
    /// real exhaustion would, which lets tests force out-of-memory anywhere.
    pub limit_bytes: AtomicU64,
}

pub static ALLOCATOR: AllocatorCounters = AllocatorCounters {
    live_bytes: AtomicU64::new(0),
    peak_live_bytes: AtomicU64::new(0),
    allocations: AtomicU64::new(0),
    failed_allocations: AtomicU64::new(0),
    largest_failed_request_bytes: AtomicU64::new(0),
    limit_bytes: AtomicU64::new(0),
};

/// Jobs finished since the instance started, over all generations.
pub struct JobCounters {
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    /// Jobs run on the calling thread because no pool existed (see
    /// `run_in_pool`); not in `completed` or `failed`.
    pub inline: AtomicU64,
}

pub static JOBS: JobCounters = JobCounters {
    completed: AtomicU64::new(0),
    failed: AtomicU64::new(0),
    inline: AtomicU64::new(0),
};

/// Called by the counting allocator on every successful allocation.
#[inline]
pub(crate) fn record_alloc(bytes: u64) {
    record_alloc_unattributed(bytes);
    if let Some(slot) = current_slot() {
        slot.allocated_bytes.fetch_add(bytes, Relaxed);
    }
}

/// An allocation counted for the instance only: for a thread without TLS
/// (a starting one), or for blocks set aside for the next workers.
pub(crate) fn record_alloc_unattributed(bytes: u64) {
    let live = ALLOCATOR.live_bytes.fetch_add(bytes, Relaxed) + bytes;
    if live > ALLOCATOR.peak_live_bytes.load(Relaxed) {
        ALLOCATOR.peak_live_bytes.fetch_max(live, Relaxed);
    }
    ALLOCATOR.allocations.fetch_add(1, Relaxed);
}

/// Called on every deallocation. It must not touch thread-locals: a wasm
/// worker's last frees come from `__wbindgen_thread_destroy`, after its TLS
/// block is gone, so per-worker counts are of allocations only.
#[inline]
pub(crate) fn record_dealloc(bytes: u64) {
    ALLOCATOR.live_bytes.fetch_sub(bytes, Relaxed);
}

pub(crate) fn record_failed_alloc(bytes: u64) {
    ALLOCATOR.failed_allocations.fetch_add(1, Relaxed);
    ALLOCATOR
        .largest_failed_request_bytes
        .fetch_max(bytes, Relaxed);
}

#[inline]
fn current_slot() -> Option<&'static WorkerSlot> {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    // The bounds check matters: on a wasm thread that has not run
    // `__wasm_init_tls` yet, this read is not meaningful.
    let index = CURRENT_SLOT.try_with(Cell::get).unwrap_or(NO_SLOT) as usize;
    SLOTS.get(index)
}

/// A claimed worker slot, owned by the worker thread that claimed it.
/// Dropping it marks the worker exited (it stays visible until released).
pub struct SlotClaim {
    index: usize,
}

/// Claims a slot for the calling thread, a worker of `generation`.
/// Returns `None` when the table is full: the worker then runs unattributed.
///
/// Ordering: the slot goes `Free` → `CLAIMING` (compare-exchange, so it has
/// one owner), then its fields are reset for this worker, and only then is it
/// published as `Starting` with `Release`. A reader loads `state` with
/// `Acquire` and skips `Free` and `CLAIMING`, so when it sees `Starting` (or
/// later) it also sees this worker's generation, index and counters, never
/// the previous occupant's. Publishing `Starting` first, as the claim once
/// did, let a report list a new worker under the old one's generation.
pub fn claim_worker_slot(generation: u64) -> Option<SlotClaim> {
    for (index, slot) in SLOTS.iter().enumerate() {
        let claimed = slot
            .state
            .compare_exchange(WorkerState::Free as u32, CLAIMING, Acquire, Relaxed)
            .is_ok();
        if claimed {
            slot.generation.store(generation, Relaxed);
            slot.index.store(u32::MAX, Relaxed);
            slot.jobs.store(0, Relaxed);
            slot.allocated_bytes.store(0, Relaxed);
            slot.last_activity_ms.store(now_ms(), Relaxed);
            slot.state.store(WorkerState::Starting as u32, Release);
            CURRENT_SLOT.with(|current| current.set(index as u32));
            return Some(SlotClaim { index });
        }
    }
    None
}

impl SlotClaim {
    pub fn set_running(&self, worker_index: usize) {
        let slot = &SLOTS[self.index];
        slot.index.store(worker_index as u32, Relaxed);
        // Release: a reader that sees `Running` sees the index too.
        slot.state.store(WorkerState::Running as u32, Release);
        slot.last_activity_ms.store(now_ms(), Relaxed);
    }
}

impl Drop for SlotClaim {
    fn drop(&mut self) {
        let slot = &SLOTS[self.index];
        slot.state.store(WorkerState::Exited as u32, Release);
        slot.last_activity_ms.store(now_ms(), Relaxed);
        let _ = CURRENT_SLOT.try_with(|current| current.set(NO_SLOT));
    }
}

/// Frees the slots of a retired generation's workers. Only exited workers
/// are freed: a worker still starting or running keeps reporting.
pub fn release_exited_slots(generation: u64) {
    for slot in SLOTS.iter() {
        // State first (`Acquire`): an exited slot's generation stays put
        // until the slot is freed, so it is the exited worker's. (Were the
        // slot freed, reclaimed and exited again between these loads and the
        // exchange, an exited slot of another generation would be freed:
        // harmless, it reports nothing live.)
        if slot.state.load(Acquire) == WorkerState::Exited as u32
            && slot.generation.load(Relaxed) == generation
        {
            let _ = slot.state.compare_exchange(
                WorkerState::Exited as u32,
                WorkerState::Free as u32,
                std::sync::atomic::Ordering::AcqRel,
                Relaxed,
            );
        }
    }
}

/// Frees every slot of `generation`, whatever its state: for a generation
/// whose workers the host has stopped (all of them: exited, or stopped by
/// force after the bound, or lost). A worker stopped by force never marks its
/// slot exited; without this its slot would report it forever.
pub fn release_generation_slots(generation: u64) {
    for slot in SLOTS.iter() {
        let state = slot.state.load(Acquire);
        if state != WorkerState::Free as u32
            && state != CLAIMING
            && slot.generation.load(Relaxed) == generation
        {
            let _ = slot.state.compare_exchange(
                state,
                WorkerState::Free as u32,
                std::sync::atomic::Ordering::AcqRel,
                Relaxed,
            );
        }
    }
}

/// Notes that the calling thread started a top-level pool job.
pub fn note_job_started() {
    if let Some(slot) = current_slot() {
        slot.jobs.fetch_add(1, Relaxed);
        slot.last_activity_ms.store(now_ms(), Relaxed);
    }
}

/// One worker as seen by a health report.
#[derive(Clone, Debug)]
pub struct WorkerSnapshot {
    pub index: Option<u32>,
    pub generation: u64,
    pub state: WorkerState,
    pub jobs: u64,
    pub allocated_bytes: u64,
    pub last_activity_ms: u64,
}

pub fn worker_snapshots() -> Vec<WorkerSnapshot> {
    SLOTS
        .iter()
        .filter_map(|slot| {
            // `Acquire` pairs with the claim's `Release`: see `claim_worker_slot`.
            // (An exited slot freed and reclaimed while we read it can still
            // mix two occupants; a report is a snapshot, never synchronised on.)
            let raw = slot.state.load(Acquire);
            let state = WorkerState::from_u32(raw);
            if raw == CLAIMING || state == WorkerState::Free {
                return None;
            }
            let index = slot.index.load(Relaxed);
            Some(WorkerSnapshot {
                index: if index == u32::MAX { None } else { Some(index) },
                generation: slot.generation.load(Relaxed),
                state,
                jobs: slot.jobs.load(Relaxed),
                allocated_bytes: slot.allocated_bytes.load(Relaxed),
                last_activity_ms: slot.last_activity_ms.load(Relaxed),
            })
        })
        .collect()
}

/// Counts workers of `generation` in `state`. A slot being claimed is in no
/// state yet; state is read first (`Acquire`) so its generation is current.
pub fn count_workers(generation: u64, state: WorkerState) -> usize {
    SLOTS
        .iter()
        .filter(|slot| {
            slot.state.load(Acquire) == state as u32 && slot.generation.load(Relaxed) == generation
        })
        .count()
}

/// Wall-clock milliseconds since the Unix epoch. On wasm this is `Date.now()`,
/// not `performance.now()`: every worker has its own `performance` time
/// origin, and these timestamps are compared across threads.
pub fn now_ms() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as u64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// High-resolution milliseconds for measuring durations on one thread.
pub fn monotonic_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        performance_now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        use std::time::Instant;
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
    }
}

/// Linear memory size and its maximum, in bytes. `None` natively.
pub fn linear_memory_bytes() -> Option<u64> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(core::arch::wasm32::memory_size::<0>() as u64 * 65536)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// The memory maximum the module was linked with (`--max-memory`), passed in
/// by the build as `PLONK_WASM_MAX_MEMORY_BYTES`; upstream's 4 GiB otherwise.
pub fn linear_memory_max_bytes() -> Option<u64> {
    #[cfg(target_arch = "wasm32")]
    {
        let configured = option_env!("PLONK_WASM_MAX_MEMORY_BYTES").and_then(|v| v.parse().ok());
        Some(configured.unwrap_or(4u64 << 30))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    // `performance` exists on Node's main thread, in worker_threads, on pages
    // and in Web Workers.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}
