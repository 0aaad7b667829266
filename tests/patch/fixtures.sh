# Assembles the fixture trees: small trees with each upstream layout and the
# lines scripts/apply-patches.sh anchors on, written by us (not copies of
# upstream files). Source it; then `fixture_tree LAYOUT DEST` creates DEST.
#   proof-systems-kimchi-wasm   tests/upstream-pins/head  (+ crate-src as kimchi-wasm/src)
#   proof-systems-plonk-wasm    tests/upstream-pins/y2025 (+ crate-src as plonk-wasm/src)
#   o1js-kimchi-wasm            fixtures/o1js with the first at src/mina/src/lib/crypto/proof-systems
#   o1js-plonk-wasm             fixtures/o1js with the second there
#   mina                        fixtures/mina (+ crate-src as kimchi_bindings/wasm/src)
# The proof-systems trees are the ones scripts/check-upstream-pins.sh compiles.
# mina's web/build.sh ends without a newline, on purpose: edits must keep that.
FIXTURES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fixtures"
UPSTREAM_PINS="$(cd "$FIXTURES/../../upstream-pins" && pwd)"

fixture_tree() { # LAYOUT DEST
  local layout="$1" dest="$2"
  mkdir -p "$dest"
  case "$layout" in
    proof-systems-kimchi-wasm | proof-systems-plonk-wasm)
      local set=head crate=kimchi-wasm
      [ "$layout" = proof-systems-kimchi-wasm ] || { set=y2025; crate=plonk-wasm; }
      cp -R "$UPSTREAM_PINS/$set/." "$dest/"
      mkdir -p "$dest/$crate/src"
      cp "$UPSTREAM_PINS/crate-src/lib.rs" "$UPSTREAM_PINS/crate-src/rayon.rs" "$dest/$crate/src/" ;;
    o1js-kimchi-wasm | o1js-plonk-wasm)
      cp -R "$FIXTURES/o1js/." "$dest/"
      fixture_tree "proof-systems-${layout#o1js-}" "$dest/src/mina/src/lib/crypto/proof-systems" ;;
    mina)
      cp -R "$FIXTURES/mina/." "$dest/"
      mkdir -p "$dest/src/lib/crypto/kimchi_bindings/wasm/src"
      cp "$UPSTREAM_PINS/crate-src/lib.rs" "$UPSTREAM_PINS/crate-src/rayon.rs" "$dest/src/lib/crypto/kimchi_bindings/wasm/src/" ;;
    *) printf 'ERROR: no fixture tree for layout %s\n' "$layout" >&2; return 1 ;;
  esac
}
