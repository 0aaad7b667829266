// The committed declarations of the Node glue (bindings-js/bindings/compiled/
// node_bindings/kimchi_wasm.d.cts, what tsconfig.backends.json type-checks
// node-backend.js against) agree with the build's: wasm-bindgen's own
// declarations of the Rust exports (pkg/node) and the ABI types generated from
// the Rust definitions. (The web glue: tests/web/glue-types.test.js.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVariant } from '../../scripts/render-glue-types.mjs';

test("the Node glue's declarations match the Rust exports", () => {
  assert.deepEqual(checkVariant('node'), []);
});
