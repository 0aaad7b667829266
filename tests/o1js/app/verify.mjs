// Verifies proofs made elsewhere (another o1js, patched or stock) with this
// app's o1js: node verify.mjs '{"file":"<a JSON file with { vkData, proofs: [json…] }>"}'.
// Prints one JSON line: whether each verifies.
import { readFileSync } from 'node:fs';
import { verify } from 'o1js';

const { file } = JSON.parse(process.argv[2]);
const { vkData, proofs } = JSON.parse(readFileSync(file, 'utf8'));
const verified = [];
for (const proof of proofs) verified.push(await verify(proof, vkData));
console.log(JSON.stringify({ verified }));
