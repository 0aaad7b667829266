//! No panic crosses an export. A panic that leaves a wasm export reaches JS as
//! a bare `WebAssembly.Exception` (wasm-bindgen 0.2.106, upstream's pin, does
//! not catch them), leaves the thread's panic count raised so that its next
//! panic aborts, and inside an async export never settles its Promise. An out
//! of memory is a panic here (`oom`), and it can happen in any export that
//! allocates on the calling thread, `poolHealth()` included. So every export
//! runs its body through [`caught`] (or [`Caught`] for a future), which turns
//! a panic into a JS `Error` with a `code`: `OUT_OF_MEMORY` when memory ran
//! out, the code in a `plonk-wasm [CODE]` message, else `POOL_JOB_PANICKED`.

use super::error::JOB_PANICKED;
use super::oom;
use std::any::Any;
#[cfg(target_arch = "wasm32")]
use std::{
    future::Future,
    panic::{self, AssertUnwindSafe},
    pin::Pin,
    task::{Context, Poll},
};

thread_local! {
    /// How many `caught` scopes this thread is in.
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// True inside [`caught`] (or a [`Caught`] poll): a failure should be a panic,
/// which the scope turns into the JS error. Outside one (an export that is not
/// ours, such as o1js's), `run_in_pool` throws the JS error itself: a JS
/// exception must never unwind through a `catch_unwind`, which cannot catch a
/// foreign exception and aborts.
pub fn inside() -> bool {
    DEPTH.with(|depth| depth.get() > 0)
}

/// Runs `body` as a `caught` scope (see [`inside`]).
#[cfg(target_arch = "wasm32")]
fn scoped<R>(body: impl FnOnce() -> R) -> std::thread::Result<R> {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            DEPTH.with(|depth| depth.set(depth.get() - 1));
        }
    }
    DEPTH.with(|depth| depth.set(depth.get() + 1));
    let _leave = Leave;
    panic::catch_unwind(AssertUnwindSafe(body))
}

/// The message a caught panic is reported with: `plonk-wasm [CODE] …`.
pub fn failure_message(payload: &(dyn Any + Send)) -> String {
    match oom::panic_message(payload) {
        Some(message) if message.starts_with("plonk-wasm [") => message.to_string(),
        Some(message) => format!(
            "plonk-wasm [{}] a job on the thread pool panicked: {}",
            JOB_PANICKED, message
        ),
        None => format!(
            "plonk-wasm [{}] a job on the thread pool panicked (with a payload that is not text)",
            JOB_PANICKED
        ),
    }
}

/// The code of a `plonk-wasm [CODE] …` message.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn failure_code(message: &str) -> &str {
    message
        .strip_prefix("plonk-wasm [")
        .and_then(|rest| rest.split(']').next())
        .unwrap_or(JOB_PANICKED)
}

#[cfg(target_arch = "wasm32")]
fn to_js_error(payload: Box<dyn Any + Send>) -> wasm_bindgen::JsValue {
    let message = failure_message(&*payload);
    drop(payload);
    let error = super::error::js_error(failure_code(&message), &message);
    drop(message);
    // Only now: writing the error may have needed the room the reserve left.
    oom::refill_reserve();
    error
}

/// Runs an export's body; a panic becomes a JS `Error` (see the module doc).
#[cfg(target_arch = "wasm32")]
pub fn caught<T>(
    body: impl FnOnce() -> Result<T, wasm_bindgen::JsValue>,
) -> Result<T, wasm_bindgen::JsValue> {
    oom::install_alloc_error_hook();
    scoped(body).unwrap_or_else(|payload| Err(to_js_error(payload)))
}

/// An async export's future: a panic while it is polled rejects its Promise.
#[cfg(target_arch = "wasm32")]
pub struct Caught<F>(pub F);

#[cfg(target_arch = "wasm32")]
impl<F> Future for Caught<F>
where
    F: Future<Output = Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field; it is never moved out.
        let inner = unsafe { self.map_unchecked_mut(|caught| &mut caught.0) };
        match scoped(|| inner.poll(cx)) {
            Ok(poll) => poll,
            Err(payload) => Poll::Ready(Err(to_js_error(payload))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_its_code_and_others_are_job_panics() {
        let oom: Box<dyn Any + Send> = Box::new(format!(
            "{}: a request for 8 bytes failed",
            oom::OUT_OF_MEMORY_PREFIX
        ));
        let message = failure_message(&*oom);
        assert_eq!(failure_code(&message), "OUT_OF_MEMORY");
        let other: Box<dyn Any + Send> = Box::new("index out of bounds");
        let message = failure_message(&*other);
        assert_eq!(failure_code(&message), JOB_PANICKED);
        assert!(message.ends_with("index out of bounds"));
        let opaque: Box<dyn Any + Send> = Box::new(7u32);
        assert_eq!(failure_code(&failure_message(&*opaque)), JOB_PANICKED);
    }
}
