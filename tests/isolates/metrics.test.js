// The metrics export in the Prometheus text format: the prover pool's
// (`pool.metrics()`, isolates/metrics.ts) and the Rayon pool's
// (`poolMetricsText`, lib/proof-system/metrics.ts), through the kernel's one
// formatter (kernel/prometheus.ts). Checked three ways: parsed by a real
// parser (parse-prometheus-text-format, a port of Prometheus's Python
// client's parser), with names checked by prom-client's validators; against
// the exposition format's rules as Prometheus documents them (HELP and TYPE
// once per family and before its samples, a family's samples together, label
// and value syntax, histogram buckets cumulative and ending with +Inf equal
// to _count); and byte for byte against prom-client's own rendering of the
// same histogram, gauge and counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ROOT, load } from './lib.js';
import { startPool } from './harness.js';

const require = createRequire(import.meta.url);
const parsePrometheus = require('parse-prometheus-text-format');
const { Registry, Histogram, Gauge, Counter, validateMetricName } = require('prom-client');
const { validateLabelName } = require('prom-client/lib/validation');

const { renderMetrics } = await import(`${ROOT}build/ts/bindings-js/lib/proof-system/kernel/prometheus.js`);
const { poolMetricsText } = await import(`${ROOT}build/ts/bindings-js/lib/proof-system/metrics.js`);
const { healthWith, MiB } = await import(`${ROOT}build/ts/tests/ts/health-fixture.js`);
const { metricsText } = await load('metrics.js');
const { Histogram: DurationHistogram, DURATION_BUCKETS_MS } = await load('job-stats.js');
const OPTS = { timeout: 20_000 };

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = '(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|[+-]?Inf|NaN)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (${VALUE})(?: -?\\d+)?$`);

/**
 * Checks `text` against the text format's rules (prometheus.io, "Exposition formats", text-based format) and
 * our own: every family has HELP and TYPE. Returns the families: name → { type, help, samples: [{ name, labels, value }] }.
 */
