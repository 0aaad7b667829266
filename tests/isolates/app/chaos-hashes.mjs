// The known answers of the isolate chaos run's hash jobs (tests/isolates/chaos.js
// runs it in the stock app, as build/o1js-app/stock/isolates/chaos-hashes.mjs):
// o1js's Poseidon hash of each input list, by npm's o1js on the main thread.
//   node chaos-hashes.mjs '{"inputs":[["1","2"],["3"]]}'
// Prints one JSON line: { hashes: [decimal string, …] } in the order of `inputs`.
import { Field, Poseidon } from 'o1js';

const { inputs } = JSON.parse(process.argv[2]);
const hashes = inputs.map((list) => Poseidon.hash(list.map((v) => Field(v))).toString());
console.log(JSON.stringify({ hashes }));
