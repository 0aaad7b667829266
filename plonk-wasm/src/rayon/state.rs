//! The pool's state: the lifecycle behind one lock, and [`apply`], the only
//! place it changes. Job admission reads it; the flows (`flows`) and worker
//! losses change it through events.
//!
//! Invariants, kept here:
//! - every change of `lifecycle` is `Lifecycle::on` of an event, under the
//!   lock, with a `changed` notification;
//! - generation numbers only grow (`last_generation`), so a number names one
//!   generation for the life of the instance;
//! - a worker loss is recorded in whichever handle holds its generation
//!   (pending or built) before its event is applied, under the same lock, so
//!   no loss falls between "starting" and "started".

use super::error::PoolError;
use super::generation::{lock, Generation, Lease, PendingGeneration, RetireOptions};
use super::lifecycle::{Event, Holder, Lifecycle, PendingRef, Rejected};
use super::loss_signal;
use super::report::RecycleReport;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(target_arch = "wasm32"))]
use std::time::Duration;

pub(crate) type PoolLifecycle = Lifecycle<Arc<Generation>, Arc<PendingGeneration>>;
pub(crate) type PoolEvent = Event<Arc<Generation>, Arc<PendingGeneration>>;

pub(crate) struct Guarded {
    pub(crate) lifecycle: PoolLifecycle,
    last_generation: u64,
    /// Outcome of the latest recycle attempt, by attempt number, for joiners.
    pub(crate) recycle_attempts: u64,
    pub(crate) last_recycle: Option<(u64, Result<RecycleReport, PoolError>)>,
    /// What the recycle in progress was asked for (threads, bounds), for
    /// deciding whether a concurrent request joins it.
    pub(crate) recycle_request: Option<(Option<usize>, RetireOptions)>,
    /// Generations abandoned past the drain bound whose workers have not been
    /// stopped yet (see `flows::sweep_abandoned`).
    pub(crate) abandoned: Vec<Arc<Generation>>,
}

struct Pool {
    guarded: Mutex<Guarded>,
    changed: Condvar,
    recycles: AtomicU64,
}

static POOL: Pool = Pool {
    guarded: Mutex::new(Guarded {
        lifecycle: Lifecycle::Uninit,
        last_generation: 0,
        recycle_attempts: 0,
        last_recycle: None,
        recycle_request: None,
        abandoned: Vec::new(),
    }),
    changed: Condvar::new(),
    recycles: AtomicU64::new(0),
};

pub(crate) fn guarded() -> MutexGuard<'static, Guarded> {
    lock(&POOL.guarded)
}

/// Applies one lifecycle event: the only place the state changes. `make`
/// gets the next generation's number and the state now (for `Init` and
/// `Recycle`, which make a pending generation).
pub(crate) fn apply(
    make: impl FnOnce(u64, &PoolLifecycle) -> PoolEvent,
) -> Result<PoolLifecycle, Rejected> {
    let mut guarded = guarded();
    let event = make(guarded.last_generation + 1, &guarded.lifecycle);
    let numbers_a_generation = matches!(
        event,
        Event::Init { .. } | Event::Recycle { .. } | Event::PrepareStandby { .. }
    );
    let is_recycle = matches!(event, Event::Recycle { .. } | Event::Swap);
    let label = event_label(&event);
    let next = guarded.lifecycle.on(event)?;
    tracing::debug!(
        target: "plonk_wasm::pool",
        event = label,
        from = guarded.lifecycle.name(),
        to = next.name(),
        "pool state changed"
    );
    if numbers_a_generation {
        guarded.last_generation += 1;
    }
    if is_recycle {
        guarded.recycle_attempts += 1;
    }
    guarded.lifecycle = next.clone();
    POOL.changed.notify_all();
    Ok(next)
}

