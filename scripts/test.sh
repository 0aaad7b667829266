#!/usr/bin/env bash
# All tests: set-up, formatting, native tests (cargo), the patch script, then
# threaded wasm in real Node worker_threads and headless Chromium, and last
# the o1js package (npm's o1js with kimchi-wasm built from upstream
# proof-systems: ../shared/upstream beside this repository; the build is
# cached outside the clone) through a local registry into npm, pnpm and Vite
# apps, real o1js side by side with npm's, and the prover isolates. README's
# test command; CI runs it via .ci/run.
#   scripts/test.sh                 every test
#   scripts/test.sh --under-load    the same, with two CPU-bound processes
#                                   running beside it the whole time (stopped
#                                   on every exit path): the suite must pass on
#                                   a busy machine too
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

under_load=0
for arg in "$@"; do
  case "$arg" in
    --under-load) under_load=1 ;;
    *) die 2 "unknown argument '$arg': expected --under-load or nothing" ;;
  esac
done

if [ "$under_load" = 1 ]; then
  load_pids=()
  stop_load() {
    local pid
    for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    load_pids=()
  }
  trap stop_load EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  # Each spins on one core, and ends by itself once this script is gone (even
  # killed with SIGKILL, when no trap runs): it checks its parent now and then.
  for _ in 1 2; do
    node -e 'const parent = Number(process.argv[1]);
      for (;;) {
        for (let i = 0; i < 5e7; i++);
        try { process.kill(parent, 0); } catch { process.exit(0); }
      }' "$$" &
    load_pids+=("$!")
  done
  info "under load: two CPU-bound processes (pids ${load_pids[*]}) run beside the tests"
fi

"$ROOT/scripts/setup.sh"

info "checking formatting"
cargo fmt --all -- --check || die 20 "cargo fmt reports unformatted Rust; run: cargo fmt --all"

info "native tests (the same pool on std threads; insta snapshots must match)"
INSTA_UPDATE=no cargo test -p plonk_wasm --features fixture,test-exports
"$ROOT/scripts/check-upstream-pins.sh"
"$ROOT/tests/patch/run.sh"

"$ROOT/scripts/build-wasm.sh" node
"$ROOT/scripts/build-wasm.sh" node-small

# The TypeScript policy layer is compiled first: the Node tests drive it too.
info "TypeScript: type-check bindings-js and tests/ts, then run the compiled unit tests"
npx tsc -p "$ROOT/tsconfig.json" || die 21 "tsc reports type errors in bindings-js or tests/ts"
# o1js compiles these files with its own options (target ES2021) under set -e.
npx tsc -p "$ROOT/tsconfig.o1js.json" || die 21 "tsc reports errors under o1js's compiler options (tsconfig.o1js.json)"
# The backends' JavaScript (node-backend.js, web-backend.js, worker-helpers.js) with checkJs, against the
# glue's declarations that scripts/render-glue-types.mjs generates (tests/{node,web}/glue-types.test.js check them).
npx tsc -p "$ROOT/tsconfig.backends.json" || die 21 "tsc reports type errors in the backends' JavaScript (tsconfig.backends.json)"
node --test "$ROOT/build/ts/tests/ts/"

# The package and the stock app are built and installed beside the Node and browser
# tiers (a kimchi-wasm build when the pool changed, bundling, npm installs): nothing
# there reads what those tests use, and their waits leave it CPU. Its log is kept
# and shown if it fails.
packing_log="$ROOT/build/packages-prepare.log"
mkdir -p "$ROOT/build"
( "$ROOT/scripts/pack.sh" >/dev/null && "$ROOT/scripts/prepare-o1js-apps.sh" stock ) >"$packing_log" 2>&1 &
packing_pid=$!
info "building the o1js package and the stock app in the background (pid $packing_pid, log $packing_log)"

info "Node tests (the node backend, staged in o1js's layout, in real worker_threads)"
"$ROOT/scripts/stage-o1js.sh" node
"$ROOT/scripts/stage-o1js.sh" node-small
node --test --test-concurrency=1 "$ROOT/tests/node/" "$ROOT/tests/inputs/"

info "browser tests (the web backend in headless Chromium, served from a loopback server)"
"$ROOT/scripts/build-wasm.sh" web
"$ROOT/scripts/stage-o1js.sh" web
node --test --test-concurrency=1 "$ROOT/tests/web/"

# The package users install (scripts/pack.sh: npm's o1js 2.15.0 with kimchi-wasm
# built from upstream proof-systems, cached outside the clone), then the
# install path: published to a local registry (Verdaccio, started by the
# test), installed by alias with npm and pnpm, npm ci, a peer-dependent
# library, overrides, a Vite production build in Chromium; the package's types
# (the API, every code example in README.md and docs/); install-o1js.sh in
# place. The npm app made there is the patched app of the tiers after it.
info "packages: the install path through a local registry (waiting for the package build first)"
if ! wait "$packing_pid"; then
  cat "$packing_log" >&2
  die 30 "building the o1js package (scripts/pack.sh) or the stock app failed; its log is above"
fi
# install.test.js makes the apps the others use: it runs first (node --test orders the files it is given by name).
node --test "$ROOT/tests/package/install.test.js"
node --test --test-concurrency=1 "$ROOT/tests/package/types.test.js" "$ROOT/tests/package/pnpm.test.js" \
  "$ROOT/tests/package/vite.test.js" "$ROOT/tests/package/in-place.test.js"

info "real o1js: the package and npm's o1js 2.15.0 side by side (Node ES modules, CommonJS)"
node --test --test-concurrency=1 "$ROOT/tests/o1js/"

# Prover isolates (bindings-js/isolates, compiled by the tsc run above): the
# policy and the pool core without workers, the Node adapter in real
# worker_threads, then real o1js in isolates from the package's o1js/isolates.
info "prover isolates: policy and pool core, Node worker_threads, real o1js in isolates"
node --test --test-concurrency=1 "$ROOT/tests/isolates/"
