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
# import line aside); edits are small hunks anchored on upstream lines.
#
# All or nothing: everything is computed and staged first, then committed file
# by file with a journal; a failure rolls every file back, and a run that was
# killed is rolled back by the next one. What was done is recorded in
# TARGET/.plonk-wasm-pool-patch/ (upstream's originals, sha256 of what was
# installed), so a second apply changes nothing and --revert restores the
# originals. Nothing is changed when an item conflicts or when a patched file
# was modified after patching.
#
# Exit codes: 0 done (or nothing to do; --check/--dry-run: nothing in the way);
# 2 usage; 3 TARGET missing or not a directory; 4 layout unknown or ambiguous;
# 5 an item conflicts (anchor not found or ambiguous, file missing or in the
# way); 6 patched files were modified after patching; 7 --revert: TARGET is not
# patched; 8 writing failed and was rolled back, or an interrupted run must be
# rolled back first; 9 this repository's patch set is incomplete.
# For tests: PLONK_WASM_PATCH_FAIL_AFTER=N fails the commit after N files
# (PLONK_WASM_PATCH_CRASH=1: exits there without rolling back, like a kill).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PATCHES="$ROOT/patches"
STATE_NAME=".plonk-wasm-pool-patch"

usage() {
  die 2 "usage: scripts/apply-patches.sh TARGET [--check | --dry-run | --revert]"
}

mode=apply target=""
for arg in "$@"; do
  case "$arg" in
    --check | --dry-run | --revert) [ "$mode" = apply ] || usage; mode="${arg#--}" ;;
    -h | --help) sed -n '2,30p' "$0" >&2; exit 0 ;;
    -*) usage ;;
    *) [ -z "$target" ] || usage; target="$arg" ;;
  esac
done
[ -n "$target" ] || usage
[ -d "$target" ] || die 3 "TARGET '$target' does not exist or is not a directory"
TARGET="$(cd "$target" && pwd)"
[ "$TARGET" != "$ROOT" ] || die 4 "TARGET is this repository; give an upstream checkout"
STATE="$TARGET/$STATE_NAME"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

sha() { if [ -e "$1" ]; then sha256sum <"$1" | cut -d' ' -f1; else echo absent; fi; }
trim() { local s="${1#"${1%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

# ------------------------------------------------------------------ hunks
# A hunk file (patches/hunks/*.hunk) is a list of operations, each `@@ OP: ARG`
# followed by the lines it inserts (`+text`); `#` lines are comments. Lines are
# compared with surrounding whitespace removed.
#   @@ start / @@ end        insert at the top / bottom of the file
#   @@ after: L / before: L  insert after / before the one line that is L
#   @@ replace: L            replace the one line that is L by the + lines
#   @@ substitute: T         replace the one occurrence of T (in one line) by the + line
#   @@ require: L            a line must be L            @@ require-key: K   a TOML key K must be set
#   @@ absent: T             no line may contain T       @@ absent-key: K    no TOML key K may be set
# hunk_apply HUNK IN OUT: writes IN with HUNK applied to OUT; on failure sets
# HUNK_ERROR (which anchor, where) and returns 1.
HUNK_ERROR=""
lines=()

find_lines() { # how (equal|key|contains) text -> MATCHES (indexes into lines)
  local how="$1" text="$2" i t
  MATCHES=()
  for i in "${!lines[@]}"; do
    t="${lines[i]#"${lines[i]%%[![:space:]]*}"}"
    t="${t%"${t##*[![:space:]]}"}"
    case "$how" in
      equal) [ "$t" == "$text" ] || continue ;;
      key) [[ "$t" == "$text"[\ =.]* ]] || continue ;;
      contains) [[ "$t" == *"$text"* ]] || continue ;;
    esac
    MATCHES+=("$i")
  done
}

