// The table of accepted inputs in docs/api.md ("Accepted inputs") checked
// against table.js (scripts/render-input-table.mjs writes it). The bad-input
// suite generated from table.js runs on both backends as a conformance case:
// tests/conformance/cases.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderTable } from './table.js';

test("docs/api.md's table of accepted inputs is table.js's", () => {
  const page = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const between = /<!-- inputs:begin[^>]*-->\n([\s\S]*?)<!-- inputs:end -->/.exec(page);
  assert.ok(between, 'docs/api.md has the inputs:begin / inputs:end markers');
  assert.equal(between[1], renderTable(), 'docs/api.md is out of date: run node scripts/render-input-table.mjs');
});
