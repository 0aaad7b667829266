//! The pool's JS ABI: upstream's names and shapes, plus the health API.
//!
//! Kept from upstream: `initThreadPool(numThreads)` (with feature `nodejs`:
//! `initThreadPool(numThreads, workerSource)`), `exitThreadPool()`,
//! `wbg_rayon_start_worker(receiver)`, class `PoolBuilder` with
//! `numThreads()`, `receiver()`, `build()`, and the host functions
//! `startWorkers(moduleOrWorkerSource, memory, builder)` and
//! `terminateWorkers()` imported as free identifiers.
//!
//! Added: `recycleThreadPool(options?)`, `poolHealth()`,
//! `reportWorkerLost(generation, reason)`, `setPoolLogLevel(level)`, `logPoolEvent(level, message)`,
//! `setPoolStandby(enabled)`, `PoolBuilder.generation()`, `PoolBuilder.lossSignalAddress()`, and two optional arguments the host may use:
//! `terminateWorkers(generation, timeoutMs)` resolving `{ exited, forced }`.

use super::caught::{caught, Caught};
use super::console_log::LEVEL_NAMES;
use super::error::{js_error, PoolError, MAX_THREADS};
use super::flows::{self, Host};
use super::generation::{Generation, Inbox, PendingGeneration, RetireOptions};
use super::js_args::{Input, Options, MAX_SAFE_INTEGER};
use super::report::WorkerExit;
use super::worker::run_worker;
use super::{health, state};
use js_sys::{Function, Promise, Reflect};
use serde::Serialize;
use std::cell::RefCell;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = startWorkers)]
    fn start_workers(
        module_or_source: JsValue,
        memory: JsValue,
        builder: PoolBuilder,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_name = terminateWorkers)]
    fn terminate_workers(generation: f64, timeout_ms: f64) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;
}

thread_local! {
    // What `startWorkers` gets as its first argument on every (re)start: the
    // worker script source with feature `nodejs`, the compiled module otherwise.
    static WORKER_SOURCE: RefCell<Option<JsValue>> = RefCell::new(None);
}

/// Handed to `startWorkers`; JS calls `build()` once every worker is waiting.
#[wasm_bindgen]
pub struct PoolBuilder {
    pending: Arc<PendingGeneration>,
}

#[wasm_bindgen]
impl PoolBuilder {
    #[wasm_bindgen(js_name = numThreads)]
    pub fn num_threads(&self) -> usize {
        self.pending.threads
    }

    /// The number each worker passes to `wbg_rayon_start_worker`.
    pub fn receiver(&self) -> u32 {
        self.pending.inbox.handle()
    }

    /// The generation these workers belong to (for `terminateWorkers`).
    pub fn generation(&self) -> f64 {
        self.pending.number as f64
    }

    /// Byte address in linear memory where the host stores this generation's
    /// number (a u64, `Atomics.store` on a `BigInt64Array`) when one of its
    /// workers dies. It needs no call into the instance, so it works from a
    /// thread outside the pool and even after a trap terminated the instance;
    /// a caller blocked in a job of this generation sees it (`loss_signal`).
    #[wasm_bindgen(js_name = lossSignalAddress)]
    pub fn loss_signal_address(&self) -> f64 {
        super::loss_signal::slot_address(self.pending.number) as f64
    }

    pub fn build(&mut self) -> Result<(), JsValue> {
        self.pending
            .build()
            .map_err(|message| js_error("POOL_START_FAILED", &message))
    }
}

struct WasmHost;

impl Host for WasmHost {
    async fn start_workers(&self, pending: &Arc<PendingGeneration>) -> Result<(), String> {
        let source = WORKER_SOURCE
            .with(|s| s.borrow().clone())
            .ok_or_else(|| "no worker source: initThreadPool was never called".to_string())?;
        let builder = PoolBuilder {
            pending: pending.clone(),
        };
        let promise = start_workers(source, wasm_bindgen::memory(), builder).map_err(|error| {
            format!(
                "calling startWorkers failed ({}); the host must define globalThis.startWorkers before initThreadPool",
                describe(&error)
            )
        })?;
        JsFuture::from(promise)
            .await
            .map(|_| ())
            .map_err(|error| describe(&error))
    }

