//! One generation of the pool: a Rayon `ThreadPool`, its workers' inbox, and
//! the in-flight gate that keeps it alive while jobs run on it.
//!
//! Invariants, kept here:
//! - A generation reachable as "serving" from the lifecycle still has its
//!   `ThreadPool` (it is only taken in [`Generation::tear_down`], after the
//!   lifecycle stopped serving it).
//! - `in_flight` is incremented only while the lifecycle lock is held and the
//!   generation serves, and decremented by [`Lease`] on every exit path
//!   (return or unwind). So once a generation stops serving, `in_flight` can
//!   only go down, and when it reads 0 no job holds its pool.
//! - A `Lease` drops its clone of the pool *before* it decrements `in_flight`
//!   (`Release`); the teardown reads 0 with `Acquire`, so the teardown's clone
//!   is the last one and dropping it really drops the `ThreadPool`.

use super::lifecycle::{GenerationRef, PendingRef};
use super::{loss_signal, telemetry};
use rayon::{ThreadBuilder, ThreadPool, ThreadPoolBuilder};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Locks a mutex even if a panic poisoned it: every structure guarded here is
/// valid after any partial update (a panic can unwind through a job holding
/// none of them, but an out-of-memory panic can start anywhere).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the workers of a starting generation pick up their Rayon threads.
/// Its address is the `receiver` number JS passes to `wbg_rayon_start_worker`.
///
/// An inbox stays findable until the host has stopped every worker of its
/// generation ([`Inbox::retire`], after `Host::stop_workers`), not just until
/// the pool is built or dropped: a worker may reach `wbg_rayon_start_worker`
/// after its generation was already torn down (it reported ready, then the
/// pool was built and dropped before its next line ran). It must then find its
/// inbox, take its Rayon thread, see the pool terminated and leave cleanly,
/// freeing its stack, rather than fail with an unknown receiver.
///
/// A queue under a mutex and a condvar, not `std::sync::mpsc`: on wasm, a
/// blocking `mpsc` receive parks through `thread::current()`, and workers
/// started by JS were seen to never wake from it. Mutex and condvar wait on
/// the futex directly.
pub struct Inbox {
    pub generation: u64,
    queue: Mutex<InboxQueue>,
    arrived: Condvar,
}

struct InboxQueue {
    threads: VecDeque<ThreadBuilder>,
    /// No more threads will come: the pool was built, or abandoned.
    closed: bool,
}

static INBOXES: Mutex<Vec<Arc<Inbox>>> = Mutex::new(Vec::new());

impl Inbox {
    /// The receiver handle as JS sees it (upstream passes a pointer number).
    pub fn handle(self: &Arc<Self>) -> u32 {
        Arc::as_ptr(self) as usize as u32
    }

    /// Finds a live inbox by handle. A handle is a key here, never
    /// dereferenced, so a wrong number is an error rather than a wild read.
    pub fn find(handle: u32) -> Option<Arc<Inbox>> {
        lock(&INBOXES)
            .iter()
            .find(|inbox| inbox.handle() == handle)
            .cloned()
    }

    /// Blocks until the pool hands this worker a Rayon thread; `None` if the
    /// generation was abandoned before its pool was built.
    pub fn receive(&self) -> Option<ThreadBuilder> {
        let queue = lock(&self.queue);
        let mut queue = self
            .arrived
            .wait_while(queue, |q| q.threads.is_empty() && !q.closed)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        queue.threads.pop_front()
    }

    fn deliver(&self, thread: ThreadBuilder) {
        lock(&self.queue).threads.push_back(thread);
        self.arrived.notify_one();
    }

    fn close(&self) {
        lock(&self.queue).closed = true;
        self.arrived.notify_all();
    }

    /// Makes the handle stop resolving. Call only once no worker of the
    /// generation can still start: after `Host::stop_workers` returned.
    pub fn retire(self: &Arc<Self>) {
        lock(&INBOXES).retain(|inbox| !Arc::ptr_eq(inbox, self));
    }
}

