// The hunk format of patches/hunks/*.hunk (patches/README.md describes it):
// operations `@@ OP: ARG`, each followed by its `+` lines; `#` lines are
// comments. Lines are compared with surrounding whitespace removed.
//
// `@@ within: CONSTRUCT` limits the operations after it to one construct of
// the file: a TOML table (`[header]` up to the next header), or the block that
// follows the one line containing CONSTRUCT (brace-balanced `{…}` in Rust, JS,
// shell; `[…]`/`{…}` in TOML), with strings and comments skipped. `@@ anywhere`
// goes back to the whole file. Scopes are what keep a guard such as
// `absent: RUSTFLAGS` to the function it is about.
//
// parseHunk(text, name) -> ops (throws PatchSetError on a malformed hunk)
// applyHunk(ops, input, { path, name, upstream }) -> { ok, text, notes } or { ok: false, error }
//   upstream: the text `@@ capture` reads (upstream's file that a repository
//   file replaces); by default the input itself.

export class PatchSetError extends Error {}

const OPS = new Set([
  'expect', 'within', 'anywhere', 'require', 'contains', 'require-key', 'absent', 'absent-key',
  'start', 'end', 'after', 'before', 'replace', 'replace-containing', 'substitute',
  'append-to-array', 'pin', 'capture',
]);
const NEEDS_ARG = new Set([
  'expect', 'within', 'require', 'contains', 'require-key', 'absent', 'absent-key',
  'after', 'before', 'replace', 'replace-containing', 'substitute', 'append-to-array', 'pin', 'capture',
]);

export function parseHunk(text, name) {
  const ops = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('@@ ')) {
      const rest = line.slice(3);
      const colon = rest.indexOf(':');
      const op = (colon < 0 ? rest : rest.slice(0, colon)).trim();
      const arg = colon < 0 ? '' : rest.slice(colon + 1).trim();
      if (!OPS.has(op)) throw new PatchSetError(`${name}: unknown operation '@@ ${op}'`);
      if (NEEDS_ARG.has(op) && arg === '') throw new PatchSetError(`${name}: '@@ ${op}' needs an argument`);
      ops.push({ op, arg, body: [] });
    } else if (line.startsWith('+')) {
      if (ops.length === 0) throw new PatchSetError(`${name}: '+' line before any @@ operation`);
      ops[ops.length - 1].body.push(line.slice(1));
    } else {
      throw new PatchSetError(`${name}: cannot read line '${line}' (expected @@, + or #)`);
    }
  }
  for (const { op, body } of ops) {
    if (op === 'substitute' && body.length !== 1) throw new PatchSetError(`${name}: '@@ substitute' needs exactly one + line`);
    if (op === 'pin') parsePinParams(body, name);
    if (op === 'capture') {
      if (body.length !== 1) throw new PatchSetError(`${name}: '@@ capture' needs exactly one + line, a regular expression`);
      try { new RegExp(body[0]); } catch (e) { throw new PatchSetError(`${name}: '@@ capture': ${e.message}`); }
    }
  }
  return ops;
}

/** The language of a file, from its name: how comments, strings and blocks look. */
export function languageOf(path) {
  const base = path.split('/').pop();
  if (/\.toml$/.test(base) || base === 'Cargo.lock' || base === 'config') return 'toml';
  if (/\.rs$/.test(base)) return 'rust';
  if (/\.(m|c)?[jt]s$/.test(base)) return 'js';
  if (/\.sh$/.test(base) || base === 'Makefile') return 'sh';
  return 'text';
}

/** A line that is only a comment: guards and substitutions do not look at it. */
function isCommentLine(line, lang) {
  const t = line.trim();
  switch (lang) {
    case 'toml':
    case 'sh':
      return t.startsWith('#');
    case 'rust':
    case 'js':
      return t.startsWith('//') || t.startsWith('/*') || t.startsWith('*');
    default:
      return false;
  }
}

