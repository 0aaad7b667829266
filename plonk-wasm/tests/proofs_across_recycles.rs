//! Fixture proofs before, during and after a recycle are byte-identical to
//! their snapshots and verify. The snapshots are also what the Node and
//! browser tests compare against.

mod common;

use common::{fresh_pool, hex_lines, serial, wait_until, TIMEOUT};
use plonk_wasm::fixture::{prove, verify};
use plonk_wasm::rayon::native::recycle_thread_pool;
use plonk_wasm::rayon::{health, run_in_pool, RetireOptions};
use std::time::Instant;

/// The `(k, seed)` pairs whose proofs are pinned in snapshots.
const CASES: [(u32, u64); 2] = [(8, 1), (9, 7)];

fn prove_and_verify(k: u32, seed: u64) -> Vec<u8> {
    let started = Instant::now();
    let proof = prove(k, seed).expect("proof");
    let elapsed = started.elapsed();
    assert!(
        verify(k, &proof).expect("verify runs"),
        "the k={} seed={} proof verifies",
        k,
        seed
    );
    eprintln!(
        "native proof k={} seed={} threads={}: {:.3} s, {} bytes",
        k,
        seed,
        health().threads,
        elapsed.as_secs_f64(),
        proof.len()
    );
    proof
}

#[test]
fn proofs_before_during_and_after_a_recycle_are_identical_and_verify() {
    let _serial = serial();
    fresh_pool(2);
    for (k, seed) in CASES.iter().copied() {
        let before = prove_and_verify(k, seed);

        let generation = health().generation.expect("a serving generation");
        let recycler = std::thread::spawn(move || {
            wait_until("the proof is in flight", TIMEOUT, || health().in_flight > 0);
            recycle_thread_pool(None, RetireOptions::default()).expect("recycle during a proof")
        });
        // The job stays in flight until the recycle has begun, then proves (its
        // nested jobs run inline on this generation): a short proof cannot end
        // before the recycler sees it, however the threads are scheduled.
        let during = run_in_pool(|| {
            wait_until("the recycle to begin", TIMEOUT, || {
                health().state == "recycling"
            });
            prove_and_verify(k, seed)
        });
        let report = recycler.join().expect("recycler thread");
        assert_eq!(
            report.from_generation, generation,
            "the recycle replaced the generation the proof ran on"
        );
        assert_eq!(
            report.jobs_abandoned, 0,
            "the proof drained instead of being abandoned"
        );

        let after = prove_and_verify(k, seed);
        assert!(health().generation.unwrap() > generation);

        assert_eq!(
            before, during,
            "k={} seed={}: the proof during a recycle differs",
            k, seed
        );
        assert_eq!(
            before, after,
            "k={} seed={}: the proof after a recycle differs",
            k, seed
        );
        insta::assert_snapshot!(format!("proof_k{}_seed{}", k, seed), hex_lines(&before));
    }
}

#[test]
fn proofs_do_not_depend_on_the_thread_count() {
    let _serial = serial();
    let (k, seed) = CASES[0];
    fresh_pool(1);
    let one = prove_and_verify(k, seed);
    recycle_thread_pool(Some(4), RetireOptions::default()).expect("recycle to 4 threads");
    assert_eq!(health().threads, 4);
    let four = prove_and_verify(k, seed);
    assert_eq!(one, four);
}

#[test]
fn a_tampered_proof_does_not_verify() {
    let _serial = serial();
    fresh_pool(2);
    let (k, seed) = CASES[0];
    let mut proof = prove(k, seed).expect("proof");
    let middle = proof.len() / 2;
    proof[middle] ^= 1;
    assert!(!verify(k, &proof).expect("verify runs"));
}

#[test]
fn a_circuit_size_out_of_range_is_a_clear_error() {
    let _serial = serial();
    fresh_pool(2);
    let error = prove(40, 1).unwrap_err().to_string();
    assert_eq!(
        error,
        "fixture circuit size k = 40 is out of range: expected 4 to 16 (the circuit has 2^k rows)"
    );
}
