//! Stands in for proof-systems' xtask (`cargo xtask build-wasm`, and since
//! 2025-05 `cargo xtask build-kimchi-stubs`), our own text with upstream's
//! shape: a native build that sets RUSTFLAGS for kimchi-stubs (which the patch
//! must leave alone), and the wasm build, whose wasm-pack arguments end in
//! `-Z build-std` with the aborting panic runtime (which the patch changes).
//! Not compiled; scripts/check-upstream-pins.sh reads the patched argument.
use std::{env, path::PathBuf, process::Command};

enum Target {
    Nodejs,
    Web,
}

fn main() {
    let target = if env::args().any(|a| a == "web") { Target::Web } else { Target::Nodejs };
    let out_dir = env::var("OUT_DIR").unwrap_or_else(|_| "target/wasm".to_string());
    match env::args().nth(1).as_deref() {
        Some("build-kimchi-stubs") => build_kimchi_stubs(None),
        _ => build_wasm(&out_dir, target),
    }
}

fn build_kimchi_stubs(target_dir: Option<&str>) {
    // Native CPU features for the OCaml stubs; nothing to do with wasm.
    let rustflags = match env::var("RUST_TARGET_FEATURE_OPTIMISATIONS").as_deref() {
        Ok("n") => Some("-C target-feature=-bmi2,-adx".to_string()),
        _ => Some("-C target-feature=+bmi2,+adx".to_string()),
    };
    let target_dir = target_dir.unwrap_or("target/kimchi_stubs_build");
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--release", "-p", "kimchi-stubs", "--target-dir", target_dir]);
    if let Some(rustflags) = rustflags {
        cmd.env("RUSTFLAGS", rustflags);
    }
    let _ = cmd.status();
}

fn build_wasm(out_dir: &str, target: Target) {
    let target_dir = env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    // Braces in strings and char literals must not end the function.
    let _unbalanced = ("{", '}', r#"}}"#);
    let artifact_dir = PathBuf::from(format!("{target_dir}/bin"));
    let wasm_pack = artifact_dir.join("wasm-pack");
    let target_name = match target {
        Target::Nodejs => "nodejs",
        Target::Web => "web",
    };
    let args = [
        "build",
        "--target",
        target_name,
        "--out-dir",
        out_dir,
        "kimchi-wasm",
        "--",
        "-Z",
        "build-std=panic_abort,std",
    ];
    let features: &[&str] = if target_name == "nodejs" { &["--features", "nodejs"] } else { &[] };
    let _ = Command::new(wasm_pack).args(args).args(features).status();
}