// ------------------------------------------------------------------ scanning
// scanCode(text, from, lang, visit): calls visit(index, char) for each code
// character (outside strings and comments) from `from` on, and for the closing
// quote of each string (so that a string counts as one token); stops when
// visit returns true. Returns the index visit stopped at, or -1.
function scanCode(text, from, lang, visit) {
  let i = from;
  const n = text.length;
  const at = (s) => text.startsWith(s, i);
  while (i < n) {
    const c = text[i];
    // comments
    if ((lang === 'rust' || lang === 'js') && at('//')) { i = lineEnd(text, i); continue; }
    if ((lang === 'rust' || lang === 'js') && at('/*')) {
      let depth = 1; i += 2;
      while (i < n && depth > 0) {
        if (lang === 'rust' && at('/*')) { depth++; i += 2; } else if (at('*/')) { depth--; i += 2; } else i++;
      }
      continue;
    }
    if ((lang === 'toml' || lang === 'sh') && c === '#' && (lang === 'toml' || i === 0 || /\s/.test(text[i - 1]))) {
      i = lineEnd(text, i); continue;
    }
    // strings
    if (lang === 'toml' && (at('"""') || at("'''"))) {
      const q = text.slice(i, i + 3); const end = text.indexOf(q, i + 3);
      i = end < 0 ? n : end + 3;
      if (end >= 0 && visit(i - 1, q[0])) return i - 1;
      continue;
    }
    if (lang === 'rust' && /^b?r#*"/.test(text.slice(i, i + 20)) && !/[A-Za-z0-9_]/.test(text[i - 1] ?? ' ')) {
      const m = /^b?r(#*)"/.exec(text.slice(i, i + 20));
      const close = '"' + m[1]; const end = text.indexOf(close, i + m[0].length);
      i = end < 0 ? n : end + close.length;
      if (end >= 0 && visit(i - 1, '"')) return i - 1;
      continue;
    }
    if (c === '"' || (c === "'" && lang !== 'rust') || (c === '`' && lang === 'js')) {
      const raw = c === "'" && (lang === 'toml' || lang === 'sh');
      i++;
      while (i < n && text[i] !== c) {
        if (!raw && text[i] === '\\') { i += 2; continue; }
        if (c !== '`' && lang !== 'sh' && text[i] === '\n') break; // unterminated: stop at the line end
        i++;
      }
      if (i < n && text[i] === c && visit(i, c)) return i;
      i++; continue;
    }
    if (c === "'" && lang === 'rust') { // a char literal, or a lifetime
      if (text[i + 1] === '\\') { const end = text.indexOf("'", i + 3); i = end < 0 ? n : end + 1; continue; }
      if (text[i + 2] === "'") { i += 3; continue; }
      if (visit(i, c)) return i;
      i++; continue;
    }
    if (visit(i, c)) return i;
    i++;
  }
  return -1;
}

function lineEnd(text, i) {
  const end = text.indexOf('\n', i);
  return end < 0 ? text.length : end;
}

/** The index of the bracket that closes the one at `open` (code only), or -1. */
function matchingClose(text, open, lang) {
  const pairs = { '{': '}', '[': ']', '(': ')' };
  const stack = [];
  return scanCode(text, open, lang, (i, c) => {
    if (pairs[c]) stack.push(pairs[c]);
    else if (c === '}' || c === ']' || c === ')') {
      if (stack.pop() !== c) return true; // unbalanced: give up here
      if (stack.length === 0) return true;
    }
    return false;
  });
}

/** Offsets of the start of each line of `lines` joined with '\n'. */
function lineStarts(lines) {
  const starts = [];
  let at = 0;
  for (const l of lines) { starts.push(at); at += l.length + 1; }
  return starts;
}
function lineOf(starts, offset) {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid; else hi = mid - 1;
  }
  return lo;
}

/** TOML: the indexes of the table header lines (a line that starts with '[' outside any value). */
function tomlHeaders(lines) {
  const text = lines.join('\n');
  const starts = lineStarts(lines);
  const headers = [];
  let depth = 0, seen = -1;
  scanCode(text, 0, 'toml', (i, c) => {
    if (/\s/.test(c)) return false;
    const line = lineOf(starts, i);
    if (line !== seen) {
      seen = line;
      if (depth === 0 && c === '[') headers.push(line);
    }
    if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
    return false;
  });
  return headers;
}

