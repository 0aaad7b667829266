#!/usr/bin/env node
// Writes the table of accepted inputs in docs/api.md ("Accepted inputs") from
// tests/inputs/table.js, between the inputs:begin / inputs:end markers
// (tests/inputs/node.test.js checks that the two agree).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderTable } from '../tests/inputs/table.js';

const path = new URL('../docs/api.md', import.meta.url);
const page = readFileSync(path, 'utf8');
const pattern = /(<!-- inputs:begin[^>]*-->\n)[\s\S]*?(<!-- inputs:end -->)/;
if (!pattern.test(page)) {
  console.error('docs/api.md has no <!-- inputs:begin --> ... <!-- inputs:end --> markers');
  process.exit(1);
}
writeFileSync(path, page.replace(pattern, (_, begin, end) => begin + renderTable() + end));
console.log('docs/api.md: accepted inputs table written');
