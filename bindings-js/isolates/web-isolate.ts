/**
 * The script of a browser isolate started by web.ts for a `module` URL: a
 * module Web Worker that imports the proving module from that URL (apps whose
 * bundler builds the worker use their own script and serveProverIsolate
 * instead: web-environment.ts).
 */
import { serveWebIsolate } from './web-environment.js';

serveWebIsolate(async (url) => {
  if (url === null) throw new TypeError('this isolate loads its proving module from a URL: expected the pool to send one');
  return import(/* @vite-ignore */ url);
});
