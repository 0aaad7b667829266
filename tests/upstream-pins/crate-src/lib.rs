//! Stands in for the crate root of upstream's plonk-wasm / kimchi-wasm in the
//! fixture trees (our own text, not upstream's). What scripts/apply-patches.sh
//! relies on is the `pub mod rayon;` line; the export below is shaped like
//! upstream's proving exports, which all run on the pool.

// What upstream ships is the threaded build, with the flags the patch sets in
// the tree's own build configuration: without them this check proves nothing.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
compile_error!(
    "not a threaded wasm build: the tree's .cargo/config.toml wasm32 flags did not apply"
);
#[cfg(all(target_arch = "wasm32", not(panic = "unwind")))]
compile_error!(
    "wasm32 panics abort: the patched .cargo/config.toml (-C panic=unwind) did not apply"
);

use wasm_bindgen::prelude::*;

pub mod rayon;

/// Sums 0..n on the pool.
#[wasm_bindgen]
pub fn fixture_sum(n: u32) -> f64 {
    crate::rayon::run_in_pool(|| {
        use ::rayon::prelude::*;
        (0..n).into_par_iter().map(f64::from).sum()
    })
}
