// Preloaded (`node --require`) into a process and, through its execArgv, into
// every worker thread it starts: each compile of a wasm module larger than
// 1 MiB (kimchi's, not a test's tiny one) appends the compiling thread's id
// to the file COMPILES_LOG names. Used by shared-module.test.js.
const { threadId } = require('node:worker_threads');
const { appendFileSync } = require('node:fs');

const Module = WebAssembly.Module;
function CountedModule(bytes) {
  if (bytes && bytes.byteLength > 1 << 20) appendFileSync(process.env.COMPILES_LOG, `${threadId}\n`);
  return new Module(bytes);
}
Object.setPrototypeOf(CountedModule, Module);
CountedModule.prototype = Module.prototype;
WebAssembly.Module = CountedModule;
