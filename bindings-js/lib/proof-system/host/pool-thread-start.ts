/**
 * How a pool thread (the supervisor, a Rayon worker, a prover isolate) is
 * started from its script so that it runs with its parent's Node options.
 *
 * Left to itself, Node gives a worker its parent's options, as stock o1js's
 * threads get them, and V8 and process-wide options (`--max-old-space-size`,
 * `--expose-gc`, `--stack-size`) hold for the whole process. An explicit
 * `execArgv` is checked instead, and any such option in it is refused
 * (ERR_WORKER_INVALID_EXEC_ARGV): a pool started under
 * `node --max-old-space-size=4096 app.js` would not start. So options are
 * always inherited. One inherited option breaks a worker started from a
 * file: `--input-type` (`node --input-type=module -e "…"`), which Node allows
 * only with string input. Under it the thread starts from string input that
 * imports the script: inherited options, --input-type satisfied, and the
 * script runs as a module would.
 */

/** What `new Worker(specifier, { eval })` takes to start the thread. */
export interface PoolThreadStart {
  readonly specifier: string | URL;
  readonly eval: boolean;
}

/** How to start a thread running `script` (a file: URL), given the parent's `execArgv`. */
export function poolThreadStart(script: URL, execArgv: readonly string[]): PoolThreadStart {
  const inputType = execArgv.some((option) => option === '--input-type' || option.startsWith('--input-type='));
  return inputType ? { specifier: `import(${JSON.stringify(script.href)});`, eval: true } : { specifier: script, eval: false };
}
