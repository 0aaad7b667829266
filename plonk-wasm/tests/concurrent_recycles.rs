//! Many threads submit jobs while another recycles the pool over and over:
//! every job completes exactly once, none runs on a torn-down generation,
//! in-flight returns to 0 and generations strictly increase.

mod common;

use common::{fresh_pool, serial};
use plonk_wasm::rayon::native::recycle_thread_pool;
use plonk_wasm::rayon::{current_job, health, try_run_in_pool, RetireOptions};
use rayon::prelude::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

const SUBMITTERS: usize = 8;
const RECYCLES: usize = 120;

struct Done {
    id: u64,
    generation: u64,
}

#[test]
fn jobs_submitted_during_many_recycles_all_complete_exactly_once() {
    let _serial = serial();
    fresh_pool(2);
    let first_generation = health().generation.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(Mutex::new(Vec::<Done>::new()));

    let submitters: Vec<_> = (0..SUBMITTERS)
        .map(|submitter| {
            let stop = stop.clone();
            let done = done.clone();
            thread::spawn(move || {
                let mut submitted = 0u64;
                let mut last_generation = 0;
                while !stop.load(Ordering::Relaxed) || submitted < 20 {
                    let id = (submitter as u64) << 32 | submitted;
                    let result = try_run_in_pool(|| {
                        let start = current_job().expect("inside a pool job");
                        assert!(
                            !start.torn_down,
                            "job {} started on torn-down generation {}",
                            id, start.generation
                        );
                        let sum: u64 = (0..2_000u64).into_par_iter().map(|x| x * x).sum();
                        let end = current_job().unwrap();
                        assert!(
                            !end.torn_down,
                            "job {} ended on torn-down generation {}",
                            id, end.generation
                        );
                        assert_eq!(start.generation, end.generation);
                        (start.generation, sum)
                    });
                    let (generation, sum) = result
                        .unwrap_or_else(|e| panic!("job {} failed during recycles: {}", id, e));
                    assert_eq!(sum, (0..2_000u64).map(|x| x * x).sum::<u64>());
                    assert!(
                        generation >= last_generation,
                        "a later job ran on an older generation"
                    );
                    last_generation = generation;
                    done.lock().unwrap().push(Done { id, generation });
                    submitted += 1;
                }
                submitted
            })
        })
        .collect();

    let mut reports = Vec::new();
    for _ in 0..RECYCLES {
        reports.push(recycle_thread_pool(None, RetireOptions::default()).expect("recycle"));
    }
    stop.store(true, Ordering::Relaxed);
    let submitted: u64 = submitters
        .into_iter()
        .map(|t| t.join().expect("submitter"))
        .sum();

    let done = done.lock().unwrap();
    let unique: HashSet<u64> = done.iter().map(|d| d.id).collect();
    assert_eq!(
        done.len() as u64,
        submitted,
        "every submitted job completed"
    );
    assert_eq!(unique.len(), done.len(), "no job completed twice");
    for pair in reports.windows(2) {
        assert!(
            pair[1].to_generation > pair[0].to_generation,
            "generations strictly increase"
        );
        assert_eq!(pair[1].from_generation, pair[0].to_generation);
    }
    assert!(reports
        .iter()
        .all(|r| r.jobs_abandoned == 0 && r.workers.forced == 0));
    let generations: HashSet<u64> = done.iter().map(|d| d.generation).collect();
    let health = health();
    assert_eq!(health.in_flight, 0);
    assert_eq!(health.generation, Some(first_generation + RECYCLES as u64));
    let mut total: Vec<f64> = reports.iter().map(|r| r.total_ms).collect();
    total.sort_by(|a, b| a.partial_cmp(b).unwrap());
    eprintln!(
        "{} jobs over {} recycles on {} generations; recycle ms p50 {:.2} p99 {:.2}",
        done.len(),
        RECYCLES,
        generations.len(),
        total[total.len() / 2],
        total[total.len() * 99 / 100]
    );
    assert!(
        generations.len() > 1,
        "jobs ran on more than one generation"
    );
}
