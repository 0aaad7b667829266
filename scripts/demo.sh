#!/usr/bin/env bash
# README's first command: the problem this project solves, on real o1js.
# Stock o1js (npm) and the isolate pool (this repository's package, installed
# as o1js) prove the same ZkProgram side by side, with a live progress line,
# then a summary and a chart (build/demo/demo.svg; figures in
# build/demo/demo.json). About 4 minutes of proving once built; the first run
# builds the package (scripts/pack.sh, 10-15 minutes on 2 cores), installs two
# apps under build/demo/ and compiles the program once without o1js's cache.
#   scripts/demo.sh [--minutes N] [--proofs N] [--replace-every N]
#   scripts/demo.sh --fixture [JOBS]   the older demo on this repository's halo2 test fixture
# Exit codes: 1 a proof is wrong, does not verify, or a side failed; 2 usage;
# others: scripts/pack.sh's (its header lists them).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "${1:-}" = --fixture ]; then
  shift
  [ $# -le 1 ] || die 2 "--fixture takes at most one argument, the number of jobs (got: $*)"
  [ $# -eq 0 ] || [[ "$1" =~ ^[1-9][0-9]*$ ]] || die 2 "--fixture [JOBS]: JOBS must be a positive whole number, got '$1'"
  "$ROOT/scripts/setup.sh"
  "$ROOT/scripts/ensure-staged.sh" node-small
  exec node "$ROOT/scripts/demo-fixture.js" "$@"
fi

# Options first: a typo is reported before minutes of building.
node "$ROOT/scripts/demo/options.js" "$@"
for arg in "$@"; do case "$arg" in --help | -h) exit 0 ;; esac; done

# The package's build is cached by pack.sh; say what a cold one costs before it starts.
cache="${PLONK_WASM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plonk-wasm-pool}/kimchi-wasm/builds"
if [ ! -f "$ROOT/build/packages/packages.json" ] || ! compgen -G "$cache/*/node/build-info.json" >/dev/null; then
  info "first run: building the o1js package (kimchi-wasm from upstream proof-systems, about 10–15 minutes on 2 cores, once; later runs reuse the cache)"
else
  info "checking the o1js package (scripts/pack.sh: about 30 s when nothing changed; if this repository's pool changed, kimchi-wasm is rebuilt: minutes)"
fi
started=$(date +%s)
# pack.sh's own log goes to stderr as it comes, with a word on how long a kimchi-wasm compile takes when one starts.
tarball="$("$ROOT/scripts/pack.sh" 2> >(while IFS= read -r line; do
  printf '%s\n' "$line"
  case "$line" in *"(cargo, then wasm-bindgen"*) printf 'INFO: (a Rust build to wasm: 2.5-7 minutes per platform on 2 cores, longer on a busy machine)\n' ;; esac
done >&2) | tail -n 1)" || die "$?" "scripts/pack.sh could not build the o1js package (its error is above)"
case "$tarball" in /*) ;; *) tarball="$ROOT/$tarball" ;; esac # pack.sh prints it relative to the repository
[ -f "$tarball" ] || die 8 "scripts/pack.sh printed no package path (got '$tarball')"
package_seconds=$(($(date +%s) - started))
info "o1js package ready in ${package_seconds} s: ${tarball#"$ROOT/"}"

DEMO_PACKAGE_SECONDS="$package_seconds" exec node "$ROOT/scripts/demo/run.js" --package "$tarball" "$@"
