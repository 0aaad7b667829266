#!/usr/bin/env bash
# Installs everything the build and tests need, idempotently:
#   - the pinned nightly (rust-toolchain.toml) with rust-src, rustfmt and the wasm32 target
#     (RUSTUP_AUTO_INSTALL=0 on our machines: a toolchain file alone installs nothing);
#   - the wasm-bindgen CLI matching the exact crate pin, cached per user outside the clone
#     ($TOOLS: ~/.cache/plonk-wasm-pool/tools, or under $PLONK_WASM_CACHE);
#   - npm packages from package.json, when it declares any;
#   - Debian's chromium for the browser tests (apt-get, as root), unless CHROMIUM names one.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v rustup >/dev/null || die 10 "rustup is not installed; install it from your OS or rustup's installer"
command -v node >/dev/null || die 11 "node (>= 20) is not installed"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || die 11 "node $(node --version) is too old: expected 20 or newer"

if rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1 \
  && rustup component list --toolchain "$TOOLCHAIN" --installed 2>/dev/null | grep -q '^rust-src' \
  && rustup component list --toolchain "$TOOLCHAIN" --installed 2>/dev/null | grep -q '^rustfmt' \
  && rustup target list --toolchain "$TOOLCHAIN" --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  info "toolchain $TOOLCHAIN is installed"
else
  info "installing toolchain $TOOLCHAIN"
  rustup toolchain install "$TOOLCHAIN" --profile minimal \
    --component rust-src --component rustfmt --target wasm32-unknown-unknown
fi

wasm_bindgen_ok() { [ -x "$WASM_BINDGEN" ] && "$WASM_BINDGEN" --version | grep -q " $WASM_BINDGEN_VERSION\$"; }
if wasm_bindgen_ok; then
  info "wasm-bindgen $WASM_BINDGEN_VERSION is installed ($WASM_BINDGEN)"
else
  mkdir -p "$TOOLS"
  # One install at a time: clones running side by side share the cache.
  exec 8>"$TOOLS/.install.lock"
  flock 8
  if wasm_bindgen_ok; then
    info "wasm-bindgen $WASM_BINDGEN_VERSION is installed ($WASM_BINDGEN)"
  else
    info "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION into $TOOLS (about 2-3 minutes, once per machine)"
    # Not --locked: the registry mirror lacks a version the CLI's lock file names.
    cargo +"$TOOLCHAIN" install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" \
      --root "$TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION"
  fi
  exec 8>&-
fi

if node -e 'const p=require(process.argv[1]);process.exit(Object.keys({...p.dependencies,...p.devDependencies}).length?0:1)' "$ROOT/package.json"; then
  # npm ls fails when a declared package is missing or does not satisfy package.json.
  if [ -d "$ROOT/node_modules" ] && (cd "$ROOT" && npm ls --depth=0 >/dev/null 2>&1); then
    info "npm packages are installed"
  else
    info "installing npm packages"
    (cd "$ROOT" && npm install --no-audit --no-fund)
  fi
fi
# Browser tests: Debian's Chromium, driven by npm playwright-core (Playwright's
# own browser download cannot reach its servers from our machines).
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  info "chromium is installed ($("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"))"
else
  command -v apt-get >/dev/null || die 12 "$CHROMIUM is missing and apt-get is not available: install Chromium and set CHROMIUM=<path>"
  (( EUID == 0 )) || die 12 "$CHROMIUM is missing: run scripts/setup.sh as root to apt-get install chromium, or set CHROMIUM=<path>"
  info "installing Debian's chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have empty package lists: the install alone would find nothing.
  apt-get update -qq || die 12 "apt-get update failed; chromium cannot be installed"
  apt-get install -y -qq chromium >/dev/null || die 12 "apt-get install chromium failed"
  [ -x "$CHROMIUM" ] || die 12 "apt-get installed chromium but $CHROMIUM is not there; set CHROMIUM=<path>"
fi

info "setup complete"
