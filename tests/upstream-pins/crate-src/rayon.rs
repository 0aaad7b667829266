//! Stands in for upstream's `src/rayon.rs` in the fixture trees (our own
//! text, not upstream's). scripts/apply-patches.sh replaces this file with
//! plonk-wasm/src/rayon.rs, and --revert must bring these bytes back.

/// Upstream's signature; here the work simply runs on the caller's thread.
pub fn run_in_pool<OP, R>(op: OP) -> R
where
    OP: FnOnce() -> R + Send,
    R: Send,
{
    op()
}
