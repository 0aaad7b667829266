#!/usr/bin/env bash
# Prepares the real-o1js test application (tests/o1js/app) twice, from npm:
#   build/o1js-app/stock     o1js as npm ships it (the pinned version, package-lock.json)
#   build/o1js-app/patched   the same, then scripts/install-o1js.sh with kimchi-wasm
#                            built from PROOF_SYSTEMS (cached: scripts/build-kimchi-wasm.sh)
# PROOF_SYSTEMS defaults to ../shared/upstream/proof-systems-89edaa3204.tar.gz
# beside this repository; without it this fails, saying what to provide.
# Idempotent: npm installs only when the lock changed, install-o1js.sh only
# when the patch set or the build changed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROOF_SYSTEMS="${PROOF_SYSTEMS:-$ROOT/../shared/upstream/proof-systems-89edaa3204.tar.gz}"
if [ ! -e "$PROOF_SYSTEMS" ]; then
  die 3 "the real-o1js tests need upstream proof-systems at commit 89edaa32049864b677395e2bd82d979702a3667f (the tree whose kimchi-wasm matches npm o1js 2.15.0): put its .tar.gz (one top folder, proof-systems/) at $PROOF_SYSTEMS, or set PROOF_SYSTEMS=<checkout or .tar.gz>"
fi

APPS="$ROOT/build/o1js-app"
for app in stock patched; do
  dir="$APPS/$app"
  mkdir -p "$dir"
  cp "$ROOT"/tests/o1js/app/* "$dir/"
  # npm's record of what it installed, compared with the lock we ship.
  if [ -f "$dir/node_modules/.package-lock.json" ] && (cd "$dir" && npm ls --depth=0 >/dev/null 2>&1) &&
    [ "$(node -p 'require(process.argv[1]).packages["node_modules/o1js"].version' "$dir/node_modules/.package-lock.json")" = \
      "$(node -p 'require(process.argv[1]).packages["node_modules/o1js"].version' "$dir/package-lock.json")" ]; then
    info "$app app: npm packages are installed"
  else
    info "$app app: installing o1js from npm (npm install, by the committed lock)"
    (cd "$dir" && npm install --no-audit --no-fund >&2)
  fi
done
# A stock copy that was patched by hand is put back by npm.
if [ -d "$APPS/stock/node_modules/o1js/.plonk-wasm-pool" ]; then
  info "stock app: o1js was patched; reinstalling it from npm"
  (cd "$APPS/stock" && rm -rf node_modules && npm install --no-audit --no-fund >&2)
fi
"$ROOT/scripts/install-o1js.sh" "$APPS/patched/node_modules/o1js" --proof-systems "$PROOF_SYSTEMS"
info "o1js apps ready: $APPS/stock, $APPS/patched"
