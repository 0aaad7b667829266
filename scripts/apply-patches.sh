#!/usr/bin/env bash
# Installs this repository's pool into an upstream checkout, or takes it out.
#   scripts/apply-patches.sh TARGET             apply (or update) the patch set
#   scripts/apply-patches.sh TARGET --check     per item: applied / applicable / conflicting
#   scripts/apply-patches.sh TARGET --dry-run   what apply would change, with diffs of the edits
#   scripts/apply-patches.sh TARGET --revert    restore every changed file byte for byte
# TARGET is an o1js checkout with submodules, a proof-systems checkout
# (plonk-wasm/ or kimchi-wasm/) or a mina checkout (kimchi_bindings/wasm); the
# layouts and what each changes are data in patches/ (see patches/README.md).
# Installed files are this repository's files, byte for byte (one declared
# import line aside), and replace only upstream files the patch set
# recognises; edits are small hunks anchored on upstream lines, each limited
# to the construct it is about (a Rust function, a TOML table). The wasm
# build flags are edited where the tree's era sets them: the RUSTFLAGS string
# of xtask's build_wasm (proof-systems 2025-05 to late 2025), or
# .cargo/config.toml (since late 2025).
# The wasm-bindgen pin: a tree pinned below =0.2.106 (or to a known-broken
# release) is moved to wasm-bindgen =0.2.106 / js-sys =0.3.83, which the
# unwinding build needs; --check says what it does to the pin, and why.
#
# All or nothing: everything is computed first, then staged and committed
# file by file with a journal; a failure rolls every file back, and a run that
# was killed is rolled back by the next one (the transactional installer
# shared with scripts/install-o1js.sh, scripts/lib/transaction.mjs). What was
# done is recorded in TARGET/.plonk-wasm-pool-patch/ (state.json: sha256 of
# upstream's files and of what was installed, the folders created; upstream's
# originals, Cargo.lock included), so a second apply changes nothing and
# --revert restores the originals, Cargo.lock included even after a build
# rewrote it, and removes the files and folders the patch added. Nothing is
# changed when an item conflicts or when a patched file was modified after
# patching.
#
# Exit codes: 0 done (or nothing to do; --check/--dry-run: nothing in the way);
# 2 usage; 3 TARGET missing or not a directory; 4 layout unknown or ambiguous;
# 5 an item conflicts (anchor not found or ambiguous, file missing, in the way
# or not recognised); 6 patched files were modified after patching;
# 7 --revert: TARGET is not patched; 8 writing failed and was rolled back, an
# interrupted run must be rolled back first, or the recorded state cannot be
# used (a format this version does not know); 9 this repository's patch set
# is incomplete or malformed; 10 Node.js >= 20 is missing.
# For tests: PLONK_WASM_PATCH_FAIL_AFTER=N fails the commit after N files
# (PLONK_WASM_PATCH_CRASH=1: exits there without rolling back, like a kill).
# The engine is scripts/patch/apply.mjs (Node.js >= 20, no dependencies).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v node >/dev/null 2>&1; then
  printf 'ERROR: scripts/apply-patches.sh needs Node.js >= 20 (node is not on PATH)\n' >&2
  exit 10
fi
exec node "$ROOT/scripts/patch/apply.mjs" "$@"
