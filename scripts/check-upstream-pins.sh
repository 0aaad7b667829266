#!/usr/bin/env bash
# Proves that scripts/apply-patches.sh turns an upstream tree into one that
# compiles with our pool, under upstream's edition, pins (as the patch moves
# them) and build flags, natively and for threaded wasm. tests/upstream-pins/<set>/
# are small proof-systems trees with upstream's shape (workspace with the exact
# pins, an edition-2018 crate with `pub mod rayon;`, .cargo/config.toml, xtask;
# tests/patch/fixtures.sh assembles them). Each is copied out of the
# repository (so that only its own .cargo/config.toml applies), patched by the
# script, and checked with the wasm flags of its patched config and the
# `-Z build-std` of its patched xtask.
#   scripts/check-upstream-pins.sh             every pin set
#   scripts/check-upstream-pins.sh head ...    only the sets named
# Pin sets, upstream's pins -> what the patched tree builds with:
#   head   kimchi-wasm, HEAD:    wasm-bindgen =0.2.106, js-sys =0.3.83 (left alone)
#   y2026  kimchi-wasm, 2026-03: wasm-bindgen =0.2.100, js-sys =0.3.77 -> =0.2.106, =0.3.83
#   y2025  plonk-wasm,  2025:    wasm-bindgen =0.2.89,  js-sys =0.3.66 -> =0.2.106, =0.3.83
# Every patched tree must resolve wasm-bindgen 0.2.106 and a wasm-bindgen-futures
# of at least 0.4.50 (the releases without the removed nightly feature stdsimd).
# Their Cargo.lock files (what the patched trees resolve to) are committed, so
# nothing re-resolves; UPSTREAM_PINS_UPDATE_LOCK=1 accepts a changed lock.
# Cargo logs go to target/upstream-pins/logs/.
# A known incompatibility (KNOWN_BROKEN below) is reported as WARNING and does
# not fail the run unless UPSTREAM_PINS_STRICT=1.
# Exit codes: 2 unknown pin set; 40 RUSTFLAGS/CARGO_ENCODED_RUSTFLAGS set (they
# would replace the tree's .cargo/config.toml flags); 41 resolving failed;
# 42 a native check failed; 43 a wasm check failed; 44 a known incompatibility
# changed (it compiles now, or fails another way): update KNOWN_BROKEN;
# 45 resolving changed the committed Cargo.lock; 46 patching the tree failed;
# 47 the patched tree does not resolve wasm-bindgen 0.2.106 with
# wasm-bindgen-futures >= 0.4.50 (the pin move did not take).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/tests/patch/fixtures.sh"

PINS="$ROOT/tests/upstream-pins"
export CARGO_TARGET_DIR="$ROOT/target/upstream-pins"
# Outside the repository (its .cargo/config.toml would add its own flags), one
# place per checkout so that repeated runs do not pile up build artifacts.
TREES="${TMPDIR:-/tmp}/plonk-wasm-pool-upstream-pins-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
export RUSTUP_TOOLCHAIN="$TOOLCHAIN"
LOGS="$CARGO_TARGET_DIR/logs"
ALL_SETS=(head y2026 y2025)
declare -A LAYOUT_OF=([head]=proof-systems-kimchi-wasm [y2026]=proof-systems-kimchi-wasm [y2025]=proof-systems-plonk-wasm)
SHOWN_CRATES=(wasm-bindgen js-sys rayon rayon-core spmc wasm-bindgen-futures serde-wasm-bindgen tracing)

# KNOWN_BROKEN["set/step"]: the lines the step's log must contain, '|'-separated, then ' :: ' and why.
# Empty: y2025 (wasm-bindgen =0.2.89, whose wasm-bindgen-futures <= 0.4.40 uses
# the removed nightly feature `stdsimd` under +atomics) was the known
# incompatibility until the patch set moved such pins to =0.2.106.
declare -A KNOWN_BROKEN=()

if [ -n "${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-}" ]; then
  die 40 "RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS is set: it would replace the threaded-wasm flags of the trees' .cargo/config.toml; unset it"
fi

sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=("${ALL_SETS[@]}")
for set in "${sets[@]}"; do
  [ -n "${LAYOUT_OF[$set]:-}" ] || die 2 "unknown pin set '$set': expected one of ${ALL_SETS[*]}"
done
mkdir -p "$LOGS"

