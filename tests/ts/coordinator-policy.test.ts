import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, type CoordinatorOptions } from '../../bindings-js/lib/proof-system/coordinator-config.js';
import { INITIAL_POLICY_STATE, decide, type PolicyState } from '../../bindings-js/lib/proof-system/coordinator-policy.js';
import { GiB, MiB, healthWith, linearFraction } from './health-fixture.js';

const OPTS = { timeout: 5_000 };
const NOW_MS = 1_000_000;

/**
 * Thresholds only: no cooldown, no hysteresis, unless a test sets them. The
 * linear memory fraction is off by default (deprecated: a recycle cannot
 * shrink linear memory); these tests of the engine set it.
 */
function config(options: CoordinatorOptions = {}) {
  return resolveConfig({ cooldownMs: 0, hysteresisFraction: 0, maxLinearMemoryFraction: 0.75, ...options });
}

test('a healthy running pool proceeds without a reason; the state only learns the generation', OPTS, () => {
  const { decision, state } = decide(healthWith(), config(), INITIAL_POLICY_STATE, NOW_MS);
  assert.deepEqual(decision, { kind: 'proceed', reason: null });
  assert.deepEqual(state, { ...INITIAL_POLICY_STATE, generation: 1 });
});

test('the memory thresholds are off by default: a recycle cannot bring them down', OPTS, () => {
  const defaults = resolveConfig({ cooldownMs: 0 });
  assert.equal(defaults.maxLinearMemoryFraction, null);
  assert.equal(defaults.maxAllocatorLiveBytes, null);
  const full = healthWith({ memory: { ...linearFraction(0.99), allocatorLiveBytes: 2 * GiB } });
  assert.equal(decide(full, defaults, INITIAL_POLICY_STATE, NOW_MS).decision.kind, 'proceed');
  // Set anyway, they still recycle, and say why that is deprecated.
  const set = decide(full, config(), INITIAL_POLICY_STATE, NOW_MS).decision;
  assert.ok(set.kind === 'recycle');
  assert.match(set.reason, /deprecated: set memory limits on prover isolates/);
});

test('linear memory at the fraction threshold recycles, with the numbers', OPTS, () => {
  const { decision, state } = decide(healthWith({ memory: linearFraction(0.75) }), config(), INITIAL_POLICY_STATE, NOW_MS);
  assert.equal(decision.kind, 'recycle');
  assert.ok(decision.kind === 'recycle');
  assert.equal(decision.metric, 'linearMemoryFraction');
  assert.equal(decision.value, 0.75);
  assert.equal(decision.threshold, 0.75);
  assert.match(decision.reason, /linear memory 3221225472 of 4294967296 bytes 0.7500 >= threshold 0.7500/);
  assert.equal(state.lastRecycleMs, NOW_MS);
  assert.equal(state.latched.linearMemoryFraction, 0.75);
  assert.equal(decide(healthWith({ memory: linearFraction(0.74) }), config(), INITIAL_POLICY_STATE, NOW_MS).decision.kind, 'proceed');
});

test('without a linear memory maximum (native) the fraction and admission are not checked', OPTS, () => {
  const health = healthWith({ memory: { linearBytes: null, linearMaxBytes: null, allocatorLiveBytes: 10 * GiB } });
  assert.equal(decide(health, config(), INITIAL_POLICY_STATE, NOW_MS).decision.kind, 'proceed');
});

test('allocator live bytes at maxAllocatorLiveBytes recycles; null turns it off', OPTS, () => {
  const health = healthWith({ memory: { allocatorLiveBytes: 512 * MiB } });
  const on = decide(health, config({ maxAllocatorLiveBytes: 512 * MiB }), INITIAL_POLICY_STATE, NOW_MS).decision;
  assert.ok(on.kind === 'recycle');
  assert.equal(on.metric, 'allocatorLiveBytes');
  assert.equal(on.value, 512 * MiB);
  assert.equal(decide(health, config(), INITIAL_POLICY_STATE, NOW_MS).decision.kind, 'proceed');
});

