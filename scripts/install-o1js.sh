#!/usr/bin/env bash
# Installs the pool into an application's npm copy of o1js, or takes it out:
#   scripts/install-o1js.sh O1JS [--proof-systems SOURCE]   install (or update)
#   scripts/install-o1js.sh O1JS --check                     what would be done; applied or not
#   scripts/install-o1js.sh O1JS --revert                    npm's files back, byte for byte
# O1JS is the application's node_modules/o1js (a release listed in
# scripts/o1js-npm/versions.json: o1js 2.15.0). SOURCE is a proof-systems
# checkout, or a .tar.gz of one, at the commit versions.json gives for that
# release; without it the commit is cloned into the cache where the network
# allows. Builds the patched kimchi-wasm for Node and the web (cached:
# scripts/build-kimchi-wasm.sh), installs it with o1js's own post-processing,
# our backends and TypeScript layer, rebuilds o1js's two bundles
# (dist/node/index.cjs, dist/web/index.js) and adds the entry `o1js/pool`:
#   import { poolHealth, recycleThreadPool } from 'o1js/pool';       // ES modules, browsers
#   const { poolHealth, recycleThreadPool } = require('o1js/pool');  // CommonJS
# All or nothing, through the transactional installer shared with
# scripts/apply-patches.sh (scripts/lib/transaction.mjs): npm's originals are
# kept in O1JS/.plonk-wasm-pool/ (state.json), a failure puts every file back,
# an install that was killed is rolled back by the next run, and --revert
# leaves o1js as npm left it, folder for folder and byte for byte.
# Exit codes: 2 usage; 3 O1JS or SOURCE missing or not what was expected; 4
# o1js version not supported; 5 o1js's files differ from npm's (or changed
# after installing); 7 --revert: not patched; 8 installing or reverting
# failed (rolled back), or the recorded state cannot be used; 9 building
# kimchi-wasm or the TypeScript layer failed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Installing builds kimchi-wasm: the pinned toolchain and wasm-bindgen CLI first.
case " $* " in *" --check "* | *" --revert "*) ;; *) "$ROOT/scripts/setup.sh" ;; esac
exec node "$ROOT/scripts/o1js-npm/install.mjs" "$@"
