// The replacement policy as pure functions (bindings-js/isolates/replacement-policy.ts):
// thresholds, jitter, hysteresis (latch and baseline guard), cooldown, headroom; no workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB, MiB, load } from './lib.js';

const { resolveProverPoolConfig } = await load('config.js');
const policy = await load('replacement-policy.js');
const { decideReplacement, initialIsolatePolicyState, INITIAL_POOL_POLICY_STATE, admitsJob, freshIsolateHeadroom } = policy;

const NOW = 1_000_000;
const OPTS = { timeout: 5_000 };
/** Limits with no cooldown and no hysteresis unless a test sets them. */
const limits = (given = {}) => resolveProverPoolConfig({ module: 'file:///m.js', limits: { cooldownMs: 0, hysteresisFraction: 0, ...given } }).limits;
const reading = (over = {}) => ({ linearBytes: 300 * MiB, linearMaxBytes: 4 * GiB, allocatorLiveBytes: 200 * MiB, rssBytes: 700 * MiB, jobs: 0, ageMs: 1_000, fault: null, ...over });
const fresh = initialIsolatePolicyState(0);
const decide = (r, l, isolate = fresh, pool = INITIAL_POOL_POLICY_STATE, now = NOW) => decideReplacement(r, l, isolate, pool, now);

test('no limits reached: keep, without a reason, and the states unchanged', OPTS, () => {
  const result = decide(reading(), limits({ maxJobs: 10, maxLinearBytes: GiB }));
  assert.deepEqual(result.decision, { kind: 'keep', reason: null });
  assert.deepEqual(result.pool, INITIAL_POOL_POLICY_STATE);
  assert.deepEqual(result.isolate.latched, {});
});

test('each limit replaces at its threshold, with the numbers; the pool state records when', OPTS, () => {
  const cases = [
    ['linearBytes', { maxLinearBytes: 300 * MiB }, {}, 300 * MiB],
    ['allocatorLiveBytes', { maxAllocatorLiveBytes: 200 * MiB }, {}, 200 * MiB],
    ['rssBytes', { maxRssBytes: 700 * MiB }, {}, 700 * MiB],
    ['ageMs', { maxAgeMs: 1_000 }, {}, 1_000],
    ['jobs', { maxJobs: 5 }, { jobs: 5 }, 5],
  ];
  for (const [metric, given, over, value] of cases) {
    const { decision, pool } = decide(reading(over), limits(given));
    assert.equal(decision.kind, 'replace', metric);
    assert.equal(decision.metric, metric);
    assert.equal(decision.value, value);
    assert.equal(decision.threshold, value);
    assert.match(decision.reason, />= threshold/);
    assert.equal(pool.lastReplacementMs, NOW);
  }
  assert.equal(decide(reading({ jobs: 4 }), limits({ maxJobs: 5 })).decision.kind, 'keep');
});

test('linear memory is checked first when several limits are reached', OPTS, () => {
  const { decision } = decide(reading({ jobs: 99 }), limits({ maxJobs: 5, maxLinearBytes: 100 * MiB }));
  assert.equal(decision.metric, 'linearBytes');
});

test('a job fault (out of wasm memory, a wasm panic) replaces its isolate at once, even within the cooldown', OPTS, () => {
  const cooling = { lastReplacementMs: NOW - 1 };
  const oom = decide(reading({ fault: 'outOfMemory', linearBytes: GiB, linearMaxBytes: GiB }), limits({ cooldownMs: 60_000 }), fresh, cooling);
  assert.equal(oom.decision.kind, 'replace');
  assert.equal(oom.decision.metric, 'outOfMemory');
  assert.match(oom.decision.reason, /ran out of wasm memory \(linear memory 1073741824 of 1073741824 bytes\)/);
  assert.equal(oom.pool.lastReplacementMs, NOW);
  const panic = decide(reading({ fault: 'wasmPanic' }), limits({ cooldownMs: 60_000 }), fresh, cooling);
  assert.equal(panic.decision.metric, 'wasmPanic');
  assert.match(panic.decision.reason, /WebAssembly.Exception/);
});

test('too little headroom replaces at once, even within the cooldown', OPTS, () => {
  const r = reading({ linearMaxBytes: GiB, allocatorLiveBytes: GiB - 10 * MiB });
  const pool = { lastReplacementMs: NOW - 1 };
  const { decision } = decide(r, limits({ cooldownMs: 60_000 }), { ...fresh, baseline: { linearBytes: 300 * MiB, allocatorLiveBytes: 250 * MiB } }, pool);
  assert.equal(decision.kind, 'replace');
  assert.equal(decision.metric, 'headroomBytes');
  assert.equal(decision.value, 10 * MiB);
  assert.equal(decision.threshold, 64 * MiB);
  assert.match(decision.reason, /headroom 10485760 bytes .* < admissionHeadroomBytes 67108864/);
});

