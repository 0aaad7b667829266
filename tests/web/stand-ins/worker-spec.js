// Stand-in for o1js's src/bindings/js/web/worker-spec.js, in its format: the
// bindings the web backend forwards synchronously from the page to its main
// worker. o1js lists its proving bindings; this repository's wasm has the
// fixture's. Test scaffolding, never installed upstream.
export { workerSpec };

function workerSpec(wasm) {
  // As upstream: a boolean crosses as 2 / 1, never 0.
  let bool = {
    there: (value) => (value ? 2 : 1),
    back: (u32) => u32 !== 1,
  };
  return {
    fixtureVerify: {
      args: [undefined /* k */, undefined /* Uint8Array proof */],
      res: bool,
    },
  };
}
