#!/usr/bin/env bash
# The benchmark, in one go (about 5 minutes on 2 cores once built): set up,
# build and stage what is missing or out of date (the node build, the
# uninstrumented node-baseline build, the web build for the optional browser
# figures), then bench/run.js: recycle latency at 1, 2 and 4 workers,
# availability during a recycle, instrumentation overhead against the
# baseline, leak per recycle against an upstream-style teardown, proof time
# across thread counts (and natively, against a plain Rayon pool), recycles
# in Chromium, and real o1js 2.15.0 stock against patched (prove time at 1
# and 2 workers, compile and verify, memory over 50 proofs; the apps come from
# scripts/prepare-o1js-apps.sh; about 35 minutes). Prints a table; writes
# build/bench/results.json, table.md and SVG charts.
#   scripts/bench.sh              measure
#   scripts/bench.sh --publish    measure, and copy the table, JSON and charts to docs/bench/
# Environment: BENCH_RUNS, BENCH_RECYCLES, BENCH_K, BENCH_PAIRS, BENCH_WEB (auto | 0 | 1),
# BENCH_O1JS (1 | 0), BENCH_O1JS_PAIRS, BENCH_O1JS_PROOFS, BENCH_O1JS_RECYCLE_EVERY,
# BENCH_QUICK=1 (a smoke run); see bench/run.js.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for arg in "$@"; do
  [ "$arg" = --publish ] || die 2 "unknown argument '$arg': expected --publish or nothing"
done
"$ROOT/scripts/setup.sh"
variants=(node node-baseline)
[ "${BENCH_WEB:-auto}" = 0 ] || variants+=(web)
"$ROOT/scripts/ensure-staged.sh" "${variants[@]}"
[ "${BENCH_O1JS:-1}" = 0 ] || "$ROOT/scripts/prepare-o1js-apps.sh"
info "running the benchmark (bench/run.js)"
node "$ROOT/bench/run.js" "$@"
