// Reads the proof bytes the native tests pinned in insta snapshots, so the
// Node and browser tests compare against the very same files.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SNAPSHOTS = fileURLToPath(new URL('../../plonk-wasm/tests/snapshots/', import.meta.url));

/** The `(k, seed)` pairs pinned by plonk-wasm/tests/proofs_across_recycles.rs. */
export const PROOF_CASES = [
  { k: 8, seed: 1 },
  { k: 9, seed: 7 },
];

export function expectedProof({ k, seed }) {
  const file = `${SNAPSHOTS}proofs_across_recycles__proof_k${k}_seed${seed}.snap`;
  const text = readFileSync(file, 'utf8');
  // An insta file is a `---` header block, then the snapshot body.
  const body = text.split(/^---$/m).slice(2).join('---').trim();
  if (!/^[0-9a-f\n]+$/.test(body)) throw new Error(`${file} does not hold a hex proof`);
  return Buffer.from(body.replace(/\n/g, ''), 'hex');
}
