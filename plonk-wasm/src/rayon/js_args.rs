//! Values from JS, checked before they touch the instance.
//!
//! Every export that takes a number, a string, a flag or an options object
//! takes a `JsValue` and reads it here. wasm-bindgen's own conversions are not
//! safe for a caller's mistakes: a BigInt or a Symbol where a number is
//! expected throws an anonymous TypeError at the boundary, and a number where
//! a string is expected is copied into linear memory as if it had a length.
//! Here a bad value becomes a JS `Error` with a stable `code`, a message that
//! names the value as the caller wrote it (`1n`, `"2"`, `NaN`, `an array`) and
//! what was expected, and the properties `callee`, `field`, `value` and
//! `expected`, from which the JS side builds its typed errors. Reading a value
//! never runs the caller's code (no `valueOf`, no `toString`), except the
//! getter of an option, whose exception is reported as a bad value too.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::error::{INVALID_ARGUMENT, INVALID_CONFIG, INVALID_THREAD_COUNT};

/// The largest timer JS accepts: `setTimeout` fires at once past 2^31 - 1 ms.
pub const MAX_TIMER_MS: f64 = 2_147_483_647.0;
/// The largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// What is being read: an export's argument, or an option of an options object.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    pub callee: &'a str,
    pub field: &'a str,
    pub option: bool,
}

impl<'a> Input<'a> {
    pub fn argument(callee: &'a str, field: &'a str) -> Self {
        Input {
            callee,
            field,
            option: false,
        }
    }

    pub fn option(callee: &'a str, field: &'a str) -> Self {
        Input {
            callee,
            field,
            option: true,
        }
    }

    /// The error for `value`, which is not `expected`; `code` overrides the default one.
    pub fn invalid(&self, value: &JsValue, expected: &str, code: Option<&str>) -> JsValue {
        let code = code.unwrap_or(if self.option {
            INVALID_CONFIG
        } else {
            INVALID_ARGUMENT
        });
        let message = format!(
            "{} {} {} is {}: expected {}",
            self.callee,
            if self.option { "option" } else { "argument" },
            self.field,
            describe(value),
            expected
        );
        let error = js_sys::Error::new(&message);
        for (name, property) in [
            ("code", JsValue::from_str(code)),
            ("callee", JsValue::from_str(self.callee)),
            ("field", JsValue::from_str(self.field)),
            ("value", value.clone()),
            ("expected", JsValue::from_str(expected)),
        ] {
            let _ = Reflect::set(&error, &JsValue::from_str(name), &property);
        }
        error.into()
    }

    /// A whole number from `min` to `max` (both within JS's safe integers).
    pub fn whole(
        &self,
        value: &JsValue,
        min: f64,
        max: f64,
        expected: &str,
    ) -> Result<f64, JsValue> {
        match value.as_f64() {
            Some(n) if n.fract() == 0.0 && n >= min && n <= max => Ok(n),
            _ => Err(self.invalid(value, expected, None)),
        }
    }

    /// A thread count, 1 to `max`, with upstream's error code.
    pub fn thread_count(&self, value: &JsValue, max: usize) -> Result<usize, JsValue> {
        let expected = format!("a whole number from 1 to {}", max);
        match value.as_f64() {
            Some(n) if n.fract() == 0.0 && n >= 1.0 && n <= max as f64 => Ok(n as usize),
            _ => Err(self.invalid(value, &expected, Some(INVALID_THREAD_COUNT))),
        }
    }

    /// A timer in milliseconds, 0 to 2^31 - 1.
    pub fn milliseconds(&self, value: &JsValue) -> Result<u64, JsValue> {
        self.whole(
            value,
            0.0,
            MAX_TIMER_MS,
            "a whole number of milliseconds from 0 to 2147483647 (2^31 - 1)",
        )
        .map(|n| n as u64)
    }

    /// A byte count, 0 to 2^32 - 1.
    // Only this repository's fixture and test exports take bytes, so an
    // upstream crate never calls it.
    #[allow(dead_code)]
    pub fn bytes(&self, value: &JsValue) -> Result<u64, JsValue> {
        self.whole(
            value,
            0.0,
            u32::MAX as f64,
            "a whole number of bytes from 0 to 4294967295 (2^32 - 1)",
        )
        .map(|n| n as u64)
    }

    pub fn string(&self, value: &JsValue) -> Result<String, JsValue> {
        value
            .as_string()
            .ok_or_else(|| self.invalid(value, "a string", None))
    }

    pub fn boolean(&self, value: &JsValue) -> Result<bool, JsValue> {
        value
            .as_bool()
            .ok_or_else(|| self.invalid(value, "true or false", None))
    }

    /// One of `choices` (strings).
    pub fn one_of(&self, value: &JsValue, choices: &[&str]) -> Result<String, JsValue> {
        match value.as_string() {
            Some(text) if choices.contains(&text.as_str()) => Ok(text),
            _ => Err(self.invalid(value, &format!("one of {}", quoted(choices)), None)),
        }
    }