fn event_label(event: &PoolEvent) -> &'static str {
    match event {
        Event::Init { .. } => "init",
        Event::Started(_) => "started",
        Event::StartFailed { .. } => "start-failed",
        Event::Recycle { .. } => "recycle",
        Event::PrepareStandby { .. } => "prepare-standby",
        Event::Swap => "swap",
        Event::DiscardStandby => "discard-standby",
        Event::Retired => "retired",
        Event::Exit => "exit",
        Event::Exited => "exited",
        Event::WorkerLost { .. } => "worker-lost",
    }
}

/// Wakes whoever waits for a change (a joiner of a recycle in progress).
pub(crate) fn notify() {
    POOL.changed.notify_all();
}

/// Whether the pool keeps a standby generation (see `flows::prepare_standby`).
/// Off unless the host turns it on: upstream's callers keep their threads.
static STANDBY: AtomicBool = AtomicBool::new(false);

pub fn standby_wanted() -> bool {
    STANDBY.load(Relaxed)
}

pub(crate) fn want_standby(wanted: bool) {
    STANDBY.store(wanted, Relaxed);
}

pub(crate) fn count_recycle() {
    POOL.recycles.fetch_add(1, Relaxed);
}

pub(crate) fn recycles() -> u64 {
    POOL.recycles.load(Relaxed)
}

/// Where a job runs.
pub enum Admission {
    /// On the serving generation's pool, counted in flight by its lease.
    Pool(Lease),
    /// On the calling thread: no pool exists (`Uninit`: before the first
    /// init, after an exit), where upstream runs the job inline too.
    Inline,
}

/// Admits one job: to the serving generation, inline when there is no pool
/// at all, or not (a pool that starts, exits, or lost a worker says why).
pub fn admit() -> Result<Admission, PoolError> {
    let guarded = guarded();
    if let Lifecycle::Uninit = guarded.lifecycle {
        return Ok(Admission::Inline);
    }
    let serving = guarded.lifecycle.serving()?;
    Ok(Admission::Pool(serving.admit()))
}

/// Blocks (natively) until the lifecycle changes or `timeout` passes.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn wait_for_change(timeout: Duration) {
    let guarded = guarded();
    let _ = POOL.changed.wait_timeout(guarded, timeout);
}

/// Records that a worker of `generation` died (a trap, an `exit` event, a
/// failed message). The generation stops taking jobs; a recycle rebuilds it.
pub fn worker_lost(generation: u64, reason: String) {
    // First, so that a job waiting on this generation learns it at once.
    loss_signal::mark(generation);
    let held = {
        let guarded = guarded();
        match guarded.lifecycle.holder_of(generation) {
            Some(Holder::Built(g)) => {
                g.mark_lost(reason.clone());
                Some(true)
            }
            Some(Holder::Pending(p)) => {
                p.record_loss(reason.clone());
                Some(false)
            }
            None => None,
        }
    };
    match held {
        Some(built) => {
            if built {
                tracing::error!(target: "plonk_wasm::pool", generation, %reason, "worker lost: generation poisoned");
            } else {
                tracing::error!(target: "plonk_wasm::pool", generation, %reason, "worker lost while its generation starts: it will come up poisoned");
            }
            apply(|_, _| Event::WorkerLost { generation, reason })
                .expect("a worker loss is always accepted");
        }
        None => {
            tracing::warn!(target: "plonk_wasm::pool", generation, %reason, "worker lost in a generation that is already gone");
        }
    }
}

/// True once an abandoned generation's last job ended (which dropped its
/// `ThreadPool`) and none of its workers is starting or in Rayon's loop any
/// more. A worker that found no telemetry slot is not seen here; the stop's
/// bound covers it.
pub(crate) fn workers_left(generation: &Generation) -> bool {
    use super::telemetry::{self, WorkerState};
    generation.in_flight() == 0
        && telemetry::count_workers(generation.number, WorkerState::Starting) == 0
        && telemetry::count_workers(generation.number, WorkerState::Running) == 0
}
