#!/usr/bin/env bash
# README's first command: set up, build the Node wasm, run the demo.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build-wasm.sh" node
node "$ROOT/scripts/demo.js"
