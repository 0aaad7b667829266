//! The TypeScript side of the JS ABI is generated from the Rust definitions
//! (see `src/rayon/abi.rs` and `pool_abi.rs`); this test fails when the committed file differs
//! from what they render, so a changed field, state or error code cannot
//! reach JS unnoticed. `ABI_UPDATE=1` writes the file instead.

use plonk_wasm::rayon::testing::typescript;
use std::path::PathBuf;

#[test]
fn pool_abi_ts_matches_the_rust_definitions() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../bindings-js/lib/proof-system/pool-abi.ts");
    let rendered = typescript();
    if std::env::var_os("ABI_UPDATE").is_some() {
        std::fs::write(&path, &rendered).expect("writing pool-abi.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "{} differs from the Rust definitions; run `ABI_UPDATE=1 cargo test -p plonk_wasm --test abi` \
         and commit the result.\n--- rendered ---\n{}",
        path.display(),
        rendered
    );
}
