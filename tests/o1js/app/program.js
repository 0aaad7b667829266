// The ZkProgram of the real-o1js tests: small (one method, a few constraints),
// but compiled and proved by o1js's full Pickles pipeline like any app's.
// o1js is passed in, so the same program runs under `import 'o1js'`,
// `require('o1js')` and o1js's web bundle, patched or stock.
//
// `globalThis.onProving`, when set, is called from inside the method while a
// proof is generated (Provable.asProver runs only then, never during
// compile): the tests request a recycle from there, while the proof runs.
export function makeProgram({ ZkProgram, Field, Provable }) {
  return ZkProgram({
    name: 'plonk-wasm-pool-adder',
    publicInput: Field,
    publicOutput: Field,
    methods: {
      add: {
        privateInputs: [Field],
        async method(x, y) {
          Provable.asProver(() => globalThis.onProving?.());
          y.assertGreaterThan(Field(0));
          return { publicOutput: x.add(y).mul(3) };
        },
      },
    },
  });
}

/** The public output `add` proves for inputs x, y. */
export const expectedOutput = (x, y) => (BigInt(x) + BigInt(y)) * 3n;
