#!/usr/bin/env bash
# Builds the packages an o1js app installs instead of npm's o1js, into build/packages/:
#   scripts/pack.sh [--proof-systems SOURCE] [RELEASE...]
# One package per o1js release in scripts/o1js-npm/versions.json (today
# 2.15.0): npm's o1js with the pool (kimchi-wasm built from upstream
# proof-systems with this repository's pool, the backends, o1js/pool,
# o1js/isolates), o1js's license and NOTICE.md. An app installs it as o1js:
#   "dependencies": { "o1js": "npm:@plonk-wasm-pool/o1js@2.15.0" }
# SOURCE is the proof-systems checkout (or .tar.gz) at the commit versions.json
# gives; default: $PROOF_SYSTEMS, else ../shared/upstream's tarball beside this
# repository, else a clone where the network allows. Prints each package's path
# on stdout; build/packages/packages.json describes them (version, size,
# integrity, what they were built from). Cached: unchanged inputs rebuild nothing.
# Exit codes: 2 usage; 3 a source is missing; 5 npm's o1js is not what
# versions.json says; 8 packing failed; 9 building kimchi-wasm or the
# TypeScript failed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/scripts/setup.sh"
# One build at a time in a clone (the work folder under build/packages is shared).
mkdir -p "$ROOT/build/packages"
exec 9>"$ROOT/build/packages/.pack.lock"
flock 9
exec node "$ROOT/scripts/o1js-npm/pack.mjs" "$@"