test('too little headroom keeps the isolate when a fresh one would not have it either', OPTS, () => {
  const r = reading({ linearMaxBytes: 512 * MiB, allocatorLiveBytes: 500 * MiB });
  const baseline = { linearBytes: 480 * MiB, allocatorLiveBytes: 470 * MiB };
  const { decision } = decide(r, limits(), { ...fresh, baseline });
  assert.equal(decision.kind, 'keep');
  assert.match(decision.reason, /a fresh isolate would have only 44040192 bytes: replacing cannot help/);
});

test('admission helpers: an isolate admits a job with the headroom; unknown figures admit', OPTS, () => {
  const l = limits();
  assert.equal(admitsJob(reading(), l), true);
  assert.equal(admitsJob(reading({ linearMaxBytes: GiB, allocatorLiveBytes: GiB - 63 * MiB }), l), false);
  assert.equal(admitsJob(reading({ allocatorLiveBytes: null }), l), true);
  assert.deepEqual(freshIsolateHeadroom(null, GiB, l), { enough: true, availableBytes: null });
  assert.deepEqual(freshIsolateHeadroom({ linearBytes: 0, allocatorLiveBytes: GiB - MiB }, GiB, l), { enough: false, availableBytes: MiB });
});

test('within the cooldown a reached limit keeps, with the reason, and stays latched', OPTS, () => {
  const l = limits({ maxAllocatorLiveBytes: 200 * MiB, cooldownMs: 30_000, hysteresisFraction: 0.1 });
  const pool = { lastReplacementMs: NOW - 10_000 };
  const during = decide(reading(), l, fresh, pool);
  assert.equal(during.decision.kind, 'keep');
  assert.match(during.decision.reason, /last replacement was 10000 ms ago \(cooldownMs 30000\)/);
  assert.equal(during.isolate.latched.allocatorLiveBytes, 200 * MiB);
  assert.deepEqual(during.pool, pool);
  // The value dipped inside the band [180, 200) MiB: the crossing is remembered and acted on after the cooldown.
  const after = decide(reading({ allocatorLiveBytes: 190 * MiB }), l, during.isolate, pool, NOW + 20_000);
  assert.equal(after.decision.kind, 'replace');
  assert.equal(after.decision.metric, 'allocatorLiveBytes');
});

test('hysteresis latch: a latched limit clears once the value falls below threshold minus margin', OPTS, () => {
  const l = limits({ maxAllocatorLiveBytes: 200 * MiB, cooldownMs: 30_000, hysteresisFraction: 0.1 });
  const pool = { lastReplacementMs: NOW - 10_000 };
  const latched = decide(reading(), l, fresh, pool).isolate;
  const cleared = decide(reading({ allocatorLiveBytes: 179 * MiB }), l, latched, pool, NOW + 20_000);
  assert.deepEqual(cleared.decision, { kind: 'keep', reason: null });
  assert.equal(cleared.isolate.latched.allocatorLiveBytes, undefined);
});

test('baseline guard: a memory limit below what the warm step takes does not replace isolates forever', OPTS, () => {
  // Warm-up alone takes 280 MiB of linear memory; the limit is 250 MiB; margin 5% of 250 = 12.5 MiB.
  const l = limits({ maxLinearBytes: 250 * MiB, hysteresisFraction: 0.05 });
  const state = { ...fresh, baseline: { linearBytes: 280 * MiB, allocatorLiveBytes: 200 * MiB } };
  const justWarm = decide(reading({ linearBytes: 282 * MiB }), l, state);
  assert.equal(justWarm.decision.kind, 'keep');
  assert.match(justWarm.decision.reason, /within the hysteresis margin .* of its post-warm value 293601280/);
  const grown = decide(reading({ linearBytes: 293 * MiB }), l, state);
  assert.equal(grown.decision.kind, 'replace', 'grown by more than the margin past its post-warm value');
  // Age and jobs restart with a new isolate: no guard.
  assert.equal(decide(reading({ jobs: 3 }), limits({ maxJobs: 3, hysteresisFraction: 0.5 }), state).decision.kind, 'replace');
});