/// Why a generation lost a worker, if it did: written by the first report,
/// shared by the pending generation and the generation built from it, so a
/// loss before the pool is up is not lost.
type LossRecord = Arc<Mutex<Option<String>>>;

/// A generation whose workers are being started; [`PendingGeneration::build`]
/// turns it into a Rayon pool once they wait on the inbox.
pub struct PendingGeneration {
    pub number: u64,
    pub threads: usize,
    pub inbox: Arc<Inbox>,
    built: Mutex<Option<ThreadPool>>,
    lost_worker: LossRecord,
}

impl PendingGeneration {
    /// A generation to start; its inbox resolves from [`PendingGeneration::open`] on.
    pub fn new(number: u64, threads: usize) -> Arc<PendingGeneration> {
        let inbox = Arc::new(Inbox {
            generation: number,
            queue: Mutex::new(InboxQueue {
                threads: VecDeque::new(),
                closed: false,
            }),
            arrived: Condvar::new(),
        });
        Arc::new(PendingGeneration {
            number,
            threads,
            inbox,
            built: Mutex::new(None),
            lost_worker: LossRecord::default(),
        })
    }

    /// Makes the inbox handle resolve, before the host starts the workers.
    pub fn open(&self) {
        lock(&INBOXES).push(self.inbox.clone());
    }

    /// Builds the Rayon pool: each of its threads is sent to the inbox, where
    /// a waiting worker runs it. Called once, by `PoolBuilder.build()` in JS
    /// or by the native driver.
    pub fn build(&self) -> Result<(), String> {
        if lock(&self.inbox.queue).closed {
            return Err(format!(
                "PoolBuilder for generation {} was already built",
                self.number
            ));
        }
        let generation = self.number;
        let inbox = self.inbox.clone();
        let pool = ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(move |index| format!("plonk-wasm-g{}-w{}", generation, index))
            .spawn_handler(move |thread| {
                inbox.deliver(thread);
                Ok(())
            })
            .build()
            .map_err(|error| error.to_string());
        self.inbox.close();
        *lock(&self.built) = Some(pool?);
        Ok(())
    }

    /// The built generation, or `None` if `build` never ran.
    pub fn into_generation(&self) -> Option<Arc<Generation>> {
        let pool = lock(&self.built).take()?;
        Some(Arc::new(Generation {
            number: self.number,
            threads: self.threads,
            inbox: self.inbox.clone(),
            pool: Mutex::new(Some(Arc::new(pool))),
            in_flight: AtomicUsize::new(0),
            jobs_completed: AtomicU64::new(0),
            jobs_failed: AtomicU64::new(0),
            started_at_ms: telemetry::now_ms(),
            torn_down: AtomicBool::new(false),
            lost_worker: self.lost_worker.clone(),
            fence: Fence::default(),
            idle_lock: Mutex::new(()),
            idle: Condvar::new(),
        }))
    }

    /// Gives up on this generation: workers still waiting on the inbox, or
    /// arriving later, see a closed inbox and leave. The caller stops the
    /// workers, then retires the inbox.
    pub fn abandon(&self) {
        self.inbox.close();
        lock(&self.built).take();
    }
}

pub struct Generation {
    pub number: u64,
    pub threads: usize,
    pub started_at_ms: u64,
    inbox: Arc<Inbox>,
    pool: Mutex<Option<Arc<ThreadPool>>>,
    in_flight: AtomicUsize,
    jobs_completed: AtomicU64,
    jobs_failed: AtomicU64,
    torn_down: AtomicBool,
    lost_worker: LossRecord,
    fence: Fence,
    idle_lock: Mutex<()>,
    idle: Condvar,
}

