#!/usr/bin/env bash
# Proves that our pool module compiles under upstream's pins, natively and for
# threaded wasm. tests/upstream-pins/<set>/ are tiny edition-2018 crates with
# upstream's exact pins that compile plonk-wasm/src/rayon.rs and
# plonk-wasm/src/rayon/ (the very same files, no copy) through tests/upstream-pins/lib.rs.
#   scripts/check-upstream-pins.sh             every pin set
#   scripts/check-upstream-pins.sh head ...    only the sets named
# Pin sets: head  (kimchi-wasm, 2026: wasm-bindgen =0.2.106, js-sys =0.3.83)
#           y2025 (plonk-wasm, 2025:  wasm-bindgen =0.2.89,  js-sys =0.3.66)
# Their Cargo.lock files are committed; cargo logs go to target/upstream-pins/logs/.
# A known incompatibility (KNOWN_BROKEN below) is reported as WARNING and does
# not fail the run unless UPSTREAM_PINS_STRICT=1.
# Exit codes: 2 unknown pin set; 40 RUSTFLAGS/CARGO_ENCODED_RUSTFLAGS set (they
# would replace .cargo/config.toml's threaded-wasm flags); 41 resolving failed;
# 42 a native check failed; 43 a wasm check failed; 44 a known incompatibility
# changed (it compiles now, or fails another way): update KNOWN_BROKEN.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PINS="$ROOT/tests/upstream-pins"
export CARGO_TARGET_DIR="$ROOT/target/upstream-pins"
LOGS="$CARGO_TARGET_DIR/logs"
ALL_SETS=(head y2025)
WASM_ARGS=(--target wasm32-unknown-unknown -Z build-std=panic_unwind,std)
SHOWN_CRATES=(wasm-bindgen js-sys rayon rayon-core spmc wasm-bindgen-futures serde-wasm-bindgen tracing-wasm tracing-subscriber)

# KNOWN_BROKEN["set/step"]: the lines the step's log must contain, '|'-separated, then ' :: ' and why.
declare -A KNOWN_BROKEN=(
  # The newest wasm-bindgen-futures that accepts wasm-bindgen =0.2.89 is 0.4.39;
  # up to 0.4.40 it has #![cfg_attr(target_feature = "atomics", feature(stdsimd))],
  # and nightly removed `stdsimd` in February 2024 (rust-lang/rust#117372). The
  # fix (wasm-bindgen#3827) is in 0.4.41, which needs wasm-bindgen >= 0.2.91.
  # Only threaded builds hit it: without +atomics the same crate compiles.
  ["y2025/wasm"]='unknown feature `stdsimd`|could not compile `wasm-bindgen-futures` :: wasm-bindgen-futures <= 0.4.40 (0.4.39 is the newest that accepts wasm-bindgen =0.2.89) enables feature(stdsimd) under +atomics, and nightlies since 2024-02 no longer have it; needs wasm-bindgen >= 0.2.91 (wasm-bindgen-futures >= 0.4.41)'
  ["y2025/wasm-nodejs"]='unknown feature `stdsimd`|could not compile `wasm-bindgen-futures` :: same as y2025/wasm'
)

if [ -n "${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-}" ]; then
  die 40 "RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS is set: it would replace the threaded-wasm flags of .cargo/config.toml; unset it"
fi

sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=("${ALL_SETS[@]}")
for set in "${sets[@]}"; do
  [ -f "$PINS/$set/Cargo.toml" ] || die 2 "unknown pin set '$set': expected one of ${ALL_SETS[*]}"
done
mkdir -p "$LOGS"

passed=0 known=0 first_failure=0
fail() { # code message
  printf 'ERROR: %s\n' "$2" >&2
  [ "$first_failure" -ne 0 ] || first_failure="$1"
}

# check SET STEP CODE CARGO-ARGS...: runs `cargo check` in the set's crate (so
# that the repository's rust-toolchain.toml and .cargo/config.toml apply).
check() {
  local set="$1" step="$2" code="$3"; shift 3
  local log="$LOGS/$set-$step.log" started=$SECONDS ok=1
  (cd "$PINS/$set" && cargo check "$@") >"$log" 2>&1 || ok=0
  local took=$(( SECONDS - started )) entry="${KNOWN_BROKEN[$set/$step]:-}"
  if [ -z "$entry" ]; then
    if [ "$ok" = 1 ]; then
      info "$set/$step: compiles (${took} s)"
      passed=$(( passed + 1 ))
    else
      tail -n 40 "$log" >&2
      fail "$code" "$set/$step: does not compile (${took} s); full log: $log"
    fi
    return
  fi
  local signs="${entry%% :: *}" why="${entry#* :: }" sign matched=1
  if [ "$ok" = 1 ]; then
    fail 44 "$set/$step: compiles now, but KNOWN_BROKEN says it cannot ($why): remove it from KNOWN_BROKEN in $0"
    return
  fi
  IFS='|' read -r -a sign_list <<<"$signs"
  for sign in "${sign_list[@]}"; do grep -qF -- "$sign" "$log" || matched=0; done
  if [ "$matched" = 0 ]; then
    tail -n 40 "$log" >&2
    fail 44 "$set/$step: does not compile, and not (only) for its known reason ($why); full log: $log"
  elif [ "${UPSTREAM_PINS_STRICT:-0}" = 1 ]; then
    grep -F -m 3 -- "${sign_list[0]}" "$log" >&2 || true
    fail 43 "$set/$step: known incompatible, and UPSTREAM_PINS_STRICT=1: $why"
  else
    printf 'WARNING: %s: cannot compile with %s, a known incompatibility (%s s): %s; log: %s\n' \
      "$set/$step" "$TOOLCHAIN" "$took" "$why" "$log" >&2
    known=$(( known + 1 ))
  fi
}

for set in "${sets[@]}"; do
  # Resolving writes Cargo.lock if it is missing or out of date (never --locked:
  # the registry mirror may lack what a lock from elsewhere names).
  tree="$LOGS/$set-tree.txt"
  if ! (cd "$PINS/$set" && cargo tree -e normal --target all --prefix none) >"$tree" 2>"$LOGS/$set-tree.log"; then
    tail -n 20 "$LOGS/$set-tree.log" >&2
    fail 41 "$set: resolving its dependencies failed; full log: $LOGS/$set-tree.log"
    continue
  fi
  resolved=()
  for name in "${SHOWN_CRATES[@]}"; do
    versions="$(awk -v n="$name" '$1 == n { print $2 }' "$tree" | sort -u | paste -sd/ -)"
    resolved+=("$name ${versions:-(none)}")
  done
  info "$set resolved: $(printf '%s, ' "${resolved[@]}" | sed 's/, $//')"

  check "$set" native 42 --all-targets
  check "$set" wasm 43 "${WASM_ARGS[@]}"
  check "$set" wasm-nodejs 43 "${WASM_ARGS[@]}" --features nodejs
done

info "upstream pins (${sets[*]}): $passed checks compile, $known known incompatible$([ "$first_failure" = 0 ] || echo ', and some fail')"
[ "$first_failure" = 0 ] || exit "$first_failure"