passed=0 known=0 first_failure=0
fail() { # code message
  printf 'ERROR: %s\n' "$2" >&2
  [ "$first_failure" -ne 0 ] || first_failure="$1"
}

# check SET STEP CODE CARGO-ARGS...: runs `cargo check` in the set's patched
# tree (so that the tree's own .cargo/config.toml applies).
check() {
  local set="$1" step="$2" code="$3"; shift 3
  local log="$LOGS/$set-$step.log" started=$SECONDS ok=1
  (cd "$TREES/$set" && cargo check "$@") >"$log" 2>&1 || ok=0
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
  rm -rf "${TREES:?}/$set"
  fixture_tree "${LAYOUT_OF[$set]}" "$TREES/$set" "$set"
  if ! "$ROOT/scripts/apply-patches.sh" "$TREES/$set" >"$LOGS/$set-patch.log" 2>&1; then
    cat "$LOGS/$set-patch.log" >&2
    fail 46 "$set: scripts/apply-patches.sh refused the tree; full log: $LOGS/$set-patch.log"
    continue
  fi
  # The tree's own -Z build-std, as its patched xtask passes it to wasm-pack.
  build_std="$(grep -o '"\(-Z\)\?build-std=[a-z_,]*"' "$TREES/$set/xtask/src/main.rs" | tr -d '"' | sed 's/^-Z//')"
  [ "$(printf '%s\n' "$build_std" | wc -l)" = 1 ] && [ -n "$build_std" ] ||
    { fail 46 "$set: the patched xtask has no single build-std argument: '$build_std'"; continue; }
  wasm_args=(--target wasm32-unknown-unknown -Z "$build_std")

  # Resolving writes Cargo.lock if it is missing or out of date (never --locked:
  # the registry mirror may lack what a lock from elsewhere names).
  tree="$LOGS/$set-tree.txt"
  if ! (cd "$TREES/$set" && cargo tree -e normal --target all --prefix none) >"$tree" 2>"$LOGS/$set-tree.log"; then
    tail -n 20 "$LOGS/$set-tree.log" >&2
    fail 41 "$set: resolving its dependencies failed; full log: $LOGS/$set-tree.log"
    continue
  fi
  if ! cmp -s "$TREES/$set/Cargo.lock" "$PINS/$set/Cargo.lock"; then
    if [ "${UPSTREAM_PINS_UPDATE_LOCK:-0}" = 1 ]; then
      cp "$TREES/$set/Cargo.lock" "$PINS/$set/Cargo.lock"
      info "$set: Cargo.lock updated (UPSTREAM_PINS_UPDATE_LOCK=1)"
    else
      diff "$PINS/$set/Cargo.lock" "$TREES/$set/Cargo.lock" | head -n 20 >&2 || true
      fail 45 "$set: the patched tree resolves differently from tests/upstream-pins/$set/Cargo.lock; if that is intended, rerun with UPSTREAM_PINS_UPDATE_LOCK=1"
      continue
    fi
  fi
  resolved=()
  for name in "${SHOWN_CRATES[@]}"; do
    versions="$(awk -v n="$name" '$1 == n { print $2 }' "$tree" | sort -u | paste -sd/ -)"
    resolved+=("$name ${versions:-(none)}")
  done
  info "$set resolved: $(printf '%s, ' "${resolved[@]}" | sed 's/, $//')"
  # The pin move (or upstream's own pin) must have given the versions the unwinding build needs.
  wb="$(awk '$1 == "wasm-bindgen" { print $2 }' "$tree" | sort -u | paste -sd/ -)"
  wbf="$(awk '$1 == "wasm-bindgen-futures" { print $2 }' "$tree" | sort -u | paste -sd/ -)"
  if [ "$wb" != v0.2.106 ] || [ -z "$wbf" ] || ! printf '%s\n' 0.4.50 "${wbf#v}" | sort -V -C; then
    fail 47 "$set: the patched tree resolves wasm-bindgen ${wb:-nothing} and wasm-bindgen-futures ${wbf:-nothing}; expected v0.2.106 and >= 0.4.50"
    continue
  fi

  check "$set" native 42 --all-targets
  check "$set" wasm 43 "${wasm_args[@]}"
  check "$set" wasm-nodejs 43 "${wasm_args[@]}" --features nodejs
done

info "upstream pins (${sets[*]}): $passed checks compile, $known known incompatible$([ "$first_failure" = 0 ] || echo ', and some fail')"
[ "$first_failure" = 0 ] || exit "$first_failure"
