//! Stands in for proof-systems' xtask (`cargo xtask build-wasm`), reduced to
//! what the patch edits: the cargo arguments it passes to wasm-pack after `--`.
//! scripts/check-upstream-pins.sh builds the patched tree with them.
fn main() {
    let crate_dir = "plonk-wasm";
    let cargo_args = ["-Z", "build-std=panic_abort,std"];
    println!("wasm-pack build {} -- {}", crate_dir, cargo_args.join(" "));
}
