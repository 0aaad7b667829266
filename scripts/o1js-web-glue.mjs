// Gives wasm-bindgen's `--target web` glue the shape o1js's web build gives it
// (o1js: src/build/build-web.js), so the web backend loads it as it loads
// o1js's own `web_bindings/<lib>.js`:
//
//   - the whole glue becomes the body of one function, the module's default
//     export (`kimchiWasm()`; `plonkWasm()` for a plonk_wasm crate), which
//     returns the glue's exports with `default: __wbg_init`. Calling it gives a
//     fresh copy of the glue, and its source text (`kimchiWasm.toString()`) is
//     what the backend ships to each Web Worker: workers are built from
//     function sources, not from URLs, so they work inside o1js's one-file bundle;
//   - `startWorkers` / `terminateWorkers`, which the glue calls as free
//     identifiers, are imported from worker-helpers.js and listed in
//     `kimchiWasm.deps`, so a worker's source declares them too.
//
// Where the page gets the .wasm, `--wasm`:
//   url     (default) a file next to the glue, fetched by the page only: for
//           this repository's tests, which serve files without a bundler;
//   inline  `import wasmCode from './<lib>_bg.wasm'`, which o1js's bundler
//           inlines (esbuild's binary loader): what o1js ships in dist/web.
// Workers never fetch: they get the compiled module in a message.
//
//
// The function also carries the module's declared minimum memory
// (`kimchiWasm.memoryMinimumPages`, read from the .wasm next to the glue): the
// page creates the shared memory before it instantiates, and a memory smaller
// than the declared minimum is refused (it grows with the pool's statics).
//
//   node scripts/o1js-web-glue.mjs [--wasm url|inline] <pkg/web/<lib>.js> <out/web_bindings/<lib>.js>
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const args = process.argv.slice(2);
let wasmMode = 'url';
if (args[0] === '--wasm') {
  wasmMode = args[1];
  args.splice(0, 2);
}
const [input, output] = args;
if (input === undefined || output === undefined || !['url', 'inline'].includes(wasmMode)) {
  console.error('ERROR: usage: node scripts/o1js-web-glue.mjs [--wasm url|inline] <glue.js> <output.js>');
  process.exit(2);
}

function fail(message) {
  console.error(`ERROR: ${input}: ${message}; expected wasm-bindgen --target web glue (0.2.106 or later)`);
  process.exit(4);
}

/** Replaces exactly one occurrence of `from`, or fails naming what was missing. */
function replaceOnce(source, from, to, what) {
  const at = source.indexOf(from);
  if (at === -1 || source.indexOf(from, at + from.length) !== -1) fail(`expected exactly one ${what}`);
  return source.slice(0, at) + to + source.slice(at + from.length);
}

const lib = basename(input, '.js'); // kimchi_wasm or plonk_wasm
const memoryMinimumPages = importedMemoryMinimum(readFileSync(join(dirname(input), `${lib}_bg.wasm`)));

/** The declared minimum (pages) of the memory a wasm module imports: its import section's memory limits. */
function importedMemoryMinimum(bytes) {
  let at = 8; // magic and version
  const leb = () => {
    let value = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  const name = () => {
    const length = leb();
    at += length;
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 2) {
      for (let count = leb(); count > 0; count--) {
        name();
        name();
        const kind = bytes[at++];
        if (kind === 0) leb(); // a function: its type index
        else if (kind === 1) {
          at++; // a table: its element type, then limits
          const flags = bytes[at++];
          leb();
          if (flags & 1) leb();
        } else if (kind === 2) {
          at++; // limits flags (shared, has maximum)
          return leb();
        } else if (kind === 3) at += 2; // a global: value type and mutability
        else fail(`an import of unknown kind ${kind}`);
      }
    }
    at = end;
  }
  fail('the module imports no memory');
}
const functionName = lib.replace(/_(\w)/g, (_, c) => c.toUpperCase()); // kimchiWasm
let glue = readFileSync(input, 'utf8');
if (/^import\s/m.test(glue)) fail('the glue imports modules (snippets?), which a function body cannot');

glue = replaceOnce(glue, `new URL('${lib}_bg.wasm', import.meta.url)`, 'wasmCode', 'default .wasm URL');
if (glue.includes('import.meta')) fail('import.meta is left in the glue, which a classic worker cannot parse');
// o1js's web backend reads the compiled module from `init.__wbindgen_wasm_module`.
if (!glue.includes('__wbg_init.__wbindgen_wasm_module = module;')) {
  fail('expected `__wbg_init.__wbindgen_wasm_module = module;`, which o1js reads the compiled module from');
}

const exported = [];
glue = glue.replace(/^export (function|class|const|let) (\w+)/gm, (_, kind, name) => {
  exported.push(name);
  return `${kind} ${name}`;
});
for (const [form, what] of [
  [/^export \{ initSync \};\s*$/m, 'the `export { initSync };`'],
  [/^export default __wbg_init;\s*$/m, 'the `export default __wbg_init;`'],
]) {
  if (!form.test(glue)) fail(`expected ${what}`);
  glue = glue.replace(form, '');
}
if (/^export\s/m.test(glue)) fail('an export form this script does not know is left');

const wasmSource =
  wasmMode === 'inline'
    ? `// Inlined by o1js's bundler (esbuild's binary loader): the bytes, for the page.\nimport wasmCode from './${lib}_bg.wasm';`
    : `// Only the page fetches the .wasm; workers get the compiled module in a message.\nconst wasmCode = new URL('./${lib}_bg.wasm', import.meta.url);`;

// Not re-indented: the glue holds multi-line template literals.
writeFileSync(
  output,
  `// Generated by scripts/o1js-web-glue.mjs from wasm-bindgen's web glue; do not edit.
import { startWorkers, terminateWorkers } from '../bindings/js/web/worker-helpers.js';
${wasmSource}

export { ${functionName} as default };

function ${functionName}() {
${glue.trimEnd()}

  return { ${[...exported, 'initSync'].join(', ')}, default: __wbg_init };
}
${functionName}.deps = [startWorkers, terminateWorkers];
/** The module's declared minimum memory, in 64 KiB pages: the shared memory must start at least this large. */
${functionName}.memoryMinimumPages = ${memoryMinimumPages};
`,
);
