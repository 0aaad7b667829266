//! Stands in for upstream's `src/rayon.rs` in the fixture trees (our own
//! text, not upstream's). scripts/apply-patches.sh recognises it by the two
//! entry points every upstream era has (`run_in_pool` for the crate,
//! `wbg_rayon_start_worker` for the JS workers), replaces it with
//! plonk-wasm/src/rayon.rs, and --revert must bring these bytes back.

/// Upstream's signature; here the work simply runs on the caller's thread.
pub fn run_in_pool<OP, R>(op: OP) -> R
where
    OP: FnOnce() -> R + Send,
    R: Send,
{
    op()
}

/// Upstream's worker entry point takes a pointer to the pool's job receiver;
/// the stand-in has no pool, so a worker has nothing to run.
pub fn wbg_rayon_start_worker(_receiver: *const ()) {}