    async fn stop_workers(&self, generation: u64, timeout_ms: u64) -> WorkerExit {
        let promise = match terminate_workers(generation as f64, timeout_ms as f64) {
            Ok(promise) => promise,
            Err(error) => {
                tracing::error!(target: "plonk_wasm::pool", generation, error = %describe(&error), "terminateWorkers threw");
                return WorkerExit::default();
            }
        };
        match JsFuture::from(promise).await {
            Ok(report) => WorkerExit {
                exited: number_field(&report, "exited"),
                forced: number_field(&report, "forced"),
                reclaimed: number_field(&report, "reclaimed"),
            },
            Err(error) => {
                tracing::error!(target: "plonk_wasm::pool", generation, error = %describe(&error), "terminateWorkers rejected");
                WorkerExit::default()
            }
        }
    }

    async fn drain(&self, generation: &Generation, timeout_ms: u64) -> usize {
        // Polls instead of blocking: the thread driving a recycle is usually
        // the JS main thread, which must keep its event loop turning.
        let began = super::telemetry::monotonic_ms();
        loop {
            let in_flight = generation.in_flight();
            if in_flight == 0 || super::telemetry::monotonic_ms() - began >= timeout_ms as f64 {
                return in_flight;
            }
            self.pause(1).await;
        }
    }

    async fn pause(&self, ms: u64) {
        let timer = Promise::new(&mut |resolve, _reject| {
            set_timeout(&resolve, ms as f64);
        });
        let _ = JsFuture::from(timer).await;
    }
}

fn number_field(object: &JsValue, name: &str) -> usize {
    Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .and_then(|value| value.as_f64())
        .unwrap_or(0.0) as usize
}

fn describe(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        String::from(error.message())
    } else if let Some(text) = error.as_string() {
        text
    } else {
        format!("{:?}", error)
    }
}

fn pool_error(error: &PoolError) -> JsValue {
    js_error(error.code(), &error.to_string())
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::UNDEFINED)
}

/// Starts the first generation with `num_threads` workers (checked here, so
/// that a bad value rejects the Promise and touches nothing).
fn start_pool(num_threads: &JsValue) -> Promise {
    let threads = match Input::argument("initThreadPool", "numThreads")
        .thread_count(num_threads, MAX_THREADS)
    {
        Ok(threads) => threads,
        Err(error) => return Promise::reject(&error),
    };
    super::oom::install_alloc_error_hook();
    super::console_log::install();
    future_to_promise(Caught(async move {
        let report = flows::init(&WasmHost, threads)
            .await
            .map_err(|e| pool_error(&e))?;
        prepare_standby_in_background();
        Ok(to_js(&report))
    }))
}

/// Starts the next standby without making the caller wait for it, when the
/// pool keeps one (its failure is logged; a recycle then starts its own).
fn prepare_standby_in_background() {
    if state::standby_wanted() {
        wasm_bindgen_futures::spawn_local(async {
            let _ = Caught(async {
                let _ = flows::prepare_standby(&WasmHost).await;
                Ok(JsValue::UNDEFINED)
            })
            .await;
        });
    }
}

/// Whether the pool keeps a standby generation: workers started ahead and
/// parked, so that a recycle only swaps them in (its cost: one more set of
/// workers, idle, for as long as the pool runs). Off by default. Turning it
/// on while the pool runs starts one; turning it off retires the one there
/// is. Resolves with the standby's generation number, or `null` when there
/// is none.
#[wasm_bindgen(js_name = setPoolStandby)]
pub fn set_pool_standby(enabled: JsValue) -> Promise {
    let enabled = match Input::argument("setPoolStandby", "enabled").boolean(&enabled) {
        Ok(enabled) => enabled,
        Err(error) => return Promise::reject(&error),
    };
    state::want_standby(enabled);
    future_to_promise(Caught(async move {
        let standby = if enabled {
            flows::prepare_standby(&WasmHost)
                .await
                .map_err(|e| pool_error(&e))?
        } else {
            flows::discard_standby(&WasmHost).await;
            None
        };
        Ok(standby.map_or(JsValue::NULL, |number| JsValue::from_f64(number as f64)))
    }))
}

/// Starts the pool (upstream ABI, feature `nodejs`: the worker script source
/// is the first argument `startWorkers` gets).
#[cfg(feature = "nodejs")]
#[wasm_bindgen(js_name = initThreadPool)]
pub fn init_thread_pool(num_threads: JsValue, worker_source: JsValue) -> Promise {
    if let Err(error) = Input::argument("initThreadPool", "workerSource").string(&worker_source) {
        return Promise::reject(&error);
    }
    WORKER_SOURCE.with(|s| *s.borrow_mut() = Some(worker_source));
    start_pool(&num_threads)
}

