#!/usr/bin/env bash
# Lays out this repository's build as o1js lays out its own (dist/node, dist/web):
#   build/o1js/<variant>/bindings/js/node/node-backend.js          (bindings-js/bindings/js/node/*.js, as is)
#   build/o1js/<variant>/bindings/compiled/node_bindings/kimchi_wasm.cjs + kimchi_wasm_bg.wasm
#   build/o1js/<variant>/lib/proof-system/**/*.js                  (bindings-js/lib/proof-system/**/*.ts, compiled)
#   build/o1js/web/bindings/js/web/*.js                            (bindings-js/bindings/js/web/*.js, as is)
#   build/o1js/web/web_bindings/kimchi_wasm.js + kimchi_wasm_bg.wasm (pkg/web's glue in o1js's shape)
# so the backend files are tested byte for byte as apply-patches.sh installs them: their
# relative imports are upstream's, and they find the glue and workers.js where o1js has them.
#   scripts/stage-o1js.sh node|node-small|node-baseline|web     needs scripts/build-wasm.sh <variant> and tsc first
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

variant="${1:-node}"
compiled_ts="$ROOT/build/ts/bindings-js/lib/proof-system"
stage="$ROOT/build/o1js/$variant"
[ -d "$PKG/$variant" ] || die 3 "pkg/$variant is missing; run scripts/build-wasm.sh $variant first"
[ -f "$compiled_ts/workers.js" ] || die 3 "build/ts is missing; run npx tsc -p tsconfig.json first"

rm -rf "$stage"
mkdir -p "$stage/lib"
cp -r "$compiled_ts" "$stage/lib/proof-system"
find "$stage/lib/proof-system" -type f ! -name '*.js' -delete
case "$variant" in
  node | node-small | node-baseline)
    mkdir -p "$stage/bindings/js/node" "$stage/bindings/compiled/node_bindings"
    cp "$ROOT"/bindings-js/bindings/js/node/*.js "$stage/bindings/js/node/"
    # o1js renames wasm-bindgen's CommonJS glue to .cjs (its package is "type": "module").
    cp "$PKG/$variant/kimchi_wasm.js" "$stage/bindings/compiled/node_bindings/kimchi_wasm.cjs"
    cp "$PKG/$variant/kimchi_wasm_bg.wasm" "$PKG/$variant/build-info.json" "$stage/bindings/compiled/node_bindings/"
    ;;
  web)
    mkdir -p "$stage/bindings/js/web" "$stage/web_bindings"
    cp "$ROOT"/bindings-js/bindings/js/web/*.js "$stage/bindings/js/web/"
    # o1js's build wraps the web glue in a function its workers can be built from.
    node "$ROOT/scripts/o1js-web-glue.mjs" "$PKG/web/kimchi_wasm.js" "$stage/web_bindings/kimchi_wasm.js"
    cp "$PKG/web/kimchi_wasm_bg.wasm" "$PKG/web/build-info.json" "$stage/web_bindings/"
    ;;
  *) die 2 "unknown variant '$variant': expected node, node-small, node-baseline or web" ;;
esac
info "staged $variant in build/o1js/$variant"
