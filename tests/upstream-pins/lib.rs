//! Our pool module, compiled as upstream compiles it: edition 2018, upstream's
//! pins, `rayon` at the crate root next to a `#[wasm_bindgen]` export that
//! calls `rayon::run_in_pool`. The very same files as plonk-wasm's, no copy.
//! Shared by every pin set (`[lib] path` in each `*/Cargo.toml`); checked by
//! scripts/check-upstream-pins.sh.

// As in plonk-wasm/src/lib.rs: out of memory becomes a panic.
#![feature(alloc_error_hook)]

// What upstream ships is the threaded build. The flags come from the
// repository's .cargo/config.toml, which cargo reads only when it runs inside
// the repository: without them this check would prove nothing.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
compile_error!("not a threaded wasm build: run cargo inside the repository so that .cargo/config.toml (+atomics, ...) applies");

// `#[path = ".../rayon.rs"] pub mod rayon;` would look for rayon.rs's child
// modules beside it (plonk-wasm/src/error.rs, ...), not in plonk-wasm/src/rayon/.
// A `#[path]` on an inline module sets the directory instead, so rayon.rs and
// its children resolve exactly as in plonk-wasm (and upstream).
#[path = "../../plonk-wasm/src"]
mod plonk_wasm_src {
    pub mod rayon;
}
pub use plonk_wasm_src::rayon;

use wasm_bindgen::prelude::*;

/// Shaped like upstream's proving exports: the work runs on the pool.
#[wasm_bindgen]
pub fn upstream_pins_sum(n: u32) -> f64 {
    crate::rayon::run_in_pool(|| {
        use ::rayon::prelude::*;
        (0..n).into_par_iter().map(f64::from).sum()
    })
}
