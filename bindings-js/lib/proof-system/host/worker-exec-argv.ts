/**
 * The Node options a pool thread starts with.
 *
 * A worker_thread inherits its parent's `execArgv`, and Node refuses to start
 * one whose options include `--input-type` (valid only for `-e`/`-p`/stdin
 * source): `node --input-type=module -e "…"` would otherwise leave every pool
 * thread dead at birth. Every other option (loaders, `--conditions`,
 * `--max-old-space-size`) is kept, as Node itself would.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const option = execArgv[i];
    if (option === '--input-type') {
      i++; // its value is the next word
      continue;
    }
    if (option.startsWith('--input-type=')) continue;
    kept.push(option);
  }
  return kept;
}
