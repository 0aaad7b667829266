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
//! `PoolBuilder.generation()`, `PoolBuilder.lossSignalAddress()`, and two optional arguments the host may use:
//! `terminateWorkers(generation, timeoutMs)` resolving `{ exited, forced }`.

use super::error::{validate_thread_count, PoolError};
use super::generation::{Generation, Inbox, PendingGeneration};
use super::pool::{self, Host, RetireOptions, WorkerExit};
use super::worker::run_worker;
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

/// A JS `Error` with a `code` property callers can branch on.
pub fn js_error(code: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    let _ = Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code));
    error.into()
}

fn pool_error(error: &PoolError) -> JsValue {
    js_error(error.code(), &error.to_string())
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::UNDEFINED)
}

fn start_pool(num_threads: f64) -> Promise {
    super::oom::install_alloc_error_hook();
    super::console_log::install();
    future_to_promise(async move {
        let threads = validate_thread_count(num_threads).map_err(|e| pool_error(&e))?;
        let report = pool::init(&WasmHost, threads)
            .await
            .map_err(|e| pool_error(&e))?;
        Ok(to_js(&report))
    })
}

/// Starts the pool (upstream ABI, feature `nodejs`: the worker script source
/// is the first argument `startWorkers` gets).
#[cfg(feature = "nodejs")]
#[wasm_bindgen(js_name = initThreadPool)]
pub fn init_thread_pool(num_threads: f64, worker_source: js_sys::JsString) -> Promise {
    WORKER_SOURCE.with(|s| *s.borrow_mut() = Some(worker_source.into()));
    start_pool(num_threads)
}

/// Starts the pool (upstream ABI: `startWorkers` gets the compiled module).
#[cfg(not(feature = "nodejs"))]
#[wasm_bindgen(js_name = initThreadPool)]
pub fn init_thread_pool(num_threads: f64) -> Promise {
    WORKER_SOURCE.with(|s| *s.borrow_mut() = Some(wasm_bindgen::module()));
    start_pool(num_threads)
}

/// Shuts the pool down: drain, drop, let workers exit, then stop them.
/// Resolves `{ retirement }` (`retirement: null` if there was no pool).
#[wasm_bindgen(js_name = exitThreadPool)]
pub fn exit_thread_pool() -> Promise {
    future_to_promise(async move {
        let report = pool::exit(&WasmHost, RetireOptions::default())
            .await
            .map_err(|e| pool_error(&e))?;
        Ok(to_js(&report))
    })
}

/// Replaces the pool with a new generation. `options`: `{ threads?,
/// drainTimeoutMs?, exitTimeoutMs?, stopWorkersFirst? }` (the last is
/// upstream's leaky order, for comparisons). Resolves with the recycle report.
#[wasm_bindgen(js_name = recycleThreadPool)]
pub fn recycle_thread_pool(options: JsValue) -> Promise {
    future_to_promise(async move {
        let option = |name: &str| -> Result<Option<f64>, JsValue> {
            if options.is_undefined() || options.is_null() {
                return Ok(None);
            }
            let value = Reflect::get(&options, &JsValue::from_str(name))?;
            if value.is_undefined() {
                return Ok(None);
            }
            value
                .as_f64()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(Some)
                .ok_or_else(|| {
                    js_error(
                        "POOL_INVALID_OPTION",
                        &format!(
                            "recycleThreadPool options.{} is {:?}: expected a number of 0 or more",
                            name, value
                        ),
                    )
                })
        };
        let flag = |name: &str| -> Result<bool, JsValue> {
            if options.is_undefined() || options.is_null() {
                return Ok(false);
            }
            let value = Reflect::get(&options, &JsValue::from_str(name))?;
            if value.is_undefined() {
                return Ok(false);
            }
            value.as_bool().ok_or_else(|| {
                js_error(
                    "POOL_INVALID_OPTION",
                    &format!(
                        "recycleThreadPool options.{} is {:?}: expected true or false",
                        name, value
                    ),
                )
            })
        };
        let threads = option("threads")?
            .map(|value| validate_thread_count(value).map_err(|e| pool_error(&e)))
            .transpose()?;
        let retire = RetireOptions {
            drain_timeout_ms: option("drainTimeoutMs")?.map(|v| v as u64),
            exit_timeout_ms: option("exitTimeoutMs")?.map(|v| v as u64),
            stop_workers_first: flag("stopWorkersFirst")?,
        };
        let report = pool::recycle(&WasmHost, threads, retire)
            .await
            .map_err(|e| pool_error(&e))?;
        Ok(to_js(&report))
    })
}

/// A plain snapshot of the pool; see the README for every field.
#[wasm_bindgen(js_name = poolHealth)]
pub fn pool_health() -> JsValue {
    to_js(&pool::health())
}

/// Called by the host when a worker of `generation` died (error or exit
/// event, failed message): the generation is poisoned; a recycle rebuilds it.
#[wasm_bindgen(js_name = reportWorkerLost)]
pub fn report_worker_lost(generation: f64, reason: String) {
    pool::worker_lost(generation as u64, reason);
}

/// Called by each worker with `builder.receiver()`; returns when the worker's
/// generation is dropped. The worker must then call
/// `__wbindgen_thread_destroy()` and report its exit to the host.
#[wasm_bindgen]
pub fn wbg_rayon_start_worker(receiver: u32) -> Result<(), JsValue> {
    let inbox: Arc<Inbox> = Inbox::find(receiver)
        .ok_or_else(|| pool_error(&PoolError::UnknownReceiver { value: receiver }))?;
    run_worker(&inbox);
    Ok(())
}

/// Logs a line from the JS side of the pool (the health coordinator) as a
/// tracing event, target `plonk_wasm::coordinator`, so it reaches the same
/// output, with the same level filter, as the pool's own events. An unknown
/// level logs at `info`.
#[wasm_bindgen(js_name = logPoolEvent)]
pub fn log_pool_event(level: &str, message: &str) {
    match level {
        "error" => tracing::error!(target: "plonk_wasm::coordinator", "{}", message),
        "warn" => tracing::warn!(target: "plonk_wasm::coordinator", "{}", message),
        "debug" => tracing::debug!(target: "plonk_wasm::coordinator", "{}", message),
        "trace" => tracing::trace!(target: "plonk_wasm::coordinator", "{}", message),
        _ => tracing::info!(target: "plonk_wasm::coordinator", "{}", message),
    }
}

/// Prints the pool's `tracing` events at `level` and above on the console, one
/// line each: `"error"`, `"warn"` (the default), `"info"`, `"debug"`,
/// `"trace"`. Takes effect at once, on every thread of the instance.
#[wasm_bindgen(js_name = setPoolLogLevel)]
pub fn set_pool_log_level(level: &str) -> Result<(), JsValue> {
    let parsed = level.parse::<tracing::Level>().map_err(|_| {
        js_error(
            "POOL_INVALID_OPTION",
            &format!(
                "setPoolLogLevel got {:?}: expected one of {}",
                level,
                super::console_log::LEVEL_NAMES
                    .iter()
                    .map(|name| format!("{:?}", name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    super::console_log::set_level(parsed);
    Ok(())
}
