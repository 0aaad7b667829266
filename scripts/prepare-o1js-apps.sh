#!/usr/bin/env bash
# Prepares the real-o1js apps (tests/o1js/app and tests/isolates/app in each):
#   scripts/prepare-o1js-apps.sh [stock] [patched]      (default: both)
#   build/o1js-app/stock     o1js as npm ships it (the pinned version, by the
#                            committed package-lock.json)
#   build/o1js-app/patched   the package (scripts/pack.sh, run first) installed
#                            as o1js from its tarball
# scripts/test.sh prepares only the stock app: its install test makes the
# patched app from a local registry, as a user would. The benchmark and the
# demo use this. Idempotent: npm installs only when the lock or the package
# changed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(stock patched)
for app in "${apps[@]}"; do
  case "$app" in stock | patched) ;; *) die 2 "unknown app '$app': expected stock or patched" ;; esac
done

APPS="$ROOT/build/o1js-app"
copy_app_files() {
  mkdir -p "$1/isolates"
  cp "$ROOT"/tests/o1js/app/*.js "$ROOT"/tests/o1js/app/*.mjs "$ROOT"/tests/o1js/app/*.cjs "$1/"
  cp -r "$ROOT"/tests/isolates/app/. "$1/isolates/"
}

for app in "${apps[@]}"; do
  dir="$APPS/$app"
  mkdir -p "$dir"
  copy_app_files "$dir"
  if [ "$app" = stock ]; then
    cp "$ROOT/tests/o1js/app/package.json" "$ROOT/tests/o1js/app/package-lock.json" "$dir/"
    # npm's record of what it installed, compared with the lock we ship; a copy patched in place is put back by npm.
    if [ -f "$dir/node_modules/.package-lock.json" ] && [ ! -d "$dir/node_modules/o1js/.plonk-wasm-pool" ] &&
      (cd "$dir" && npm ls --depth=0 >/dev/null 2>&1) &&
      [ "$(node -p 'require(process.argv[1]).packages["node_modules/o1js"].version' "$dir/node_modules/.package-lock.json")" = \
        "$(node -p 'require(process.argv[1]).packages["node_modules/o1js"].version' "$dir/package-lock.json")" ]; then
      info "stock app: npm packages are installed"
    else
      info "stock app: installing o1js from npm (npm install, by the committed lock)"
      (cd "$dir" && rm -rf node_modules && npm install --no-audit --no-fund >&2)
    fi
  else
    index="$ROOT/build/packages/packages.json"
    [ -f "$index" ] || die 3 "$index is missing: run scripts/pack.sh first"
    tarball="$(node -p 'require(process.argv[1])["2.15.0"].file' "$index")"
    key="$(node -p 'require(process.argv[1])["2.15.0"].key' "$index")"
    installed="$(node -p 'try { require(process.argv[1]).plonkWasmPool.key } catch { "" }' "$dir/node_modules/o1js/package.json" 2>/dev/null || true)"
    if [ "$installed" = "$key" ]; then
      info "patched app: the package ($key) is installed"
    else
      info "patched app: installing the package as o1js from $tarball"
      printf '{ "private": true, "type": "module", "dependencies": { "o1js": "file:%s" } }\n' "$ROOT/$tarball" >"$dir/package.json"
      # An .npmrc the package tests left there names their local registry, gone once they ended.
      (cd "$dir" && rm -rf node_modules package-lock.json .npmrc && npm install --no-audit --no-fund >&2)
    fi
  fi
done
info "o1js apps ready: ${apps[*]} in $APPS"
