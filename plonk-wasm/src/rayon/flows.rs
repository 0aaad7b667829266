//! The pool's flows: init, recycle and exit, written once, as async code over
//! a [`Host`] that starts and stops workers: JS workers on wasm (whose steps
//! are Promises), std threads natively (whose steps just block). They change
//! the state only through `state::apply`.
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
//! See `state::worker_lost`: a loss is recorded in the generation's handle,
//! pending or built, and applied as `Event::WorkerLost`; a generation that
//! lost a worker while starting arrives poisoned.

use super::error::PoolError;
use super::generation::{
    Generation, PendingGeneration, RetireOptions, Teardown, DEFAULT_DRAIN_TIMEOUT_MS,
    DEFAULT_EXIT_TIMEOUT_MS,
};
use super::lifecycle::{
    Event, GenerationRef, Lifecycle, NewGeneration, RecycleCause, Rejected, Standby,
};
use super::report::{ExitReport, RecycleReport, Retirement, StartReport, WorkerExit};
use super::state::{self, apply, workers_left};
use super::telemetry::{self, ALLOCATOR};
use super::thread_stacks;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

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

/// How often a waiting operation looks at the lifecycle again.
const WAIT_POLL_MS: u64 = 2;

/// Puts the lifecycle back in a state later operations can leave if a flow
/// stops half-way: its future dropped before it finished, which is what
/// happens when a panic (an out of memory) interrupts it (see `caught`).
/// Disarmed with [`Undo::done`] once the flow's own events are applied.
struct Undo<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Undo<F> {
    fn new(undo: F) -> Self {
        Undo(Some(undo))
    }

    fn done(mut self) {
        self.0 = None;
    }
}

impl<F: FnOnce()> Drop for Undo<F> {
    fn drop(&mut self) {
        if let Some(undo) = self.0.take() {
            undo();
        }
    }
}

fn interrupted(generation: u64) -> PoolError {
    PoolError::StartFailed {
        generation,
        message: "the operation was interrupted (a panic, such as an out of memory, while it ran)"
            .to_string(),
    }
}