one_line() { # how text name -> ONE (index) or HUNK_ERROR
  find_lines "$1" "$2"
  if [ ${#MATCHES[@]} -eq 1 ]; then ONE="${MATCHES[0]}"; return 0; fi
  if [ ${#MATCHES[@]} -eq 0 ]; then
    HUNK_ERROR="anchor not found: '$2' ($3)"
  else
    HUNK_ERROR="anchor is ambiguous, ${#MATCHES[@]} lines match: '$2' ($3)"
  fi
  return 1
}

hunk_apply() {
  local hunk="$1" in="$2" out="$3" name="patches/hunks/${1##*/}"
  local -a ops=() args=() body=() starts=() counts=()
  local hl k=-1 n
  while IFS= read -r hl || [ -n "$hl" ]; do
    case "$hl" in
      '' | '#'*) ;;
      '@@ '*)
        k=$((k + 1)); n="${hl#@@ }"
        ops[k]="${n%%:*}"; args[k]=""
        [ "$n" == "${ops[k]}" ] || args[k]="$(trim "${n#*:}")"
        starts[k]=${#body[@]}; counts[k]=0 ;;
      '+'*)
        [ "$k" -ge 0 ] || die 9 "$name: '+' line before any @@ operation"
        body+=("${hl:1}"); counts[k]=$((counts[k] + 1)) ;;
      *) die 9 "$name: cannot read line '$hl' (expected @@, + or #)" ;;
    esac
  done <"$hunk"

  lines=()
  mapfile -t lines <"$in"
  local final_newline=1
  [ ! -s "$in" ] || [ -z "$(tail -c1 "$in")" ] || final_newline=0

  local i op arg ins
  for i in "${!ops[@]}"; do
    op="${ops[i]}" arg="${args[i]}"
    ins=("${body[@]:${starts[i]}:${counts[i]}}")
    case "$op" in
      require) find_lines equal "$arg"
        [ ${#MATCHES[@]} -gt 0 ] || { HUNK_ERROR="anchor not found: '$arg' (required by $name)"; return 1; } ;;
      require-key) find_lines key "$arg"
        [ ${#MATCHES[@]} -gt 0 ] || { HUNK_ERROR="key not found: '$arg' (required by $name)"; return 1; } ;;
      absent) find_lines contains "$arg"
        [ ${#MATCHES[@]} -eq 0 ] || { HUNK_ERROR="line $((MATCHES[0] + 1)) contains '$arg', which $name cannot handle (see its comments)"; return 1; } ;;
      absent-key) find_lines key "$arg"
        [ ${#MATCHES[@]} -eq 0 ] || { HUNK_ERROR="line $((MATCHES[0] + 1)) already sets '$arg', which $name adds"; return 1; } ;;
      start) lines=("${ins[@]}" "${lines[@]}") ;;
      end) lines+=("${ins[@]}") ;;
      after | before | replace)
        one_line equal "$arg" "$name" || return 1
        case "$op" in
          after) lines=("${lines[@]:0:ONE+1}" "${ins[@]}" "${lines[@]:ONE+1}") ;;
          before) lines=("${lines[@]:0:ONE}" "${ins[@]}" "${lines[@]:ONE}") ;;
          replace) lines=("${lines[@]:0:ONE}" "${ins[@]}" "${lines[@]:ONE+1}") ;;
        esac ;;
      substitute)
        [ "${counts[i]}" -eq 1 ] || die 9 "$name: '@@ substitute' needs exactly one + line"
        one_line contains "$arg" "$name" || return 1
        local line="${lines[ONE]}" rest
        rest="${line#*"$arg"}"
        if [[ "$rest" == *"$arg"* ]]; then HUNK_ERROR="anchor is ambiguous, it occurs twice in line $((ONE + 1)): '$arg' ($name)"; return 1; fi
        lines[ONE]="${line%%"$arg"*}${ins[0]}$rest" ;;
      *) die 9 "$name: unknown operation '@@ $op'" ;;
    esac
  done

  if [ ${#lines[@]} -eq 0 ]; then : >"$out"; return 0; fi
  printf '%s\n' "${lines[@]}" >"$out"
  [ "$final_newline" = 1 ] || truncate -s -1 "$out"
}

# --------------------------------------------------------------- manifests
# patches/layouts/<layout>.manifest: `description`, `detect PATH` (all must
# exist), `set NAME VALUE` ({NAME} in later paths), and the items:
#   file SRC DEST new|replaces [HUNK]   install the repository's SRC at DEST
#   dir SRC DEST                        `file ... new` for each file in SRC
#   edit DEST HUNK                      apply HUNK to upstream's DEST
#   check DEST HUNK                     HUNK's require/absent hold in DEST (changes nothing)
manifest_load() { # FILE [verify]: sets DESCRIPTION DETECTS and the item arrays
  local file="$1" verify="${2:-}" word rest name value src dest kind hunk extra f
  local -A vars=()
  DESCRIPTION="" DETECTS=() I_KIND=() I_SRC=() I_DEST=() I_HOW=() I_HUNK=()
  expand() {
    local s="$1" v
    for v in "${!vars[@]}"; do s="${s//"{$v}"/${vars[$v]}}"; done
    printf '%s' "$s"
  }
  add_item() { I_KIND+=("$1"); I_SRC+=("$2"); I_DEST+=("$3"); I_HOW+=("$4"); I_HUNK+=("$5"); }
  while read -r word rest || [ -n "$word" ]; do
    case "$word" in
      '' | '#'*) continue ;;
      description) DESCRIPTION="$rest" ;;
      detect) DETECTS+=("$(expand "$rest")") ;;
      set) read -r name value <<<"$rest"; vars[$name]="$(expand "$value")" ;;
      file) read -r src dest kind hunk extra <<<"$rest"
        [[ "$kind" == new || "$kind" == replaces ]] && [ -z "$extra" ] || die 9 "${file##*/}: bad line 'file $rest'"
        add_item file "$src" "$(expand "$dest")" "$kind" "$hunk" ;;
      dir) read -r src dest <<<"$rest"
        [ -z "$verify" ] || [ -d "$ROOT/$src" ] || die 9 "patch set incomplete: $src (named in ${file##*/}) is missing"
        [ -d "$ROOT/$src" ] || continue
        while IFS= read -r f; do
          add_item file "$src/$f" "$(expand "$dest")/$f" new ""
        done < <(cd "$ROOT/$src" && find . -maxdepth 1 -type f -printf '%P\n' | LC_ALL=C sort) ;;
      edit | check) read -r dest hunk <<<"$rest"; add_item "$word" "" "$(expand "$dest")" "" "$hunk" ;;
      *) die 9 "${file##*/}: unknown line '$word $rest'" ;;
    esac
  done <"$file"
  local i
  [ -n "$verify" ] || return 0
  for i in "${!I_KIND[@]}"; do
    [ -z "${I_SRC[i]}" ] || [ -f "$ROOT/${I_SRC[i]}" ] || die 9 "patch set incomplete: ${I_SRC[i]} is missing"
    [ -z "${I_HUNK[i]}" ] || [ -f "$PATCHES/hunks/${I_HUNK[i]}" ] || die 9 "patch set incomplete: patches/hunks/${I_HUNK[i]} is missing"
  done
}