    #[allow(dead_code)] // as `bytes`
    pub fn bytes_array(&self, value: &JsValue) -> Result<Vec<u8>, JsValue> {
        value
            .dyn_ref::<js_sys::Uint8Array>()
            .map(|array| array.to_vec())
            .ok_or_else(|| self.invalid(value, "a Uint8Array", None))
    }
}

/// An options object: `undefined` means none; otherwise a plain object whose
/// keys are all among `known` (`null` is refused, as the JS side refuses it).
/// Read its fields with [`Options::get`].
pub struct Options<'a> {
    callee: &'a str,
    object: Option<Object>,
}

impl<'a> Options<'a> {
    pub fn read(callee: &'a str, value: &JsValue, known: &[&str]) -> Result<Options<'a>, JsValue> {
        if value.is_undefined() {
            return Ok(Options {
                callee,
                object: None,
            });
        }
        let whole = Input::argument(callee, "options");
        let object = plain_object(value).ok_or_else(|| {
            whole.invalid(
                value,
                &format!("undefined or an object with any of {}", known.join(", ")),
                Some(INVALID_CONFIG),
            )
        })?;
        for key in Object::keys(&object).iter() {
            let name = key.as_string().unwrap_or_default();
            if !known.contains(&name.as_str()) {
                let field = Input::option(callee, &name);
                let value = Reflect::get(&object, &key).unwrap_or(JsValue::UNDEFINED);
                return Err(field.invalid(
                    &value,
                    &format!("one of the known options: {}", known.join(", ")),
                    None,
                ));
            }
        }
        Ok(Options {
            callee,
            object: Some(object),
        })
    }

    /// The option `name` and how to check it, or `None` if it is absent or undefined.
    pub fn get(&self, name: &'a str) -> Result<Option<(Input<'a>, JsValue)>, JsValue> {
        let input = Input::option(self.callee, name);
        let object = match &self.object {
            Some(object) => object,
            None => return Ok(None),
        };
        let value = Reflect::get(object, &JsValue::from_str(name)).map_err(|thrown| {
            input.invalid(&thrown, "a readable value (its getter threw)", None)
        })?;
        Ok(if value.is_undefined() {
            None
        } else {
            Some((input, value))
        })
    }
}

/// `value` as a plain object (`{…}`, made by an object literal or `Object.create(null)`).
fn plain_object(value: &JsValue) -> Option<Object> {
    if !value.is_object() || Array::is_array(value) || value.is_function() {
        return None;
    }
    let object: Object = value.clone().unchecked_into();
    let prototype = Object::get_prototype_of(&object);
    let object_prototype = Object::get_prototype_of(&Object::new());
    if prototype.is_null() || Object::is(&prototype, &object_prototype) {
        Some(object)
    } else {
        None
    }
}

/// `value` as the caller wrote it, without running its code: strings quoted,
/// BigInts with `n`, numbers as JS prints them, symbols with their
/// description, arrays and other objects by kind.
pub fn describe(value: &JsValue) -> String {
    if value.is_undefined() {
        return "undefined".to_string();
    }
    if value.is_null() {
        return "null".to_string();
    }
    if value.as_string().is_some() {
        // JSON.stringify, as the TypeScript layer's describeValue (kernel/options.ts) writes
        // strings: the same escapes, so a message reads the same from either side.
        return js_sys::JSON::stringify(value)
            .map(String::from)
            .unwrap_or_default();
    }
    if let Some(flag) = value.as_bool() {
        return flag.to_string();
    }
    if let Some(number) = value.as_f64() {
        return number_text(number);
    }
    if value.is_bigint() {
        let text = js_sys::BigInt::from(value.clone())
            .to_string(10)
            .map(String::from)
            .unwrap_or_default();
        return format!("{}n", text);
    }
    if value.is_symbol() {
        // `Symbol.prototype.toString`, a builtin: `Symbol(description)`.
        let symbol: &js_sys::Symbol = value.unchecked_ref();
        return String::from(symbol.to_string());
    }
    if value.is_function() {
        return "a function".to_string();
    }
    if Array::is_array(value) {
        return "an array".to_string();
    }
    "an object".to_string()
}

/// A number as JS prints it: `NaN`, `Infinity`, `-Infinity`, `3`, `1.5`.
fn number_text(number: f64) -> String {
    if number.is_nan() {
        "NaN".to_string()
    } else if number.is_infinite() {
        if number > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_string()
    } else if number == 0.0 {
        "0".to_string()
    } else {
        js_sys::Number::from(number)
            .to_string(10)
            .map(String::from)
            .unwrap_or_else(|_| number.to_string())
    }
}

fn quoted(choices: &[&str]) -> String {
    choices
        .iter()
        .map(|choice| format!("{:?}", choice))
        .collect::<Vec<_>>()
        .join(", ")
}
