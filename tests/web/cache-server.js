// Serves o1js's on-disk cache (files without an extension) to the browser
// isolates' warm step, read-only, from its own loopback port: CORS and
// Cross-Origin-Resource-Policy headers let the cross-origin-isolated page's
// workers read it (COEP require-corp accepts CORS responses).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

export async function startCacheServer(directory) {
  const server = createServer(async (request, response) => {
    const name = basename(decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname));
    const headers = { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin', 'Cache-Control': 'no-store' };
    const body = request.method === 'GET' && name.length > 0 ? await readFile(join(directory, name)).catch(() => null) : null;
    if (body === null) {
      // A miss is 204, not 404: browsers log every 404 as a console error, and a cache miss is no error.
      response.writeHead(204, headers);
      response.end();
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    response.end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