test('jitter lowers thresholds by at most jitterFraction, never raises them; jobs stay whole', OPTS, () => {
  const l = limits({ jitterFraction: 0.2, maxJobs: 100, maxLinearBytes: 1000 * MiB });
  for (const unit of [0, 0.25, 0.5, 0.999]) {
    const state = initialIsolatePolicyState(unit);
    const linear = decide(reading({ linearBytes: 1000 * MiB }), l, state).decision;
    assert.equal(linear.kind, 'replace');
    assert.ok(Math.abs(linear.threshold - 1000 * MiB * (1 - 0.2 * unit)) < 1e-6);
    const jobs = decide(reading({ jobs: 100 }), limits({ jitterFraction: 0.2, maxJobs: 100 }), state).decision;
    assert.ok(jobs.threshold <= 100 && jobs.threshold >= 80 && Number.isInteger(jobs.threshold), `threshold ${jobs.threshold}`);
  }
  const early = decide(reading({ jobs: 81 }), limits({ jitterFraction: 0.2, maxJobs: 100 }), initialIsolatePolicyState(0.999));
  assert.equal(early.decision.kind, 'replace', 'the maximal draw replaces at the 81st job');
});

test('the function is pure: its inputs are not mutated', OPTS, () => {
  const l = limits({ maxJobs: 1, cooldownMs: 10 });
  const state = { ...fresh, latched: {} };
  const pool = { lastReplacementMs: NOW - 1 };
  const r = reading({ jobs: 1 });
  const copies = JSON.stringify([l, state, pool, r]);
  decide(r, l, state, pool);
  assert.equal(JSON.stringify([l, state, pool, r]), copies);
});

// limits.replaceAhead: the successor must be warm when the limit is reached, so each threshold is
// checked against where the isolate will be after a start's worth of jobs.
test('replacing ahead checks jobs, age and memory where they will be once a successor started now is ready', OPTS, () => {
  const { leadOf } = policy;
  const ahead = limits({ replaceAhead: true, maxJobs: 10 });
  // A start takes 9 s and a job 6 s: a successor started now is ready after 2 more jobs.
  const lead = { startMs: 9_000, jobMs: 6_000 };
  assert.deepEqual(leadOf(ahead, lead), { jobs: 2, ms: 9_000 });
  assert.deepEqual(leadOf(limits({ maxJobs: 10 }), lead), { jobs: 0, ms: 0 }, 'off by default');
  assert.deepEqual(leadOf(ahead, { startMs: null, jobMs: null }), { jobs: 0, ms: 0 }, 'nothing measured yet: no lead');

  const atJobs = (jobs, l = lead, given = ahead) => decideReplacement(reading({ jobs }), given, fresh, INITIAL_POOL_POLICY_STATE, NOW, l).decision;
  assert.equal(atJobs(7).kind, 'keep');
  const jobs = atJobs(8);
  assert.equal(jobs.kind, 'replace', 'at 8 jobs, 2 more run while the successor starts: it is ready at the limit');
  assert.equal(jobs.value, 10);
  assert.match(jobs.reason, /projected 2 jobs ahead/);
  assert.equal(atJobs(8, lead, limits({ maxJobs: 10 })).kind, 'keep', 'without replaceAhead, only at the limit');
  assert.equal(atJobs(8, { startMs: null, jobMs: null }).kind, 'keep', 'nothing measured: the limit as it is');

  const age = decideReplacement(reading({ ageMs: 52_000 }), limits({ replaceAhead: true, maxAgeMs: 60_000 }), fresh, INITIAL_POOL_POLICY_STATE, NOW, lead).decision;
  assert.equal(age.kind, 'replace');
  assert.equal(age.value, 61_000);
  assert.match(age.reason, /projected 9000 ms ahead/);

  // Memory: grown 100 MiB over 4 jobs since the warm step (25 MiB a job); 2 jobs ahead is +50 MiB.
  const warmed = { ...fresh, baseline: { linearBytes: 300 * MiB, allocatorLiveBytes: 200 * MiB } };
  const memory = (linearBytes, jobs) =>
    decideReplacement(reading({ linearBytes, jobs }), limits({ replaceAhead: true, maxLinearBytes: 450 * MiB }), warmed, INITIAL_POOL_POLICY_STATE, NOW, lead).decision;
  assert.equal(memory(395 * MiB, 4).kind, 'keep', '395 + 2 × 23.75 MiB stays below 450 MiB');
  const grown = memory(400 * MiB, 4);
  assert.equal(grown.kind, 'replace');
  assert.equal(grown.value, 450 * MiB);
  // Never projected further than measured: after 1 job (+60 MiB), 1 job ahead, not 2.
  assert.equal(memory(360 * MiB, 1).kind, 'keep', '360 + 60 = 420 MiB: projected over 1 job, the one measured');
});
