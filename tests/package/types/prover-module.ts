// A proving module for api.check.ts: jobs with and without parameters.
import type { JobContext } from 'o1js/isolates';

export const jobs = {
  async prove({ x, y }: { x: number; y: number }, context: JobContext) {
    return { proof: `${x + y} on ${context.isolateId}`, output: String((x + y) * 3) };
  },
  count() {
    return 3;
  },
  async name() {
    return 'prover';
  },
};
