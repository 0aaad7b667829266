// The demo's command line, parsed in one place: scripts/demo.sh runs this
// first (`node options.js ARGS...`, exit 2 on a bad one) so that a typo is
// reported before the package build, and run.js parses the same way.
import { fileURLToPath } from 'node:url';

export const USAGE = `usage: scripts/demo.sh [--minutes N] [--proofs N] [--replace-every N]
       scripts/demo.sh --fixture [JOBS]
  --minutes N        proving time budget per side (default 4; a decimal is fine): no proof starts after it
  --proofs N         stop each side after N proofs (alone: no time budget; with --minutes: whichever comes first)
  --replace-every N  the pool replaces its isolate after N jobs (limits.maxJobs; default 2)
  --fixture [JOBS]   the older demo on this repository's halo2 test fixture instead (default 80 jobs)
  --help             this text`;

const ACCEPTED = '--minutes N, --proofs N, --replace-every N, --fixture [JOBS] (first), --help';
const DEFAULT_MINUTES = 4;
const DEFAULT_REPLACE_EVERY = 2;

export class UsageError extends Error {}

const positiveNumber = (flag, text) => {
  const value = Number(text);
  if (text === undefined || text.startsWith('--') || !(value > 0) || !Number.isFinite(value)) throw new UsageError(`${flag} needs a positive number, got '${text ?? ''}'`);
  return value;
};
const positiveInteger = (flag, text) => {
  const value = positiveNumber(flag, text);
  if (!Number.isSafeInteger(value)) throw new UsageError(`${flag} needs a whole number, got '${text}'`);
  return value;
};

/**
 * { minutes: number | null, proofs: number | null, replaceEvery, package: path | null, help }.
 * `--package FILE` (the tarball to install as o1js) is how demo.sh hands over what pack.sh built.
 */
export function parseOptions(argv) {
  const options = { minutes: null, proofs: null, replaceEvery: DEFAULT_REPLACE_EVERY, package: null, help: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--minutes') options.minutes = positiveNumber(flag, value());
    else if (flag === '--proofs') options.proofs = positiveInteger(flag, value());
    else if (flag === '--replace-every') options.replaceEvery = positiveInteger(flag, value());
    else if (flag === '--package') options.package = value() ?? null;
    else if (flag === '--help' || flag === '-h') options.help = true;
    else if (flag === '--fixture') throw new UsageError(`--fixture must come first (scripts/demo.sh --fixture [JOBS]); accepted: ${ACCEPTED}`);
    else throw new UsageError(`unknown option '${argv[i]}': accepted: ${ACCEPTED}`);
  }
  if (options.minutes === null && options.proofs === null) options.minutes = DEFAULT_MINUTES;
  return options;
}

// As a script: validate only (demo.sh), printing the usage for --help.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    if (parseOptions(process.argv.slice(2)).help) console.log(USAGE);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`ERROR: ${error.message} (scripts/demo.sh --help)`);
    process.exit(2);
  }
}