/// Stops a generation that lost a worker from ever running job code again,
/// so that a job stranded on it can be given up soundly (see `completion`).
///
/// Each surviving worker is sent one fence job (a Rayon broadcast). A worker
/// takes it when it next looks for work: when idle, when its piece of a job
/// ends, or while it waits inside a job for a piece the dead worker held
/// (Rayon runs broadcasts while it waits). The fence job marks the worker out
/// in the loss signal (its out word, by the host's index; a worker the host
/// gave no index is counted in `parked_unindexed` instead) and parks the
/// thread for good, inside whatever job frames it has. The generation is
/// fenced once every worker is out: parked here, or proven gone by the
/// evidence `loss_signal` lists (never by `terminate()` alone). From then on
/// no thread of the generation runs job code, so a caller's borrowed frame
/// can no longer be touched. The parked threads are stopped by force when
/// the generation is retired.
///
/// Why one word per worker rather than two counts: a parked worker may later
/// be proven gone too (a kill of a fenced worker); with counts it would be
/// counted twice and the fence could open while another worker still runs.
/// A word written twice by two pieces of evidence still counts once.
#[derive(Default)]
struct Fence {
    requested: AtomicBool,
    /// Parked workers the host gave no index (upstream's hosts). Such hosts
    /// write no out words, so these are never counted twice either.
    parked_unindexed: Arc<AtomicUsize>,
}

/// Bounds for retiring a generation (a recycle's old one, or the pool at
/// exit); `None` fields take the defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetireOptions {
    pub drain_timeout_ms: Option<u64>,
    pub exit_timeout_ms: Option<u64>,
    /// Upstream's order, kept only to measure what it costs: stop the workers
    /// while they sleep in Rayon's loop, then drop the pool. The workers never
    /// leave the loop, so their stacks and TLS leak (1-2 MiB each).
    pub stop_workers_first: bool,
}

/// Default bound for jobs on a retiring generation to finish: long enough for
/// a real proof, short enough that a wedged job is reported.
pub const DEFAULT_DRAIN_TIMEOUT_MS: u64 = 60_000;
/// Default bound for retiring workers to report their exit.
pub const DEFAULT_EXIT_TIMEOUT_MS: u64 = 5_000;

/// How a teardown went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Teardown {
    /// Drained and dropped: the workers are leaving Rayon's loop.
    Dropped,
    /// Jobs still ran when the drain bound passed. The pool is released by
    /// the last of them; its workers must not be terminated before that.
    Abandoned { jobs_in_flight: usize },
}

impl Generation {
    /// Admits one job. Only the pool may call this, with the lifecycle lock
    /// held and this generation serving (see the module invariants).
    pub(super) fn admit(self: &Arc<Self>) -> Lease {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let pool = lock(&self.pool)
            .clone()
            .expect("invariant: a serving generation still has its ThreadPool");
        Lease {
            generation: self.clone(),
            pool: Some(pool),
            failed: false,
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn jobs_completed(&self) -> u64 {
        self.jobs_completed.load(Ordering::Relaxed)
    }

    pub fn jobs_failed(&self) -> u64 {
        self.jobs_failed.load(Ordering::Relaxed)
    }

    pub fn is_torn_down(&self) -> bool {
        self.torn_down.load(Ordering::Acquire)
    }

    /// Makes the inbox handle stop resolving; see [`Inbox::retire`] for when.
    pub fn retire_inbox(&self) {
        self.inbox.retire();
    }

    /// Sends the fence (once); see [`Fence`]. `pool` is this generation's.
    pub fn raise_fence(&self, pool: &ThreadPool) {
        if self.fence.requested.swap(true, Ordering::AcqRel) {
            return;
        }
        let number = self.number;
        let parked_unindexed = self.fence.parked_unindexed.clone();
        pool.spawn_broadcast(move |_| {
            // This thread runs no job code from here on: it parks for good.
            if !loss_signal::mark_current_worker_out(number) {
                parked_unindexed.fetch_add(1, Ordering::AcqRel);
            }
            park_for_good();
        });
    }

    /// True once a job raised the fence: its parked workers never leave
    /// Rayon's loop, so a retirement need not wait for them to exit.
    pub fn fence_raised(&self) -> bool {
        self.fence.requested.load(Ordering::Acquire)
    }

    /// True once every worker is out (see [`Fence`]): no thread of this
    /// generation runs job code again.
    pub fn is_fenced(&self) -> bool {
        loss_signal::out_count(self.number, self.threads)
            + self.fence.parked_unindexed.load(Ordering::Acquire)
            >= self.threads
    }

    pub fn mark_lost(&self, reason: String) {
        lock(&self.lost_worker).get_or_insert(reason);
        loss_signal::mark(self.number);
    }

    /// Blocks until no job runs on this generation, or `timeout` passes.
    /// Returns the jobs still in flight (0 when drained).
    pub fn wait_idle(&self, timeout: Duration) -> usize {
        let guard = lock(&self.idle_lock);
        let (_guard, _) = self
            .idle
            .wait_timeout_while(guard, timeout, |_| self.in_flight() > 0)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.in_flight()
    }

    /// Drops the Rayon pool if no job holds it. The caller must have taken
    /// this generation out of service first.
    pub fn tear_down(&self) -> Teardown {
        let jobs_in_flight = self.in_flight();
        let pool = lock(&self.pool).take();
        if jobs_in_flight > 0 {
            // Our clone goes; the last lease drops the pool when its job ends.
            return Teardown::Abandoned { jobs_in_flight };
        }
        self.torn_down.store(true, Ordering::Release);
        if let Some(pool) = pool {
            debug_assert_eq!(
                Arc::strong_count(&pool),
                1,
                "a drained pool has no other owner"
            );
            drop(pool);
        }
        Teardown::Dropped
    }
}

impl PendingRef for Arc<PendingGeneration> {
    fn number(&self) -> u64 {
        self.number
    }
    fn record_loss(&self, reason: String) {
        lock(&self.lost_worker).get_or_insert(reason);
        loss_signal::mark(self.number);
    }
}

impl std::fmt::Debug for PendingGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PendingGeneration({}, {} threads)",
            self.number, self.threads
        )
    }
}