test('generation age at maxGenerationAgeMs recycles', OPTS, () => {
  const health = healthWith({ generationAgeMs: 60_000 });
  const decision = decide(health, config({ maxGenerationAgeMs: 60_000 }), INITIAL_POLICY_STATE, NOW_MS).decision;
  assert.ok(decision.kind === 'recycle');
  assert.equal(decision.metric, 'generationAgeMs');
  assert.equal(decide(health, config({ maxGenerationAgeMs: 60_001 }), INITIAL_POLICY_STATE, NOW_MS).decision.kind, 'proceed');
});

test('jobs on the generation at maxJobsPerGeneration recycles', OPTS, () => {
  const decision = decide(healthWith({ generationJobs: 100 }), config({ maxJobsPerGeneration: 100 }), INITIAL_POLICY_STATE, NOW_MS).decision;
  assert.ok(decision.kind === 'recycle');
  assert.equal(decision.metric, 'generationJobs');
  assert.equal(decision.threshold, 100);
  assert.equal(decide(healthWith({ generationJobs: 99 }), config({ maxJobsPerGeneration: 100 }), INITIAL_POLICY_STATE, NOW_MS).decision.kind, 'proceed');
});

test('when several thresholds are crossed, linear memory is reported first', OPTS, () => {
  const health = healthWith({ memory: linearFraction(0.9), generationJobs: 1_000 });
  const decision = decide(health, config({ maxJobsPerGeneration: 10 }), INITIAL_POLICY_STATE, NOW_MS).decision;
  assert.ok(decision.kind === 'recycle');
  assert.equal(decision.metric, 'linearMemoryFraction');
});

test('within cooldownMs of the last recycle a crossed threshold proceeds, with the reason', OPTS, () => {
  const cfg = config({ cooldownMs: 30_000 });
  const state: PolicyState = { ...INITIAL_POLICY_STATE, lastRecycleMs: NOW_MS - 10_000 };
  const health = healthWith({ memory: linearFraction(0.8) });
  const during = decide(health, cfg, state, NOW_MS);
  assert.equal(during.decision.kind, 'proceed');
  assert.match(during.decision.reason ?? '', /last recycle was 10000 ms ago \(cooldownMs 30000\)/);
  assert.equal(during.state.lastRecycleMs, NOW_MS - 10_000);
  assert.equal(decide(health, cfg, state, NOW_MS + 20_000).decision.kind, 'recycle');
});

// The one meaning of hysteresis (kernel/thresholds.ts), in the coordinator's terms. These two tests
// replace the coordinator's former "a fired metric is disarmed; it fires again after growing by the
// margin, or re-arms below threshold - margin": the first behaviour is now the baseline guard (the
// new generation starts where the old one ended, a recycle freeing no memory), the second the latch.
test('hysteresis, baseline: after a recycle a memory threshold fires again only once the new generation grew by the margin', OPTS, () => {
  const cfg = config({ hysteresisFraction: 0.05 }); // margin 0.0375 of the 0.75 threshold
  const first = decide(healthWith({ generation: 1, memory: linearFraction(0.76) }), cfg, INITIAL_POLICY_STATE, NOW_MS);
  assert.equal(first.decision.kind, 'recycle');
  // Linear memory never shrinks: generation 2 starts at 0.76, still above the threshold, not by the margin.
  const same = decide(healthWith({ generation: 2, memory: linearFraction(0.76) }), cfg, first.state, NOW_MS + 1);
  assert.equal(same.decision.kind, 'proceed');
  assert.ok(Math.abs((same.state.baseline?.linearMemoryFraction ?? 0) - 0.76) < 1e-9, 'the baseline is where generation 2 started');
  assert.match(same.decision.reason ?? '', /within the hysteresis margin 0.0375 of what this generation started with 0.7600/);
  assert.equal(decide(healthWith({ generation: 2, memory: linearFraction(0.79) }), cfg, same.state, NOW_MS + 2).decision.kind, 'proceed');
  const grown = decide(healthWith({ generation: 2, memory: linearFraction(0.7975) }), cfg, same.state, NOW_MS + 3);
  assert.ok(grown.decision.kind === 'recycle', 'grown by the margin past where generation 2 started');
  assert.ok(Math.abs((grown.state.latched.linearMemoryFraction ?? 0) - 0.76) < 1e-9, 'latched since its first crossing in generation 2');
});

