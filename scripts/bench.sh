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
# the package, scripts/pack.sh, and scripts/prepare-o1js-apps.sh; about 35 minutes), and prover isolates
# (bench/isolates.js, real o1js in bindings-js/isolates, side by side in one
# run: proofs per minute 1 isolate x 2 threads vs 2 isolates x 1 thread;
# memory over 100 proofs, one stock o1js process vs the isolate pool with
# replacement; replacement cost, cold compile vs warm from o1js's cache; the
# main thread's event-loop gaps, stock vs pool; about 60 minutes). Prints a
# table; writes build/bench/results.json, table.md and SVG charts (the
# isolate part also to its own isolates-results.json, isolates-table.md).
#   scripts/bench.sh              measure
#   scripts/bench.sh --publish    measure, and copy the table, JSON and charts to docs/bench/
#   BENCH_ONLY=isolates scripts/bench.sh [--publish]
#                                 only the prover-isolate part (needs only the o1js apps and tsc);
#                                 writes and publishes only the isolates-* files
#   BENCH_ONLY=isolates-chaos scripts/bench.sh [--publish]
#                                 only the seeded chaos runs over the prover isolate pool (bench/isolates-chaos.js:
#                                 tests/isolates/chaos.js, 300 operations with 4 real proofs x 2 seeds, each in a
#                                 fresh process; also part of a full run's isolate part): jobs, faults by kind,
#                                 lost / settled twice / hangs, memory post-warm against the end;
#                                 writes isolates-chaos-results.json and isolates-chaos-table.md
#   BENCH_ONLY=isolates-latency scripts/bench.sh [--publish]
#                                 only the proof latency during blue/green replacements (bench/isolates-latency.js):
#                                 one worker isolate with 2 threads (the successor competes for the CPUs) and with
#                                 1 (a CPU left to it), 40 proofs each, replaced every 10; ~35 minutes on 2 cores;
#                                 writes isolates-latency-results.json and isolates-latency-table.md
#   BENCH_ONLY=o1js scripts/bench.sh [--publish]
#                                 only real o1js's stock/patched prove pairs (prove time, CPU, and the process's
#                                 RSS before any recycle), without the memory run; writes o1js-results.json and
#                                 o1js-table.md, which docs/results.md then takes for those figures
#   BENCH_ONLY=chaos scripts/bench.sh [--publish]
#                                 only the chaos runs (bench/chaos.js: the chaos test's seeded
#                                 random operations, 300 x 5 seeds, each seed in a fresh process on
#                                 the 128 MiB build; ~10-15 minutes on 2 cores): operations,
#                                 outcomes by kind, proofs checked, recycles, losses, time, memory;
#                                 writes chaos-results.json and chaos-table.md (also: node bench/chaos.js)
# Environment: BENCH_RUNS, BENCH_RECYCLES, BENCH_K, BENCH_PAIRS, BENCH_WEB (auto | 0 | 1),
# BENCH_O1JS (1 | 0), BENCH_O1JS_PAIRS, BENCH_O1JS_PROOFS, BENCH_O1JS_RECYCLE_EVERY,
# BENCH_ISOLATES (1 | 0: skip the isolate part of a full run), BENCH_ONLY (isolates | chaos | isolates-chaos | isolates-latency | o1js),
# BENCH_ISOLATES_CHAOS (1 | 0), BENCH_ISOLATES_CHAOS_SEEDS (2), BENCH_ISOLATES_CHAOS_OPERATIONS (300),
# BENCH_ISOLATES_CHAOS_PROOFS (4), BENCH_ISOLATES_CHAOS_SEED, BENCH_ISOLATES_CHAOS_SCALE_DOWN (1 | 0),
# BENCH_CHAOS (1 | 0: skip the chaos runs of a full run), BENCH_CHAOS_SEEDS (5), BENCH_CHAOS_OPERATIONS (300),
# BENCH_CHAOS_SEED (the first seed),
# BENCH_ISOLATES_ROUNDS, BENCH_ISOLATES_PROOFS, BENCH_ISOLATES_MEMORY_PROOFS,
# BENCH_ISOLATES_REPLACE_EVERY, BENCH_ISOLATES_COLD, BENCH_ISOLATES_WARM, BENCH_ISOLATES_GAP_PROOFS,
# BENCH_ISOLATES_LATENCY_PROOFS (40), BENCH_ISOLATES_LATENCY_EVERY (10),
# BENCH_ISOLATES_MEMORY_ALONGSIDE=1 (the two memory runs beside the rest: less wall time, slower times),
# BENCH_ISOLATES_RESUME=1 (reuse the parts build/bench/isolates-parts/ kept from an interrupted run under the same config and patched build),
# BENCH_RESUME=1 (reuse the sections of a full run kept in build/bench/parts/, measured under the same config from the same
# committed sources; the table says which, with each section's load; bench/sections.js),
# BENCH_QUICK=1 (a smoke run); see bench/run.js and bench/isolates.js.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for arg in "$@"; do
  [ "$arg" = --publish ] || die 2 "unknown argument '$arg': expected --publish or nothing"
done
"$ROOT/scripts/setup.sh"
case "${BENCH_ONLY:-}" in
  "")
    variants=(node node-baseline)
    [ "${BENCH_WEB:-auto}" = 0 ] || variants+=(web)
    [ "${BENCH_CHAOS:-1}" = 0 ] || variants+=(node-small)
    "$ROOT/scripts/ensure-staged.sh" "${variants[@]}"
    if [ "${BENCH_O1JS:-1}" != 0 ] || [ "${BENCH_ISOLATES:-1}" != 0 ]; then
      "$ROOT/scripts/pack.sh" >/dev/null
      "$ROOT/scripts/prepare-o1js-apps.sh"
    fi
    ;;
  isolates | isolates-chaos | isolates-latency | o1js)
    "$ROOT/scripts/pack.sh" >/dev/null
    "$ROOT/scripts/prepare-o1js-apps.sh"
    ;;
  chaos) "$ROOT/scripts/ensure-staged.sh" node-small ;;
  *) die 2 "BENCH_ONLY=$BENCH_ONLY: expected 'isolates', 'chaos', 'isolates-chaos', 'isolates-latency', 'o1js' or unset" ;;
esac
# The isolate parts load the compiled bindings-js; so does a full run unless BENCH_ISOLATES=0.
case "${BENCH_ONLY:-}" in
  isolates*) needs_isolates=1 ;;
  "") [ "${BENCH_ISOLATES:-1}" = 0 ] && needs_isolates=0 || needs_isolates=1 ;;
  *) needs_isolates=0 ;;
esac
if [ "$needs_isolates" = 1 ]; then
  info "compiling bindings-js (npx tsc -p tsconfig.json) for the prover isolates"
  (cd "$ROOT" && npx tsc -p "$ROOT/tsconfig.json") || die 21 "tsc reports type errors in bindings-js"
fi
info "running the benchmark (bench/run.js)"
node "$ROOT/bench/run.js" "$@"
