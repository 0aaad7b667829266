// The package's types, as a TypeScript user meets them, in the npm app
// (build/o1js-app/patched, tests/package/install.test.js):
//   - tests/package/types/api.check.ts compiles: every public function of
//     o1js/pool and o1js/isolates has the types it promises, run() takes its
//     types from the proving module's jobs, `await using` closes a pool;
//   - every JavaScript and TypeScript code example in README.md and docs/
//     compiles as written (```js and ```ts blocks; ```js browser blocks with
//     a bundler's resolution and the browser condition; a block whose first
//     line is `// file: <name>` is written under that name, so the examples
//     of one page can import each other);
//   - no public signature of either entry is `any`, `unknown` or `object`
//     (the checker reads the installed declarations; the few values that are
//     any value by nature are listed, with why).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { MINUTES, NPM_APP, ROOT, command } from './lib.js';

const ts = createRequire(import.meta.url)(join(ROOT, 'node_modules/typescript'));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const WORK = join(NPM_APP, 'types-check');
if (!existsSync(join(NPM_APP, 'node_modules/o1js/package.json'))) throw new Error(`${NPM_APP} is not installed: tests/package/install.test.js installs it`);

const COMMON_OPTIONS = {
  strict: true,
  noEmit: true,
  target: 'ES2022',
  lib: ['ES2022', 'DOM', 'ESNext.Disposable'],
  types: ['node'],
  typeRoots: [join(ROOT, 'node_modules/@types')],
  allowJs: true,
  checkJs: true,
  skipLibCheck: true,
  noUnusedLocals: false,
};
const NODE = { ...COMMON_OPTIONS, module: 'NodeNext', moduleResolution: 'NodeNext' };
const BROWSER = { ...COMMON_OPTIONS, module: 'ESNext', moduleResolution: 'Bundler', customConditions: ['browser'] };

/** Runs tsc on `files` in `dir` with `options`; resolves its output and exit code. */
async function compile(dir, files, options) {
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files }, null, 2));
  const { code, stdout, stderr } = await command(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { cwd: dir, timeoutMs: 5 * MINUTES });
  return { code, output: `${stdout}${stderr}` };
}

test('the public API is typed: o1js/pool and o1js/isolates compile as api.check.ts expects (run() typed by the module\'s jobs, `await using`)', { timeout: 10 * MINUTES }, async () => {
  const dir = join(WORK, 'api');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'tests/package/types'), dir, { recursive: true });
  const { code, output } = await compile(dir, ['api.check.ts', 'prover-module.ts'], NODE);
  assert.equal(code, 0, `tsc on api.check.ts:\n${output}`);
});

/** The ```js / ```ts blocks of a markdown file: { lang, browser, name, code }. */
function examples(markdown) {
  const blocks = [];
  const fence = /^```(js|ts|javascript|typescript)\b([^\n]*)\n([\s\S]*?)^```/gm;
  for (const [, lang, info, code] of markdown.matchAll(fence)) {
    const named = /^\/\/ file: (\S+)/.exec(code);
    blocks.push({ lang: lang.startsWith('t') ? 'ts' : 'js', browser: /\bbrowser\b/.test(info), name: named?.[1] ?? null, code });
  }
  return blocks;
}

function markdownFiles() {
  const docs = join(ROOT, 'docs');
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []));
  return [join(ROOT, 'README.md'), ...(existsSync(docs) ? walk(docs) : [])];
}

