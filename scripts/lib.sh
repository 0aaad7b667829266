# Shared by the scripts: paths, pinned versions, logging. Source it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Per-user, outside any clone (as the kimchi-wasm builds are): a fresh clone reuses the
# wasm-bindgen CLI instead of compiling it again (3 minutes on 2 cores, 10 under load).
CACHE_ROOT="${PLONK_WASM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plonk-wasm-pool}"
TOOLS="$CACHE_ROOT/tools"
TOOLCHAIN="$(sed -n 's/^channel = "\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")"
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' "$ROOT/plonk-wasm/Cargo.toml")"
WASM_BINDGEN="$TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"
PKG="$ROOT/pkg"

info() { printf 'INFO: %s\n' "$*" >&2; }
die() { local code="$1"; shift; printf 'ERROR: %s\n' "$*" >&2; exit "$code"; }
