#!/usr/bin/env bash
# Tests of scripts/apply-patches.sh, on the fixture trees (tests/patch/fixtures.sh)
# and on the real proof-systems tree (../shared/upstream, see below):
# every layout is applied, re-applied, checked and reverted (with Cargo.lock
# rewritten in between, as a build does after the pin move); every era of
# proof-systems' wasm flags since the crate left mina (2025-05 to late 2025:
# xtask's build_wasm sets RUSTFLAGS itself and its string is edited, with
# .cargo/config.toml left alone; since late 2025: .cargo/config.toml); the
# wasm-bindgen pin rule (moved from =0.2.100, =0.2.89 and a table form, left at
# =0.2.106, untested versions reported); the scoped guards (xtask's
# kimchi-stubs RUSTFLAGS is not the wasm build's); the recognition of the o1js
# files the patch replaces; then the refusals (conflicts, files modified after
# patching, unknown layouts, a missing TARGET; each naming the era it saw), the
# all-or-nothing commit of the shared installer (scripts/lib/transaction.mjs:
# an injected failure, an interrupted run, its own tests in
# tests/patch/transaction.test.mjs), an update from another version of the
# patch and trees patched with the state format before state.json. The trees
# live under a directory whose name has spaces.
# The real tree: $ROOT/../shared/upstream/proof-systems-89edaa3204.tar.gz
# (o1-labs/proof-systems at 89edaa3204, see ../shared/upstream/README.md). Without
# it the run fails and says what to provide.
#   tests/patch/run.sh       exit 0 when every assertion holds, 1 otherwise
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/fixtures.sh"
APPLY="$ROOT/scripts/apply-patches.sh"
REAL_TARBALL="$ROOT/../shared/upstream/proof-systems-89edaa3204.tar.gz"
# Each case: LAYOUT[:SET] (fixtures.sh): the proof-systems tree of each era
# (y2025-rustflags: the xtask of 2025-05 to late 2025, whose build_wasm sets RUSTFLAGS).
CASES=(o1js-kimchi-wasm o1js-kimchi-wasm:y2026 o1js-plonk-wasm o1js-plonk-wasm:y2025-rustflags proof-systems-kimchi-wasm
  proof-systems-kimchi-wasm:y2026 proof-systems-plonk-wasm proof-systems-plonk-wasm:y2025-rustflags mina)
