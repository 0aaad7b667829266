//! The pool's `tracing` events on the JS console: one line per event, quiet
//! by default.
//!
//! A long-lived prover must not fill its logs: only warnings and errors are
//! printed unless `setPoolLogLevel("info" | "debug" | "trace")` asks for more.
//! The level can change at any time (an operator turning on `info` to watch a
//! recycle, then off again). Each event is one line,
//! `plonk-wasm WARN plonk_wasm::pool: message key=value …`, on `console.error`
//! (errors), `console.warn` (warnings) or `console.info` / `console.debug`:
//! on Node the first two go to stderr.
//!
//! A subscriber of our own rather than a crate's: spans are not used, and a
//! formatter that prints fields on lines of their own is what made the pool
//! noisy. It is installed as the global default only if the host crate has not
//! installed one first.

use std::fmt::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = info)]
    fn console_info(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = debug)]
    fn console_debug(line: &str);
}

/// The most verbose level printed: 1 error … 5 trace. Shared memory, so one
/// call sets it for every thread of the instance.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(rank(&Level::WARN));

const fn rank(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// The names `setPoolLogLevel` accepts, most severe first.
pub const LEVEL_NAMES: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// Prints events at `level` and above from now on, and installs the
/// subscriber if nothing is installed yet.
pub fn set_level(level: Level) {
    MAX_LEVEL.store(rank(&level), Relaxed);
    install();
}

/// Installs the subscriber (once per instance) without changing the level.
pub fn install() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // Fails if the host crate installed its own subscriber: ours then
        // stays out of the way.
        let _ = tracing::subscriber::set_global_default(ConsoleSubscriber);
    });
}

struct ConsoleSubscriber;

impl Subscriber for ConsoleSubscriber {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level can change at any time: ask `enabled` on every event.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        rank(metadata.level()) <= MAX_LEVEL.load(Relaxed)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut line = Line {
            text: format!("plonk-wasm {} {}:", metadata.level(), metadata.target()),
            fields: String::new(),
        };
        event.record(&mut line);
        let text = line.text + &line.fields;
        match *metadata.level() {
            Level::ERROR => console_error(&text),
            Level::WARN => console_warn(&text),
            Level::INFO => console_info(&text),
            _ => console_debug(&text),
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// One event as a line: the message, then `key=value` pairs.
struct Line {
    text: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.text, " {}", value);
        } else if value.contains(char::is_whitespace) || value.is_empty() {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            // `format_args!` debug-prints as the formatted text.
            let _ = write!(self.text, " {:?}", value);
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}