test('hysteresis, latch: a crossing held by the cooldown stays latched inside the band and clears below threshold minus margin', OPTS, () => {
  const cfg = config({ maxJobsPerGeneration: 100, hysteresisFraction: 0.1, cooldownMs: 30_000 }); // band [90, 100)
  const cooling: PolicyState = { ...INITIAL_POLICY_STATE, lastRecycleMs: NOW_MS - 10_000 };
  const held = decide(healthWith({ generationJobs: 100 }), cfg, cooling, NOW_MS);
  assert.equal(held.decision.kind, 'proceed');
  assert.match(held.decision.reason ?? '', /last recycle was 10000 ms ago/);
  assert.equal(held.state.latched.generationJobs, 100);
  const inBand = decide(healthWith({ generationJobs: 95 }), cfg, held.state, NOW_MS + 1);
  assert.equal(inBand.state.latched.generationJobs, 100, 'still latched inside the band');
  assert.equal(decide(healthWith({ generationJobs: 95 }), cfg, inBand.state, NOW_MS + 20_000).decision.kind, 'recycle', 'acted on once the cooldown passed');
  const cleared = decide(healthWith({ generationJobs: 89 }), cfg, inBand.state, NOW_MS + 2);
  assert.equal(cleared.state.latched.generationJobs, undefined, 'cleared below the band');
  assert.equal(decide(healthWith({ generationJobs: 89 }), cfg, cleared.state, NOW_MS + 20_000).decision.kind, 'proceed');
});

test('a recycle that did not happen (the same generation after it) is decided again once the cooldown passes', OPTS, () => {
  const cfg = config({ maxJobsPerGeneration: 10, cooldownMs: 30_000 });
  const first = decide(healthWith({ generationJobs: 10 }), cfg, INITIAL_POLICY_STATE, NOW_MS);
  assert.equal(first.decision.kind, 'recycle');
  assert.equal(decide(healthWith({ generationJobs: 11 }), cfg, first.state, NOW_MS + 1_000).decision.kind, 'proceed');
  assert.equal(decide(healthWith({ generationJobs: 11 }), cfg, first.state, NOW_MS + 30_000).decision.kind, 'recycle');
  // A new generation drops the latch: its jobs start at zero.
  const renewed = decide(healthWith({ generation: 2, generationJobs: 1 }), cfg, first.state, NOW_MS + 30_000);
  assert.deepEqual(renewed.state.latched, {});
});

test('jitter lowers thresholds by at most jitterFraction, never raises them', OPTS, () => {
  const cfg = config({ jitterFraction: 0.2, maxJobsPerGeneration: 100 });
  for (const jitterUnit of [0, 0.25, 0.5, 0.999]) {
    const state = { ...INITIAL_POLICY_STATE, jitterUnit };
    const linear = decide(healthWith({ memory: linearFraction(0.75) }), cfg, state, NOW_MS).decision;
    assert.ok(linear.kind === 'recycle');
    assert.ok(linear.threshold <= 0.75 && linear.threshold >= 0.75 * 0.8, `threshold ${linear.threshold}`);
    assert.ok(Math.abs(linear.threshold - 0.75 * (1 - 0.2 * jitterUnit)) < 1e-12);
    const jobs = decide(healthWith({ generationJobs: 100 }), cfg, state, NOW_MS).decision;
    assert.ok(jobs.kind === 'recycle' && jobs.metric === 'generationJobs');
    assert.ok(jobs.threshold <= 100 && jobs.threshold >= 80 && Number.isInteger(jobs.threshold));
  }
  // With the maximal draw, 0.61 of memory already reaches the lowered threshold (0.75 × 0.8 = 0.6).
  const early = decide(healthWith({ memory: linearFraction(0.61) }), cfg, { ...INITIAL_POLICY_STATE, jitterUnit: 0.999 }, NOW_MS);
  assert.equal(early.decision.kind, 'recycle');
});