declare -A CRATE=(
  [o1js-kimchi-wasm]=src/mina/src/lib/crypto/proof-systems/kimchi-wasm
  [o1js-plonk-wasm]=src/mina/src/lib/crypto/proof-systems/plonk-wasm
  [proof-systems-kimchi-wasm]=kimchi-wasm
  [proof-systems-plonk-wasm]=plonk-wasm
  [mina]=src/lib/crypto/kimchi_bindings/wasm
)
# The wasm-bindgen pin of each fixture tree before the patch, and whether it moves.
declare -A PIN_BEFORE=([head]='=0.2.106' [y2026]='=0.2.100' [y2025]='=0.2.89' [y2025-rustflags]='=0.2.89' [mina]='=0.2.87')
# The string xtask's build_wasm sets RUSTFLAGS to in the y2025-rustflags fixture, once patched.
XTASK_RUSTFLAGS_PATCHED='    const RUSTFLAGS: &str = "-C panic=unwind -C llvm-args=-wasm-use-legacy-eh -C link-arg=--import-memory -C link-arg=--shared-memory -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__heap_base -C link-arg=--export=__tls_base -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C target-feature=+atomics,+exception-handling,+bulk-memory,+mutable-globals -C link-arg=--max-memory=4294967296";'
# edit_state STATE-JSON JS: runs JS on the parsed state `s` (scripts/lib/transaction.mjs's format) and writes it back.
edit_state() {
  node -e 'const fs = require("fs"); const f = process.argv[1]; const s = JSON.parse(fs.readFileSync(f, "utf8"));
    new Function("s", "env", process.argv[2])(s, process.env); fs.writeFileSync(f, JSON.stringify(s, null, 2) + "\n");' "$1" "$2"
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SPACES="$WORK/fixture trees with spaces"
mkdir -p "$SPACES"
STARTED=$SECONDS

failures=0 assertions=0 current=""
test_case() { current="$1"; printf '# %s\n' "$1" >&2; }
fail() { failures=$((failures + 1)); printf 'FAIL: %s: %s\n' "$current" "$1" >&2; }
check() { # CONDITION-DESCRIPTION COMMAND...: the command must succeed
  local what="$1"; shift
  assertions=$((assertions + 1))
  "$@" || fail "$what"
}

# run TREE ARGS...: runs the script; sets RC, OUT (stdout) and ERR (stderr).
run() {
  RC=0
  "$APPLY" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
  OUT="$(cat "$WORK/out")" ERR="$(cat "$WORK/err")"
}
rc_is() { [ "$RC" = "$1" ] || { printf '  exit code %s, expected %s; stderr:\n%s\n' "$RC" "$1" "$ERR" >&2; return 1; }; }
err_has() { [[ "$ERR" == *"$1"* ]] || { printf '  stderr lacks "%s":\n%s\n' "$1" "$ERR" >&2; return 1; }; }
err_lacks() { [[ "$ERR" != *"$1"* ]] || { printf '  stderr has "%s":\n%s\n' "$1" "$ERR" >&2; return 1; }; }
out_has() { [[ "$OUT" == *"$1"* ]] || { printf '  stdout lacks "%s":\n%s\n' "$1" "$OUT" >&2; return 1; }; }
modes() { (cd "$1" && find . -printf '%M %p\n' | LC_ALL=C sort); }
same_tree() { diff -r "$1" "$2" >&2 && diff <(modes "$1") <(modes "$2") >&2; } # contents, then permissions
same_file() { cmp "$1" "$2" >&2; }
has_line() { grep -qxF -- "$2" "$1" || { printf '  %s lacks the line: %s\n' "$1" "$2" >&2; return 1; }; }
lacks_text() { ! grep -qF -- "$2" "$1" || { printf '  %s has: %s\n' "$1" "$2" >&2; return 1; }; }
statuses() { # the distinct statuses --check printed, e.g. "applicable verified"
  printf '%s\n' "$OUT" | awk 'NF { print $1 }' | sort -u | paste -sd' ' -
}
statuses_are() { [ "$(statuses)" = "$1" ] || { printf '  statuses "%s", expected "%s":\n%s\n' "$(statuses)" "$1" "$OUT" >&2; return 1; }; }
status_of() { printf '%s\n' "$OUT" | awk -v p="$1" '$2 == p { print $1 }'; }
status_is() { [ "$(status_of "$1")" = "$2" ] || { printf '  %s is "%s", expected "%s"\n' "$1" "$(status_of "$1")" "$2" >&2; return 1; }; }
# only_lines_changed A B N: B differs from A in exactly N changed lines (no lines added or removed)
only_lines_changed() {
  local d; d="$(diff "$1" "$2" | grep -c '^[<>]')" || true
  [ "$d" = $(( $3 * 2 )) ] && [ "$(wc -l <"$1")" = "$(wc -l <"$2")" ] || { diff "$1" "$2" >&2; return 1; }
}
glue_is_upstreams() { # FILE (under bindings-js/): installed = ours but for the glue line, which takes upstream's path
  local glue expected
  if [[ "$1" == node/* ]]; then
    glue="$(grep -v '^ *\*' "$PRISTINE/src/bindings/js/$1" | grep -o 'compiled/_\?node_bindings/[A-Za-z0-9_]*\.cjs' | head -n 1)"
    expected="$(awk -v g="$glue" '/const GLUE =/ { print "const GLUE = '"'"'" g "'"'"';"; next } { print }' "$ROOT/bindings-js/bindings/js/$1")"
  else
    glue="$(grep -o 'web_bindings/[A-Za-z0-9_]*_wasm\.js' "$PRISTINE/src/bindings/js/$1" | head -n 1)"
    expected="$(awk -v g="$glue" "/from '..\/..\/..\/web_bindings\// { print \"import kimchiWasm from '../../../\" g \"';\"; next } { print }" "$ROOT/bindings-js/bindings/js/$1")"
  fi
  [ -n "$glue" ] || { printf '  upstream %s names no glue\n' "$1" >&2; return 1; }
  diff <(printf '%s\n' "$expected") "$TREE/src/bindings/js/$1" >&2
}
imports_resolve() { # TREE: every relative import of o1js's JS/TS resolves in the tree
  local f spec target bad=0
  for f in "$1"/src/bindings/js/node/*.js "$1"/src/bindings/js/web/*.js "$1"/src/lib/proof-system/*.ts; do
    while IFS= read -r spec; do
      case "$spec" in */compiled/* | */web_bindings/*) continue ;; esac # build outputs
      target="$(dirname "$f")/$spec"
      [ -e "$target" ] || [ -e "${target%.js}.ts" ] || { printf '  %s imports %s: not in the tree\n' "${f#"$1"/}" "$spec" >&2; bad=1; }
    done < <(grep -oE "from '\.\.?/[^']+'" "$f" | sed -E "s/^from '(.*)'\$/\1/")
  done
  return "$bad"
}
# cargo_rewrites_lock LOCK: what a build does to Cargo.lock after the pin move
cargo_rewrites_lock() {
  sed -i -e 's/^version = "0\.2\.100"$/version = "0.2.106"/' -e 's/^version = "0\.3\.77"$/version = "0.3.83"/' "$1"
  printf '\n[[package]]\nname = "wasm-bindgen-futures"\nversion = "0.4.56"\n' >>"$1"
}

fresh() { # LAYOUT NAME [SET] -> TREE (patchable) and PRISTINE (a copy to compare with)
  TREE="$SPACES/$2" PRISTINE="$WORK/pristine-$2"
  rm -rf "$TREE" "$PRISTINE"
  fixture_tree "$1" "$TREE" "${3:-}"
  cp -a "$TREE" "$PRISTINE"
}

# ------------------------------------------------------------------ layouts
for case_ in "${CASES[@]}"; do
  layout="${case_%%:*}" set=""
  [ "$case_" = "$layout" ] || set="${case_#*:}"
  crate="${CRATE[$layout]}"
  ps="${crate%/*}/"; [ "$ps" != "$crate/" ] || ps="" # the proof-systems checkout, as a prefix
  if [ -z "$set" ]; then case "$layout" in mina) set=mina ;; *kimchi-wasm) set=head ;; *) set=y2025 ;; esac; fi
  name="$layout-$set"
  fresh "$layout" "$name" "$([ "$set" = mina ] || echo "$set")"
  lock="${ps}Cargo.lock"; [ "$layout" != mina ] || lock="$crate/Cargo.lock"
  pins="${ps}Cargo.toml"; [ "$layout" != mina ] || pins="$crate/Cargo.toml"
  moves=1; [ "$set" != head ] || moves=0

  test_case "$name: --check before applying reports every item applicable, and what it does to the pin"
  run "$TREE" --check
  check "exit 0" rc_is 0
  check "the layout is detected" err_has "layout $layout:"
  if [[ "$layout" == o1js-* ]]; then
    check "items applicable, mina's build.sh verified" statuses_are "applicable verified"
  else
    check "items applicable" statuses_are "applicable"
  fi
  check "rayon.rs is among them" status_is "$crate/src/rayon.rs" applicable
  check "Cargo.lock is to be recorded" status_is "$lock" applicable
  if [[ "$set" == *-rustflags ]]; then
    check "says where this era sets the wasm flags (xtask's build_wasm)" err_has "era: the wasm flags are set by xtask's build_wasm"
    check "xtask is applicable" status_is "${ps}xtask/src/main.rs" applicable
    check ".cargo/config.toml, which this era's build ignores, is no item" test -z "$(status_of "${ps}.cargo/config.toml")"
  elif [ "$layout" != mina ]; then
    check "says where this era sets the wasm flags (.cargo/config.toml)" err_has "era: the wasm flags live in .cargo/config.toml"
    check ".cargo/config.toml is applicable" status_is "${ps}.cargo/config.toml" applicable
  fi
  if [ "$moves" = 1 ]; then
    check "says it will move the pin" err_has "INFO: pin: $pins: will move wasm-bindgen \"${PIN_BEFORE[$set]}\" -> \"=0.2.106\""
    check "says why: the CLI rejects exception handling" err_has 'exceptions proposal not enabled'
    check "says why: stdsimd" err_has 'stdsimd'
  else
    check "says the pin stays" err_has "INFO: pin: $pins: wasm-bindgen \"=0.2.106\" is the version this patch set is built and tested with: left as it is"
  fi
  check "nothing changed" same_tree "$PRISTINE" "$TREE"

  test_case "$name: --dry-run shows the edits and changes nothing"
  run "$TREE" --dry-run
  check "exit 0" rc_is 0
  check "the lib.rs hunk is shown" grep -qF '+#![feature(alloc_error_hook)]' "$WORK/out"
  check "the Cargo.lock record is shown" out_has "would record   $lock"
  check "nothing changed" same_tree "$PRISTINE" "$TREE"

  test_case "$name: apply installs the repository's files byte for byte and edits only their constructs"
  run "$TREE"
  check "exit 0" rc_is 0
  check "rayon.rs is ours" same_file "$ROOT/plonk-wasm/src/rayon.rs" "$TREE/$crate/src/rayon.rs"
  for f in "$ROOT"/plonk-wasm/src/rayon/*; do
    check "rayon/${f##*/} is ours" same_file "$f" "$TREE/$crate/src/rayon/${f##*/}"
  done
  check "lib.rs enables alloc_error_hook" grep -qxF '#![feature(alloc_error_hook)]' "$TREE/$crate/src/lib.rs"
  check "lib.rs keeps pub mod rayon;" grep -qxF 'pub mod rayon;' "$TREE/$crate/src/lib.rs"
  check "lib.rs is upstream's with two lines on top" diff <(tail -n +3 "$TREE/$crate/src/lib.rs") "$PRISTINE/$crate/src/lib.rs"
  check "Cargo.toml gains tracing in [dependencies]" \
    grep -q '^tracing = ' <(awk '/^\[/ { t = $0 } t == "[dependencies]"' "$TREE/$crate/Cargo.toml")
  check "Cargo.toml asks for wasm-bindgen-futures 0.4.50 (a lock holding 0.4.37 is upgraded)" \
    has_line "$TREE/$crate/Cargo.toml" 'wasm-bindgen-futures = "0.4.50"'
  check "Cargo.lock is left as it is (the build rewrites it)" same_file "$PRISTINE/$lock" "$TREE/$lock"
  if [ "$moves" = 1 ]; then
    if [ "$layout" = mina ]; then
      check "wasm-bindgen moved to =0.2.106, in its table form" has_line "$TREE/$pins" 'wasm-bindgen = { version = "=0.2.106" }'
      check "js-sys moved to =0.3.83" has_line "$TREE/$pins" 'js-sys = "=0.3.83"'
    else
      check "wasm-bindgen moved to =0.2.106" has_line "$TREE/$pins" 'wasm-bindgen = "=0.2.106"'
      check "js-sys moved to =0.3.83" has_line "$TREE/$pins" 'js-sys = "=0.3.83"'
      check "the workspace Cargo.toml changed in those two lines only" only_lines_changed "$PRISTINE/$pins" "$TREE/$pins" 2
    fi
  else
    check "the workspace Cargo.toml at =0.2.106 is left alone" same_file "$PRISTINE/$pins" "$TREE/$pins"
  fi
  if [[ "$layout" == mina ]]; then
    for f in node_js web; do
      check "$f/build.sh unwinds" grep -q 'panic=unwind.*build-std=panic_unwind,std' <(tr '\n' ' ' <"$TREE/src/lib/crypto/kimchi_bindings/js/$f/build.sh")
      check "$f/build.sh enables exception handling" grep -qF 'target-feature=+atomics,+exception-handling,+bulk-memory' "$TREE/src/lib/crypto/kimchi_bindings/js/$f/build.sh"
    done
    check "build.sh keeps its permissions" test -x "$TREE/src/lib/crypto/kimchi_bindings/js/node_js/build.sh"
    check "web/build.sh still ends without a newline, as upstream's fixture does" \
      test "$(tail -c1 "$TREE/src/lib/crypto/kimchi_bindings/js/web/build.sh" | od -An -tx1 | tr -d ' ')" != 0a
  elif [[ "$set" == *-rustflags ]]; then
    config="$TREE/${ps}.cargo/config.toml" xtask="$TREE/${ps}xtask/src/main.rs"
    check "the fixture's .cargo/config.toml has a wasm32 table (which this era ignores)" grep -qxF '[target.wasm32-unknown-unknown]' "$config"
    check "build_wasm's RUSTFLAGS string unwinds, with exception handling and the threaded build's link args" has_line "$xtask" "$XTASK_RUSTFLAGS_PATCHED"
    check "xtask's wasm build rebuilds std with panic_unwind" grep -qF '"build-std=panic_unwind,std",' "$xtask"
    check "the wasm-pack command still takes that string" grep -qF '.env("RUSTFLAGS", RUSTFLAGS)' "$xtask"
    check "xtask's kimchi-stubs RUSTFLAGS line is there and untouched" grep -qF 'cmd.env("RUSTFLAGS", rustflags);' "$xtask"
    check "the kimchi-stubs target features are untouched" grep -qF '_ => Some("-C target-feature=+bmi2,+adx".to_string()),' "$xtask"
    check "xtask changed in the RUSTFLAGS and build-std lines only (comments that name them too are left alone)" only_lines_changed "$PRISTINE/${ps}xtask/src/main.rs" "$xtask" 2
    check ".cargo/config.toml, whose wasm32 flags this era's build ignores, is left alone" same_file "$PRISTINE/${ps}.cargo/config.toml" "$config"
  else
    config="$TREE/${ps}.cargo/config.toml" xtask="$TREE/${ps}xtask/src/main.rs"
    check "the wasm32 flags unwind" grep -qF '"-C", "panic=unwind",' "$config"
    check "the wasm32 flags use the legacy exception encoding" grep -qF '"-C", "llvm-args=-wasm-use-legacy-eh",' "$config"
    check "the wasm32 target features gain exception handling" grep -qF '"target-feature=+atomics,+exception-handling,+bulk-memory,+mutable-globals"' "$config"
    check "the aarch64-apple-darwin rustflags are left alone" \
      diff <(grep -A1 -F '[target.aarch64-apple-darwin]' "$PRISTINE/${ps}.cargo/config.toml") <(grep -A1 -F '[target.aarch64-apple-darwin]' "$config")
    check "the new flags stay inside the wasm32 array" \
      diff <(tail -n 4 "$config") <(printf '%s\n' '  "-C", "panic=unwind",' '  "-C", "llvm-args=-wasm-use-legacy-eh",' '  "-C", "link-arg=--export=__heap_base",' ']')
    check "xtask's wasm build rebuilds std with panic_unwind" grep -qF '"build-std=panic_unwind,std",' "$xtask"
    check "xtask's kimchi-stubs RUSTFLAGS line is there and untouched" grep -qF 'cmd.env("RUSTFLAGS", rustflags);' "$xtask"
    check "xtask changed in the build-std line only" only_lines_changed "$PRISTINE/${ps}xtask/src/main.rs" "$xtask" 1
  fi
  if [[ "$layout" == o1js-* ]]; then
    for f in errors pool-abi pool-health coordinator-config coordinator-policy pool-health-coordinator typed-emitter options pool-api health-read workers host/backend host/loss host/protocol host/rayon-worker host/supervisor; do
      check "$f.ts is ours" same_file "$ROOT/bindings-js/lib/proof-system/$f.ts" "$TREE/src/lib/proof-system/$f.ts"
    done
    check "every relative import of the installed files resolves" imports_resolve "$TREE"
    check "o1js's other files are left alone" same_file "$PRISTINE/src/lib/proof-system/zkprogram.ts" "$TREE/src/lib/proof-system/zkprogram.ts"
    for f in node/node-backend.js web/web-backend.js web/worker-helpers.js; do
      check "$f is ours, with upstream's glue path" glue_is_upstreams "$f"
    done
    if [[ "$layout" == o1js-kimchi-wasm ]]; then
      check "the Node glue is kimchi-wasm's" has_line "$TREE/src/bindings/js/node/node-backend.js" "const GLUE = 'compiled/node_bindings/kimchi_wasm.cjs';"
      check "the web glue is kimchi-wasm's" has_line "$TREE/src/bindings/js/web/web-backend.js" "import kimchiWasm from '../../../web_bindings/kimchi_wasm.js';"
    else
      check "the Node glue is 2025 o1js's" has_line "$TREE/src/bindings/js/node/node-backend.js" "const GLUE = 'compiled/_node_bindings/plonk_wasm.cjs';"
      check "the web glue is plonk-wasm's" has_line "$TREE/src/bindings/js/web/worker-helpers.js" "import kimchiWasm from '../../../web_bindings/plonk_wasm.js';"
    fi
    check "upstream's worker-spec.js is left alone" same_file "$PRISTINE/src/bindings/js/web/worker-spec.js" "$TREE/src/bindings/js/web/worker-spec.js"
  fi

  test_case "$name: applying again changes nothing and says so"
  cp -a "$TREE" "$WORK/applied"
  run "$TREE"
  check "exit 0" rc_is 0
  check "it says so" err_has "already applied: nothing changed"
  check "nothing changed" same_tree "$WORK/applied" "$TREE"
  rm -rf "$WORK/applied"

  test_case "$name: --check after applying reports every item applied"
  run "$TREE" --check
  check "exit 0" rc_is 0
  if [[ "$layout" == o1js-* ]]; then
    check "items applied, mina's build.sh verified" statuses_are "applied verified"
  else
    check "items applied" statuses_are "applied"
  fi
  [ "$moves" = 0 ] || check "says it moved the pin" err_has "INFO: pin: $pins: moved wasm-bindgen"

  test_case "$name: a build rewrites Cargo.lock: still applied, and --revert restores the tree byte for byte"
  cargo_rewrites_lock "$TREE/$lock"
  run "$TREE" --check
  check "--check exits 0" rc_is 0
  check "Cargo.lock is still applied (not modified after patching)" status_is "$lock" applied
  check "--check says it was rewritten" out_has "rewritten since (by a build)"
  run "$TREE"
  check "apply exits 0, nothing to do" rc_is 0
  check "apply says already applied" err_has "already applied: nothing changed"
  run "$TREE" --revert
  check "--revert exits 0" rc_is 0
  check "byte-identical to the pristine copy, Cargo.lock included (no state left)" same_tree "$PRISTINE" "$TREE"

  test_case "$name: --revert of an unpatched tree is refused"
  run "$TREE" --revert
  check "exit 7" rc_is 7
  check "nothing changed" same_tree "$PRISTINE" "$TREE"
done

# ------------------------------------------------------- the pin rule, more
test_case "the pin in table form, { version = \"=0.2.89\", ... }, moves and keeps its other keys"
fresh proof-systems-plonk-wasm pin-table
sed -i 's/^wasm-bindgen = "=0.2.89"$/wasm-bindgen = { version = "=0.2.89", features = ["serde-serialize"] }/' "$TREE/Cargo.toml"
sed -i "s/^js-sys = \"=0.3.66\"\$/js-sys = { version = '=0.3.66' }/" "$TREE/Cargo.toml"
check "the fixture has the table form" grep -qF 'wasm-bindgen = { version = "=0.2.89", features' "$TREE/Cargo.toml"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE" --check
check "--check exits 0" rc_is 0
check "--check says it will move the pin" err_has "will move wasm-bindgen \"=0.2.89\" -> \"=0.2.106\", js-sys \"=0.3.66\" -> \"=0.3.83\""
run "$TREE"
check "apply exits 0" rc_is 0
check "wasm-bindgen moved, its features kept" has_line "$TREE/Cargo.toml" 'wasm-bindgen = { version = "=0.2.106", features = ["serde-serialize"] }'
check "js-sys moved, its quotes kept" has_line "$TREE/Cargo.toml" "js-sys = { version = '=0.3.83' }"
run "$TREE" --revert
check "--revert restores the tree byte for byte" same_tree "$PRISTINE" "$TREE"

for v in 0.2.114 0.2.116 0.2.130; do
  test_case "a pin to =$v (known not to build) moves to =0.2.106"
  fresh proof-systems-kimchi-wasm "pin-$v"
  sed -i "s/^wasm-bindgen = \"=0.2.106\"\$/wasm-bindgen = \"=$v\"/" "$TREE/Cargo.toml"
  run "$TREE"
  check "apply exits 0" rc_is 0
  check "says why" err_has "INFO: pin: Cargo.toml: moved wasm-bindgen \"=$v\" -> \"=0.2.106\""
  check "moved" has_line "$TREE/Cargo.toml" 'wasm-bindgen = "=0.2.106"'
done

test_case "a pin newer than 0.2.106 and not known broken is left as it is, and --check says it is untested"
fresh proof-systems-kimchi-wasm pin-untested
sed -i 's/^wasm-bindgen = "=0.2.106"$/wasm-bindgen = "=0.2.110"/' "$TREE/Cargo.toml"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE" --check
check "--check exits 0" rc_is 0
check "--check warns that it is untested" err_has 'WARNING: pin: Cargo.toml: wasm-bindgen "=0.2.110" is untested with this patch set'
run "$TREE"
check "apply exits 0" rc_is 0
check "the pin is left as it is" has_line "$TREE/Cargo.toml" 'wasm-bindgen = "=0.2.110"'
check "so is js-sys" has_line "$TREE/Cargo.toml" 'js-sys = "=0.3.83"'

test_case "a workspace without a wasm-bindgen pin is refused, naming the table"
fresh proof-systems-kimchi-wasm pin-missing
sed -i '/^wasm-bindgen = /d' "$TREE/Cargo.toml"
run "$TREE"
check "exit 5" rc_is 5
check "names the key and the table" err_has "key not found: 'wasm-bindgen' in [workspace.dependencies]"

# ----------------------------------------------------------- scoped guards
test_case "xtask: the kimchi-stubs RUSTFLAGS line is outside build_wasm, and no reason to refuse"
fresh proof-systems-kimchi-wasm xtask-stubs
check "the fixture sets RUSTFLAGS in build_kimchi_stubs" grep -qF 'cmd.env("RUSTFLAGS", rustflags);' "$TREE/xtask/src/main.rs"
run "$TREE" --check
check "--check exits 0" rc_is 0
check "xtask is applicable" status_is xtask/src/main.rs applicable

test_case "xtask of 2025-05 to late 2025: RUSTFLAGS as an inline string over several lines, and no wasm32 table in .cargo/config.toml"
fresh proof-systems-plonk-wasm xtask-rustflags-inline y2025-rustflags
python3 - "$TREE/xtask/src/main.rs" "$TREE/.cargo/config.toml" <<'PY'
import re, sys
x, c = sys.argv[1], sys.argv[2]
s = open(x).read()
s = re.sub(r'\n    const RUSTFLAGS: &str = [^\n]*\n', '\n', s)
s = s.replace('        .env("RUSTFLAGS", RUSTFLAGS)\n', '        .env(\n            "RUSTFLAGS",\n            concat!(\n                "-C target-feature=+atomics,+bulk-memory,+mutable-globals ",\n                "-C link-arg=--max-memory=4294967296",\n            ),\n        )\n')
open(x, 'w').write(s)
t = open(c).read()
t = re.sub(r'\n\[target\.wasm32-unknown-unknown\]\nrustflags = \[\n.*?\n\]\n', '\n', t, flags=re.S)
open(c, 'w').write(t)
PY
check "the fixture sets RUSTFLAGS inline" grep -qxF '            "RUSTFLAGS",' "$TREE/xtask/src/main.rs"
check "the fixture's .cargo/config.toml has no wasm32 table" lacks_text "$TREE/.cargo/config.toml" '[target.wasm32'
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "apply exits 0" rc_is 0
check "says the flags are in build_wasm" err_has "era: the wasm flags are set by xtask's build_wasm"
check "the string unwinds" has_line "$TREE/xtask/src/main.rs" '                "-C panic=unwind -C llvm-args=-wasm-use-legacy-eh -C link-arg=--import-memory -C link-arg=--shared-memory -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__heap_base -C link-arg=--export=__tls_base -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C target-feature=+atomics,+exception-handling,+bulk-memory,+mutable-globals ",'
check ".cargo/config.toml is left alone" same_file "$PRISTINE/.cargo/config.toml" "$TREE/.cargo/config.toml"
run "$TREE" --revert
check "--revert restores the tree byte for byte" same_tree "$PRISTINE" "$TREE"

test_case "xtask: a build_wasm that sets RUSTFLAGS from flags kept outside it is refused, naming the era it saw, and nothing changes"
fresh proof-systems-plonk-wasm xtask-rustflags-elsewhere y2025-rustflags
python3 - "$TREE/xtask/src/main.rs" <<'PY'
import re, sys
x = sys.argv[1]
s = open(x).read()
m = re.search(r'\n    const RUSTFLAGS: &str = ([^\n]*)\n', s)
s = s.replace(m.group(0), '\n').replace('fn build_wasm(out_dir', 'const WASM_RUSTFLAGS: &str = ' + m.group(1) + '\n\nfn build_wasm(out_dir', 1)
s = s.replace('.env("RUSTFLAGS", RUSTFLAGS)', '.env("RUSTFLAGS", WASM_RUSTFLAGS)')
open(x, 'w').write(s)
PY
check "the fixture's build_wasm sets RUSTFLAGS from a constant outside it" grep -qF '.env("RUSTFLAGS", WASM_RUSTFLAGS)' "$TREE/xtask/src/main.rs"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "exit 5" rc_is 5
check "says which era it saw" err_has "era: the wasm flags are set by xtask's build_wasm (RUSTFLAGS, as in proof-systems 2025-05 to late 2025)"
check "names xtask, the function and what is missing" err_has "conflicting: xtask/src/main.rs: anchor not found: '+atomics' in the block of 'fn build_wasm('"
check "names the tree's shape and what is supported" err_has "this tree's build_wasm sets RUSTFLAGS itself, as those did): the flags as one string inside build_wasm"
check "and the other era" err_has "Also supported: a build_wasm that leaves RUSTFLAGS to .cargo/config.toml (proof-systems since late 2025)"
check "says nothing of a proof-systems from 2025-05 on" err_lacks "use a proof-systems from 2025-05 on"
check "nothing changed" same_tree "$PRISTINE" "$TREE"

test_case "xtask of 2025-05 to late 2025, patched by other means, is refused instead of patched twice"
fresh proof-systems-plonk-wasm xtask-rustflags-twice y2025-rustflags
sed -i 's/const RUSTFLAGS: &str = "-C target-feature=/const RUSTFLAGS: \&str = "-C panic=unwind -C target-feature=/' "$TREE/xtask/src/main.rs"
run "$TREE"
check "exit 5" rc_is 5
check "says why" err_has "build_wasm's RUSTFLAGS already unwind: the tree was patched by other means"

test_case "xtask: the build-std argument in other spellings (-Zbuild-std, std listed first)"
fresh proof-systems-kimchi-wasm xtask-spelling
sed -i -e '/^        "-Z",$/d' -e 's/^        "build-std=panic_abort,std",$/        "-Zbuild-std=std,panic_abort",/' "$TREE/xtask/src/main.rs"
run "$TREE"
check "apply exits 0" rc_is 0
check "rebuilds std with panic_unwind" grep -qF '"-Zbuild-std=std,panic_unwind",' "$TREE/xtask/src/main.rs"

test_case "xtask: a tree without build_wasm is refused, naming the function"
fresh proof-systems-kimchi-wasm xtask-no-build-wasm
sed -i 's/fn build_wasm(/fn build_wasm_pack(/' "$TREE/xtask/src/main.rs"
run "$TREE"
check "exit 5" rc_is 5
check "says the construct is missing" err_has "construct not found: no line contains 'fn build_wasm('"
check "says what is supported, in both eras" err_has "Expected the xtask of proof-systems since late 2025 (this tree's xtask has no build_wasm that sets RUSTFLAGS)"

test_case ".cargo/config.toml: a single-line wasm32 rustflags array gets the flags inline"
fresh proof-systems-kimchi-wasm config-one-line
python3 - "$TREE/.cargo/config.toml" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r'(\[target\.wasm32-unknown-unknown\]\nrustflags = )\[\n(.*?)\n\]', lambda m: m.group(1) + '[' + ' '.join(l.strip() for l in m.group(2).split('\n')).rstrip(',') + ']', s, flags=re.S)
open(p, 'w').write(s)
PY
check "the fixture's array is on one line" grep -q '^rustflags = \["-C", "target-feature=+atomics' "$TREE/.cargo/config.toml"
run "$TREE"
check "apply exits 0" rc_is 0
check "the flags are appended inside the array" grep -q '"link-arg=--max-memory=4294967296", "-C", "panic=unwind", "-C", "llvm-args=-wasm-use-legacy-eh", "-C", "link-arg=--export=__heap_base"\]$' "$TREE/.cargo/config.toml"

test_case ".cargo/config.toml: other tables may say panic=unwind; only the wasm32 table counts"
fresh proof-systems-kimchi-wasm config-other-table
printf '\n[target.x86_64-unknown-linux-gnu]\nrustflags = ["-C", "panic=unwind", "-C", "target-feature=+atomics"]\n' >>"$TREE/.cargo/config.toml"
run "$TREE"
check "apply exits 0" rc_is 0
check "the other table is left alone" has_line "$TREE/.cargo/config.toml" 'rustflags = ["-C", "panic=unwind", "-C", "target-feature=+atomics"]'

test_case ".cargo/config.toml without a wasm32 table is refused, naming the table"
fresh proof-systems-kimchi-wasm config-no-table
sed -i 's/^\[target\.wasm32-unknown-unknown\]$/[target.wasm64-unknown-unknown]/' "$TREE/.cargo/config.toml"
run "$TREE"
check "exit 5" rc_is 5
check "names the table" err_has "table not found: '[target.wasm32-unknown-unknown]'"
check "names the era of the tree and the other one" err_has "Expected the .cargo/config.toml of proof-systems since late 2025, where the wasm flags live (this tree's xtask has no build_wasm that sets RUSTFLAGS)"

# ------------------------------------------------- recognising o1js's files
refused_unrecognised() { # FILE EXPECTED-TEXT: the o1js tree in TREE is refused, naming FILE
  run "$TREE"
  check "exit 5" rc_is 5
  check "names the file and says it is not recognised" err_has "conflicting: $1: not an upstream file this patch recognises"
  check "says what it expected" err_has "$2"
  check "says what to do" err_has "git checkout -- $1"
  check "nothing changed" same_tree "$PRISTINE" "$TREE"
  run "$TREE" --check
  check "--check exits 5" rc_is 5
  check "--check marks it conflicting" status_is "$1" conflicting
}

test_case "an unrecognised node-backend.js (no startWorkers) is refused instead of overwritten"
fresh o1js-kimchi-wasm unknown-node-backend
printf '%s\n' "// a local rewrite" "import wasm_ from '../../compiled/node_bindings/kimchi_wasm.cjs';" \
  "export { wasm_ as wasm, withThreadPool };" "const withThreadPool = (run) => run();" >"$TREE/src/bindings/js/node/node-backend.js"
cp -a "$TREE/." "$PRISTINE/"
refused_unrecognised src/bindings/js/node/node-backend.js "expected o1js's Node backend"

test_case "an unrecognised workers.ts is refused instead of overwritten"
fresh o1js-plonk-wasm unknown-workers
sed -i 's/^function WithThreadPool(/function withPool(/' "$TREE/src/lib/proof-system/workers.ts"
cp -a "$TREE/." "$PRISTINE/"
refused_unrecognised src/lib/proof-system/workers.ts "no line contains 'function WithThreadPool('"

test_case "o1js 3.0's web backend (worker-rpc.js forwarding) is refused, saying why"
fresh o1js-kimchi-wasm web-rpc
sed -i "s#^import { workerSpec } from './worker-spec.js';#import { prepareWorkerRpcRequest } from './worker-rpc.js';\n&#" "$TREE/src/bindings/js/web/web-backend.js"
cp -a "$TREE/." "$PRISTINE/"
refused_unrecognised src/bindings/js/web/web-backend.js "worker-rpc.js"

test_case "an o1js web backend that no longer runs wasm-bindgen (no main worker) is refused"
fresh o1js-kimchi-wasm web-napi
printf '%s\n' "import * as napi from '../../../web_bindings/kimchi_napi.wasi-browser.js';" \
  "export { initializeBindings, wasm, withThreadPool };" "let wasm;" "async function initializeBindings() { wasm = napi; }" \
  "const withThreadPool = (run) => run();" >"$TREE/src/bindings/js/web/web-backend.js"
cp -a "$TREE/." "$PRISTINE/"
refused_unrecognised src/bindings/js/web/web-backend.js "no line contains 'function mainWorker('"

test_case "an unrecognised rayon.rs is refused instead of overwritten"
fresh proof-systems-kimchi-wasm unknown-rayon
printf '%s\n' '// a local pool' 'pub fn run_in_pool<R>(op: impl FnOnce() -> R) -> R { op() }' >"$TREE/kimchi-wasm/src/rayon.rs"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "exit 5" rc_is 5
check "names the file" err_has "conflicting: kimchi-wasm/src/rayon.rs: not an upstream file this patch recognises"
check "nothing changed" same_tree "$PRISTINE" "$TREE"

test_case "a file that already holds our installed version counts as applied, and reverts to itself"
fresh o1js-plonk-wasm holds-ours
cp "$ROOT/bindings-js/lib/proof-system/workers.ts" "$TREE/src/lib/proof-system/workers.ts"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE" --check
check "--check exits 0" rc_is 0
check "workers.ts is applied" status_is src/lib/proof-system/workers.ts applied
run "$TREE"
check "apply exits 0" rc_is 0
run "$TREE" --check
check "everything is applied" statuses_are "applied verified"
run "$TREE" --revert
check "--revert restores the tree byte for byte (our workers.ts stays, as it was)" same_tree "$PRISTINE" "$TREE"

# ---------------------------------------------------------------- refusals
test_case "a missing anchor is refused, naming the file and the anchor, and nothing changes"
fresh proof-systems-kimchi-wasm no-anchor
sed -i '/^pub mod rayon;$/d' "$TREE/kimchi-wasm/src/lib.rs"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "exit 5" rc_is 5
check "names the file" err_has "kimchi-wasm/src/lib.rs"
check "names the anchor" err_has "'pub mod rayon;'"
check "nothing changed" same_tree "$PRISTINE" "$TREE"
run "$TREE" --check
check "--check exits 5" rc_is 5
check "--check marks lib.rs conflicting" status_is kimchi-wasm/src/lib.rs conflicting
check "--check marks the rest applicable" status_is kimchi-wasm/Cargo.toml applicable

test_case "an ambiguous table is refused and nothing changes"
fresh proof-systems-plonk-wasm ambiguous
printf '\n[dependencies]\n' >>"$TREE/plonk-wasm/Cargo.toml"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "exit 5" rc_is 5
check "says it is ambiguous" err_has "table is ambiguous, 2 headers are '[dependencies]'"
check "nothing changed" same_tree "$PRISTINE" "$TREE"

test_case "a build configuration the patch cannot handle is refused (mina's build.sh exporting RUSTFLAGS)"
fresh o1js-plonk-wasm rustflags
sed -i 's/^set -euo pipefail$/set -euo pipefail\nexport RUSTFLAGS="-C target-feature=+atomics"/' \
  "$TREE/src/mina/src/lib/crypto/kimchi_bindings/js/node_js/build.sh"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "exit 5" rc_is 5
check "names build.sh and RUSTFLAGS" err_has "kimchi_bindings/js/node_js/build.sh: line 6 contains 'RUSTFLAGS'"
check "nothing changed" same_tree "$PRISTINE" "$TREE"

test_case "a comment that mentions RUSTFLAGS is no reason to refuse"
fresh o1js-kimchi-wasm rustflags-comment
sed -i 's/^set -euo pipefail$/# RUSTFLAGS come from proof-systems\/.cargo\/config.toml\n&/' \
  "$TREE/src/mina/src/lib/crypto/kimchi_bindings/js/web/build.sh"
run "$TREE" --check
check "--check exits 0" rc_is 0

test_case "a file of ours that already exists upstream is refused and nothing changes"
fresh o1js-kimchi-wasm in-the-way
printf 'export class PoolHealthCoordinator {}\n' >"$TREE/src/lib/proof-system/pool-health-coordinator.ts"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "exit 5" rc_is 5
check "names the file" err_has "src/lib/proof-system/pool-health-coordinator.ts: exists upstream"
check "nothing changed" same_tree "$PRISTINE" "$TREE"

test_case "a tree patched by other means is refused instead of patched twice"
fresh proof-systems-kimchi-wasm twice
sed -i '1i #![feature(alloc_error_hook)]' "$TREE/kimchi-wasm/src/lib.rs"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "exit 5" rc_is 5
check "says what is already there" err_has "contains '#![feature(alloc_error_hook)]'"
check "nothing changed" same_tree "$PRISTINE" "$TREE"

test_case "a patched file modified after patching blocks apply and --revert, and nothing changes"
fresh o1js-kimchi-wasm modified
run "$TREE"
check "apply exits 0" rc_is 0
printf '// a local change\n' >>"$TREE/src/mina/src/lib/crypto/proof-systems/kimchi-wasm/src/rayon/flows.rs"
cp -a "$TREE" "$WORK/modified"
run "$TREE"
check "apply exits 6" rc_is 6
check "apply names the file" err_has "kimchi-wasm/src/rayon/flows.rs: modified after patching"
check "apply changed nothing" same_tree "$WORK/modified" "$TREE"
run "$TREE" --revert
check "--revert exits 6" rc_is 6
check "--revert names the file" err_has "modified after patching: src/mina/src/lib/crypto/proof-systems/kimchi-wasm/src/rayon/flows.rs"
check "--revert changed nothing" same_tree "$WORK/modified" "$TREE"
run "$TREE" --check
check "--check exits 6" rc_is 6
check "--check marks it modified" status_is src/mina/src/lib/crypto/proof-systems/kimchi-wasm/src/rayon/flows.rs modified
rm -rf "$WORK/modified"

test_case "an unknown layout is refused and nothing changes"
mkdir -p "$SPACES/unknown/src"
printf 'not an upstream checkout\n' >"$SPACES/unknown/src/README"
cp -a "$SPACES/unknown" "$WORK/unknown"
run "$SPACES/unknown"
check "exit 4" rc_is 4
check "says the layout is unknown" err_has "unknown layout"
check "nothing changed" same_tree "$WORK/unknown" "$SPACES/unknown"

test_case "an o1js checkout without its submodules is refused with a hint"
fresh o1js-kimchi-wasm no-submodules
rm -rf "$TREE/src/mina/src/lib/crypto/proof-systems"
run "$TREE"
check "exit 4" rc_is 4
check "gives the hint" err_has "git submodule update --init --recursive"

test_case "two modes at once, or no TARGET, is a usage error"
fresh mina usage
run "$TREE" --check --revert
check "two modes: exit 2" rc_is 2
check "two modes: prints the usage" err_has "usage: scripts/apply-patches.sh TARGET"
run
check "no TARGET: exit 2" rc_is 2
check "nothing changed" same_tree "$PRISTINE" "$TREE"

test_case "a missing TARGET is refused"
run "$SPACES/does not exist"
check "exit 3" rc_is 3
check "says so" err_has "does not exist"

# ------------------------------------------------------------ all or nothing
test_case "a failure in the middle of the commit rolls every file back"
fresh o1js-plonk-wasm fail-midway
RC=0; PLONK_WASM_PATCH_FAIL_AFTER=7 "$APPLY" "$TREE" >/dev/null 2>"$WORK/err" || RC=$?; ERR="$(cat "$WORK/err")"
check "exit 8" rc_is 8
check "says it restored the files" err_has "every file written so far was restored"
check "byte-identical to the pristine copy (no state left)" same_tree "$PRISTINE" "$TREE"

test_case "a failure after every file was written rolls them back too"
fresh mina fail-at-end
run "$TREE" --dry-run
files="$(grep -c '^would \(create\|edit\|replace\|remove\)' "$WORK/out")" || true
RC=0; PLONK_WASM_PATCH_FAIL_AFTER="$files" "$APPLY" "$TREE" >/dev/null 2>"$WORK/err" || RC=$?; ERR="$(cat "$WORK/err")"
check "exit 8" rc_is 8
check "it failed after all $files files" err_has "failing after all files"
check "byte-identical to the pristine copy" same_tree "$PRISTINE" "$TREE"

test_case "a killed run is rolled back by the next one, which then applies"
fresh proof-systems-kimchi-wasm killed
RC=0; PLONK_WASM_PATCH_FAIL_AFTER=9 PLONK_WASM_PATCH_CRASH=1 "$APPLY" "$TREE" >/dev/null 2>&1 || RC=$?
check "the killed run exits 8" rc_is 8
check "it left a half-patched tree" test -f "$TREE/kimchi-wasm/src/rayon/generation.rs"
run "$TREE" --check
check "--check refuses with exit 8" rc_is 8
check "--check says to roll back" err_has "was interrupted"
run "$TREE" --revert
check "--revert rolls back, then finds nothing to revert (exit 7)" rc_is 7
check "the tree is pristine again" same_tree "$PRISTINE" "$TREE"
PLONK_WASM_PATCH_FAIL_AFTER=9 PLONK_WASM_PATCH_CRASH=1 "$APPLY" "$TREE" >/dev/null 2>&1 || true
run "$TREE"
check "apply exits 0" rc_is 0
check "apply says it restored the interrupted run" err_has "a previous run was interrupted"
run "$TREE" --check
check "everything is applied" statuses_are "applied"
run "$TREE" --revert
check "--revert restores the tree byte for byte" same_tree "$PRISTINE" "$TREE"

test_case "a killed process (SIGKILL in the middle of the commit) is rolled back by the next run"
fresh proof-systems-plonk-wasm sigkill
# A FIFO in place of the journal's target would block forever; instead, kill
# the run as soon as the journal exists (the commit runs for milliseconds, so
# the kill may also land after it: then the tree is simply patched).
(
  "$APPLY" "$TREE" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 2000); do [ -e "$TREE/.plonk-wasm-pool-patch/journal.json" ] && break; sleep 0.001; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
)
run "$TREE" --revert
check "--revert after the kill exits 0 (reverted) or 7 (the kill came before anything was written)" test "$RC" = 0 -o "$RC" = 7
check "the tree is pristine" same_tree "$PRISTINE" "$TREE"

test_case "a tree patched by another version of the patch is updated, and still reverts byte for byte"
fresh proof-systems-plonk-wasm update
run "$TREE"
# As if an earlier version of this repository had installed another job.rs
# (and a module it no longer has): the state records what was installed then.
state="$TREE/.plonk-wasm-pool-patch/state.json" old="$TREE/plonk-wasm/src/rayon/job.rs"
printf '// an earlier version\n' >>"$old"
printf '// gone since\n' >"$TREE/plonk-wasm/src/rayon/retired.rs"
export SUM="$(sha256sum <"$old" | cut -d' ' -f1)" GONE="$(sha256sum <"$TREE/plonk-wasm/src/rayon/retired.rs" | cut -d' ' -f1)"
edit_state "$state" '
  s.files.find((f) => f.path === "plonk-wasm/src/rayon/job.rs").installed = env.SUM;
  s.files.push({ path: "plonk-wasm/src/rayon/retired.rs", original: "absent", installed: env.GONE });'
check "the state is the shared installer's, version 1" grep -qF '"format": "plonk-wasm-pool-install-state"' "$state"
run "$TREE" --check
check "--check exits 0" rc_is 0
check "--check marks job.rs outdated" status_is plonk-wasm/src/rayon/job.rs outdated
run "$TREE"
check "apply exits 0" rc_is 0
check "job.rs is ours again" same_file "$ROOT/plonk-wasm/src/rayon/job.rs" "$old"
check "the retired module is gone" test ! -e "$TREE/plonk-wasm/src/rayon/retired.rs"
run "$TREE" --revert
check "--revert restores the tree byte for byte" same_tree "$PRISTINE" "$TREE"

test_case "a tree patched before Cargo.lock was recorded: apply records it, --revert restores it"
fresh proof-systems-kimchi-wasm no-lock-record
run "$TREE"
edit_state "$TREE/.plonk-wasm-pool-patch/state.json" 's.files = s.files.filter((f) => f.installed !== null);'
run "$TREE" --check
check "--check exits 0" rc_is 0
check "Cargo.lock is to be recorded" status_is Cargo.lock applicable
run "$TREE"
check "apply exits 0" rc_is 0
run "$TREE" --check
check "everything is applied" statuses_are "applied"
cargo_rewrites_lock "$TREE/Cargo.lock"
run "$TREE" --revert
check "--revert restores the tree byte for byte" same_tree "$PRISTINE" "$TREE"

test_case "TARGET given as a relative path with spaces works"
fresh mina relative
RC=0; (cd "$SPACES" && "$APPLY" "relative" >/dev/null 2>&1) || RC=$?
check "apply exits 0" rc_is 0
check "state recorded" test -f "$TREE/.plonk-wasm-pool-patch/state.json"
RC=0; (cd "$SPACES" && "$APPLY" "./relative" --revert >/dev/null 2>&1) || RC=$?
check "--revert exits 0" rc_is 0
check "byte-identical to the pristine copy" same_tree "$PRISTINE" "$TREE"

test_case "a tree patched with the state format before state.json (tab separated) is read, kept when nothing changes, reverted byte for byte"
fresh proof-systems-kimchi-wasm legacy-state
run "$TREE"
# The state as the earlier version wrote it, from the same facts.
to_legacy_state() {
  node -e 'const fs = require("fs"); const dir = process.argv[1]; const s = JSON.parse(fs.readFileSync(dir + "/state.json", "utf8"));
    const lines = ["# Written by plonk-wasm pool scripts/apply-patches.sh; --revert uses it. Do not edit.", "layout\t" + s.meta.layout, "source\t" + s.meta.source];
    for (const f of s.files) lines.push(f.installed === null ? ["record", f.original, f.path].join("\t") : ["item", f.installed, f.original, f.path].join("\t"));
    for (const d of s.folders) lines.push("dir\t" + d);
    fs.writeFileSync(dir + "/state", lines.join("\n") + "\n"); fs.rmSync(dir + "/state.json");' "$1"
}
to_legacy_state "$TREE/.plonk-wasm-pool-patch"
check "the fixture has the old state only" test -f "$TREE/.plonk-wasm-pool-patch/state" -a ! -f "$TREE/.plonk-wasm-pool-patch/state.json"
cp -a "$TREE" "$WORK/legacy-applied"
run "$TREE" --check
check "--check exits 0" rc_is 0
check "everything is applied" statuses_are "applied"
run "$TREE"
check "apply exits 0" rc_is 0
check "apply says already applied" err_has "already applied: nothing changed"
check "nothing changed, the old state included" same_tree "$WORK/legacy-applied" "$TREE"
rm -rf "$WORK/legacy-applied"
cargo_rewrites_lock "$TREE/Cargo.lock"
run "$TREE" --revert
check "--revert exits 0" rc_is 0
check "--revert restores the tree byte for byte, Cargo.lock included" same_tree "$PRISTINE" "$TREE"

test_case "a tree patched by another version with the old state format is updated to state.json, and reverts byte for byte"
fresh proof-systems-kimchi-wasm legacy-update
run "$TREE"
printf '// an earlier version\n' >>"$TREE/kimchi-wasm/src/rayon/job.rs"
export SUM="$(sha256sum <"$TREE/kimchi-wasm/src/rayon/job.rs" | cut -d' ' -f1)"
edit_state "$TREE/.plonk-wasm-pool-patch/state.json" 's.files.find((f) => f.path === "kimchi-wasm/src/rayon/job.rs").installed = env.SUM;'
to_legacy_state "$TREE/.plonk-wasm-pool-patch"
run "$TREE" --check
check "--check marks job.rs outdated" status_is kimchi-wasm/src/rayon/job.rs outdated
run "$TREE"
check "apply exits 0" rc_is 0
check "job.rs is ours again" same_file "$ROOT/plonk-wasm/src/rayon/job.rs" "$TREE/kimchi-wasm/src/rayon/job.rs"
check "the state is state.json now, the old one gone" test -f "$TREE/.plonk-wasm-pool-patch/state.json" -a ! -e "$TREE/.plonk-wasm-pool-patch/state"
run "$TREE" --revert
check "--revert restores the tree byte for byte" same_tree "$PRISTINE" "$TREE"

test_case "the shared installer on its own (tests/patch/transaction.test.mjs: async steps, folders, kills, the formats before version 1)"
node_tests() { node --test "$HERE/transaction.test.mjs" >"$WORK/node-test" 2>&1 || { cat "$WORK/node-test" >&2; return 1; }; }
check "node --test tests/patch/transaction.test.mjs passes" node_tests
check "it ran its tests" grep -q '^# pass [1-9]' "$WORK/node-test"

# -------------------------------------------------- the real proof-systems
# o1-labs/proof-systems at 89edaa3204 (2026-03-30), the tree whose kimchi-wasm
# is the one in npm o1js@2.15.0: wasm-bindgen =0.2.100, the kimchi-stubs
# RUSTFLAGS line in xtask. As a proof-systems checkout, and inside an o1js
# checkout built from our o1js fixture files.
real_tree_cycle() { # LABEL LAYOUT PS-PREFIX
  local label="$1" layout="$2" ps="$3" started
  test_case "$label: --check is fast, exits 0 and reports the pin move with its reasons"
  started=$(date +%s%N)
  run "$TREE" --check
  check "exit 0" rc_is 0
  check "--check took less than 5 s ($(( ($(date +%s%N) - started) / 1000000 )) ms)" test $(( ($(date +%s%N) - started) / 1000000 )) -lt 5000
  check "layout $layout" err_has "layout $layout:"
  check "reports the pin move" err_has "INFO: pin: ${ps}Cargo.toml: will move wasm-bindgen \"=0.2.100\" -> \"=0.2.106\", js-sys \"=0.3.77\" -> \"=0.3.83\""
  check "and why (the CLI rejects exception handling)" err_has 'exceptions proposal not enabled'
  check "and why (stdsimd)" err_has 'stdsimd'
  check "xtask is applicable (the kimchi-stubs RUSTFLAGS line is not in the way)" status_is "${ps}xtask/src/main.rs" applicable
  check "the era is read from build_wasm, not from the kimchi-stubs RUSTFLAGS line: the flags live in .cargo/config.toml" \
    err_has "era: the wasm flags live in .cargo/config.toml (xtask's build_wasm leaves RUSTFLAGS alone"
  check ".cargo/config.toml is applicable" status_is "${ps}.cargo/config.toml" applicable
  check "nothing is in the way" err_lacks "conflict"

  test_case "$label: apply"
  run "$TREE"
  check "exit 0" rc_is 0
  check "wasm-bindgen =0.2.106" has_line "$TREE/${ps}Cargo.toml" 'wasm-bindgen = "=0.2.106"'
  check "js-sys =0.3.83" has_line "$TREE/${ps}Cargo.toml" 'js-sys = "=0.3.83"'
  check "the workspace Cargo.toml changed in those two lines only" only_lines_changed "$PRISTINE/${ps}Cargo.toml" "$TREE/${ps}Cargo.toml" 2
  check "xtask changed in the build-std line only" only_lines_changed "$PRISTINE/${ps}xtask/src/main.rs" "$TREE/${ps}xtask/src/main.rs" 1
  check "xtask's wasm build rebuilds std with panic_unwind" grep -qF '"build-std=panic_unwind,std",' "$TREE/${ps}xtask/src/main.rs"
  check "the kimchi-stubs RUSTFLAGS line is untouched" grep -qF 'cmd.env("RUSTFLAGS", rustflags);' "$TREE/${ps}xtask/src/main.rs"
  check "the wasm32 flags unwind" grep -qF '"-C", "panic=unwind",' "$TREE/${ps}.cargo/config.toml"
  check "the aarch64-apple-darwin rustflags are untouched" has_line "$TREE/${ps}.cargo/config.toml" 'rustflags = ["-C", "link-args=-Wl,-undefined,dynamic_lookup"]'
  check "kimchi-wasm asks for wasm-bindgen-futures 0.4.50" has_line "$TREE/${ps}kimchi-wasm/Cargo.toml" 'wasm-bindgen-futures = "0.4.50"'
  check "rayon.rs is ours" same_file "$ROOT/plonk-wasm/src/rayon.rs" "$TREE/${ps}kimchi-wasm/src/rayon.rs"

  test_case "$label: applying again changes nothing"
  cp -a "$TREE" "$WORK/real-applied"
  run "$TREE"
  check "exit 0" rc_is 0
  check "says already applied" err_has "already applied: nothing changed"
  check "nothing changed" same_tree "$WORK/real-applied" "$TREE"
  rm -rf "$WORK/real-applied"

  test_case "$label: --check after applying says applied"
  run "$TREE" --check
  check "exit 0" rc_is 0
  if [[ "$layout" == o1js-* ]]; then check "applied" statuses_are "applied verified"; else check "applied" statuses_are "applied"; fi
  check "says the pin was moved" err_has "INFO: pin: ${ps}Cargo.toml: moved wasm-bindgen"

  test_case "$label: cargo rewrites Cargo.lock; --revert restores the whole tree byte for byte"
  cargo_rewrites_lock "$TREE/${ps}Cargo.lock"
  check "the lock now names wasm-bindgen 0.2.106" grep -qx 'version = "0.2.106"' "$TREE/${ps}Cargo.lock"
  run "$TREE" --check
  check "--check exits 0" rc_is 0
  check "Cargo.lock is not 'modified after patching'" status_is "${ps}Cargo.lock" applied
  run "$TREE" --revert
  check "--revert exits 0" rc_is 0
  check "the whole tree, Cargo.lock included, is byte-identical to upstream's" same_tree "$PRISTINE" "$TREE"
}

if [ -f "$REAL_TARBALL" ]; then
  mkdir -p "$SPACES/real" "$WORK/real-pristine"
  tar -xzf "$REAL_TARBALL" -C "$SPACES/real"
  TREE="$SPACES/real/proof-systems" PRISTINE="$WORK/real-pristine/proof-systems"
  cp -a "$TREE" "$PRISTINE"
  real_tree_cycle "real proof-systems 89edaa3204" proof-systems-kimchi-wasm ""

  TREE="$SPACES/real-o1js" PRISTINE="$WORK/real-o1js-pristine"
  cp -R "$FIXTURES/o1js/." "$TREE/" 2>/dev/null || { mkdir -p "$TREE"; cp -R "$FIXTURES/o1js/." "$TREE/"; }
  mkdir -p "$TREE/src/mina/src/lib/crypto"
  tar -xzf "$REAL_TARBALL" -C "$TREE/src/mina/src/lib/crypto"
  cp -a "$TREE" "$PRISTINE"
  real_tree_cycle "o1js fixture with the real proof-systems submodule" o1js-kimchi-wasm "src/mina/src/lib/crypto/proof-systems/"
else
  test_case "the real proof-systems tree"
  check "the real tree is there: provide $REAL_TARBALL, the tarball of o1-labs/proof-systems at commit 89edaa32049864b677395e2bd82d979702a3667f with one top folder proof-systems/ (see ../shared/upstream/README.md); CI clones ../shared beside the repository" false
fi

if [ "$failures" -gt 0 ]; then
  printf 'ERROR: apply-patches tests: %d of %d assertions failed\n' "$failures" "$assertions" >&2
  exit 1
fi
printf 'INFO: apply-patches tests: %d assertions hold (%d layout cases, the real tree, %d s)\n' "$assertions" "${#CASES[@]}" "$(( SECONDS - STARTED ))" >&2
