// o1js's compiled OCaml bindings, which the web backend imports as source text
// (o1js's bundler resolves `string:` imports), declared for type-checking the
// backend in this repository (tsconfig.backends.json). Never installed.
declare module 'string:*' {
  const source: string;
  export default source;
}