test('admission: too little headroom refuses the job with the numbers', OPTS, () => {
  const health = healthWith({ memory: { linearBytes: 4 * GiB, linearMaxBytes: 4 * GiB, allocatorLiveBytes: 4 * GiB - 10 * MiB } });
  const { decision, state } = decide(health, config(), INITIAL_POLICY_STATE, NOW_MS);
  assert.ok(decision.kind === 'refuse');
  assert.equal(decision.neededBytes, 64 * MiB);
  assert.equal(decision.availableBytes, 10 * MiB);
  assert.match(decision.reason, /headroom 10485760 bytes \(linearMaxBytes 4294967296 - allocatorLiveBytes 4284481536\) < admissionHeadroomBytes 67108864/);
  assert.deepEqual(state, INITIAL_POLICY_STATE);
  // Exactly the headroom is enough.
  const edge = healthWith({ memory: { linearMaxBytes: 4 * GiB, allocatorLiveBytes: 4 * GiB - 64 * MiB } });
  assert.notEqual(decide(edge, config(), INITIAL_POLICY_STATE, NOW_MS).decision.kind, 'refuse');
});

test('a poisoned pool is rebuilt, even within the cooldown', OPTS, () => {
  const health = healthWith({ state: 'poisoned', poisoned: { generation: 2, reason: 'worker 0 exited with code 1' } });
  const state = { ...INITIAL_POLICY_STATE, lastRecycleMs: NOW_MS - 1 };
  const result = decide(health, config({ cooldownMs: 60_000 }), state, NOW_MS);
  assert.deepEqual(result.decision, { kind: 'rebuild', reason: 'generation 2 is poisoned (worker 0 exited with code 1): rebuild it' });
  assert.equal(result.state.lastRecycleMs, NOW_MS);
});

test('a pool that is starting or exiting is waited for (WithThreadPool owns both)', OPTS, () => {
  for (const poolState of ['starting', 'exiting'] as const) {
    const health = healthWith({ state: poolState, memory: linearFraction(0.99) });
    const result = decide(health, config(), INITIAL_POLICY_STATE, NOW_MS);
    assert.deepEqual(result.decision, { kind: 'wait', reason: `the pool is ${poolState}` });
    assert.equal(result.state, INITIAL_POLICY_STATE);
  }
});

test('a pool that is recycling is decided like a running one: a recycle decided then joins it in WithThreadPool', OPTS, () => {
  assert.equal(decide(healthWith({ state: 'recycling' }), config(), INITIAL_POLICY_STATE, NOW_MS).decision.kind, 'proceed');
  const crossed = decide(healthWith({ state: 'recycling', memory: linearFraction(0.99) }), config(), INITIAL_POLICY_STATE, NOW_MS);
  assert.equal(crossed.decision.kind, 'recycle');
});

test('decide does not mutate its inputs', OPTS, () => {
  const health = healthWith({ memory: linearFraction(0.9) });
  const state: PolicyState = Object.freeze({ ...INITIAL_POLICY_STATE, latched: Object.freeze({ generationJobs: 5 }) });
  const before = JSON.stringify({ health, state });
  decide(health, config({ maxJobsPerGeneration: 10 }), state, NOW_MS);
  assert.equal(JSON.stringify({ health, state }), before);
});
