#!/usr/bin/env bash
# Builds plonk-wasm for threaded wasm and runs wasm-bindgen on it.
# Output: pkg/<variant>/kimchi_wasm.js and kimchi_wasm_bg.wasm (upstream's names since 2026).
#   scripts/build-wasm.sh node        pkg/node        (--target nodejs, 4 GiB max memory)
#   scripts/build-wasm.sh node-small  pkg/node-small  (same, small max memory, for out-of-memory tests)
#   scripts/build-wasm.sh web         pkg/web         (--target web, 4 GiB max memory)
#   scripts/build-wasm.sh node-baseline  pkg/node-baseline  (as node, without the allocator's
#                                     instrumentation: the baseline scripts/bench.sh measures against)
# PLONK_WASM_MAX_MEMORY overrides the memory maximum in bytes (a multiple of 64 KiB).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

variant="${1:-node}"
uninstrumented=""
case "$variant" in
  node) target=nodejs; features=nodejs,fixture,test-exports; max="${PLONK_WASM_MAX_MEMORY:-4294967296}" ;;
  node-small) target=nodejs; features=nodejs,fixture,test-exports; max="${PLONK_WASM_MAX_MEMORY:-134217728}" ;;
  node-baseline) target=nodejs; features=nodejs,fixture,test-exports; max="${PLONK_WASM_MAX_MEMORY:-4294967296}"; uninstrumented=1 ;;
  web) target=web; features=fixture,test-exports; max="${PLONK_WASM_MAX_MEMORY:-4294967296}" ;;
  *) die 2 "unknown variant '$variant': expected node, node-small, node-baseline or web" ;;
esac
if ! [[ "$max" =~ ^[0-9]+$ ]] || (( max % 65536 != 0 || max < 16777216 || max > 4294967296 )); then
  die 2 "PLONK_WASM_MAX_MEMORY=$max is invalid: expected bytes, a multiple of 65536, from 16 MiB to 4 GiB"
fi
[ -x "$WASM_BINDGEN" ] || die 3 "wasm-bindgen $WASM_BINDGEN_VERSION is not installed; run scripts/setup.sh"

out="$PKG/$variant"
info "building plonk-wasm ($variant: --target $target, features $features, max memory $max bytes${uninstrumented:+, uninstrumented})"
started=$(date +%s)
cd "$ROOT"
# Only the final crate gets the variant's memory maximum, so variants share
# every dependency build (a RUSTFLAGS change would rebuild them all). The same value reaches the code through PLONK_WASM_MAX_MEMORY_BYTES.
# PLONK_WASM_UNINSTRUMENTED (read at compile time, telemetry.rs) must be
# absent, not empty, in every other variant.
unset PLONK_WASM_UNINSTRUMENTED
if [ -n "$uninstrumented" ]; then export PLONK_WASM_UNINSTRUMENTED=1; fi
PLONK_WASM_MAX_MEMORY_BYTES="$max" cargo rustc -p plonk_wasm --lib --crate-type cdylib \
  --target wasm32-unknown-unknown --release -Z build-std=panic_unwind,std \
  --features "$features" -- -C "link-arg=--max-memory=$max"
rm -rf "$out"
mkdir -p "$out"
# Named like upstream's crate since 2026 (kimchi_wasm.js, kimchi_wasm_bg.wasm),
# so the backends load this build exactly as they load o1js's.
"$WASM_BINDGEN" --target "$target" --out-dir "$out" --out-name kimchi_wasm \
  "$ROOT/target/wasm32-unknown-unknown/release/plonk_wasm.wasm"
# The glue for Node is CommonJS; the repository's package.json says "module".
if [ "$target" = nodejs ]; then printf '{ "type": "commonjs" }\n' > "$out/package.json"; fi
printf '{ "variant": "%s", "target": "%s", "features": "%s", "maxMemoryBytes": %s, "instrumented": %s }\n' \
  "$variant" "$target" "$features" "$max" "$([ -n "$uninstrumented" ] && echo false || echo true)" > "$out/build-info.json"
info "built $out in $(( $(date +%s) - started )) s"
