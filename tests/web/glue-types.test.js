// The committed declarations of the web glue (bindings-js/web_bindings/
// kimchi_wasm.d.ts, what tsconfig.backends.json type-checks web-backend.js and
// worker-helpers.js against) agree with the build's: wasm-bindgen's own
// declarations of the Rust exports (pkg/web) and the ABI types generated from
// the Rust definitions. (The Node glue: tests/node/glue-types.test.js.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVariant } from '../../scripts/render-glue-types.mjs';

test("the web glue's declarations match the Rust exports", () => {
  assert.deepEqual(checkVariant('web'), []);
});