test('every JavaScript and TypeScript example in README.md and docs/ compiles as written, against the installed package', { timeout: 15 * MINUTES }, async () => {
  const dir = join(WORK, 'docs');
  rmSync(dir, { recursive: true, force: true });
  const sets = { node: [], browser: [] };
  let count = 0;
  for (const file of markdownFiles()) {
    const page = basename(file, '.md');
    examples(readFileSync(file, 'utf8')).forEach((block, i) => {
      const kind = block.browser ? 'browser' : 'node';
      const name = block.name ?? `example-${i + 1}.${block.lang}`;
      const path = join(dir, kind, page, name);
      mkdirSync(dirname(path), { recursive: true });
      // Each example is a module of its own (top-level await, its own names).
      writeFileSync(path, /^\s*(import|export)\b/m.test(block.code) ? block.code : `${block.code}\nexport {};\n`);
      sets[kind].push(path.slice(join(dir, kind).length + 1));
      count++;
    });
  }
  assert.ok(count >= 5, `README.md and docs/ hold ${count} code examples: expected the API's examples there`);
  for (const [kind, files] of Object.entries(sets)) {
    if (files.length === 0) continue;
    const { code, output } = await compile(join(dir, kind), files, kind === 'browser' ? BROWSER : NODE);
    assert.equal(code, 0, `the ${kind} examples (${files.join(', ')}) do not compile:\n${output}`);
  }
  console.log(`[package/types] ${count} examples compiled (${sets.node.length} Node, ${sets.browser.length} browser)`);
});

/**
 * Values that are any value by nature, where `unknown` is the honest type:
 * what a caller passed that was refused, what an error wraps, a job's
 * arguments and result when the pool is created without its jobs' type.
 */
const ALLOWED = [
  /\.value$/, // a refused option's or argument's value, as the caller gave it
  /\.cause$/, // the error an error wraps (Error's own `cause` is unknown)
  /\.error$/, // an 'error' event's payload: whatever a listener or a step threw
  /^UntypedJobs\b/, // the default when no jobs type is given: arguments and results unchecked
  /^ProverJobs\b/, // the constraint every jobs type meets
  /^isPoolError\(error\)$/, // a type guard takes whatever was caught
  /^BrowserWorkerEvent\.data$/, // a worker's message as the browser delivers it (the pool checks it before use)
];

/** Every public signature (functions, class members, interface members) of `entry` whose type text names any/unknown/object. */
function loosePublicTypes(entry, options) {
  const file = join(WORK, `scan-${basename(entry).replace(/\W/g, '-')}.ts`);
  writeFileSync(file, `export * from '${entry}';\n`);
  const program = ts.createProgram([file], ts.convertCompilerOptionsFromJson(options, WORK).options);
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(file).statements[0].moduleSpecifier);
  const loose = [];
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;
  const note = (where, text) => {
    if (/\b(any|unknown|object)\b/.test(text) && !ALLOWED.some((allowed) => allowed.test(where))) loose.push(`${where}: ${text}`);
  };
  const signature = (where, sig) => {
    for (const parameter of sig.getParameters()) note(`${where}(${parameter.name})`, checker.typeToString(checker.getTypeOfSymbol(parameter), undefined, flags));
    note(`${where}()`, checker.typeToString(sig.getReturnType(), undefined, flags));
  };
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const name = exported.name;
    const declaration = symbol.declarations?.[0];
    if (declaration === undefined || !declaration.getSourceFile().fileName.includes('/o1js/dist/')) continue;
    if (symbol.flags & ts.SymbolFlags.Function) {
      for (const sig of checker.getTypeOfSymbol(symbol).getCallSignatures()) signature(name, sig);
    }
    if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) {
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      for (const member of checker.getPropertiesOfType(type)) {
        const modifiers = ts.getCombinedModifierFlags(member.valueDeclaration ?? member.declarations?.[0] ?? declaration);
        if (modifiers & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected) || member.name.startsWith('#') || member.name.startsWith('__')) continue;
        const memberType = checker.getTypeOfSymbol(member);
        const calls = memberType.getCallSignatures();
        if (calls.length > 0) for (const sig of calls) signature(`${name}.${member.name}`, sig);
        else note(`${name}.${member.name}`, checker.typeToString(memberType, undefined, flags));
      }
    }
  }
  return loose;
}

test('no public signature of o1js/pool or o1js/isolates (Node and browser) is any, unknown or object', { timeout: 10 * MINUTES }, () => {
  mkdirSync(WORK, { recursive: true });
  const loose = [
    ...loosePublicTypes('o1js/pool', NODE),
    ...loosePublicTypes('o1js/isolates', NODE),
    ...loosePublicTypes('o1js/isolates', BROWSER),
  ];
  assert.deepEqual(loose, [], `public signatures that say any, unknown or object:\n${loose.join('\n')}`);
});
