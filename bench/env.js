// The benchmark's settings from the environment.

/**
 * A whole-number setting: `env[name]`, else `normal` (or `small` in a smoke
 * run, BENCH_QUICK=1); at least `min`, or an error naming the variable.
 */
export function envInteger(env, name, normal, small, min = 1) {
  const value = Number(env[name] ?? (env.BENCH_QUICK === '1' ? small : normal));
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name}=${env[name]} is invalid: expected a whole number >= ${min}`);
  return value;
}
