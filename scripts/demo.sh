#!/usr/bin/env bash
# README's first command: set up, build what is missing or out of date (the
# 128 MiB Node build, the TypeScript layer, the o1js-shaped stage), then run
# the demo: a long-lived prover under a memory cap, about half a minute.
# Exits 1 if any proof fails. Writes build/demo/timeline.svg.
#   scripts/demo.sh [jobs]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/ensure-staged.sh" node-small
node "$ROOT/scripts/demo.js" "$@"