function checkExposition(text) {
  assert.ok(text.endsWith('\n'), 'the text ends with a line feed');
  const families = new Map();
  const series = new Set();
  let current = null;
  const familyOf = (name) => {
    for (const [base, family] of families) {
      const suffixes = family.type === 'histogram' ? ['_bucket', '_sum', '_count'] : family.type === 'summary' ? ['_sum', '_count'] : [];
      if (name === base || suffixes.some((s) => name === base + s)) return base;
    }
    return null;
  };
  for (const line of text.split('\n').slice(0, -1)) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta;
      assert.ok(validateMetricName(name), `${name}: a valid metric name`);
      const family = families.get(name) ?? { type: null, help: null, samples: [] };
      families.set(name, family);
      assert.equal(family.samples.length, 0, `${kind} of ${name} before its samples`);
      if (kind === 'HELP') {
        assert.equal(family.help, null, `one HELP for ${name}`);
        assert.ok(/^(?:[^\\\n]|\\[\\n])*$/.test(rest), `HELP of ${name} escaped`);
        family.help = rest;
      } else {
        assert.equal(family.type, null, `one TYPE for ${name}`);
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest), `TYPE of ${name}: ${rest}`);
        family.type = rest;
      }
      current = name;
      continue;
    }
    assert.ok(!line.startsWith('#'), `only HELP and TYPE comments: ${line}`);
    const match = SAMPLE.exec(line);
    assert.ok(match !== null, `a sample line: ${line}`);
    const [, name, labelText = '', value] = match;
    const base = familyOf(name);
    assert.ok(base !== null, `${name} belongs to a family declared before it`);
    assert.equal(base, current, `the samples of ${base} are together`);
    const labels = Object.fromEntries([...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    assert.ok(validateLabelName(Object.keys(labels)), `label names of ${line}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!series.has(key), `one sample per series: ${line}`);
    series.add(key);
    families.get(base).samples.push({ name, labels, value: value === '+Inf' ? Infinity : Number(value) });
  }
  for (const [name, family] of families) {
    assert.ok(family.help !== null && family.type !== null, `${name} has HELP and TYPE`);
    if (family.type !== 'histogram') continue;
    const groups = new Map();
    for (const sample of family.samples) {
      const { le, ...rest } = sample.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const group = groups.get(key) ?? { buckets: [], sum: null, count: null };
      groups.set(key, group);
      if (sample.name.endsWith('_bucket')) group.buckets.push([le === '+Inf' ? Infinity : Number(le), sample.value]);
      else if (sample.name.endsWith('_sum')) group.sum = sample.value;
      else group.count = sample.value;
    }
    for (const group of groups.values()) {
      assert.ok(group.sum !== null && group.count !== null, `${name} has _sum and _count`);
      assert.equal(group.buckets.at(-1)[0], Infinity, `${name} ends with le="+Inf"`);
      assert.equal(group.buckets.at(-1)[1], group.count, `${name}: +Inf bucket = _count`);
      for (let i = 1; i < group.buckets.length; i++) {
        assert.ok(group.buckets[i][0] > group.buckets[i - 1][0] && group.buckets[i][1] >= group.buckets[i - 1][1], `${name}: cumulative buckets`);
      }
    }
  }
  return families;
}

const valueOf = (families, name, labels = {}) =>
  families.get(name).samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === String(v)))?.value;

test("the prover pool's metrics: the pool, its jobs and histograms, each isolate and its Rayon pool; valid Prometheus text", OPTS, async () => {
  const workers = [
    { index: 0, generation: 1, state: 'running', jobs: 7, allocatedBytes: 3 * MiB, lastActivityMs: 1 },
    { index: null, generation: 2, state: 'starting', jobs: 0, allocatedBytes: 0, lastActivityMs: 2 },
  ];
  const { pool, close } = await startPool({ isolates: 2 }, () => ({ extraJobs: (state) => ((state.health = () => healthWith({ workers })), {}) }));
  await Promise.all([pool.run('work'), pool.run('work')]);
  await assert.rejects(pool.run('fail'));
  const text = await pool.metrics();
  const families = checkExposition(text);

  // A real parser reads it all.
  const parsed = parsePrometheus(text);
  assert.deepEqual(parsed.map((f) => f.name), [...families.keys()]);
  for (const family of parsed) assert.ok(family.help.length > 0, `${family.name} has a help text`);

  assert.equal(valueOf(families, 'o1js_prover_pool_jobs_total', { outcome: 'completed' }), 2);
  assert.equal(valueOf(families, 'o1js_prover_pool_jobs_total', { outcome: 'failed' }), 1);
  assert.equal(valueOf(families, 'o1js_prover_pool_state', { state: 'open' }), 1);
  assert.equal(valueOf(families, 'o1js_prover_pool_max_queued_jobs'), 128);
  assert.equal(valueOf(families, 'o1js_prover_pool_slots', { state: 'serving' }), 2);
  const run = parsed.find((f) => f.name === 'o1js_prover_pool_job_run_seconds');
  assert.equal(run.type, 'HISTOGRAM');
  assert.deepEqual([run.metrics[0].count, run.metrics[0].buckets['+Inf']], ['3', '3']);
  assert.equal(valueOf(families, 'o1js_prover_pool_isolate_allocator_live_bytes', { isolate: 1, slot: 0 }), 512 * MiB);
  assert.equal(valueOf(families, 'o1js_pool_allocator_live_bytes', { isolate: 2, slot: 1 }), 512 * MiB, "each isolate's Rayon pool, labelled");
  assert.equal(valueOf(families, 'o1js_pool_worker_jobs_total', { isolate: 1, generation: 1, worker: 0 }), 7);
  assert.equal(families.get('o1js_prover_pool_process_resident_memory_bytes').samples.length, 0, 'unknown here: left out, not guessed');
  await close();
});

test("the Rayon pool's metrics (o1js/pool's poolMetricsText): every health field, valid Prometheus text", OPTS, () => {
  const health = healthWith({
    state: 'recycling',
    recycle: { fromGeneration: 1, toGeneration: 2, phase: 'starting', cause: 'requested' },
    workers: [{ index: 1, generation: 1, state: 'exited', jobs: 3, allocatedBytes: 10, lastActivityMs: 5 }],
    memory: { linearBytes: null, softLimitBytes: 2 * MiB },
  });
  const text = poolMetricsText(health);
  const families = checkExposition(text);
  assert.equal(parsePrometheus(text).length, families.size);
  assert.equal(valueOf(families, 'o1js_pool_state', { state: 'recycling' }), 1);
  assert.equal(valueOf(families, 'o1js_pool_state', { state: 'running' }), 0);
  assert.equal(valueOf(families, 'o1js_pool_recycling'), 1);
  assert.equal(valueOf(families, 'o1js_pool_threads'), 4);
  assert.equal(valueOf(families, 'o1js_pool_generation_age_seconds'), 1);
  assert.equal(valueOf(families, 'o1js_pool_allocator_soft_limit_bytes'), 2 * MiB);
  assert.equal(families.get('o1js_pool_linear_memory_bytes').samples.length, 0, 'null (natively): left out');
  assert.equal(valueOf(families, 'o1js_pool_workers', { state: 'exited' }), 1);
  assert.equal(valueOf(families, 'o1js_pool_worker_allocated_bytes_total', { generation: 1, worker: 1 }), 10);
  assert.match(poolMetricsText(health, { prefix: 'app_pool', labels: { instance: 'a' } }), /^app_pool_threads\{instance="a"\} 4$/m);
});

test("the kernel's formatter renders a histogram, a labelled gauge and a counter exactly as prom-client does", OPTS, async () => {
  const observationsMs = [0, 125, 250, 1_000, 2_500, 7_000, 700_000];
  const ours = new DurationHistogram();
  for (const ms of observationsMs) ours.record(ms);
  const summary = ours.summary();
  const help = 'wait \\ time\nsecond line';
  const state = 'a"b\\c\nd';
  const text = renderMetrics([
    { name: 'x_seconds', help, type: 'histogram', samples: [{ buckets: summary.buckets.map((b) => ({ le: b.leMs / 1000, count: b.count })), sum: summary.sumMs / 1000, count: summary.count }] },
    { name: 'g_bytes', help: 'g', type: 'gauge', samples: [{ labels: { isolate: 3, state }, value: 5 }] },
    { name: 'c_total', help: 'c', type: 'counter', samples: [{ value: 2 }] },
  ]);
  const registry = new Registry();
  const histogram = new Histogram({ name: 'x_seconds', help, buckets: DURATION_BUCKETS_MS.map((ms) => ms / 1000), registers: [registry] });
  for (const ms of observationsMs) histogram.observe(ms / 1000);
  new Gauge({ name: 'g_bytes', help: 'g', labelNames: ['isolate', 'state'], registers: [registry] }).set({ isolate: '3', state }, 5);
  new Counter({ name: 'c_total', help: 'c', registers: [registry] }).inc(2);
  const theirs = (await registry.metrics()).replace(/\n\n/g, '\n'); // prom-client puts a blank line between families
  assert.equal(text, theirs);
  checkExposition(text);
});
