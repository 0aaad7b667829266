//! The proving fixture: a small halo2 circuit over the Pasta curves with IPA
//! commitments (Kimchi's curve cycle and commitment family), proved with a
//! seeded ChaCha RNG so its proof bytes are the same natively, in Node and in
//! Chromium, at any thread count.
//!
//! The circuit is a squaring chain: `a[i+1] = a[i]² + b[i]` over half the
//! rows of a `2^k` domain, with the last `a` exposed as the public output.
//! Parameters and keys are made once per `k` and cached in the instance.
//!
//! Like kimchi-wasm's proving exports, it runs its work through
//! `run_in_pool`: a job the pool cannot take, or one that panics or runs out
//! of memory, fails the export the way it fails kimchi's.

use crate::rayon::run_in_pool;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::pasta::{EqAffine, Fp};
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, Advice, Circuit, Column, ConstraintSystem,
    Error, Instance, ProvingKey, Selector, SingleVerifier,
};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::Rotation;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Smallest and largest circuit sizes accepted (`2^k` rows).
pub const MIN_K: u32 = 4;
pub const MAX_K: u32 = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixtureError {
    InvalidK { k: u32 },
    Halo2(String),
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixtureError::InvalidK { k } => write!(
                f,
                "fixture circuit size k = {} is out of range: expected {} to {} (the circuit has 2^k rows)",
                k, MIN_K, MAX_K
            ),
            FixtureError::Halo2(message) => write!(f, "halo2: {}", message),
        }
    }
}

impl std::error::Error for FixtureError {}

#[derive(Clone, Copy)]
struct ChainConfig {
    a: Column<Advice>,
    b: Column<Advice>,
    step: Selector,
    output: Column<Instance>,
}

#[derive(Clone, Default)]
struct SquareChain {
    steps: usize,
    witness: bool,
}

fn start_value() -> Fp {
    Fp::from(3)
}

fn addend(step: usize) -> Fp {
    Fp::from(step as u64 + 1)
}

fn chain_values(steps: usize) -> Vec<Fp> {
    let mut values = Vec::with_capacity(steps + 1);
    values.push(start_value());
    for step in 0..steps {
        let a = values[step];
        values.push(a.square() + addend(step));
    }
    values
}