impl GenerationRef for Arc<Generation> {
    fn number(&self) -> u64 {
        self.number
    }
    fn threads(&self) -> usize {
        self.threads
    }
    fn lost_worker(&self) -> Option<String> {
        let reason = lock(&self.lost_worker).clone();
        // The host may have signalled a loss it could not report (after a
        // trap, no export call works): see `loss_signal`.
        reason.or_else(|| {
            loss_signal::is_marked(self.number)
                .then(|| "a worker died (signalled by the host through shared memory)".to_string())
        })
    }
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Generation({}, {} threads)", self.number, self.threads)
    }
}

impl PartialEq for Generation {
    fn eq(&self, other: &Self) -> bool {
        self.number == other.number
    }
}

/// Parks the calling thread for good: a futex wait nobody ever notifies (a
/// spurious wake-up waits again). The host stops the thread by force.
fn park_for_good() -> ! {
    let never = Mutex::new(());
    let nobody = Condvar::new();
    let mut guard = lock(&never);
    loop {
        guard = nobody
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

/// One admitted job. Holds the generation's pool alive and keeps it counted
/// in flight until dropped, on every exit path.
pub struct Lease {
    generation: Arc<Generation>,
    pool: Option<Arc<ThreadPool>>,
    failed: bool,
}

impl Lease {
    pub fn generation(&self) -> &Arc<Generation> {
        &self.generation
    }

    pub fn pool(&self) -> &ThreadPool {
        self.pool
            .as_ref()
            .expect("a lease holds its pool until dropped")
    }

    /// Counts the job as failed when the lease ends (its panic was caught).
    pub fn mark_failed(&mut self) {
        self.failed = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Order matters: release the pool before the count says "idle".
        self.pool = None;
        let (this_generation, all) = if self.failed || std::thread::panicking() {
            (&self.generation.jobs_failed, &telemetry::JOBS.failed)
        } else {
            (&self.generation.jobs_completed, &telemetry::JOBS.completed)
        };
        this_generation.fetch_add(1, Ordering::Relaxed);
        all.fetch_add(1, Ordering::Relaxed);
        if self.generation.in_flight.fetch_sub(1, Ordering::Release) == 1 {
            let _guard = lock(&self.generation.idle_lock);
            self.generation.idle.notify_all();
        }
    }
}
