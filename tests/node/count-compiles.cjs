// Preloaded (`node --require`) into a process and, through its execArgv, into
// every worker thread it starts: each compile of a wasm module larger than
// 1 MiB (kimchi's, not a test's tiny one), and each read of a `.wasm` file
// that large, appends `compile <thread id>` or `read <thread id>` to the file
// COMPILES_LOG names. Used by shared-module.test.js.
const { threadId } = require('node:worker_threads');
const fs = require('node:fs');

const log = (what) => fs.appendFileSync(process.env.COMPILES_LOG, `${what} ${threadId}\n`);

const Module = WebAssembly.Module;
function CountedModule(bytes) {
  if (bytes && bytes.byteLength > 1 << 20) log('compile');
  return new Module(bytes);
}
Object.setPrototypeOf(CountedModule, Module);
CountedModule.prototype = Module.prototype;
WebAssembly.Module = CountedModule;

const readFileSync = fs.readFileSync;
fs.readFileSync = function countedRead(file, ...rest) {
  const read = readFileSync.call(fs, file, ...rest);
  if (/\.wasm$/.test(String(file)) && read.byteLength > 1 << 20) log('read');
  return read;
};
