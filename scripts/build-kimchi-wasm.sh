#!/usr/bin/env bash
# Builds upstream's kimchi-wasm (or plonk-wasm) with this repository's pool,
# from a real proof-systems source tree, for Node and/or the web:
#   scripts/build-kimchi-wasm.sh SOURCE VARIANT...
#     SOURCE   a proof-systems checkout (directory) or a .tar.gz holding one top folder
#     VARIANT  node (wasm-bindgen --target nodejs, cargo feature nodejs) | web (--target web)
# Prints, on stdout, one line per variant: the directory holding the glue
# (<lib>.js), <lib>_bg.wasm, <lib>.d.ts and build-info.json.
#
# What it does, like upstream's `make build-nodejs|build-web` (`cargo xtask
# build-wasm`, i.e. wasm-pack), but without wasm-pack, which would download
# its own wasm-bindgen: copy the tree, patch the copy with
# scripts/apply-patches.sh, then `cargo build --release --target
# wasm32-unknown-unknown -Z build-std=panic_unwind,std` of the crate with the
# copy's .cargo/config.toml flags, then this repository's wasm-bindgen CLI.
# One deviation from upstream, for offline machines: the workspace member
# kimchi-napi (napi-rs from git, unreachable here; kimchi-wasm does not use it)
# is dropped from the copy's members.
#
# Cached, keyed by its inputs (the source's content, the patch set, the
# toolchain, the wasm-bindgen version, this script): a second run with the same
# inputs prints the same directories at once. Cache:
# ${PLONK_WASM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plonk-wasm-pool}/kimchi-wasm/
# (cargo's target directory is kept per source, so a changed patch set only
# rebuilds the crate: about 2.5 min instead of 5-7 min on 2 cores).
# Exit codes: 2 usage; 3 SOURCE missing or not a proof-systems tree; 40
# RUSTFLAGS set; 46 patching failed; 47 cargo failed; 48 wasm-bindgen failed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -ge 2 ] || die 2 "usage: scripts/build-kimchi-wasm.sh SOURCE node|web..."
source_arg="$1"
shift
for variant in "$@"; do
  case "$variant" in node | web) ;; *) die 2 "unknown variant '$variant': expected node or web" ;; esac
done
[ -e "$source_arg" ] || die 3 "SOURCE '$source_arg' does not exist: expected a proof-systems checkout or a .tar.gz of one"
if [ -n "${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-}" ]; then
  die 40 "RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS is set: it would replace the tree's threaded-wasm flags (.cargo/config.toml); unset it"
fi
[ -x "$WASM_BINDGEN" ] || die 3 "wasm-bindgen $WASM_BINDGEN_VERSION is not installed; run scripts/setup.sh"

CACHE="$CACHE_ROOT/kimchi-wasm"
mkdir -p "$CACHE"