function normalizeHeader(s) {
  const t = s.trim().replace(/\s+#.*$/, '');
  return t.replace(/\s+/g, '');
}

// --------------------------------------------------------------------- scope
class HunkFailure extends Error {}

/**
 * The scope `within: TEXT` selects: [lo, hi] (line indexes, inclusive) and
 * what kind of construct it is ('table' or 'block').
 */
function findScope(lines, text, lang, name) {
  const isHeader = lang === 'toml' && text.startsWith('[');
  if (isHeader) {
    const headers = tomlHeaders(lines);
    const want = normalizeHeader(text);
    const found = headers.filter((i) => normalizeHeader(lines[i]) === want);
    if (found.length !== 1) {
      throw new HunkFailure(found.length === 0
        ? `table not found: '${text}' (within, ${name})`
        : `table is ambiguous, ${found.length} headers are '${text}' (within, ${name})`);
    }
    const lo = found[0];
    const after = headers.find((h) => h > lo);
    return { lo, hi: after === undefined ? lines.length - 1 : after - 1, kind: 'table', text };
  }
  const found = [];
  lines.forEach((l, i) => { if (!isCommentLine(l, lang) && l.includes(text)) found.push(i); });
  if (found.length !== 1) {
    throw new HunkFailure(found.length === 0
      ? `construct not found: no line contains '${text}' (within, ${name})`
      : `construct is ambiguous, ${found.length} lines contain '${text}' (within, ${name})`);
  }
  const lo = found[0];
  const all = lines.join('\n');
  const starts = lineStarts(lines);
  const from = starts[lo] + lines[lo].indexOf(text) + text.length;
  const openers = lang === 'toml' ? '[{' : '{';
  const open = scanCode(all, from, lang, (i, c) => openers.includes(c));
  if (open < 0) throw new HunkFailure(`construct has no block: nothing opens after '${text}' (within, ${name})`);
  const close = matchingClose(all, open, lang);
  if (close < 0 || !'}])'.includes(all[close])) {
    throw new HunkFailure(`construct is not closed: the block after '${text}' has no matching end (within, ${name})`);
  }
  return { lo, hi: lineOf(starts, close), kind: 'block', text };
}

function scopeLabel(scope) {
  return scope ? ` in ${scope.kind === 'table' ? scope.text : `the block of '${scope.text}'`}` : '';
}

// ----------------------------------------------------------------------- pin
function parsePinParams(body, name) {
  const p = { to: null, below: null, broken: [], with: [], whyOld: [], whyBroken: [] };
  for (const line of body) {
    const [word, ...rest] = line.trim().split(/\s+/);
    const value = line.trim().slice(word.length).trim();
    switch (word) {
      case 'to': p.to = value; break;
      case 'below': p.below = value; break;
      case 'broken': p.broken.push(...rest); break;
      case 'with': {
        if (rest.length !== 2) throw new PatchSetError(`${name}: '+with' needs a crate and a requirement: '${line}'`);
        p.with.push({ crate: rest[0], to: rest[1] });
        break;
      }
      case 'why-old': p.whyOld.push(value); break;
      case 'why-broken': p.whyBroken.push(value); break;
      default: throw new PatchSetError(`${name}: unknown '@@ pin' parameter '${line}' (to, below, broken, with, why-old, why-broken)`);
    }
  }
  if (!p.to || !/^=\d+\.\d+\.\d+$/.test(p.to)) throw new PatchSetError(`${name}: '@@ pin' needs '+to =X.Y.Z'`);
  if (!p.below) p.below = p.to.slice(1);
  for (const v of [p.below, ...p.broken]) {
    if (!parseVersion(v)) throw new PatchSetError(`${name}: '@@ pin': not a version: '${v}'`);
  }
  return p;
}

function parseVersion(s) {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(s);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}
function compareVersions(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The version requirement of dependency `crate` among lines[lo..hi]: the
 * forms `crate = "REQ"`, `crate = { version = "REQ", ... }` and
 * `crate.version = "REQ"`. -> { line, start, end, quote, req } | { workspace } | null
 */
function findRequirement(lines, lo, hi, crate, lang) {
  const key = `(?:"${escapeRe(crate)}"|'${escapeRe(crate)}'|${escapeRe(crate)})`;
  const re = new RegExp(`^(\\s*${key}\\s*(?:\\.\\s*([A-Za-z_-]+)\\s*)?=\\s*)(.*)$`);
  const found = [];
  let workspace = false;
  for (let i = lo; i <= hi; i++) {
    if (isCommentLine(lines[i], lang)) continue;
    const m = re.exec(lines[i]);
    if (!m) continue;
    const [, head, sub, value] = m;
    let strAt = -1;
    if (sub === 'workspace' || (!sub && /^\{[^}]*\bworkspace\s*=\s*true/.test(value))) { workspace = true; continue; }
    if (sub === 'version' || (!sub && /^["']/.test(value))) strAt = head.length;
    else if (!sub && value.startsWith('{')) {
      const v = /\bversion\s*=\s*(?=["'])/.exec(value);
      if (v) strAt = head.length + v.index + v[0].length;
    }
    if (strAt < 0) continue;
    const quote = lines[i][strAt];
    const end = lines[i].indexOf(quote, strAt + 1);
    if (end < 0) continue;
    found.push({ line: i, start: strAt, end: end + 1, quote, req: lines[i].slice(strAt + 1, end) });
  }
  if (found.length > 1) return { ambiguous: found.length };
  if (found.length === 1) return found[0];
  return workspace ? { workspace: true } : null;
}

function setRequirement(lines, r, req) {
  const l = lines[r.line];
  lines[r.line] = l.slice(0, r.start) + r.quote + req + r.quote + l.slice(r.end);
}

function applyPin(lines, lo, hi, op, ctx) {
  const p = parsePinParams(op.body, ctx.name);
  const crate = op.arg;
  const where = scopeLabel(ctx.scope);
  const r = findRequirement(lines, lo, hi, crate, ctx.lang);
  if (r === null) throw new HunkFailure(`key not found: '${crate}'${where} (pinned by ${ctx.name})`);
  if (r.ambiguous) throw new HunkFailure(`'${crate}' has ${r.ambiguous} version requirements${where} (${ctx.name})`);
  if (r.workspace) throw new HunkFailure(`'${crate}' takes its version from the workspace here${where}; ${ctx.name} pins it where it is declared`);
  const version = parseVersion(r.req);
  if (!version) throw new HunkFailure(`cannot read the version of '${crate}' in '${r.req}'${where} (${ctx.name})`);
  const exact = /^\s*=\s*\d/.test(r.req);
  const vs = version.join('.');
  const isBroken = p.broken.some((b) => compareVersions(parseVersion(b), version) === 0);
  const isOld = compareVersions(version, parseVersion(p.below)) < 0;
  if (exact && `=${vs}` === p.to.replace(/\s+/g, '')) {
    ctx.notes.push({ level: 'info', kind: 'pin', action: 'keep', text: `${crate} "${r.req}" is the version this patch set is built and tested with: left as it is` });
    return;
  }
  if (isOld || isBroken) {
    const moves = [`${crate} "${r.req}" -> "${p.to}"`];
    for (const w of p.with) {
      const wr = findRequirement(lines, lo, hi, w.crate, ctx.lang);
      if (wr && !wr.workspace && !wr.ambiguous) {
        if (wr.req !== w.to) moves.push(`${w.crate} "${wr.req}" -> "${w.to}"`);
        setRequirement(lines, wr, w.to);
      }
    }
    setRequirement(lines, r, p.to);
    const why = (isBroken ? p.whyBroken : p.whyOld).join(' ');
    ctx.notes.push({ level: 'info', kind: 'pin', action: 'move', text: `${moves.join(', ')}${why ? `, because ${why}` : ''}` });
    return;
  }
  ctx.notes.push({
    level: 'warning', kind: 'pin', action: 'untested',
    text: `${crate} "${r.req}" is untested with this patch set (built and tested with "${p.to}"; moved when below ${p.below}${p.broken.length ? ` or one of ${p.broken.join(', ')}` : ''}): left as it is; if the unwinding wasm build fails, pin ${crate} "${p.to}"${p.with.map((w) => ` and ${w.crate} "${w.to}"`).join('')}`,
  });
}

// --------------------------------------------------------------- array append
function appendToArray(lines, lo, hi, op, ctx) {
  const where = scopeLabel(ctx.scope);
  const re = new RegExp(`^\\s*(?:"${escapeRe(op.arg)}"|${escapeRe(op.arg)})\\s*=\\s*\\[`);
  const found = [];
  for (let i = lo; i <= hi; i++) if (!isCommentLine(lines[i], ctx.lang) && re.test(lines[i])) found.push(i);
  if (found.length !== 1) {
    throw new HunkFailure(found.length === 0
      ? `array not found: no '${op.arg} = [' line${where} (${ctx.name})`
      : `array is ambiguous, ${found.length} lines set '${op.arg}'${where} (${ctx.name})`);
  }
  const all = lines.join('\n');
  const starts = lineStarts(lines);
  const open = starts[found[0]] + re.exec(lines[found[0]])[0].length - 1;
  const close = matchingClose(all, open, ctx.lang);
  if (close < 0 || all[close] !== ']') throw new HunkFailure(`the array '${op.arg}' is not closed${where} (${ctx.name})`);
  // The last code character before ']' decides whether a comma is needed.
  let last = -1;
  scanCode(all.slice(0, close), open + 1, ctx.lang, (i, c) => { if (!/\s/.test(c)) last = i; return false; });
  const needsComma = last >= 0 && all[last] !== ',';
  const closeLine = lineOf(starts, close);
  const ownLine = all.slice(starts[closeLine], close).trim() === '';
  let out;
  if (ownLine && last >= 0 && lineOf(starts, last) !== closeLine) {
    const lastLine = lineOf(starts, last);
    const indent = /^\s*/.exec(lines[lastLine])[0];
    const added = op.body.map((e) => `${indent}${e.trim().replace(/,$/, '')},`).join('\n');
    out = all.slice(0, last + 1) + (needsComma ? ',' : '') + all.slice(last + 1, starts[closeLine]) + added + '\n' + all.slice(starts[closeLine]);
  } else {
    const elems = op.body.map((e) => e.trim().replace(/,$/, '')).join(', ');
    const before = all.slice(0, last + 1 > 0 ? last + 1 : open + 1);
    const sep = last >= 0 ? (needsComma ? ', ' : ' ') : '';
    out = before + sep + elems + all.slice(last + 1 > 0 ? last + 1 : open + 1);
  }
  return out.split('\n');
}

// --------------------------------------------------------------------- apply
export function applyHunk(ops, input, { path = '', name = 'hunk', upstream = input } = {}) {
  const lang = languageOf(path);
  const vars = new Map();
  const expand = (line) => line.replace(/\{\{([A-Za-z0-9_-]+)\}\}/g, (m, v) => {
    if (!vars.has(v)) throw new PatchSetError(`${name}: {{${v}}} is used before '@@ capture: ${v}'`);
    return vars.get(v);
  });
  const finalNewline = input.length === 0 || input.endsWith('\n');
  let lines = input.length === 0 ? [] : (finalNewline ? input.slice(0, -1) : input).split('\n');
  const ctx = { name, path, lang, notes: [], scope: null, expect: null };
  let scopeText = null;
  try {
    for (const op0 of ops) {
      const op = op0.op === 'capture' ? op0 : { ...op0, body: op0.body.map(expand) };
      // The scope is found again before each operation: earlier ones may have moved it.
      ctx.scope = scopeText === null ? null : findScope(lines, scopeText, lang, name);
      const lo = ctx.scope ? ctx.scope.lo : 0;
      const hi = ctx.scope ? ctx.scope.hi : lines.length - 1;
      const where = scopeLabel(ctx.scope);
      const trimmed = (i) => lines[i].trim();
      const inScope = (pred) => { const r = []; for (let i = lo; i <= hi; i++) if (pred(i)) r.push(i); return r; };
      const code = (i) => !isCommentLine(lines[i], lang);
      const because = op.body.length ? `: ${op.body.join(' ')}` : ` (see the comments of ${name})`;
      const oneLine = (text) => {
        const m = inScope((i) => trimmed(i) === text);
        if (m.length === 1) return m[0];
        throw new HunkFailure(m.length === 0
          ? `anchor not found: '${text}'${where} (${name})`
          : `anchor is ambiguous, ${m.length} lines match: '${text}'${where} (${name})`);
      };
      const keyLines = (key) => inScope((i) => code(i) && new RegExp(`^(?:"${escapeRe(key)}"|${escapeRe(key)})[\\s=.]`).test(trimmed(i)));
      switch (op.op) {
        case 'expect': ctx.expect = op.arg; break;
        case 'within': scopeText = op.arg; ctx.scope = findScope(lines, scopeText, lang, name); break;
        case 'anywhere': scopeText = null; break;
        case 'require':
          if (inScope((i) => trimmed(i) === op.arg).length === 0) throw new HunkFailure(`anchor not found: '${op.arg}'${where} (required by ${name})${op.body.length ? `: ${op.body.join(' ')}` : ''}`);
          break;
        case 'contains':
          if (inScope((i) => code(i) && lines[i].includes(op.arg)).length === 0) throw new HunkFailure(`no line contains '${op.arg}'${where} (required by ${name})${op.body.length ? `: ${op.body.join(' ')}` : ''}`);
          break;
        case 'require-key':
          if (keyLines(op.arg).length === 0) throw new HunkFailure(`key not found: '${op.arg}'${where} (required by ${name})`);
          break;
        case 'absent': {
          const m = inScope((i) => code(i) && lines[i].includes(op.arg));
          if (m.length) throw new HunkFailure(`line ${m[0] + 1} contains '${op.arg}'${where}, which ${name} cannot handle${because}`);
          break;
        }
        case 'absent-key': {
          const m = keyLines(op.arg);
          if (m.length) throw new HunkFailure(`line ${m[0] + 1} already sets '${op.arg}'${where}, which ${name} adds`);
          break;
        }
        case 'start':
          lines.splice(ctx.scope ? lo + 1 : 0, 0, ...op.body);
          break;
        case 'end': {
          let at = hi + 1;
          if (ctx.scope?.kind === 'table') {
            at = lo + 1;
            for (let i = lo + 1; i <= hi; i++) if (trimmed(i) !== '' && code(i)) at = i + 1;
          } else if (ctx.scope) at = hi;
          lines.splice(at, 0, ...op.body);
          break;
        }
        case 'after': { const i = oneLine(op.arg); lines.splice(i + 1, 0, ...op.body); break; }
        case 'before': { const i = oneLine(op.arg); lines.splice(i, 0, ...op.body); break; }
        case 'replace': { const i = oneLine(op.arg); lines.splice(i, 1, ...op.body); break; }
        case 'replace-containing': {
          const m = inScope((i) => code(i) && lines[i].includes(op.arg));
          if (m.length !== 1) {
            throw new HunkFailure(m.length === 0
              ? `anchor not found: no line contains '${op.arg}'${where} (${name})`
              : `anchor is ambiguous, ${m.length} lines contain '${op.arg}'${where} (${name})`);
          }
          lines.splice(m[0], 1, ...op.body);
          break;
        }
        case 'capture': {
          const re = new RegExp(op.body[0], 'g');
          const values = new Set();
          for (const l of upstream.split('\n')) {
            if (isCommentLine(l, lang)) continue;
            for (const m of l.matchAll(re)) values.add(m[1] ?? m[0]);
          }
          if (values.size !== 1) {
            throw new HunkFailure(values.size === 0
              ? `upstream's file has nothing that matches /${op.body[0]}/ (capture ${op.arg}, ${name})`
              : `upstream's file names ${values.size} different values for ${op.arg}: ${[...values].join(', ')} (capture, ${name})`);
          }
          vars.set(op.arg, [...values][0]);
          ctx.captured = Object.fromEntries(vars);
          break;
        }
        case 'substitute': {
          const hits = [];
          for (let i = lo; i <= hi; i++) {
            if (!code(i)) continue;
            for (let at = lines[i].indexOf(op.arg); at >= 0; at = lines[i].indexOf(op.arg, at + op.arg.length)) hits.push([i, at]);
          }
          if (hits.length !== 1) {
            throw new HunkFailure(hits.length === 0
              ? `anchor not found: '${op.arg}'${where} (${name})`
              : `anchor is ambiguous, it occurs ${hits.length} times${where}: '${op.arg}' (${name})`);
          }
          const [i, at] = hits[0];
          lines[i] = lines[i].slice(0, at) + op.body[0] + lines[i].slice(at + op.arg.length);
          break;
        }
        case 'append-to-array': lines = appendToArray(lines, lo, hi, op, ctx); break;
        case 'pin': applyPin(lines, lo, hi, op, ctx); break;
        default: throw new PatchSetError(`${name}: unknown operation '@@ ${op.op}'`);
      }
    }
  } catch (e) {
    if (e instanceof HunkFailure) return { ok: false, error: e.message, expect: ctx.expect, notes: ctx.notes };
    throw e;
  }
  let text = lines.join('\n');
  if (lines.length && finalNewline) text += '\n';
  return { ok: true, text, notes: ctx.notes, expect: ctx.expect };
}