/// Starts the pool (upstream ABI: `startWorkers` gets the compiled module).
#[cfg(not(feature = "nodejs"))]
#[wasm_bindgen(js_name = initThreadPool)]
pub fn init_thread_pool(num_threads: JsValue) -> Promise {
    WORKER_SOURCE.with(|s| *s.borrow_mut() = Some(wasm_bindgen::module()));
    start_pool(&num_threads)
}

/// Shuts the pool down: drain, drop, let workers exit, then stop them.
/// Resolves `{ retirement }` (`retirement: null` if there was no pool).
#[wasm_bindgen(js_name = exitThreadPool)]
pub fn exit_thread_pool() -> Promise {
    future_to_promise(Caught(async move {
        let report = flows::exit(&WasmHost, RetireOptions::default())
            .await
            .map_err(|e| pool_error(&e))?;
        Ok(to_js(&report))
    }))
}

/// The options `recycleThreadPool` accepts, in the order messages list them.
const RECYCLE_OPTIONS: [&str; 4] = [
    "threads",
    "drainTimeoutMs",
    "exitTimeoutMs",
    "stopWorkersFirst",
];

/// `recycleThreadPool`'s options, checked (the one place they are).
fn recycle_options(options: &JsValue) -> Result<(Option<usize>, RetireOptions), JsValue> {
    let options = Options::read("recycleThreadPool", options, &RECYCLE_OPTIONS)?;
    let threads = match options.get("threads")? {
        Some((input, value)) => Some(input.thread_count(&value, MAX_THREADS)?),
        None => None,
    };
    let timer = |name| -> Result<Option<u64>, JsValue> {
        options
            .get(name)?
            .map(|(input, value)| input.milliseconds(&value))
            .transpose()
    };
    let retire = RetireOptions {
        drain_timeout_ms: timer("drainTimeoutMs")?,
        exit_timeout_ms: timer("exitTimeoutMs")?,
        stop_workers_first: match options.get("stopWorkersFirst")? {
            Some((input, value)) => input.boolean(&value)?,
            None => false,
        },
    };
    Ok((threads, retire))
}

/// Replaces the pool with a new generation. `options`: `{ threads?,
/// drainTimeoutMs?, exitTimeoutMs?, stopWorkersFirst? }` (the last is
/// upstream's leaky order, for comparisons). Resolves with the recycle report;
/// bad options reject it before anything changes.
#[wasm_bindgen(js_name = recycleThreadPool)]
pub fn recycle_thread_pool(options: JsValue) -> Promise {
    let (threads, retire) = match caught(|| recycle_options(&options)) {
        Ok(checked) => checked,
        Err(error) => return Promise::reject(&error),
    };
    future_to_promise(Caught(async move {
        let report = flows::recycle(&WasmHost, threads, retire)
            .await
            .map_err(|e| pool_error(&e))?;
        if !report.joined {
            prepare_standby_in_background();
        }
        Ok(to_js(&report))
    }))
}

/// A plain snapshot of the pool; docs/api.md ("Health fields") has every field.
#[wasm_bindgen(js_name = poolHealth)]
pub fn pool_health() -> Result<JsValue, JsValue> {
    caught(|| Ok(to_js(&health::health())))
}

/// Called by the host when a worker of `generation` died (error or exit
/// event, failed message): the generation is poisoned; a recycle rebuilds it.
#[wasm_bindgen(js_name = reportWorkerLost)]
pub fn report_worker_lost(generation: JsValue, reason: JsValue) -> Result<(), JsValue> {
    caught(|| report_worker_lost_checked(&generation, &reason))
}

fn report_worker_lost_checked(generation: &JsValue, reason: &JsValue) -> Result<(), JsValue> {
    let number = Input::argument("reportWorkerLost", "generation").whole(
        generation,
        1.0,
        MAX_SAFE_INTEGER,
        "a generation number: a whole number from 1 to 2^53 - 1",
    )?;
    let reason = Input::argument("reportWorkerLost", "reason").string(reason)?;
    state::worker_lost(number as u64, reason);
    Ok(())
}

/// Called by each worker with `builder.receiver()`; returns when the worker's
/// generation is dropped. The worker must then call
/// `__wbindgen_thread_destroy()` and report its exit to the host.
///
/// `worker` (optional, an addition to upstream's ABI): the worker's index in
/// its generation, 0 to `numThreads() - 1`, distinct per worker. A host that
/// writes loss evidence into the loss signal (`lossSignalAddress()`) must
/// give it: the fence marks a parked worker out under this index, so that
/// evidence about the same worker is never counted twice (`loss_signal`).
#[wasm_bindgen]
pub fn wbg_rayon_start_worker(receiver: JsValue, worker: JsValue) -> Result<(), JsValue> {
    caught(|| start_worker(&receiver, &worker))
}