impl Circuit<Fp> for SquareChain {
    type Config = ChainConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        SquareChain {
            steps: self.steps,
            witness: false,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> ChainConfig {
        let a = meta.advice_column();
        let b = meta.advice_column();
        let output = meta.instance_column();
        let step = meta.selector();
        meta.enable_equality(a);
        meta.enable_equality(output);
        meta.create_gate("square step", |meta| {
            let on = meta.query_selector(step);
            let a_now = meta.query_advice(a, Rotation::cur());
            let a_next = meta.query_advice(a, Rotation::next());
            let b_now = meta.query_advice(b, Rotation::cur());
            vec![on * (a_now.clone() * a_now + b_now - a_next)]
        });
        ChainConfig { a, b, step, output }
    }

    fn synthesize(
        &self,
        config: ChainConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let values = if self.witness {
            Some(chain_values(self.steps))
        } else {
            None
        };
        let known = |v: Option<Fp>| match v {
            Some(v) => Value::known(v),
            None => Value::unknown(),
        };
        let last = layouter.assign_region(
            || "chain",
            |mut region| {
                let mut last = None;
                for row in 0..=self.steps {
                    let a = values.as_ref().map(|v| v[row]);
                    last = Some(region.assign_advice(|| "a", config.a, row, || known(a))?);
                    if row < self.steps {
                        config.step.enable(&mut region, row)?;
                        let b = values.as_ref().map(|_| addend(row));
                        region.assign_advice(|| "b", config.b, row, || known(b))?;
                    }
                }
                Ok(last.expect("the chain has at least one row"))
            },
        )?;
        layouter.constrain_instance(last.cell(), config.output, 0)
    }
}

/// Steps that fit a `2^k` domain with room for halo2's blinding rows.
fn steps_for(k: u32) -> usize {
    (1usize << k) / 2
}

fn public_output(k: u32) -> Fp {
    *chain_values(steps_for(k)).last().expect("non-empty chain")
}

struct Keys {
    params: Params<EqAffine>,
    pk: ProvingKey<EqAffine>,
}

static KEYS: Mutex<BTreeMap<u32, Arc<Keys>>> = Mutex::new(BTreeMap::new());

fn check_k(k: u32) -> Result<(), FixtureError> {
    if (MIN_K..=MAX_K).contains(&k) {
        Ok(())
    } else {
        Err(FixtureError::InvalidK { k })
    }
}

/// Parameters and keys for `k`, made on the pool the first time.
fn keys(k: u32) -> Result<Arc<Keys>, FixtureError> {
    if let Some(keys) = KEYS.lock().unwrap_or_else(|p| p.into_inner()).get(&k) {
        return Ok(keys.clone());
    }
    let made = run_in_pool(|| -> Result<Keys, Error> {
        let params = Params::<EqAffine>::new(k);
        let empty = SquareChain {
            steps: steps_for(k),
            witness: false,
        };
        let vk = keygen_vk(&params, &empty)?;
        let pk = keygen_pk(&params, vk, &empty)?;
        Ok(Keys { params, pk })
    })
    .map_err(|e| FixtureError::Halo2(format!("{:?}", e)))?;
    let made = Arc::new(made);
    KEYS.lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(k)
        .or_insert(made.clone());
    Ok(made)
}

/// Proves the fixture of size `k` with the RNG seeded by `seed`; returns the
/// proof bytes. Runs on the pool.
pub fn prove(k: u32, seed: u64) -> Result<Vec<u8>, FixtureError> {
    check_k(k)?;
    let keys = keys(k)?;
    run_in_pool(|| create(k, seed, &keys))
}

/// The same proof on whatever Rayon pool the caller runs in (its
/// `ThreadPool::install`, or Rayon's global pool), not through this crate's
/// pool: the scaling benchmark's reference. Keys are made through the pool
/// the first time, so call [`prove`] once first.
pub fn prove_on_current_rayon_pool(k: u32, seed: u64) -> Result<Vec<u8>, FixtureError> {
    check_k(k)?;
    let keys = keys(k)?;
    create(k, seed, &keys)
}

fn create(k: u32, seed: u64, keys: &Keys) -> Result<Vec<u8>, FixtureError> {
    let circuit = SquareChain {
        steps: steps_for(k),
        witness: true,
    };
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
    create_proof(
        &keys.params,
        &keys.pk,
        &[circuit],
        &[&[&[public_output(k)]]],
        ChaCha20Rng::seed_from_u64(seed),
        &mut transcript,
    )
    .map_err(|e| FixtureError::Halo2(format!("{:?}", e)))?;
    Ok(transcript.finalize())
}

/// Verifies a fixture proof of size `k`. Runs on the pool.
pub fn verify(k: u32, proof: &[u8]) -> Result<bool, FixtureError> {
    check_k(k)?;
    let keys = keys(k)?;
    let output = public_output(k);
    Ok(run_in_pool(|| {
        let strategy = SingleVerifier::new(&keys.params);
        let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(proof);
        verify_proof(
            &keys.params,
            keys.pk.get_vk(),
            strategy,
            &[&[&[output]]],
            &mut transcript,
        )
        .is_ok()
    }))
}

#[cfg(target_arch = "wasm32")]
mod exports {
    use super::*;
    use crate::rayon::error::js_error;
    use crate::rayon::js_args::{Input, MAX_SAFE_INTEGER};
    use wasm_bindgen::prelude::*;

    fn to_js(error: FixtureError) -> JsValue {
        let code = match &error {
            FixtureError::InvalidK { .. } => "FIXTURE_INVALID_K",
            FixtureError::Halo2(_) => "FIXTURE_HALO2",
        };
        js_error(code, &error.to_string())
    }

    fn k_from_js(callee: &str, k: &JsValue) -> Result<u32, JsValue> {
        let expected = format!(
            "a whole number from {} to {} (the circuit has 2^k rows)",
            MIN_K, MAX_K
        );
        Ok(Input::argument(callee, "k").whole(k, MIN_K as f64, MAX_K as f64, &expected)? as u32)
    }

    /// Proves the fixture of size `k` with `seed`; returns the proof bytes.
    #[wasm_bindgen(js_name = fixtureProve)]
    pub fn fixture_prove(k: JsValue, seed: JsValue) -> Result<Vec<u8>, JsValue> {
        crate::rayon::caught(|| prove_checked(&k, &seed))
    }

    fn prove_checked(k: &JsValue, seed: &JsValue) -> Result<Vec<u8>, JsValue> {
        let k = k_from_js("fixtureProve", k)?;
        let seed = Input::argument("fixtureProve", "seed").whole(
            seed,
            0.0,
            MAX_SAFE_INTEGER,
            "a whole number from 0 to 2^53 - 1",
        )?;
        prove(k, seed as u64).map_err(to_js)
    }

    /// Verifies a fixture proof of size `k`.
    #[wasm_bindgen(js_name = fixtureVerify)]
    pub fn fixture_verify(k: JsValue, proof: JsValue) -> Result<bool, JsValue> {
        crate::rayon::caught(|| {
            let k = k_from_js("fixtureVerify", &k)?;
            let proof = Input::argument("fixtureVerify", "proof").bytes_array(&proof)?;
            verify(k, &proof).map_err(to_js)
        })
    }
}
