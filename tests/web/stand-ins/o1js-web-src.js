// Stand-in for o1js's compiled OCaml bindings (web_bindings/o1js_web.bc.js),
// which o1js's bundler imports into the web backend as a string (`string:`
// import; the test page's import map points it here). Test scaffolding.
export default 'globalThis.o1jsWebBindingsStandIn = true;';
