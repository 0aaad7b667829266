//! The pool: the lifecycle behind one lock, job admission, and the init,
//! recycle and exit flows. The flows are written once, as async code over a
//! [`Host`] that starts and stops workers: JS workers on wasm (whose steps are
//! Promises), std threads natively (whose steps just block).
//!
//! # Recycle
//! 1. `Running(g)` → `Recycling { old: g, new: Starting(g+1) }`. Jobs keep
//!    going to `g`.
//! 2. Start: the host starts g+1's workers and builds its Rayon pool. If that
//!    fails the pool goes back to `Running(g)` and the recycle reports the
//!    error; no job noticed.
//! 3. Promote: `new: Serving(g+1)`. From here every new job goes to g+1, so
//!    no job waits for `g` to drain.
//! 4. Drain `g`: wait until its in-flight count is 0, at most `drainTimeoutMs`.
//! 5. Drop `g`'s `ThreadPool`; its workers return from Rayon's loop, destroy
//!    their thread state (stack, TLS) and report that they exited. The host
//!    waits for those reports, at most `exitTimeoutMs`, and only then stops the
//!    workers; forcing (`terminate()`) is the fallback for the late ones.
//!    If the drain bound passed with jobs still running, `g` is *abandoned*
//!    instead: nothing is forced, the last job releases the pool, and its
//!    workers leave on their own. The report says so. The pool remembers `g`:
//!    once its workers left, the next init, recycle or exit stops them and
//!    frees their telemetry slots (see `sweep_abandoned`).
//! 6. `Running(g+1)`; the report gives each phase's duration and what the
//!    allocator got back.
//!
//! Concurrent recycle requests join the one in progress and get its report.
//! Exit waits for a recycle in progress, then exits.
//!
//! # Lost workers
//! A loss in a generation the lifecycle holds marks it and poisons the pool
//! (`Event::WorkerLost`). A generation that is still starting is known to the
//! lifecycle only by its number, so its loss is kept here and carried into
//! the generation when it arrives in `Event::Started`, which then poisons it.