/// Starts the first generation.
pub async fn init<H: Host>(host: &H, threads: usize) -> Result<StartReport, PoolError> {
    sweep_abandoned(host).await;
    let pending = loop {
        match apply(|number, _| Event::Init {
            pending: PendingGeneration::new(number, threads),
        }) {
            Ok(Lifecycle::Starting { pending }) => break pending,
            Ok(other) => unreachable!("init led to {}", other.name()),
            Err(Rejected::Wait) => host.pause(WAIT_POLL_MS).await,
            Err(Rejected::NoOp) => unreachable!("init is never a no-op"),
            Err(Rejected::Error(error)) => return Err(error),
        }
    };
    let generation = pending.number;
    let started_at = telemetry::monotonic_ms();
    let started = start_or_undo(host, &pending).await;
    match started {
        Ok(built) => {
            let state =
                apply(|_, _| Event::Started(built)).expect("a started generation is accepted");
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
            apply(|_, _| Event::StartFailed {
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

/// Starts `pending` (init, standby); if the flow is interrupted meanwhile, its
/// start is applied as failed so that later operations can leave that state.
async fn start_or_undo<H: Host>(
    host: &H,
    pending: &Arc<PendingGeneration>,
) -> Result<Arc<Generation>, String> {
    let generation = pending.number;
    let undo = Undo::new(move || {
        let _ = apply(|_, _| Event::StartFailed {
            generation,
            message: interrupted(generation).to_string(),
        });
    });
    let started = start_generation(host, pending).await;
    undo.done();
    started
}

async fn start_generation<H: Host>(
    host: &H,
    pending: &Arc<PendingGeneration>,
) -> Result<Arc<Generation>, String> {
    let number = pending.number;
    // Before any worker exists: a worker whose stack allocation failed would
    // wedge every later start (see `thread_stacks`).
    if let Err(missing) = thread_stacks::reserve(pending.threads) {
        telemetry::release_generation_slots(number);
        return Err(format!(
            "not enough free memory for the stacks of {} workers ({} bytes each, {} bytes could not be allocated); \
             free memory, or ask for fewer threads, and try again",
            pending.threads,
            thread_stacks::stack_bytes(),
            missing
        ));
    }
    pending.open();
    let started = host.start_workers(pending).await.and_then(|()| {
        pending.into_generation().ok_or_else(|| {
            "startWorkers resolved, but PoolBuilder.build() was never called".to_string()
        })
    });
    if started.is_err() {
        // Workers already waiting see a closed inbox and leave.
        pending.abandon();
        let _ = host.stop_workers(number, DEFAULT_EXIT_TIMEOUT_MS).await;
        pending.inbox.retire();
        telemetry::release_generation_slots(number);
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
    let request = (threads, options);
    let (old, new, cause, attempt) = loop {
        let mut discarded = None;
        let mut standby_starting = false;
        let made = apply(|number, state| {
            // The old generation's size, unless another is asked for.
            let current = state.generations().first().map_or(1, |g| g.threads);
            let wanted = threads.unwrap_or(current);
            match state.standby() {
                Some(Standby::Ready(ready))
                    if ready.threads == wanted && ready.lost_worker().is_none() =>
                {
                    Event::Swap
                }
                Some(Standby::Ready(ready)) => {
                    discarded = Some(ready.clone());
                    Event::DiscardStandby
                }
                standby => {
                    standby_starting = matches!(standby, Some(Standby::Starting { .. }));
                    Event::Recycle {
                        pending: PendingGeneration::new(number, wanted),
                    }
                }
            }
        });
        match made {
            Ok(Lifecycle::Recycling { old, new, cause }) => {
                let mut guarded = state::guarded();
                guarded.recycle_request = Some(request);
                break (old, new, cause, guarded.recycle_attempts);
            }
            Ok(other) => match discarded {
                Some(standby) => {
                    retire_standby(
                        host,
                        &standby,
                        "the recycle asked for another size, or it lost a worker",
                    )
                    .await
                }
                None => unreachable!("recycle led to {}", other.name()),
            },
            // The standby is starting: the recycle takes it once it is up.
            Err(Rejected::Wait) if standby_starting => host.pause(WAIT_POLL_MS).await,
            // A request without options, or with the same ones, is served by
            // the recycle in progress; any other waits for it, then runs.
            Err(Rejected::Wait) => {
                let in_progress = state::guarded().recycle_request;
                if request == (None, RetireOptions::default()) || in_progress == Some(request) {
                    return join_recycle_in_progress(host).await;
                }
                while state::guarded().recycle_request.is_some() {
                    host.pause(WAIT_POLL_MS).await;
                }
            }
            Err(Rejected::NoOp) => unreachable!("recycle is never a no-op"),
            Err(Rejected::Error(error)) => return Err(error),
        }
    };
    let (next, threads, swapped) = match &new {
        NewGeneration::Starting { pending } => (pending.number, pending.threads, false),
        NewGeneration::Serving(standby) => (standby.number, standby.threads, true),
    };
    let cause_name = match cause {
        RecycleCause::Requested => "requested",
        RecycleCause::Poisoned { .. } => "poisoned",
    };
    if swapped {
        tracing::info!(target: "plonk_wasm::pool", from = old.number, to = next, threads, cause = cause_name, "recycle: the standby generation serves");
    } else {
        tracing::info!(target: "plonk_wasm::pool", from = old.number, to = next, threads, cause = cause_name, "recycle: starting the next generation");
    }

    let finish = move |outcome: &Result<RecycleReport, PoolError>| {
        let mut guarded = state::guarded();
        guarded.last_recycle = Some((attempt, outcome.clone()));
        guarded.recycle_request = None;
        drop(guarded);
        state::notify();
    };
    let started = match new {
        // Swapped in: already serving.
        NewGeneration::Serving(_) => Ok(()),
        NewGeneration::Starting { pending } => {
            let undo_start = Undo::new(move || {
                let _ = apply(|_, _| Event::StartFailed {
                    generation: next,
                    message: interrupted(next).to_string(),
                });
                finish(&Err(interrupted(next)));
            });
            let started = start_generation(host, &pending).await;
            undo_start.done();
            started.map(|built| {
                apply(|_, _| Event::Started(built)).expect("a started generation is accepted");
            })
        }
    };
    let outcome = match started {
        Err(message) => {
            apply(|_, _| Event::StartFailed {
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
        Ok(()) => {
            let start_ms = telemetry::monotonic_ms() - began_at;
            tracing::info!(target: "plonk_wasm::pool", generation = next, start_ms, "recycle: the new generation serves; retiring the old one");
            // Interrupted while retiring: the new generation serves; the old one is left as it is.
            let undo_retire = Undo::new(move || {
                let _ = apply(|_, _| Event::Retired);
                finish(&Err(interrupted(next)));
            });
            let retirement = retire(host, &old, options).await;
            undo_retire.done();
            // The retired workers' stacks are set aside for the next start: as many as it needs.
            thread_stacks::trim(threads);
            apply(|_, _| Event::Retired).expect("a retired generation is accepted");
            state::count_recycle();
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
                standby: swapped,
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
    finish(&outcome);
    outcome
}

async fn join_recycle_in_progress<H: Host>(host: &H) -> Result<RecycleReport, PoolError> {
    let attempt = state::guarded().recycle_attempts;
    loop {
        if let Some((done, outcome)) = &state::guarded().last_recycle {
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
    // Fenced workers stay parked for good: none will report an exit, so
    // waiting for them would only delay the stop by the full bound.
    let exit_timeout_ms = if old.fence_raised() {
        0
    } else {
        options.exit_timeout_ms.unwrap_or(DEFAULT_EXIT_TIMEOUT_MS)
    };
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
        Teardown::Dropped => {
            let workers = match stopped_first {
                Some(workers) => workers,
                None => host.stop_workers(old.number, exit_timeout_ms).await,
            };
            old.retire_inbox();
            // Every worker of it is gone now, even one stopped by force.
            telemetry::release_generation_slots(old.number);
            (0, workers)
        }
        Teardown::Abandoned { jobs_in_flight } => {
            tracing::warn!(
                target: "plonk_wasm::pool",
                generation = old.number,
                jobs_in_flight,
                drain_timeout_ms,
                "retire: jobs still run past the drain bound; the generation is abandoned to them and its workers leave when they finish"
            );
            state::guarded().abandoned.push(old.clone());
            (jobs_in_flight, WorkerExit::default())
        }
    };
    // Abandoned: frees the slots of workers that already left, if any; the
    // sweep frees the others.
    if jobs_abandoned > 0 {
        telemetry::release_exited_slots(old.number);
    }
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
        let mut discarded = None;
        let made = apply(|_, state| match state.standby() {
            Some(Standby::Ready(ready)) => {
                discarded = Some(ready.clone());
                Event::DiscardStandby
            }
            _ => Event::Exit,
        });
        match made {
            Ok(Lifecycle::Exiting { old }) => break old,
            Ok(other) => match discarded {
                Some(standby) => retire_standby(host, &standby, "the pool exits").await,
                None => unreachable!("exit led to {}", other.name()),
            },
            Err(Rejected::Wait) => host.pause(WAIT_POLL_MS).await,
            Err(Rejected::NoOp) => return Ok(ExitReport { retirement: None }),
            Err(Rejected::Error(error)) => return Err(error),
        }
    };
    let undo = Undo::new(|| {
        let _ = apply(|_, _| Event::Exited);
    });
    let retirement = retire(host, &old, options).await;
    undo.done();
    apply(|_, _| Event::Exited).expect("an exited pool is accepted");
    tracing::info!(target: "plonk_wasm::pool", generation = old.number, drain_ms = retirement.drain_ms, exit_ms = retirement.exit_ms, "thread pool exited");
    Ok(ExitReport {
        retirement: Some(retirement),
    })
}

/// Starts a standby: a generation of the serving generation's size, whose
/// workers wait in Rayon's loop until a recycle swaps it in (see
/// `lifecycle`'s "Standby"). A no-op (`Ok(None)`) unless the pool runs
/// without one; else the standby's number once it is up. A standby that
/// lost a worker while starting stays until the next recycle or exit,
/// which discards it instead of swapping it in.
pub async fn prepare_standby<H: Host>(host: &H) -> Result<Option<u64>, PoolError> {
    let made = apply(|number, state| {
        let threads = state.generations().first().map_or(1, |g| g.threads);
        Event::PrepareStandby {
            pending: PendingGeneration::new(number, threads),
        }
    });
    let pending = match made {
        Ok(state) => match state.standby() {
            Some(Standby::Starting { pending }) => pending.clone(),
            _ => unreachable!("a standby being prepared is starting"),
        },
        Err(Rejected::NoOp) => return Ok(None),
        Err(Rejected::Wait) => unreachable!("preparing a standby never waits"),
        Err(Rejected::Error(error)) => return Err(error),
    };
    let number = pending.number;
    let started_at = telemetry::monotonic_ms();
    let started = start_or_undo(host, &pending).await;
    match started {
        Ok(built) => {
            // Recycles and exits wait while a standby starts, so it is still held.
            apply(|_, _| Event::Started(built)).expect("a started standby is accepted");
            tracing::info!(target: "plonk_wasm::pool", generation = number, threads = pending.threads, start_ms = telemetry::monotonic_ms() - started_at, "standby generation ready");
            Ok(Some(number))
        }
        Err(message) => {
            apply(|_, _| Event::StartFailed {
                generation: number,
                message: message.clone(),
            })
            .expect("a failed standby start is accepted");
            tracing::warn!(target: "plonk_wasm::pool", generation = number, %message, "standby generation failed to start; recycles start their generation instead");
            Err(PoolError::StartFailed {
                generation: number,
                message,
            })
        }
    }
}

/// Takes the standby out, if there is one (waiting for one that starts),
/// and retires it. Returns its number.
pub async fn discard_standby<H: Host>(host: &H) -> Option<u64> {
    loop {
        let mut discarded = None;
        let made = apply(|_, state| {
            if let Some(Standby::Ready(ready)) = state.standby() {
                discarded = Some(ready.clone());
            }
            Event::DiscardStandby
        });
        match made {
            Ok(_) => {
                let standby = discarded.expect("only a ready standby is discarded");
                retire_standby(host, &standby, "standby turned off").await;
                return Some(standby.number);
            }
            Err(Rejected::Wait) => host.pause(WAIT_POLL_MS).await,
            Err(_) => return None,
        }
    }
}

/// Bound for the workers of a standby that lost one to report their exit:
/// the lost one never will, and no job waits on the others.
const LOST_STANDBY_EXIT_TIMEOUT_MS: u64 = 1_000;

/// Retires a standby the lifecycle let go of (`DiscardStandby`): no job ever
/// ran on it, so this is its workers' exit.
async fn retire_standby<H: Host>(host: &H, standby: &Arc<Generation>, why: &str) {
    let options = RetireOptions {
        exit_timeout_ms: standby.lost_worker().map(|_| LOST_STANDBY_EXIT_TIMEOUT_MS),
        ..RetireOptions::default()
    };
    let retirement = retire(host, standby, options).await;
    tracing::info!(target: "plonk_wasm::pool", generation = standby.number, exit_ms = retirement.exit_ms, forced = retirement.workers.forced, why, "standby generation retired");
}

/// Finishes retiring the abandoned generations whose workers have left:
/// stops them (natively, joins their threads; on wasm the host lets go of
/// its workers) and frees their telemetry slots. Runs at the start of every
/// init, recycle and exit; `health()` frees the slots in between.
async fn sweep_abandoned<H: Host>(host: &H) {
    // Taken out under the lock, so concurrent sweeps never stop one twice.
    let left: Vec<Arc<Generation>> = {
        let mut guarded = state::guarded();
        let (left, waiting) = guarded.abandoned.drain(..).partition(|g| workers_left(g));
        guarded.abandoned = waiting;
        left
    };
    for generation in left {
        let workers = host
            .stop_workers(generation.number, DEFAULT_EXIT_TIMEOUT_MS)
            .await;
        generation.retire_inbox();
        // After the stop no worker of it runs: even one stopped by force.
        telemetry::release_generation_slots(generation.number);
        tracing::info!(target: "plonk_wasm::pool", generation = generation.number, exited = workers.exited, forced = workers.forced, "abandoned generation swept: its last job ended and its workers left");
    }
}
