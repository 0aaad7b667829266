# Assembles the fixture trees: small trees with each upstream layout and the
# shapes of the files scripts/apply-patches.sh reads, written by us (not copies
# of upstream files). Source it; then `fixture_tree LAYOUT DEST [SET]` creates
# DEST. SET picks the proof-systems tree (tests/upstream-pins/SET):
#   head   kimchi-wasm, wasm-bindgen =0.2.106   (default for *-kimchi-wasm)
#   y2026  kimchi-wasm, wasm-bindgen =0.2.100   (the 2026-03 tree o1js 2.15 was built from)
#   y2025  plonk-wasm,  wasm-bindgen =0.2.89    (default for *-plonk-wasm; flags in .cargo/config.toml, late 2025)
#   y2025-rustflags  y2025 with fixtures/proof-systems-y2025-rustflags over it: the
#          xtask of 2025-05 to late 2025, whose build_wasm sets RUSTFLAGS itself,
#          and a .cargo/config.toml whose wasm32 table that build ignores
# Layouts:
#   proof-systems-kimchi-wasm   tests/upstream-pins/SET (+ crate-src as kimchi-wasm/src)
#   proof-systems-plonk-wasm    tests/upstream-pins/SET (+ crate-src as plonk-wasm/src)
#   o1js-kimchi-wasm            fixtures/o1js with the first at src/mina/src/lib/crypto/proof-systems
#   o1js-plonk-wasm             fixtures/o1js with the second there
#   mina                        fixtures/mina (+ crate-src as kimchi_bindings/wasm/src)
# The proof-systems trees are the ones scripts/check-upstream-pins.sh compiles
# (y2025-rustflags aside: its xtask is read by the patch only).
# mina's web/build.sh ends without a newline, on purpose: edits must keep that.
FIXTURES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fixtures"
UPSTREAM_PINS="$(cd "$FIXTURES/../../upstream-pins" && pwd)"

fixture_tree() { # LAYOUT DEST [SET]
  local layout="$1" dest="$2" set="${3:-}"
  mkdir -p "$dest"
  case "$layout" in
    proof-systems-kimchi-wasm | proof-systems-plonk-wasm)
      local crate=kimchi-wasm
      [ "$layout" = proof-systems-kimchi-wasm ] || crate=plonk-wasm
      if [ -z "$set" ]; then if [ "$crate" = kimchi-wasm ]; then set=head; else set=y2025; fi; fi
      local base="${set%-rustflags}"
      [ -d "$UPSTREAM_PINS/$base/$crate" ] || { printf 'ERROR: tests/upstream-pins/%s has no %s\n' "$base" "$crate" >&2; return 1; }
      cp -R "$UPSTREAM_PINS/$base/." "$dest/"
      [ "$base" = "$set" ] || cp -R "$FIXTURES/proof-systems-$set/." "$dest/"
      mkdir -p "$dest/$crate/src"
      cp "$UPSTREAM_PINS/crate-src/lib.rs" "$UPSTREAM_PINS/crate-src/rayon.rs" "$dest/$crate/src/" ;;
    o1js-kimchi-wasm | o1js-plonk-wasm)
      cp -R "$FIXTURES/o1js/." "$dest/"
      if [ "$layout" = o1js-plonk-wasm ]; then # o1js of 2025 names its glue after plonk-wasm
        sed -i -e 's#compiled/node_bindings/kimchi_wasm\.cjs#compiled/_node_bindings/plonk_wasm.cjs#' \
          -e 's#web_bindings/kimchi_wasm\.js#web_bindings/plonk_wasm.js#' -e 's/kimchiWasm/plonkWasm/g' \
          "$dest/src/bindings/js/node/node-backend.js" "$dest/src/bindings/js/web/web-backend.js" "$dest/src/bindings/js/web/worker-helpers.js"
      fi
      fixture_tree "proof-systems-${layout#o1js-}" "$dest/src/mina/src/lib/crypto/proof-systems" "$set" ;;
    mina)
      cp -R "$FIXTURES/mina/." "$dest/"
      mkdir -p "$dest/src/lib/crypto/kimchi_bindings/wasm/src"
      cp "$UPSTREAM_PINS/crate-src/lib.rs" "$UPSTREAM_PINS/crate-src/rayon.rs" "$dest/src/lib/crypto/kimchi_bindings/wasm/src/" ;;
    *) printf 'ERROR: no fixture tree for layout %s\n' "$layout" >&2; return 1 ;;
  esac
}
