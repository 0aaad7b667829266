// The layout manifests of patches/layouts/*.manifest (patches/README.md
// describes the format): how to recognise a layout, and its items.
import fs from 'node:fs';
import path from 'node:path';
import { PatchSetError } from './hunk.mjs';

/**
 * loadManifest(file, root, { verify }) -> { name, description, detects, eras, items }
 * items: { kind: 'file'|'edit'|'check'|'record', src?, dest, how?, hunk?, recognise?, when? }
 * eras: { name, file, hunk, notes: { yes, no } }; an item's `when` is { era, holds }:
 * the item counts only when the tree's era NAME holds (`if NAME`) or does not (`unless NAME`).
 * A DEST may be named twice only by two items of one era, `if` and `unless`.
 * With verify, every file and hunk the manifest names must exist in the repository.
 */
export function loadManifest(file, root, { verify = false } = {}) {
  const name = path.basename(file, '.manifest');
  const label = path.basename(file);
  const vars = new Map();
  const expand = (s) => s.replace(/\{([A-Za-z0-9_-]+)\}/g, (m, v) => {
    if (!vars.has(v)) throw new PatchSetError(`${label}: {${v}} is used before 'set ${v}'`);
    return vars.get(v);
  });
  const out = { name, description: '', detects: [], eras: [], items: [] };
  const byDest = new Map();
  const add = (item) => {
    const other = byDest.get(item.dest);
    const alternatives = other && other.when && item.when && other.when.era === item.when.era && other.when.holds !== item.when.holds;
    if (other && !alternatives) throw new PatchSetError(`${label} names ${item.dest} twice`);
    if (!other) byDest.set(item.dest, item);
    out.items.push(item);
  };
  const eraNamed = (n, era) => {
    const e = out.eras.find((x) => x.name === era);
    if (!e) throw new PatchSetError(`${label}:${n + 1}: era '${era}' is used before its 'era ${era} FILE HUNK' line`);
    return e;
  };
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [word, ...words] = line.split(/\s+/);
    // `... if NAME` / `... unless NAME`: the item belongs to one era (edit, check).
    let args = words;
    let when;
    if ((word === 'edit' || word === 'check') && words.length === 4 && (words[2] === 'if' || words[2] === 'unless')) {
      when = { era: eraNamed(n, words[3]).name, holds: words[2] === 'if' };
      args = words.slice(0, 2);
    }
    const rest = line.slice(word.length).trim();
    const bad = () => new PatchSetError(`${label}:${n + 1}: cannot read '${line}'`);
    switch (word) {
      case 'description': out.description = rest; break;
      case 'detect': if (args.length !== 1) throw bad(); out.detects.push(expand(args[0])); break;
      case 'set': if (args.length !== 2) throw bad(); vars.set(args[0], expand(args[1])); break;
      case 'file': {
        const [src, dest, how, hunk, extra] = args;
        if (!dest || (how !== 'new' && how !== 'replaces') || extra !== undefined) throw bad();
        add({ kind: 'file', src, dest: expand(dest), how, hunk: hunk ?? '' });
        break;
      }
      case 'dir': {
        const [src, dest, extra] = args;
        if (!dest || extra !== undefined) throw bad();
        const dir = path.join(root, src);
        if (!fs.existsSync(dir)) {
          if (verify) throw new PatchSetError(`patch set incomplete: ${src} (named in ${label}) is missing`);
          break;
        }
        const files = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name).sort();
        for (const f of files) add({ kind: 'file', src: `${src}/${f}`, dest: `${expand(dest)}/${f}`, how: 'new', hunk: '' });
        break;
      }
      case 'edit':
      case 'check': {
        const [dest, hunk, extra] = args;
        if (!hunk || extra !== undefined) throw bad();
        add({ kind: word, dest: expand(dest), hunk, ...(when ? { when } : {}) });
        break;
      }
      case 'era': {
        const [era, eraFile, hunk, extra] = args;
        if (!hunk || extra !== undefined) throw bad();
        if (out.eras.some((e) => e.name === era)) throw new PatchSetError(`${label}:${n + 1}: era '${era}' is defined twice`);
        out.eras.push({ name: era, file: expand(eraFile), hunk, notes: { yes: '', no: '' } });
        break;
      }
      case 'era-note': {
        const [which] = args;
        if (!which) throw bad();
        const e = eraNamed(n, which.replace(/^!/, ''));
        e.notes[which.startsWith('!') ? 'no' : 'yes'] = rest.slice(which.length).trim();
        break;
      }
      case 'recognise': {
        const [dest, hunk, extra] = args;
        if (!hunk || extra !== undefined) throw bad();
        const item = byDest.get(expand(dest));
        if (!item || item.kind !== 'file' || item.how !== 'replaces') {
          throw new PatchSetError(`${label}:${n + 1}: 'recognise ${dest}' must follow the 'file ... ${dest} replaces' line it belongs to`);
        }
        item.recognise = hunk;
        break;
      }
      case 'record': {
        if (args.length !== 1) throw bad();
        add({ kind: 'record', dest: expand(args[0]) });
        break;
      }
      default: throw new PatchSetError(`${label}:${n + 1}: unknown line '${line}'`);
    }
  });
  if (verify) {
    for (const item of out.items) {
      if (item.src && !fs.existsSync(path.join(root, item.src))) throw new PatchSetError(`patch set incomplete: ${item.src} is missing`);
      for (const h of [item.hunk, item.recognise]) {
        if (h && !fs.existsSync(path.join(root, 'patches/hunks', h))) throw new PatchSetError(`patch set incomplete: patches/hunks/${h} is missing`);
      }
    }
    for (const e of out.eras) {
      if (!fs.existsSync(path.join(root, 'patches/hunks', e.hunk))) throw new PatchSetError(`patch set incomplete: patches/hunks/${e.hunk} is missing`);
    }
  }
  return out;
}
