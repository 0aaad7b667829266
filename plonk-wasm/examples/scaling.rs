//! Proof time of the fixture at 1 and 2 threads, natively, through this
//! crate's pool and on a plain Rayon pool (`ThreadPool::install`), with the
//! CPU time the process spent per proof: tells the fixture's scaling apart
//! from the pool's. Prints one JSON line per thread count. Used by the
//! benchmark (bench/run.js).
//!   cargo run --release -p plonk_wasm --features fixture --example scaling -- [k] [repetitions]
use std::time::Instant;

/// CPU time of this process (all threads), in ms; Linux's /proc, NaN elsewhere.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses: utime is the 14th field, stime the 15th.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) * 10.0, // USER_HZ is 100 on Linux
        _ => f64::NAN,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let k: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let repetitions: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let measure = |prove: &dyn Fn(u64)| {
        prove(0); // warm-up
        let (cpu, started) = (cpu_ms(), Instant::now());
        for seed in 0..repetitions {
            prove(seed);
        }
        let per = |total: f64| total / repetitions as f64;
        (
            per(started.elapsed().as_secs_f64() * 1000.0),
            per(cpu_ms() - cpu),
        )
    };
    for threads in [1usize, 2] {
        plonk_wasm::rayon::native::init_thread_pool(threads).expect("pool");
        let (ours_ms, ours_cpu_ms) = measure(&|seed| {
            plonk_wasm::fixture::prove(k, seed).expect("proof");
        });
        plonk_wasm::rayon::native::exit_thread_pool(Default::default()).expect("exit");
        let rayon_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("rayon pool");
        let (plain_ms, plain_cpu_ms) = measure(&|seed| {
            rayon_pool.install(|| {
                plonk_wasm::fixture::prove_on_current_rayon_pool(k, seed).expect("proof");
            });
        });
        println!(
            "{{\"k\":{},\"threads\":{},\"ourPoolMs\":{:.2},\"ourPoolCpuMs\":{:.2},\"plainRayonMs\":{:.2},\"plainRayonCpuMs\":{:.2}}}",
            k, threads, ours_ms, ours_cpu_ms, plain_ms, plain_cpu_ms
        );
    }
}
