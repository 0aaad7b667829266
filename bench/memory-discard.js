// Can freed linear-memory pages go back to the OS without a new instance?
// The memory-control proposal's `memory.discard` would do it (as a JS method
// `WebAssembly.Memory.prototype.discard` and as the instruction 0xFC 0x12).
// This asks the engines we run on, plain and shared memories alike, with and
// without V8's memory-control flag: whether the method exists, whether a
// module using the instruction compiles, and when one of them works, how much
// RSS 448 MiB of discarded pages gives back (of 512 MiB touched).
//
//   node bench/memory-discard.js          prints the findings as JSON
//   (bench/run.js runs it as a section of the benchmark)
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/** Runs in the engine under test (Node or a page): what discard does there. `rss()` resolves the process's RSS in bytes. */
async function probeDiscard(rss) {
  const MiB = 2 ** 20;
  const leb = (n) => {
    const out = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n) byte |= 0x80;
      out.push(byte);
    } while (n);
    return out;
  };
  const section = (id, body) => [id, ...leb(body.length), ...body];
  const name = (s) => [...leb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
  // (import "e" "m" (memory 1 16384 [shared])) (func (export "d") (param i32 i32) local.get 0 local.get 1 memory.discard 0)
  const moduleBytes = (shared) => {
    const body = [0, 0x20, 0, 0x20, 1, 0xfc, 0x12, 0, 0x0b];
    return new Uint8Array([
      0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]),
      ...section(2, [1, ...name('e'), ...name('m'), 2, shared ? 3 : 1, ...leb(1), ...leb(16384)]),
      ...section(3, [1, 0]),
      ...section(7, [1, ...name('d'), 0, 0]),
      ...section(10, [1, ...leb(body.length), ...body]),
    ]);
  };
  const findings = { method: typeof WebAssembly.Memory.prototype.discard === 'function' };
  for (const shared of [false, true]) {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16384, shared });
    let discard = null;
    let instruction;
    try {
      const { instance } = await WebAssembly.instantiate(moduleBytes(shared), { e: { m: memory } });
      discard = (offset, length) => instance.exports.d(offset, length);
      instruction = 'compiles';
    } catch (error) {
      instruction = `refused: ${error.message}`;
    }
    if (discard === null && findings.method) discard = (offset, length) => memory.discard(offset, length);
    const entry = { instruction };
    if (discard !== null) {
      memory.grow(8191); // 512 MiB
      const bytes = new Uint8Array(memory.buffer);
      for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 1;
      const touched = await rss();
      try {
        discard(64 * MiB, 448 * MiB);
        entry.rssReturnedMiB = +((touched - (await rss())) / MiB).toFixed(1);
        entry.zeroedAfter = new Uint8Array(memory.buffer)[100 * MiB] === 0;
      } catch (error) {
        entry.discardError = error.message;
      }
    }
    findings[shared ? 'shared' : 'plain'] = entry;
  }
  return findings;
}

/** Node: this binary, and with `--experimental-wasm-memory-control` when it knows the flag. */
function nodeFindings() {
  const flags = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
  const known = ['--experimental-wasm-memory-control', '--wasm-memory-control'].find((flag) => flags.includes(`${flag} `));
  const runs = [[], ...(known ? [[known]] : [])];
  return runs.map((args) => {
    const script = `(${probeDiscard})(async () => process.memoryUsage().rss).then((f) => console.log(JSON.stringify(f)))`;
    const child = spawnSync(process.execPath, [...args, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    const findings = child.status === 0 ? JSON.parse(child.stdout) : { error: child.stderr.trim().split('\n').pop() };
    return { engine: `node ${process.version}`, flags: args.join(' ') || 'none', knowsFlag: known ?? null, ...findings };
  });
}

/** Chromium (cross-origin isolated, for shared memory), without and with V8's memory-control flag. */
async function chromiumFindings() {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) return [{ engine: 'chromium', skipped: `no ${executablePath}` }];
  const { chromium } = await import('playwright-core');
  const page = `<!doctype html><script>window.probeDiscard = ${probeDiscard};</script>`;
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    res.end(page);
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const findings = [];
  try {
    for (const flag of ['', '--wasm-memory-control']) {
      const browser = await chromium.launch({ executablePath, args: flag ? [`--js-flags=${flag}`] : [] });
      try {
        const tab = await browser.newPage();
        // The page's own RSS is not visible from inside it; only asked for when discard works.
        await tab.exposeFunction('rendererRss', () => {
          const ps = spawnSync('ps', ['-C', 'chromium,chrome,headless_shell', '-o', 'rss='], { encoding: 'utf8' }).stdout;
          return ps.split('\n').reduce((sum, kib) => sum + (Number(kib) || 0) * 1024, 0);
        });
        await tab.goto(`http://127.0.0.1:${server.address().port}/`);
        const result = await tab.evaluate(() => window.probeDiscard(() => window.rendererRss()));
        findings.push({ engine: `chromium ${browser.version()}`, flags: flag ? `--js-flags=${flag}` : 'none', ...result });
      } finally {
        await browser.close();
      }
    }
  } finally {
    server.close();
  }
  return findings;
}

/** The findings, and whether discard can be adopted (behind an option) on any engine measured. */
export async function memoryDiscardSection() {
  const engines = [...nodeFindings(), ...(await chromiumFindings())];
  const works = (e) => e.rssReturnedMiB !== undefined && e.rssReturnedMiB > 0;
  const usable = engines.filter((e) => works(e.plain ?? {}) || works(e.shared ?? {}));
  return { engines, usable: usable.map((e) => `${e.engine} (${e.flags})`) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await memoryDiscardSection(), null, 2));
}
