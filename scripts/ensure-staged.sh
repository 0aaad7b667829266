#!/usr/bin/env bash
# Builds and stages the variants the demo and the benchmark load, doing only
# what is out of date (make-style, by modification time):
#   - the TypeScript layer (npx tsc) when bindings-js/ or tsconfig.json changed;
#   - pkg/<variant> (scripts/build-wasm.sh) when the crate, the workspace or the build changed;
#   - build/o1js/<variant> (scripts/stage-o1js.sh) when any of those, or the backend files, changed.
#   scripts/ensure-staged.sh VARIANT...     (node, node-small, node-baseline, web)
# Run scripts/setup.sh first. FORCE_BUILD=1 rebuilds and restages everything named.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
[ $# -gt 0 ] || die 2 "name at least one variant: node, node-small, node-baseline or web"

# stale STAMP PATH...: true when STAMP is missing, FORCE_BUILD=1, or a file under a PATH is newer.
stale() {
  local stamp="$1"; shift
  [ "${FORCE_BUILD:-0}" = 1 ] || [ ! -e "$stamp" ] || [ -n "$(find "$@" -type f -newer "$stamp" -print -quit)" ]
}

if stale build/ts/bindings-js/lib/proof-system/workers.js bindings-js tsconfig.json package.json; then
  info "compiling the TypeScript layer (tsc)"
  npx tsc -p tsconfig.json || die 21 "tsc reports type errors in bindings-js or tests/ts"
else
  info "build/ts is up to date"
fi

for variant in "$@"; do
  case "$variant" in
    node | node-small | node-baseline) staged_info="build/o1js/$variant/bindings/compiled/node_bindings/build-info.json"; backend=bindings-js/bindings/js/node ;;
    web) staged_info="build/o1js/web/web_bindings/build-info.json"; backend=bindings-js/bindings/js/web ;;
    *) die 2 "unknown variant '$variant': expected node, node-small, node-baseline or web" ;;
  esac
  if stale "pkg/$variant/build-info.json" plonk-wasm Cargo.toml Cargo.lock .cargo rust-toolchain.toml scripts/build-wasm.sh; then
    scripts/build-wasm.sh "$variant"
  else
    info "pkg/$variant is up to date"
  fi
  # cp gives the staged build-info.json the staging time: it stamps the stage.
  if stale "$staged_info" "pkg/$variant" build/ts/bindings-js/lib "$backend" scripts/stage-o1js.sh scripts/o1js-web-glue.mjs; then
    scripts/stage-o1js.sh "$variant"
  else
    info "build/o1js/$variant is up to date"
  fi
done
