#!/usr/bin/env node
// Writes README's "Accepted inputs" table from tests/inputs/table.js, between
// the inputs:begin / inputs:end markers (tests/inputs/node.test.js checks it).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderTable } from '../tests/inputs/table.js';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const pattern = /(<!-- inputs:begin[^>]*-->\n)[\s\S]*?(<!-- inputs:end -->)/;
if (!pattern.test(readme)) {
  console.error('README.md has no <!-- inputs:begin --> ... <!-- inputs:end --> markers');
  process.exit(1);
}
writeFileSync(path, readme.replace(pattern, (_, begin, end) => begin + renderTable() + end));
console.log('README.md: accepted inputs table written');
