// README's table of accepted inputs checked against table.js. (The bad-input
// suite generated from it runs on both backends as a conformance case:
// tests/conformance/cases.js.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderTable } from './table.js';

test("README's table of accepted inputs is table.js's", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const between = /<!-- inputs:begin[^>]*-->\n([\s\S]*?)<!-- inputs:end -->/.exec(readme);
  assert.ok(between, 'README has the inputs:begin / inputs:end markers');
  assert.equal(between[1], renderTable(), 'README is out of date: run node scripts/render-input-table.mjs');
});