fn start_worker(receiver: &JsValue, worker: &JsValue) -> Result<(), JsValue> {
    let handle = Input::argument("wbg_rayon_start_worker", "receiver").whole(
        receiver,
        0.0,
        u32::MAX as f64,
        "the number builder.receiver() returned: a whole number from 0 to 2^32 - 1",
    )? as u32;
    let worker = if worker.is_undefined() {
        None
    } else {
        Some(Input::argument("wbg_rayon_start_worker", "worker").whole(
            worker,
            0.0,
            (MAX_THREADS - 1) as f64,
            &format!(
                "the worker's index in its generation, or undefined: a whole number from 0 to {}",
                MAX_THREADS - 1
            ),
        )? as usize)
    };
    let inbox: Arc<Inbox> = Inbox::find(handle)
        .ok_or_else(|| pool_error(&PoolError::UnknownReceiver { value: handle }))?;
    run_worker(&inbox, worker);
    Ok(())
}

/// The size of the calling thread's stack, for a host that frees the stack of
/// a worker that died without `__wbindgen_thread_destroy()`: a worker calls it
/// once, with its `__stack_alloc` (the stack's start, a glue global), right
/// after it instantiated. wasm-bindgen allocates a thread's stack as one block
/// of a multiple of 64 KiB (1 MiB in o1js's glue, 2 MiB by default) and starts
/// the stack pointer at its end; this frame is a few hundred bytes below it,
/// so the distance rounded up to 64 KiB is the block's size.
#[wasm_bindgen(js_name = threadStackBytes)]
pub fn thread_stack_bytes(stack_alloc: JsValue) -> Result<f64, JsValue> {
    caught(|| stack_bytes_checked(&stack_alloc))
}

#[inline(never)]
fn stack_bytes_checked(stack_alloc: &JsValue) -> Result<f64, JsValue> {
    let start = Input::argument("threadStackBytes", "stackAlloc").whole(
        stack_alloc,
        1.0,
        u32::MAX as f64,
        "this thread's __stack_alloc: a whole number from 1 to 2^32 - 1",
    )? as usize;
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    if here <= start {
        return Err(Input::argument("threadStackBytes", "stackAlloc").invalid(
            stack_alloc,
            "the start of this thread's stack (below its stack pointer)",
            None,
        ));
    }
    const PAGE: usize = 64 * 1024;
    Ok(((here - start + PAGE - 1) / PAGE * PAGE) as f64)
}

/// Logs a line from the JS side of the pool (the health coordinator) as a
/// tracing event, target `plonk_wasm::coordinator`, so it reaches the same
/// output, with the same level filter, as the pool's own events.
#[wasm_bindgen(js_name = logPoolEvent)]
pub fn log_pool_event(level: JsValue, message: JsValue) -> Result<(), JsValue> {
    caught(|| log_checked(&level, &message))
}

fn log_checked(level: &JsValue, message: &JsValue) -> Result<(), JsValue> {
    let level = Input::argument("logPoolEvent", "level").one_of(level, &LEVEL_NAMES)?;
    let message = Input::argument("logPoolEvent", "message").string(message)?;
    match level.as_str() {
        "error" => tracing::error!(target: "plonk_wasm::coordinator", "{}", message),
        "warn" => tracing::warn!(target: "plonk_wasm::coordinator", "{}", message),
        "debug" => tracing::debug!(target: "plonk_wasm::coordinator", "{}", message),
        "trace" => tracing::trace!(target: "plonk_wasm::coordinator", "{}", message),
        _ => tracing::info!(target: "plonk_wasm::coordinator", "{}", message),
    }
    Ok(())
}

/// Prints the pool's `tracing` events at `level` and above on the console, one
/// line each: `"error"`, `"warn"` (the default), `"info"`, `"debug"`,
/// `"trace"`. Takes effect at once, on every thread of the instance.
#[wasm_bindgen(js_name = setPoolLogLevel)]
pub fn set_pool_log_level(level: JsValue) -> Result<(), JsValue> {
    caught(|| {
        let level = Input::argument("setPoolLogLevel", "level").one_of(&level, &LEVEL_NAMES)?;
        let parsed = level
            .parse::<tracing::Level>()
            .expect("every name in LEVEL_NAMES parses as a tracing level");
        super::console_log::set_level(parsed);
        Ok(())
    })
}