use super::error::PoolError;
use super::generation::{lock, Generation, Lease, PendingGeneration, Teardown};
use super::lifecycle::{Event, Lifecycle, NewGeneration, RecycleCause, Rejected};
use super::loss_signal;
use super::telemetry::{self, WorkerState, ALLOCATOR};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What the pool needs from its environment.
#[allow(async_fn_in_trait)]
pub trait Host {
    /// Starts `pending.threads` workers that each call
    /// `wbg_rayon_start_worker(pending.inbox.handle())`, then calls
    /// `pending.build()`.
    async fn start_workers(&self, pending: &Arc<PendingGeneration>) -> Result<(), String>;
    /// Waits up to `timeout_ms` until every worker of `generation` reported
    /// that it left Rayon's loop and destroyed its thread state, then stops
    /// whatever is left by force.
    async fn stop_workers(&self, generation: u64, timeout_ms: u64) -> WorkerExit;
    /// Waits until `generation` runs no job, at most `timeout_ms`; returns
    /// the jobs still in flight.
    async fn drain(&self, generation: &Generation, timeout_ms: u64) -> usize;
    /// Lets other work run for about `ms` (the JS event loop on wasm).
    async fn pause(&self, ms: u64);
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerExit {
    /// Workers that left on their own after destroying their thread state.
    pub exited: usize,
    /// Workers stopped by force after the bound (their stacks leak).
    pub forced: usize,
}

/// Bounds for one recycle or exit; `None` fields take the defaults.
#[derive(Clone, Copy, Debug, Default)]
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
/// How often a waiting operation looks at the lifecycle again.
const WAIT_POLL_MS: u64 = 2;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartReport {
    pub generation: u64,
    pub threads: usize,
    pub start_ms: f64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retirement {
    pub generation: u64,
    pub drain_ms: f64,
    pub exit_ms: f64,
    /// Jobs still running on the generation when the drain bound passed.
    pub jobs_abandoned: usize,
    pub workers: WorkerExit,
    /// Allocator live bytes before the exit phase minus after it: mostly the
    /// worker stacks and TLS blocks freed by `__wbindgen_thread_destroy`.
    pub allocator_bytes_released: i64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecycleReport {
    pub from_generation: u64,
    pub to_generation: u64,
    pub threads: usize,
    /// `"requested"`, or `"poisoned"` for a rebuild after a worker died.
    pub cause: &'static str,
    pub start_ms: f64,
    pub drain_ms: f64,
    pub exit_ms: f64,
    pub total_ms: f64,
    pub jobs_abandoned: usize,
    pub workers: WorkerExit,
    pub allocator_bytes_released: i64,
    pub linear_memory_bytes: Option<u64>,
    /// True when this request joined a recycle that was already in progress.
    pub joined: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitReport {
    /// `None` when there was no pool to exit (a second exit is a no-op).
    pub retirement: Option<Retirement>,
}

struct Guarded {
    lifecycle: Lifecycle<Arc<Generation>>,
    last_generation: u64,
    /// Outcome of the latest recycle attempt, by attempt number, for joiners.
    recycle_attempts: u64,
    last_recycle: Option<(u64, Result<RecycleReport, PoolError>)>,
    /// A worker loss reported for the generation being started, by number,
    /// until `Started` carries it into the generation. One is enough: the
    /// lifecycle starts at most one generation at a time.
    lost_while_starting: Option<(u64, String)>,
    /// Generations abandoned past the drain bound whose workers have not been
    /// stopped yet (see `sweep_abandoned`).
    abandoned: Vec<Arc<Generation>>,
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
        lost_while_starting: None,
        abandoned: Vec::new(),
    }),
    changed: Condvar::new(),
    recycles: AtomicU64::new(0),
};

/// Applies one lifecycle event: the only place the state changes.
/// `Init` and `Recycle` events get the next generation number.
fn apply(
    make: impl FnOnce(u64) -> Event<Arc<Generation>>,
) -> Result<Lifecycle<Arc<Generation>>, Rejected> {
    let mut guarded = lock(&POOL.guarded);
    let event = make(guarded.last_generation + 1);
    let numbers_a_generation = matches!(event, Event::Init { .. } | Event::Recycle { .. });
    let is_recycle = matches!(event, Event::Recycle { .. });
    let label = event_label(&event);
    // A start is over. A loss reported while it ran goes into the generation
    // under this same lock, so no loss falls between "starting" and "started".
    let lost_while_starting = match event {
        Event::Started(_) | Event::StartFailed { .. } => guarded.lost_while_starting.take(),
        _ => None,
    };
    if let (Event::Started(g), Some((number, reason))) = (&event, lost_while_starting) {
        if g.number == number {
            g.mark_lost(reason);
        }
    }
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

fn event_label<G>(event: &Event<G>) -> &'static str {
    match event {
        Event::Init { .. } => "init",
        Event::Started(_) => "started",
        Event::StartFailed { .. } => "start-failed",
        Event::Recycle { .. } => "recycle",
        Event::Retired => "retired",
        Event::Exit => "exit",
        Event::Exited => "exited",
        Event::WorkerLost { .. } => "worker-lost",
    }
}

/// Admits one job to the serving generation.
pub fn admit() -> Result<Lease, PoolError> {
    let guarded = lock(&POOL.guarded);
    let serving = guarded.lifecycle.serving()?;
    Ok(serving.admit())
}

/// Blocks (natively) until the lifecycle changes or `timeout` passes.
pub fn wait_for_change(timeout: Duration) {
    let guarded = lock(&POOL.guarded);
    let _ = POOL.changed.wait_timeout(guarded, timeout);
}

/// Starts the first generation.
pub async fn init<H: Host>(host: &H, threads: usize) -> Result<StartReport, PoolError> {
    sweep_abandoned(host).await;
    let generation = loop {
        match apply(|generation| Event::Init { generation }) {
            Ok(Lifecycle::Starting { generation }) => break generation,
            Ok(other) => unreachable!("init led to {}", other.name()),
            Err(Rejected::Wait) => host.pause(WAIT_POLL_MS).await,
            Err(Rejected::NoOp) => unreachable!("init is never a no-op"),
            Err(Rejected::Error(error)) => return Err(error),
        }
    };
    let started_at = telemetry::monotonic_ms();
    match start_generation(host, generation, threads).await {
        Ok(built) => {
            let state = apply(|_| Event::Started(built)).expect("a started generation is accepted");
            if let Lifecycle::Poisoned { reason, .. } = state {
                tracing::error!(target: "plonk_wasm::pool", generation, %reason, "thread pool started, but lost a worker while starting: poisoned");
                return Err(PoolError::Poisoned { generation, reason });
            }
            let report = StartReport {
                generation,
                threads,
                start_ms: telemetry::monotonic_ms() - started_at,
            };
            tracing::info!(target: "plonk_wasm::pool", generation, threads, start_ms = report.start_ms, "thread pool started");
            Ok(report)
        }
        Err(message) => {
            apply(|_| Event::StartFailed {
                generation,
                message: message.clone(),
            })
            .expect("a failed start is accepted");
            tracing::error!(target: "plonk_wasm::pool", generation, %message, "thread pool failed to start");
            Err(PoolError::StartFailed {
                generation,
                message,
            })
        }
    }
}

async fn start_generation<H: Host>(
    host: &H,
    number: u64,
    threads: usize,
) -> Result<Arc<Generation>, String> {
    let pending = PendingGeneration::new(number, threads);
    let started = host.start_workers(&pending).await.and_then(|()| {
        pending.into_generation().ok_or_else(|| {
            "startWorkers resolved, but PoolBuilder.build() was never called".to_string()
        })
    });
    if started.is_err() {
        // Workers already waiting see a closed inbox and leave.
        pending.abandon();
        let _ = host.stop_workers(number, DEFAULT_EXIT_TIMEOUT_MS).await;
        telemetry::release_exited_slots(number);
    }
    started
}

/// Replaces the serving generation (or rebuilds a poisoned one). See the
/// module documentation for the phases.
pub async fn recycle<H: Host>(
    host: &H,
    threads: Option<usize>,
    options: RetireOptions,
) -> Result<RecycleReport, PoolError> {
    sweep_abandoned(host).await;
    let began_at = telemetry::monotonic_ms();
    let (old, next, cause, attempt) = loop {
        match apply(|generation| Event::Recycle { generation }) {
            Ok(Lifecycle::Recycling {
                old,
                new: NewGeneration::Starting { generation },
                cause,
            }) => break (old, generation, cause, lock(&POOL.guarded).recycle_attempts),
            Ok(other) => unreachable!("recycle led to {}", other.name()),
            Err(Rejected::Wait) => return join_recycle_in_progress(host).await,
            Err(Rejected::NoOp) => unreachable!("recycle is never a no-op"),
            Err(Rejected::Error(error)) => return Err(error),
        }
    };
    let threads = threads.unwrap_or(old.threads);
    let cause_name = match cause {
        RecycleCause::Requested => "requested",
        RecycleCause::Poisoned { .. } => "poisoned",
    };
    tracing::info!(target: "plonk_wasm::pool", from = old.number, to = next, threads, cause = cause_name, "recycle: starting the next generation");

    let outcome = match start_generation(host, next, threads).await {
        Err(message) => {
            apply(|_| Event::StartFailed {
                generation: next,
                message: message.clone(),
            })
            .expect("a failed start is accepted");
            tracing::error!(target: "plonk_wasm::pool", generation = next, %message, "recycle: the next generation failed to start; the old one keeps serving");
            Err(PoolError::StartFailed {
                generation: next,
                message,
            })
        }
        Ok(built) => {
            apply(|_| Event::Started(built)).expect("a started generation is accepted");
            let start_ms = telemetry::monotonic_ms() - began_at;
            tracing::info!(target: "plonk_wasm::pool", generation = next, start_ms, "recycle: the new generation serves; retiring the old one");
            let retirement = retire(host, &old, options).await;
            apply(|_| Event::Retired).expect("a retired generation is accepted");
            POOL.recycles.fetch_add(1, Relaxed);
            let report = RecycleReport {
                from_generation: old.number,
                to_generation: next,
                threads,
                cause: cause_name,
                start_ms,
                drain_ms: retirement.drain_ms,
                exit_ms: retirement.exit_ms,
                total_ms: telemetry::monotonic_ms() - began_at,
                jobs_abandoned: retirement.jobs_abandoned,
                workers: retirement.workers,
                allocator_bytes_released: retirement.allocator_bytes_released,
                linear_memory_bytes: telemetry::linear_memory_bytes(),
                joined: false,
            };
            tracing::info!(
                target: "plonk_wasm::pool",
                from = report.from_generation,
                to = report.to_generation,
                start_ms = report.start_ms,
                drain_ms = report.drain_ms,
                exit_ms = report.exit_ms,
                total_ms = report.total_ms,
                bytes_released = report.allocator_bytes_released,
                "recycle complete"
            );
            Ok(report)
        }
    };
    lock(&POOL.guarded).last_recycle = Some((attempt, outcome.clone()));
    POOL.changed.notify_all();
    outcome
}

async fn join_recycle_in_progress<H: Host>(host: &H) -> Result<RecycleReport, PoolError> {
    let attempt = lock(&POOL.guarded).recycle_attempts;
    loop {
        if let Some((done, outcome)) = &lock(&POOL.guarded).last_recycle {
            if *done >= attempt {
                return outcome.clone().map(|report| RecycleReport {
                    joined: true,
                    ..report
                });
            }
        }
        host.pause(WAIT_POLL_MS).await;
    }
}

/// Drains, drops and stops one generation that no longer serves.
async fn retire<H: Host>(host: &H, old: &Arc<Generation>, options: RetireOptions) -> Retirement {
    let drain_timeout_ms = options.drain_timeout_ms.unwrap_or(DEFAULT_DRAIN_TIMEOUT_MS);
    let exit_timeout_ms = options.exit_timeout_ms.unwrap_or(DEFAULT_EXIT_TIMEOUT_MS);
    let drain_began = telemetry::monotonic_ms();
    host.drain(old, drain_timeout_ms).await;
    let drain_ms = telemetry::monotonic_ms() - drain_began;

    let exit_began = telemetry::monotonic_ms();
    let live_before = ALLOCATOR.live_bytes.load(Relaxed) as i64;
    let stopped_first = if options.stop_workers_first && old.in_flight() == 0 {
        Some(host.stop_workers(old.number, exit_timeout_ms).await)
    } else {
        None
    };
    let (jobs_abandoned, workers) = match old.tear_down() {
        Teardown::Dropped => match stopped_first {
            Some(workers) => (0, workers),
            None => (0, host.stop_workers(old.number, exit_timeout_ms).await),
        },
        Teardown::Abandoned { jobs_in_flight } => {
            tracing::warn!(
                target: "plonk_wasm::pool",
                generation = old.number,
                jobs_in_flight,
                drain_timeout_ms,
                "retire: jobs still run past the drain bound; the generation is abandoned to them and its workers leave when they finish"
            );
            lock(&POOL.guarded).abandoned.push(old.clone());
            (jobs_in_flight, WorkerExit::default())
        }
    };
    // Abandoned: frees the slots of workers that already left, if any; the
    // sweep frees the others.
    telemetry::release_exited_slots(old.number);
    let live_after = ALLOCATOR.live_bytes.load(Relaxed) as i64;
    let exit_ms = telemetry::monotonic_ms() - exit_began;
    if workers.forced > 0 {
        tracing::warn!(target: "plonk_wasm::pool", generation = old.number, forced = workers.forced, exit_timeout_ms, "retire: workers did not report their exit in time and were stopped by force");
    }
    Retirement {
        generation: old.number,
        drain_ms,
        exit_ms,
        jobs_abandoned,
        workers,
        allocator_bytes_released: live_before - live_after,
    }
}

/// Shuts the pool down: waits for an operation in progress, then drains,
/// drops and stops the serving generation. A second exit is a no-op.
pub async fn exit<H: Host>(host: &H, options: RetireOptions) -> Result<ExitReport, PoolError> {
    sweep_abandoned(host).await;
    let old = loop {
        match apply(|_| Event::Exit) {
            Ok(Lifecycle::Exiting { old }) => break old,
            Ok(other) => unreachable!("exit led to {}", other.name()),
            Err(Rejected::Wait) => host.pause(WAIT_POLL_MS).await,
            Err(Rejected::NoOp) => return Ok(ExitReport { retirement: None }),
            Err(Rejected::Error(error)) => return Err(error),
        }
    };
    let retirement = retire(host, &old, options).await;
    apply(|_| Event::Exited).expect("an exited pool is accepted");
    tracing::info!(target: "plonk_wasm::pool", generation = old.number, drain_ms = retirement.drain_ms, exit_ms = retirement.exit_ms, "thread pool exited");
    Ok(ExitReport {
        retirement: Some(retirement),
    })
}

/// Records that a worker of `generation` died (a trap, an `exit` event, a
/// failed message). The generation stops taking jobs; a recycle rebuilds it.
pub fn worker_lost(generation: u64, reason: String) {
    // First, so that a job waiting on this generation learns it at once.
    loss_signal::mark(generation);
    enum Found {
        Held,
        Starting,
        Gone,
    }
    let found = {
        let mut guarded = lock(&POOL.guarded);
        let held = generations_of(&guarded.lifecycle)
            .into_iter()
            .find(|g| g.number == generation);
        if let Some(g) = held {
            g.mark_lost(reason.clone());
            Found::Held
        } else if starting_generation(&guarded.lifecycle) == Some(generation) {
            // `apply` carries it into the generation with `Started`. The
            // first reason wins, as in `Generation::mark_lost`.
            match &guarded.lost_while_starting {
                Some((number, _)) if *number == generation => {}
                _ => guarded.lost_while_starting = Some((generation, reason.clone())),
            }
            Found::Starting
        } else {
            Found::Gone
        }
    };
    match found {
        Found::Held => {
            tracing::error!(target: "plonk_wasm::pool", generation, %reason, "worker lost: generation poisoned");
            apply(|_| Event::WorkerLost { generation, reason })
                .expect("a worker loss is always accepted");
        }
        Found::Starting => {
            tracing::error!(target: "plonk_wasm::pool", generation, %reason, "worker lost while its generation starts: it will come up poisoned");
        }
        Found::Gone => {
            tracing::warn!(target: "plonk_wasm::pool", generation, %reason, "worker lost in a generation that is already gone");
        }
    }
}

/// The generation being started, which the lifecycle knows only by number.
fn starting_generation(lifecycle: &Lifecycle<Arc<Generation>>) -> Option<u64> {
    match lifecycle {
        Lifecycle::Starting { generation }
        | Lifecycle::Recycling {
            new: NewGeneration::Starting { generation },
            ..
        } => Some(*generation),
        _ => None,
    }
}

/// Finishes retiring the abandoned generations whose workers have left:
/// stops them (natively, joins their threads; on wasm the host lets go of
/// its workers) and frees their telemetry slots. Runs at the start of every
/// init, recycle and exit; `health()` frees the slots in between.
async fn sweep_abandoned<H: Host>(host: &H) {
    // Taken out under the lock, so concurrent sweeps never stop one twice.
    let left: Vec<Arc<Generation>> = {
        let mut guarded = lock(&POOL.guarded);
        let (left, waiting) = guarded.abandoned.drain(..).partition(|g| workers_left(g));
        guarded.abandoned = waiting;
        left
    };
    for generation in left {
        let workers = host
            .stop_workers(generation.number, DEFAULT_EXIT_TIMEOUT_MS)
            .await;
        // After the stop: a worker that claimed its slot late has exited now.
        telemetry::release_exited_slots(generation.number);
        tracing::info!(target: "plonk_wasm::pool", generation = generation.number, exited = workers.exited, forced = workers.forced, "abandoned generation swept: its last job ended and its workers left");
    }
}

/// True once an abandoned generation's last job ended (which dropped its
/// `ThreadPool`) and none of its workers is starting or in Rayon's loop any
/// more. A worker that found no telemetry slot is not seen here; the stop's
/// bound covers it.
fn workers_left(generation: &Generation) -> bool {
    generation.in_flight() == 0
        && telemetry::count_workers(generation.number, WorkerState::Starting) == 0
        && telemetry::count_workers(generation.number, WorkerState::Running) == 0
}

fn generations_of(lifecycle: &Lifecycle<Arc<Generation>>) -> Vec<Arc<Generation>> {
    match lifecycle {
        Lifecycle::Uninit | Lifecycle::Starting { .. } => vec![],
        Lifecycle::Running { serving } => vec![serving.clone()],
        Lifecycle::Recycling { old, new, .. } => match new {
            NewGeneration::Serving(g) => vec![old.clone(), g.clone()],
            NewGeneration::Starting { .. } => vec![old.clone()],
        },
        Lifecycle::Exiting { old } => vec![old.clone()],
        Lifecycle::Poisoned { dead, .. } => vec![dead.clone()],
    }
}

// ---------------------------------------------------------------------------
// Health

/// `poolHealth()`: a plain snapshot, cheap enough to take before every job.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolHealth {
    pub state: &'static str,
    /// The generation that takes new jobs (`null` when none does).
    pub generation: Option<u64>,
    pub threads: usize,
    /// Jobs running now, on any generation.
    pub in_flight: usize,
    /// Jobs finished since the process started: completed, and failed (panicked).
    pub jobs_completed: u64,
    pub jobs_failed: u64,
    /// Jobs finished on the serving generation.
    pub generation_jobs: u64,
    pub generation_age_ms: u64,
    pub recycles: u64,
    pub recycle: Option<RecycleProgress>,
    pub poisoned: Option<Poisoning>,
    pub memory: MemoryHealth,
    pub workers: Vec<WorkerHealth>,
    pub timestamp_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecycleProgress {
    pub from_generation: u64,
    pub to_generation: u64,
    /// `"starting"` (old generation serves) or `"retiring"` (new one serves).
    pub phase: &'static str,
    pub cause: &'static str,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Poisoning {
    pub generation: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryHealth {
    /// Linear memory size (never shrinks); `null` natively.
    pub linear_bytes: Option<u64>,
    pub linear_max_bytes: Option<u64>,
    /// Bytes the allocator has handed out and not got back.
    pub allocator_live_bytes: u64,
    pub allocator_peak_bytes: u64,
    pub allocations: u64,
    pub failed_allocations: u64,
    pub largest_failed_request_bytes: u64,
    /// Soft limit on live bytes, if one is set.
    pub soft_limit_bytes: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerHealth {
    /// Rayon's index of the worker in its generation (`null` while starting).
    pub index: Option<u32>,
    pub generation: u64,
    pub state: &'static str,
    pub jobs: u64,
    /// Bytes this worker allocated since it started (frees are not
    /// attributed: memory is often freed by another thread than its owner).
    pub allocated_bytes: u64,
    pub last_activity_ms: u64,
}

pub fn health() -> PoolHealth {
    let (state, serving, recycle, poisoned, in_flight) = {
        let guarded = lock(&POOL.guarded);
        let lifecycle = &guarded.lifecycle;
        let serving = lifecycle.serving().ok().cloned();
        let recycle = match lifecycle {
            Lifecycle::Recycling { old, new, cause } => Some(RecycleProgress {
                from_generation: old.number,
                to_generation: match new {
                    NewGeneration::Starting { generation } => *generation,
                    NewGeneration::Serving(g) => g.number,
                },
                phase: match new {
                    NewGeneration::Starting { .. } => "starting",
                    NewGeneration::Serving(_) => "retiring",
                },
                cause: match cause {
                    RecycleCause::Requested => "requested",
                    RecycleCause::Poisoned { .. } => "poisoned",
                },
            }),
            _ => None,
        };
        let poisoned = match lifecycle {
            Lifecycle::Poisoned { dead, reason } => Some(Poisoning {
                generation: dead.number,
                reason: reason.clone(),
            }),
            _ => None,
        };
        let in_flight = generations_of(lifecycle)
            .iter()
            .chain(guarded.abandoned.iter())
            .map(|g| g.in_flight())
            .sum();
        // Workers of abandoned generations leave the report as soon as they
        // left; the next operation stops them (see `sweep_abandoned`).
        for abandoned in guarded.abandoned.iter().filter(|g| workers_left(g)) {
            telemetry::release_exited_slots(abandoned.number);
        }
        (lifecycle.name(), serving, recycle, poisoned, in_flight)
    };
    let now = telemetry::now_ms();
    let limit = ALLOCATOR.limit_bytes.load(Relaxed);
    PoolHealth {
        state,
        generation: serving.as_ref().map(|g| g.number),
        threads: serving.as_ref().map_or(0, |g| g.threads),
        in_flight,
        jobs_completed: telemetry::JOBS.completed.load(Relaxed),
        jobs_failed: telemetry::JOBS.failed.load(Relaxed),
        generation_jobs: serving
            .as_ref()
            .map_or(0, |g| g.jobs_completed() + g.jobs_failed()),
        generation_age_ms: serving
            .as_ref()
            .map_or(0, |g| now.saturating_sub(g.started_at_ms)),
        recycles: POOL.recycles.load(Relaxed),
        recycle,
        poisoned,
        memory: MemoryHealth {
            linear_bytes: telemetry::linear_memory_bytes(),
            linear_max_bytes: telemetry::linear_memory_max_bytes(),
            allocator_live_bytes: ALLOCATOR.live_bytes.load(Relaxed),
            allocator_peak_bytes: ALLOCATOR.peak_live_bytes.load(Relaxed),
            allocations: ALLOCATOR.allocations.load(Relaxed),
            failed_allocations: ALLOCATOR.failed_allocations.load(Relaxed),
            largest_failed_request_bytes: ALLOCATOR.largest_failed_request_bytes.load(Relaxed),
            soft_limit_bytes: if limit == 0 { None } else { Some(limit) },
        },
        workers: telemetry::worker_snapshots()
            .into_iter()
            .map(|w| WorkerHealth {
                index: w.index,
                generation: w.generation,
                state: w.state.name(),
                jobs: w.jobs,
                allocated_bytes: w.allocated_bytes,
                last_activity_ms: w.last_activity_ms,
            })
            .collect(),
        timestamp_ms: now,
    }
}
