#!/usr/bin/env bash
# Tests of scripts/apply-patches.sh on the fixture trees (tests/patch/fixtures.sh):
# every layout is applied, re-applied, checked and reverted; then the refusals
# (conflicts, files modified after patching, unknown layouts, a missing
# TARGET), the all-or-nothing commit (an injected failure, an interrupted
# run) and an update from another version of the patch. The trees live under
# a directory whose name has spaces.
#   tests/patch/run.sh       exit 0 when every assertion holds, 1 otherwise
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/fixtures.sh"
APPLY="$ROOT/scripts/apply-patches.sh"
LAYOUTS=(o1js-kimchi-wasm o1js-plonk-wasm proof-systems-kimchi-wasm proof-systems-plonk-wasm mina)
declare -A CRATE=(
  [o1js-kimchi-wasm]=src/mina/src/lib/crypto/proof-systems/kimchi-wasm
  [o1js-plonk-wasm]=src/mina/src/lib/crypto/proof-systems/plonk-wasm
  [proof-systems-kimchi-wasm]=kimchi-wasm
  [proof-systems-plonk-wasm]=plonk-wasm
  [mina]=src/lib/crypto/kimchi_bindings/wasm
)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SPACES="$WORK/fixture trees with spaces"
mkdir -p "$SPACES"

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
modes() { (cd "$1" && find . -printf '%M %p\n' | LC_ALL=C sort); }
same_tree() { diff -r "$1" "$2" >&2 && diff <(modes "$1") <(modes "$2") >&2; } # contents, then permissions
same_file() { cmp "$1" "$2" >&2; }
statuses() { # the distinct statuses --check printed, e.g. "applicable verified"
  printf '%s\n' "$OUT" | awk 'NF { print $1 }' | sort -u | paste -sd' ' -
}
statuses_are() { [ "$(statuses)" = "$1" ] || { printf '  statuses "%s", expected "%s":\n%s\n' "$(statuses)" "$1" "$OUT" >&2; return 1; }; }
status_of() { printf '%s\n' "$OUT" | awk -v p="$1" '$2 == p { print $1 }'; }
status_is() { [ "$(status_of "$1")" = "$2" ] || { printf '  %s is "%s", expected "%s"\n' "$1" "$(status_of "$1")" "$2" >&2; return 1; }; }
glue_renamed() { # FILE (under bindings-js/): installed = ours but for the one glue import line
  local old new
  case "$1" in
    node/*) old="import wasm_ from '../../compiled/_node_bindings/plonk_wasm.cjs';"
      new="import wasm_ from '../../compiled/node_bindings/kimchi_wasm.cjs';" ;;
    *) old="import plonkWasm from '../../../web_bindings/plonk_wasm.js';"
      new="import plonkWasm from '../../../web_bindings/kimchi_wasm.js';" ;;
  esac
  diff <(diff "$ROOT/bindings-js/$1" "$TREE/src/bindings/js/$1" | grep '^[<>]') <(printf '%s\n' "< $old" "> $new") >&2
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

fresh() { # LAYOUT NAME -> TREE (patchable) and PRISTINE (a copy to compare with)
  TREE="$SPACES/$2" PRISTINE="$WORK/pristine-$2"
  rm -rf "$TREE" "$PRISTINE"
  fixture_tree "$1" "$TREE"
  cp -a "$TREE" "$PRISTINE"
}

# ------------------------------------------------------------------ layouts
for layout in "${LAYOUTS[@]}"; do
  crate="${CRATE[$layout]}"
  fresh "$layout" "$layout"

  test_case "$layout: --check before applying reports every item applicable and changes nothing"
  run "$TREE" --check
  check "exit 0" rc_is 0
  check "the layout is detected" err_has "layout $layout:"
  if [[ "$layout" == o1js-* ]]; then
    check "items applicable, mina's build.sh verified" statuses_are "applicable verified"
  else
    check "items applicable" statuses_are "applicable"
  fi
  check "rayon.rs is among them" status_is "$crate/src/rayon.rs" applicable
  check "nothing changed" same_tree "$PRISTINE" "$TREE"

  test_case "$layout: --dry-run shows the edits and changes nothing"
  run "$TREE" --dry-run
  check "exit 0" rc_is 0
  check "the lib.rs hunk is shown" grep -qF '+#![feature(alloc_error_hook)]' "$WORK/out"
  check "nothing changed" same_tree "$PRISTINE" "$TREE"

  test_case "$layout: apply installs the repository's files byte for byte"
  run "$TREE"
  check "exit 0" rc_is 0
  check "rayon.rs is ours" same_file "$ROOT/plonk-wasm/src/rayon.rs" "$TREE/$crate/src/rayon.rs"
  for f in "$ROOT"/plonk-wasm/src/rayon/*; do
    check "rayon/${f##*/} is ours" same_file "$f" "$TREE/$crate/src/rayon/${f##*/}"
  done
  check "lib.rs enables alloc_error_hook" grep -qxF '#![feature(alloc_error_hook)]' "$TREE/$crate/src/lib.rs"
  check "lib.rs keeps pub mod rayon;" grep -qxF 'pub mod rayon;' "$TREE/$crate/src/lib.rs"
  check "lib.rs is upstream's with two lines on top" diff <(tail -n +3 "$TREE/$crate/src/lib.rs") "$PRISTINE/$crate/src/lib.rs"
  check "Cargo.toml gains tracing" grep -q '^tracing = ' "$TREE/$crate/Cargo.toml"
  if [[ "$layout" == mina ]]; then
    for f in node_js web; do
      check "$f/build.sh unwinds" grep -q 'panic=unwind.*build-std=panic_unwind,std' <(tr '\n' ' ' <"$TREE/src/lib/crypto/kimchi_bindings/js/$f/build.sh")
    done
    check "build.sh keeps its permissions" test -x "$TREE/src/lib/crypto/kimchi_bindings/js/node_js/build.sh"
    check "web/build.sh still ends without a newline, as upstream's fixture does" \
      test "$(tail -c1 "$TREE/src/lib/crypto/kimchi_bindings/js/web/build.sh" | od -An -tx1 | tr -d ' ')" != 0a
  else
    ps="${crate%/*}"; [ "$ps" != "$crate" ] || ps=.
    check "the wasm flags unwind" grep -qF '"-C", "panic=unwind"' "$TREE/$ps/.cargo/config.toml"
    check "xtask rebuilds std with panic_unwind" grep -qF '"build-std=panic_unwind,std"' "$TREE/$ps/xtask/src/main.rs"
  fi
  if [[ "$layout" == o1js-* ]]; then
    for f in errors pool-health coordinator-config coordinator-policy pool-health-coordinator typed-emitter pool-host workers; do
      check "$f.ts is ours" same_file "$ROOT/bindings-js/$f.ts" "$TREE/src/lib/proof-system/$f.ts"
    done
    check "every relative import of the installed files resolves" imports_resolve "$TREE"
    check "o1js's other files are left alone" same_file "$PRISTINE/src/lib/proof-system/zkprogram.ts" "$TREE/src/lib/proof-system/zkprogram.ts"
    for f in node/node-backend.js web/web-backend.js web/worker-helpers.js; do
      if [[ "$layout" == o1js-kimchi-wasm ]]; then
        check "$f differs from ours in the glue import only" glue_renamed "$f"
      else
        check "$f is ours" same_file "$ROOT/bindings-js/$f" "$TREE/src/bindings/js/$f"
      fi
    done
    check "upstream's worker-spec.js is left alone" same_file "$PRISTINE/src/bindings/js/web/worker-spec.js" "$TREE/src/bindings/js/web/worker-spec.js"
  fi

  test_case "$layout: applying again changes nothing and says so"
  cp -a "$TREE" "$WORK/applied"
  run "$TREE"
  check "exit 0" rc_is 0
  check "it says so" err_has "already applied: nothing changed"
  check "nothing changed" same_tree "$WORK/applied" "$TREE"
  rm -rf "$WORK/applied"

  test_case "$layout: --check after applying reports every item applied"
  run "$TREE" --check
  check "exit 0" rc_is 0
  if [[ "$layout" == o1js-* ]]; then
    check "items applied, mina's build.sh verified" statuses_are "applied verified"
  else
    check "items applied" statuses_are "applied"
  fi

  test_case "$layout: --revert restores the tree byte for byte"
  run "$TREE" --revert
  check "exit 0" rc_is 0
  check "byte-identical to the pristine copy (no state left)" same_tree "$PRISTINE" "$TREE"

  test_case "$layout: --revert of an unpatched tree is refused"
  run "$TREE" --revert
  check "exit 7" rc_is 7
  check "nothing changed" same_tree "$PRISTINE" "$TREE"
done

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

test_case "an ambiguous anchor is refused and nothing changes"
fresh proof-systems-plonk-wasm ambiguous
printf '\n[dependencies]\n' >>"$TREE/plonk-wasm/Cargo.toml"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "exit 5" rc_is 5
check "says it is ambiguous" err_has "anchor is ambiguous, 2 lines match: '[dependencies]'"
check "nothing changed" same_tree "$PRISTINE" "$TREE"

test_case "a build configuration the patch cannot handle is refused (mina's build.sh exporting RUSTFLAGS)"
fresh o1js-plonk-wasm rustflags
sed -i 's/^set -euo pipefail$/set -euo pipefail\nexport RUSTFLAGS="-C target-feature=+atomics"/' \
  "$TREE/src/mina/src/lib/crypto/kimchi_bindings/js/node_js/build.sh"
cp -a "$TREE/." "$PRISTINE/"
run "$TREE"
check "exit 5" rc_is 5
check "names build.sh and RUSTFLAGS" err_has "kimchi_bindings/js/node_js/build.sh: line 5 contains 'RUSTFLAGS'"
check "nothing changed" same_tree "$PRISTINE" "$TREE"

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
printf '// a local change\n' >>"$TREE/src/mina/src/lib/crypto/proof-systems/kimchi-wasm/src/rayon/pool.rs"
cp -a "$TREE" "$WORK/modified"
run "$TREE"
check "apply exits 6" rc_is 6
check "apply names the file" err_has "kimchi-wasm/src/rayon/pool.rs: modified after patching"
check "apply changed nothing" same_tree "$WORK/modified" "$TREE"
run "$TREE" --revert
check "--revert exits 6" rc_is 6
check "--revert names the file" err_has "modified after patching: src/mina/src/lib/crypto/proof-systems/kimchi-wasm/src/rayon/pool.rs"
check "--revert changed nothing" same_tree "$WORK/modified" "$TREE"
run "$TREE" --check
check "--check exits 6" rc_is 6
check "--check marks it modified" status_is src/mina/src/lib/crypto/proof-systems/kimchi-wasm/src/rayon/pool.rs modified
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
RC=0; PLONK_WASM_PATCH_FAIL_AFTER=18 "$APPLY" "$TREE" >/dev/null 2>"$WORK/err" || RC=$?; ERR="$(cat "$WORK/err")"
check "exit 8" rc_is 8
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

test_case "a tree patched by another version of the patch is updated, and still reverts byte for byte"
fresh proof-systems-plonk-wasm update
run "$TREE"
# As if an earlier version of this repository had installed another job.rs
# (and a module it no longer has): the state records what was installed then.
state="$TREE/.plonk-wasm-pool-patch/state" old="$TREE/plonk-wasm/src/rayon/job.rs"
printf '// an earlier version\n' >>"$old"
printf '// gone since\n' >"$TREE/plonk-wasm/src/rayon/retired.rs"
awk -v sum="$(sha256sum <"$old" | cut -d' ' -f1)" -v gone="$(sha256sum <"$TREE/plonk-wasm/src/rayon/retired.rs" | cut -d' ' -f1)" \
  'BEGIN { FS = OFS = "\t" } $4 == "plonk-wasm/src/rayon/job.rs" { $2 = sum } { print }
   END { print "item", gone, "absent", "plonk-wasm/src/rayon/retired.rs" }' "$state" >"$state.new"
mv "$state.new" "$state"
run "$TREE" --check
check "--check exits 0" rc_is 0
check "--check marks job.rs outdated" status_is plonk-wasm/src/rayon/job.rs outdated
run "$TREE"
check "apply exits 0" rc_is 0
check "job.rs is ours again" same_file "$ROOT/plonk-wasm/src/rayon/job.rs" "$old"
check "the retired module is gone" test ! -e "$TREE/plonk-wasm/src/rayon/retired.rs"
run "$TREE" --revert
check "--revert restores the tree byte for byte" same_tree "$PRISTINE" "$TREE"

test_case "TARGET given as a relative path with spaces works"
fresh mina relative
RC=0; (cd "$SPACES" && "$APPLY" "relative" >/dev/null 2>&1) || RC=$?
check "apply exits 0" rc_is 0
check "state recorded" test -f "$TREE/.plonk-wasm-pool-patch/state"
RC=0; (cd "$SPACES" && "$APPLY" "./relative" --revert >/dev/null 2>&1) || RC=$?
check "--revert exits 0" rc_is 0
check "byte-identical to the pristine copy" same_tree "$PRISTINE" "$TREE"

if [ "$failures" -gt 0 ]; then
  printf 'ERROR: apply-patches tests: %d of %d assertions failed\n' "$failures" "$assertions" >&2
  exit 1
fi
printf 'INFO: apply-patches tests: %d assertions hold (%d layouts)\n' "$assertions" "${#LAYOUTS[@]}" >&2
