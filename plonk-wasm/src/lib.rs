//! plonk-wasm with a recyclable, instrumented thread pool.
//!
//! `rayon` (with its child modules) is what `scripts/apply-patches.sh`
//! installs into upstream's crate. `fixture` and `test_exports` exist only in
//! this repository: a halo2 proving fixture and fault injection for tests.

// Out of memory becomes a panic through `std::alloc::set_alloc_error_hook`.
#![feature(alloc_error_hook)]

pub mod rayon;

#[cfg(feature = "fixture")]
pub mod fixture;

#[cfg(feature = "test-exports")]
pub mod test_exports;