detect_layout() { # -> LAYOUT, or exit 4 listing what each layout looked for
  local m found=() missing=() p miss
  for m in "$PATCHES"/layouts/*.manifest; do
    manifest_load "$m"
    miss=""
    for p in "${DETECTS[@]}"; do [ -e "$TARGET/$p" ] || { miss="$p"; break; }; done
    if [ -z "$miss" ]; then found+=("$(basename "$m" .manifest)")
    else missing+=("  $(basename "$m" .manifest) ($DESCRIPTION): no $miss"); fi
  done
  if [ ${#found[@]} -eq 1 ]; then LAYOUT="${found[0]}"; return; fi
  if [ ${#found[@]} -gt 1 ]; then die 4 "$TARGET matches several layouts (${found[*]}): give the directory of one checkout"; fi
  printf 'ERROR: %s: unknown layout; looked for:\n' "$TARGET" >&2
  printf '%s\n' "${missing[@]}" >&2
  printf '(an o1js checkout needs its submodules: git submodule update --init --recursive)\n' >&2
  exit 4
}

# ------------------------------------------------------------------- state
# TARGET/.plonk-wasm-pool-patch/state (tab separated):
#   layout NAME | source REVISION | item INSTALLED-SHA256 ORIGINAL-SHA256|absent PATH | dir PATH
# originals/PATH: upstream's file, byte for byte. journal + staging/: a commit in progress.
declare -A S_INSTALLED=() S_ORIGINAL=()
S_ORDER=() S_DIRS=() S_LAYOUT=""
state_load() {
  local kind a b c
  [ -f "$STATE/state" ] || return 0
  while IFS=$'\t' read -r kind a b c; do
    case "$kind" in
      layout) S_LAYOUT="$a" ;;
      item) S_INSTALLED[$c]="$a"; S_ORIGINAL[$c]="$b"; S_ORDER+=("$c") ;;
      dir) S_DIRS+=("$a") ;;
    esac
  done <"$STATE/state"
}

# ------------------------------------------------------------------ commit
# commit: makes TARGET's files equal to the plan (P_PATH[j] gets the content of
# P_FROM[j], or is deleted when P_FROM[j] is empty), all or nothing.
P_PATH=() P_FROM=()
CREATED_DIRS=()

rollback() { # restores every file the journal names; removes the directories it created
  local j present path d
  [ -d "$STATE" ] || return 0
  [ -f "$STATE/journal" ] || : >"$STATE/journal"
  while IFS=$'\t' read -r j present path; do
    [ -n "$path" ] || continue
    if [ "$present" = present ]; then
      { cp -p "$STATE/staging/backup/$j" "$TARGET/$path.plonk-wasm-pool-tmp" && mv -f "$TARGET/$path.plonk-wasm-pool-tmp" "$TARGET/$path"; } ||
        printf 'ERROR: could not restore %s; its copy is %s\n' "$path" "$STATE/staging/backup/$j" >&2
    else
      rm -f "$TARGET/$path" || printf 'ERROR: could not remove %s\n' "$path" >&2
    fi
  done <"$STATE/journal"
  if [ -f "$STATE/staging/created-dirs" ]; then
    tac "$STATE/staging/created-dirs" | while IFS= read -r d; do rmdir "$TARGET/$d" 2>/dev/null || true; done
  fi
  [ ! -f "$STATE/staging/state.old" ] || cp -p "$STATE/staging/state.old" "$STATE/state"
  rm -rf "$STATE/staging" "$STATE/journal"
  [ -f "$STATE/state" ] || rm -rf "$STATE"
}

fail_commit() {
  printf 'ERROR: %s\n' "$1" >&2
  if [ "${PLONK_WASM_PATCH_CRASH:-0}" = 1 ]; then exit 8; fi
  rollback
  die 8 "nothing was changed in $TARGET: every file written so far was restored"
}

make_parents() { # PATH: creates missing parent directories, recording each
  local parent="${1%/*}" missing=()
  [ "$parent" != "$1" ] || return 0
  while [ ! -d "$TARGET/$parent" ]; do
    missing=("$parent" "${missing[@]}")
    [ "${parent%/*}" != "$parent" ] || break
    parent="${parent%/*}"
  done
  local d
  for d in "${missing[@]}"; do
    printf '%s\n' "$d" >>"$STATE/staging/created-dirs"
    mkdir "$TARGET/$d" || return 1
    CREATED_DIRS+=("$d")
  done
}

commit() { # FINALIZE-FUNCTION
  local finalize="$1" j path fail_after="${PLONK_WASM_PATCH_FAIL_AFTER:--1}"
  { mkdir -p "$STATE/staging/new" "$STATE/staging/backup" && printf '*\n' >"$STATE/.gitignore" &&
    : >"$STATE/staging/journal"; } || fail_commit "cannot write in $STATE"
  [ ! -f "$STATE/state" ] || cp -p "$STATE/state" "$STATE/staging/state.old" || fail_commit "cannot copy $STATE/state"
  for j in "${!P_PATH[@]}"; do
    path="${P_PATH[j]}"
    if [ -n "${P_FROM[j]}" ]; then cp -p "${P_FROM[j]}" "$STATE/staging/new/$j" || fail_commit "staging $path failed"; fi
    if [ -e "$TARGET/$path" ]; then
      cp -p "$TARGET/$path" "$STATE/staging/backup/$j" || fail_commit "backing up $path failed"
      printf '%s\tpresent\t%s\n' "$j" "$path" >>"$STATE/staging/journal"
    else
      printf '%s\tabsent\t%s\n' "$j" "$path" >>"$STATE/staging/journal"
    fi
  done
  # From here on, the journal names every file to restore if anything fails.
  mv "$STATE/staging/journal" "$STATE/journal" || fail_commit "writing the journal failed"
  trap 'fail_commit "interrupted"' INT TERM HUP
  for j in "${!P_PATH[@]}"; do
    [ "$j" != "$fail_after" ] || fail_commit "failing after $j files (PLONK_WASM_PATCH_FAIL_AFTER)"
    path="${P_PATH[j]}"
    if [ -z "${P_FROM[j]}" ]; then
      rm -f "$TARGET/$path" || fail_commit "removing $path failed"
    else
      make_parents "$path" || fail_commit "creating the directory of $path failed"
      mv -f "$STATE/staging/new/$j" "$TARGET/$path" || fail_commit "writing $path failed"
    fi
  done
  [ "$fail_after" != "${#P_PATH[@]}" ] || fail_commit "failing after all files (PLONK_WASM_PATCH_FAIL_AFTER)"
  "$finalize" || fail_commit "recording the patch state failed"
  trap - INT TERM HUP
}

finalize_apply() { # writes originals and the new state, then ends the commit
  local p d
  mkdir -p "$STATE/originals" || return 1
  for p in "${NEW_ORIGINALS[@]}"; do # upstream's file as it was: the commit's backup of it
    mkdir -p "$STATE/originals/$(dirname "$p")" || return 1
    cp -p "$STATE/staging/backup/$(plan_index "$p")" "$STATE/originals/$p" || return 1
  done
  {
    printf '# Written by plonk-wasm pool scripts/apply-patches.sh; --revert uses it. Do not edit.\n'
    printf 'layout\t%s\n' "$LAYOUT"
    printf 'source\t%s\n' "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    for p in "${NEW_STATE_ITEMS[@]}"; do printf '%s\n' "$p"; done
    for d in "${S_DIRS[@]}" "${CREATED_DIRS[@]}"; do printf 'dir\t%s\n' "$d"; done
  } >"$STATE/state.new" || return 1
  mv -f "$STATE/state.new" "$STATE/state" || return 1
  rm -f "$STATE/journal"
  rm -rf "$STATE/staging"
}

finalize_revert() { # removes the directories the patch created, then the state
  local d
  for d in "${S_DIRS[@]}" "${CREATED_DIRS[@]}"; do printf '%s\n' "$d"; done | LC_ALL=C sort -r |
    while IFS= read -r d; do rmdir "$TARGET/$d" 2>/dev/null || true; done
  rm -rf "$STATE"
}

plan_index() { local j; for j in "${!P_PATH[@]}"; do [ "${P_PATH[j]}" != "$1" ] || { echo "$j"; return; }; done; }

# -------------------------------------------------------------------- main
if [ -f "$STATE/journal" ] || [ -d "$STATE/staging" ]; then
  case "$mode" in
    apply | revert)
      info "a previous run was interrupted: restoring the files it changed"
      rollback ;;
    *) die 8 "a previous run on $TARGET was interrupted; run apply or --revert to roll it back first" ;;
  esac
fi
state_load

if [ "$mode" = revert ]; then
  [ -f "$STATE/state" ] || die 7 "$TARGET is not patched (no $STATE_NAME/state): nothing to revert"
  modified=()
  for p in "${S_ORDER[@]}"; do
    [ "$(sha "$TARGET/$p")" = "${S_INSTALLED[$p]}" ] || modified+=("$p")
  done
  if [ ${#modified[@]} -gt 0 ]; then
    printf 'ERROR: modified after patching: %s\n' "${modified[@]}" >&2
    die 6 "refusing to revert: ${#modified[@]} patched file(s) changed since they were patched; restore them first (scripts/apply-patches.sh --check lists them), nothing was changed"
  fi
  for p in "${S_ORDER[@]}"; do
    P_PATH+=("$p")
    if [ "${S_ORIGINAL[$p]}" = absent ]; then P_FROM+=(""); else P_FROM+=("$STATE/originals/$p"); fi
  done
  commit finalize_revert
  info "reverted ${#P_PATH[@]} files in $TARGET (layout $S_LAYOUT): upstream's originals are back"
  exit 0
fi

if [ -n "$S_LAYOUT" ]; then
  LAYOUT="$S_LAYOUT"
  [ -f "$PATCHES/layouts/$LAYOUT.manifest" ] || die 9 "$TARGET was patched as layout $LAYOUT, which this repository no longer has; revert it with the revision that patched it"
else
  detect_layout
fi
manifest_load "$PATCHES/layouts/$LAYOUT.manifest" verify
info "layout $LAYOUT: $DESCRIPTION"

# Every item: upstream's original (recorded, or on disk), what it must become,
# and its status. Items recorded by an earlier version of this repository but
# no longer in the manifest go back to their originals.
declare -A IN_MANIFEST=()
for i in "${!I_DEST[@]}"; do
  [ -z "${IN_MANIFEST[${I_DEST[i]}]:-}" ] || die 9 "$LAYOUT.manifest names ${I_DEST[i]} twice"
  IN_MANIFEST[${I_DEST[i]}]=1
done
for p in "${S_ORDER[@]}"; do
  [ -n "${IN_MANIFEST[$p]:-}" ] || { I_KIND+=(stale); I_SRC+=(""); I_DEST+=("$p"); I_HOW+=(""); I_HUNK+=(""); }
done

STATUS=() NOTE=() DESIRED=() ORIGINAL=()
conflicts=0 modified=0 changes=0
for i in "${!I_DEST[@]}"; do
  p="${I_DEST[i]}" kind="${I_KIND[i]}" desired="$WORK/desired.$i" note=""
  if [ -n "${S_INSTALLED[$p]:-}" ]; then
    if [ "${S_ORIGINAL[$p]}" = absent ]; then orig=""; else orig="$STATE/originals/$p"; fi
  elif [ -f "$TARGET/$p" ]; then orig="$TARGET/$p"
  elif [ -e "$TARGET/$p" ]; then STATUS[i]=conflicting; NOTE[i]="in the way: not a regular file"; conflicts=$((conflicts + 1)); continue
  else orig=""; fi
  ORIGINAL[i]="$orig"
  status=applicable
  case "$kind" in
    file)
      if [ "${I_HOW[i]}" = new ] && [ -n "$orig" ]; then
        status=conflicting note="exists upstream, and this patch installs a file of its own there (${I_SRC[i]})"
      elif [ "${I_HOW[i]}" = replaces ] && [ -z "$orig" ]; then
        status=conflicting note="missing: expected upstream's file, which ${I_SRC[i]} replaces"
      elif [ -n "${I_HUNK[i]}" ]; then
        hunk_apply "$PATCHES/hunks/${I_HUNK[i]}" "$ROOT/${I_SRC[i]}" "$desired" || status=conflicting note="in ${I_SRC[i]}: $HUNK_ERROR"
        [ "$status" = conflicting ] || note="${I_SRC[i]}, with ${I_HUNK[i]}"
      else
        cp "$ROOT/${I_SRC[i]}" "$desired"; note="${I_SRC[i]}"
      fi
      [ "$status" = conflicting ] || note="$note ($([ -n "$orig" ] && echo "replaces upstream's file" || echo 'new file'))" ;;
    edit | check)
      if [ -z "$orig" ]; then
        status=conflicting note="missing (${I_HUNK[i]} $([ "$kind" = edit ] && echo edits || echo checks) upstream's file)"
      elif hunk_apply "$PATCHES/hunks/${I_HUNK[i]}" "$orig" "$desired"; then
        note="${I_HUNK[i]}"
        if [ "$kind" = check ]; then status=verified note="$note: nothing to change"; fi
      else
        status=conflicting note="$HUNK_ERROR"
      fi ;;
    stale) note="installed by another version of this repository, no longer part of the patch" ;;
  esac
  if [ "$kind" = stale ]; then
    if [ -n "$orig" ]; then cp "$orig" "$desired"; else desired=""; fi
  fi
  # What is installed over upstream's file keeps that file's permissions.
  if [ -n "$orig" ] && [ -f "$desired" ]; then chmod --reference="$orig" "$desired"; fi
  if [ "$status" != conflicting ] && [ "$kind" != check ] && [ -n "${S_INSTALLED[$p]:-}" ]; then
    if [ "$(sha "$TARGET/$p")" != "${S_INSTALLED[$p]}" ]; then
      status=modified note="modified after patching"
    elif [ "$(sha "$desired")" = "${S_INSTALLED[$p]}" ]; then
      status=applied
    else
      status=outdated note="$note; patched by another version of this repository, apply updates it"
    fi
  fi
  STATUS[i]="$status" NOTE[i]="$note" DESIRED[i]="$desired"
  case "$status" in
    conflicting) conflicts=$((conflicts + 1)) ;;
    modified) modified=$((modified + 1)) ;;
    applicable | outdated) changes=$((changes + 1)) ;;
  esac
done

report() {
  local i
  for i in "${!I_DEST[@]}"; do
    printf '%-12s %s  [%s]\n' "${STATUS[i]}" "${I_DEST[i]}" "${NOTE[i]}"
  done
}

if [ "$mode" = check ]; then
  report
  [ "$modified" = 0 ] || die 6 "$modified patched file(s) modified after patching"
  [ "$conflicts" = 0 ] || die 5 "$conflicts item(s) conflict: apply would refuse"
  if [ "$changes" = 0 ]; then info "everything is applied"; else info "$changes item(s) to apply, none in the way"; fi
  exit 0
fi

if [ "$modified" -gt 0 ] || [ "$conflicts" -gt 0 ]; then
  for i in "${!I_DEST[@]}"; do
    case "${STATUS[i]}" in conflicting | modified) printf 'ERROR: %s: %s: %s\n' "${STATUS[i]}" "${I_DEST[i]}" "${NOTE[i]}" >&2 ;; esac
  done
  [ "$modified" = 0 ] || die 6 "refusing to patch: $modified patched file(s) changed since they were patched; nothing was changed"
  die 5 "refusing to patch: $conflicts item(s) conflict; nothing was changed"
fi

if [ "$changes" = 0 ]; then
  info "already applied: nothing changed in $TARGET"
  exit 0
fi

if [ "$mode" = dry-run ]; then
  for i in "${!I_DEST[@]}"; do
    case "${STATUS[i]}" in applicable | outdated) ;; *) continue ;; esac
    p="${I_DEST[i]}"
    if [ -z "${DESIRED[i]}" ]; then printf 'would remove   %s\n' "$p"
    elif [ ! -e "$TARGET/$p" ]; then printf 'would create   %s  [%s]\n' "$p" "${NOTE[i]}"
    elif [ "${I_KIND[i]}" = edit ]; then
      printf 'would edit     %s  [%s]\n' "$p" "${NOTE[i]}"
      diff -u --label "a/$p" --label "b/$p" "$TARGET/$p" "${DESIRED[i]}" || true
    else printf 'would replace  %s  [%s]\n' "$p" "${NOTE[i]}"; fi
  done
  info "dry run: $changes change(s) to apply, nothing was changed"
  exit 0
fi

# Apply: the plan is every item that changes; the new state records every
# installed item (unchanged ones keep their record) with its original.
NEW_STATE_ITEMS=() NEW_ORIGINALS=()
for i in "${!I_DEST[@]}"; do
  p="${I_DEST[i]}"
  case "${STATUS[i]}" in
    applicable | outdated)
      P_PATH+=("$p"); P_FROM+=("${DESIRED[i]}")
      if [ -z "${S_INSTALLED[$p]:-}" ]; then
        if [ -n "${ORIGINAL[i]}" ]; then NEW_ORIGINALS+=("$p"); orig_sha="$(sha "${ORIGINAL[i]}")"; else orig_sha=absent; fi
      else
        orig_sha="${S_ORIGINAL[$p]}"
      fi
      [ "${I_KIND[i]}" = stale ] || NEW_STATE_ITEMS+=("$(printf 'item\t%s\t%s\t%s' "$(sha "${DESIRED[i]}")" "$orig_sha" "$p")") ;;
    applied) NEW_STATE_ITEMS+=("$(printf 'item\t%s\t%s\t%s' "${S_INSTALLED[$p]}" "${S_ORIGINAL[$p]}" "$p")") ;;
  esac
done
commit finalize_apply
info "applied $changes change(s) to $TARGET (layout $LAYOUT); undo with: scripts/apply-patches.sh '$TARGET' --revert"
