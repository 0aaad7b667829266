// A loopback HTTP server for the browser tests: serves the staged o1js web
// layout (build/o1js/web, from scripts/stage-o1js.sh web), the test page and
// the stand-ins for o1js's own files, with the headers that make the page
// cross-origin isolated (SharedArrayBuffer, shared wasm memory) and the MIME
// types browsers insist on (application/wasm for streaming compilation,
// text/javascript for module scripts).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** URL prefix → directory (or exact path → file). The first match wins; exact files come first. */
export const HARNESS_ROUTES = [
  // o1js's worker-spec.js lists o1js's bindings, which this repository's
  // wasm does not have: a stand-in lists fixture bindings instead.
  ['/o1js/bindings/js/web/worker-spec.js', join(ROOT, 'tests/web/stand-ins/worker-spec.js')],
  ['/o1js/', join(ROOT, 'build/o1js/web/')],
  ['/page/', join(ROOT, 'tests/web/page/')],
  ['/stand-ins/', join(ROOT, 'tests/web/stand-ins/')],
  ['/inputs/', join(ROOT, 'tests/inputs/')],
  // tests/inputs/table.js imports the kernel's describeValue from tsc's output.
  ['/build/ts/', join(ROOT, 'build/ts/')],
  ['/conformance/', join(ROOT, 'tests/conformance/')],
];

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function resolvePath(routes, pathname) {
  for (const [prefix, target] of routes) {
    if (pathname === prefix) return target;
    if (prefix.endsWith('/') && pathname.startsWith(prefix)) {
      const file = normalize(join(target, pathname.slice(prefix.length)));
      // No way out of the route's directory.
      return file.startsWith(target.endsWith(sep) ? target : target + sep) ? file : null;
    }
  }
  return null;
}

/** Starts the server on 127.0.0.1 at an ephemeral port, serving `routes`; resolves `{ origin, close() }`. */
export async function startServer(routes = HARNESS_ROUTES) {
  const server = createServer(async (request, response) => {
    const { pathname } = new URL(request.url, 'http://127.0.0.1');
    if (pathname === '/favicon.ico') {
      // Browsers ask for it; a 404 would be a console error, which fails the tests.
      response.writeHead(204, ISOLATION_HEADERS);
      response.end();
      return;
    }
    const file = resolvePath(routes, decodeURIComponent(pathname));
    const type = file === null ? undefined : MIME_TYPES[extname(file)];
    let body = null;
    if (type !== undefined && request.method === 'GET') body = await readFile(file).catch(() => null);
    if (body === null) {
      response.writeHead(404, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(`not found: ${pathname}\n`);
      return;
    }
    response.writeHead(200, { ...ISOLATION_HEADERS, 'Content-Type': type, 'Content-Length': body.length });
    response.end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