# The source's identity: a tarball's bytes, or a directory's files (build
# outputs and VCS data aside), by path and content.
source_hash() {
  if [ -f "$1" ]; then
    sha256sum <"$1" | cut -c1-16
  else
    (cd "$1" && find . \( -name target -o -name .git -o -name node_modules -o -name .plonk-wasm-pool-patch \) -prune -o -type f -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  fi
}
# The patch set's identity: everything apply-patches.sh installs or reads.
patch_set_hash() {
  (cd "$ROOT" && find patches plonk-wasm/src/rayon.rs plonk-wasm/src/rayon scripts/apply-patches.sh scripts/patch \
    scripts/build-kimchi-wasm.sh rust-toolchain.toml -type f -print0 2>/dev/null |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

src_id="$(source_hash "$source_arg")"
key="$src_id-$(printf '%s %s %s' "$(patch_set_hash)" "$TOOLCHAIN" "$WASM_BINDGEN_VERSION" | sha256sum | cut -c1-16)"
out_root="$CACHE/builds/$key"
work="$CACHE/work/$src_id"
export CARGO_TARGET_DIR="$CACHE/target/$src_id"
mkdir -p "$out_root" "$CACHE/work"

# One build per source at a time (the work tree and target dir are shared).
exec 9>"$CACHE/work/$src_id.lock"
flock 9

# Copies the pristine source into the work tree (mtimes kept, so cargo
# rebuilds only what the patch changed) and patches it.
prepare_tree() {
  rm -rf "$work"
  mkdir -p "$work"
  if [ -f "$source_arg" ]; then
    tar -xzf "$source_arg" -C "$work"
    local tops=("$work"/*)
    [ ${#tops[@]} -eq 1 ] && [ -d "${tops[0]}" ] || die 3 "SOURCE '$source_arg' must hold one top folder (a proof-systems checkout)"
    mv "${tops[0]}" "$work/tree"
  else
    cp -a "$source_arg" "$work/tree"
    rm -rf "$work/tree/target" "$work/tree/.plonk-wasm-pool-patch"
  fi
  local tree="$work/tree"
  [ -f "$tree/Cargo.toml" ] && { [ -d "$tree/kimchi-wasm" ] || [ -d "$tree/plonk-wasm" ]; } ||
    die 3 "SOURCE '$source_arg' is not a proof-systems tree: expected Cargo.toml and kimchi-wasm/ (or plonk-wasm/) at its top"
  info "patching the copy of $source_arg (scripts/apply-patches.sh)"
  "$ROOT/scripts/apply-patches.sh" "$tree" >&2 || die 46 "scripts/apply-patches.sh could not patch $source_arg"
  # Offline: drop the napi-rs member (see the header); nothing else changes.
  sed -i '/^[[:space:]]*"kimchi-napi",[[:space:]]*$/d' "$tree/Cargo.toml"
}

crate_dir() { if [ -d "$1/kimchi-wasm" ]; then echo "$1/kimchi-wasm"; else echo "$1/plonk-wasm"; fi; }
# A key from the first table of a Cargo.toml that sets it, e.g. `name` of [package] or [lib].
toml_field() { # FILE TABLE KEY
  awk -v table="[$2]" -v key="$3" '
    /^\[/ { inside = ($0 == table); next }
    inside && $1 == key { sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit }' "$1"
}

prepared=""
for variant in "$@"; do
  out="$out_root/$variant"
  if [ -f "$out/build-info.json" ]; then
    info "kimchi-wasm $variant: cached ($out)"
    printf '%s\n' "$out"
    continue
  fi
  [ -n "$prepared" ] || { prepare_tree; prepared=1; }
  tree="$work/tree"
  crate="$(crate_dir "$tree")"
  package="$(toml_field "$crate/Cargo.toml" package name)"
  lib="$(toml_field "$crate/Cargo.toml" lib name)"
  lib="${lib:-${package//-/_}}"
  features=()
  target=web
  if [ "$variant" = node ]; then features=(--features nodejs); target=nodejs; fi
  info "building $package for $variant from $source_arg (cargo, then wasm-bindgen $WASM_BINDGEN_VERSION --target $target)"
  started=$(date +%s)
  (cd "$tree" && cargo +"$TOOLCHAIN" build --release --target wasm32-unknown-unknown -p "$package" \
    -Z build-std=panic_unwind,std "${features[@]}") >&2 || die 47 "cargo build of $package ($variant) failed"
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  # No name section (10.7 of 18 MB here): upstream ships its wasm without one too (wasm-pack release builds).
  "$WASM_BINDGEN" --target "$target" --remove-name-section --out-dir "$out.tmp" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/$lib.wasm" >&2 ||
    die 48 "wasm-bindgen $WASM_BINDGEN_VERSION failed on $lib.wasm ($variant)"
  commit="$(git -C "$source_arg" rev-parse HEAD 2>/dev/null || echo unknown)"
  printf '{ "variant": "%s", "target": "%s", "crate": "%s", "lib": "%s", "source": "%s", "sourceId": "%s", "commit": "%s", "key": "%s", "toolchain": "%s", "wasmBindgen": "%s", "buildSeconds": %s }\n' \
    "$variant" "$target" "$package" "$lib" "$(basename "$source_arg")" "$src_id" "$commit" "$key" "$TOOLCHAIN" \
    "$WASM_BINDGEN_VERSION" "$(($(date +%s) - started))" >"$out.tmp/build-info.json"
  rm -rf "$out"
  mv "$out.tmp" "$out"
  info "built kimchi-wasm $variant in $(($(date +%s) - started)) s: $out"
  printf '%s\n' "$out"
done
