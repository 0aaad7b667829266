// The host kernel (bindings-js/lib/proof-system/kernel/), which the Rayon
// coordinator and the prover isolates share: the option validator and its
// message, the error base class and its cross-thread codec, the state
// machine, the deferred and bounded waits, and the threshold engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferred, rejectAfter, settlesWithin } from '../../bindings-js/lib/proof-system/kernel/deferred.js';
import { CodedError, fromPlainError, toPlainError, type PlainError } from '../../bindings-js/lib/proof-system/kernel/errors.js';
import { checkOptions, describeValue, optionMessage, rules } from '../../bindings-js/lib/proof-system/kernel/options.js';
import { transition, type TransitionTable } from '../../bindings-js/lib/proof-system/kernel/state-machine.js';
import { checkThresholds, freshUnit, jitterUnitOf, type ThresholdReading } from '../../bindings-js/lib/proof-system/kernel/thresholds.js';

const OPTS = { timeout: 5_000 };

test('one message shape for every refused option or argument, with the value as the caller wrote it', OPTS, () => {
  assert.equal(optionMessage('coordinator', 'cooldownMs', -5, 'a whole number'), 'coordinator option cooldownMs is -5: expected a whole number');
  assert.equal(optionMessage('workerHost.kill', 'index', '3', 'a whole number', 'argument'), 'workerHost.kill argument index is "3": expected a whole number');
  const written = [1.5, NaN, -Infinity, 5n, Symbol('s'), Symbol(), () => 1, [1], {}, null, undefined, true, 'x'].map(describeValue);
  assert.deepEqual(written, ['1.5', 'NaN', '-Infinity', '5n', 'Symbol(s)', 'Symbol()', 'a function', 'an array', 'an object', 'null', 'undefined', 'true', '"x"']);
});

test('the validator refuses unknown keys, non-plain objects and bad values through the caller\'s error, and copies what it keeps', OPTS, () => {
  const fieldRules = { bytes: rules.bytes(1), ms: rules.timerMs(0) };
  const refuse = (field: string, value: unknown, expected: string) => Object.assign(new Error(optionMessage('thing', field, value, expected)), { field });
  assert.deepEqual(checkOptions(undefined, fieldRules, refuse), {});
  const given = { bytes: 8, ms: undefined };
  const checked = checkOptions(given, fieldRules, refuse);
  assert.deepEqual(checked, { bytes: 8 });
  assert.notEqual(checked, given);
  assert.throws(() => checkOptions({ byte: 8 }, fieldRules, refuse), /thing option byte is 8: expected one of the known options: bytes, ms/);
  assert.throws(() => checkOptions({ bytes: 1.5 }, fieldRules, refuse), /thing option bytes is 1.5: expected a whole number of bytes from 1 to 2\^53 - 1/);
  assert.throws(() => checkOptions(new Date(0), fieldRules, refuse), /thing option options is an object: expected undefined or an object with any of bytes, ms/);
  assert.throws(() => checkOptions({ ms: 2 ** 31 }, fieldRules, refuse), /expected a whole number of milliseconds from 0 to 2147483647/);
  assert.equal(rules.memoryMaximum().accepts(2 ** 30), true);
  assert.equal(rules.memoryMaximum().accepts(2 ** 30 + 1), false);
  assert.equal(rules.orNull(rules.ageMs()).accepts(null), true);
});

test('an error crosses a thread as plain data and comes back with its name, message, code, stack and context fields', OPTS, () => {
  class DemoError extends CodedError<'DEMO_CODE'> {
    constructor(
      readonly field: string,
      readonly limit: bigint,
    ) {
      super('DEMO_CODE', `field ${field} is over`, new Error('the cause'));
    }
  }
  const original = new DemoError('bytes', 5n);
  assert.equal(original.name, 'DemoError');
  assert.equal((original as { cause?: unknown }).cause instanceof Error, true);
  assert.equal(Object.keys(original).includes('cause'), false, 'cause is not enumerable, as Error options make it');
  const data = structuredClone(toPlainError(original));
  assert.deepEqual(data.fields, { field: 'bytes', limit: 5n });
  const revived = fromPlainError(data) as Error & { code?: string; field?: string; limit?: bigint };
  assert.deepEqual([revived.name, revived.message, revived.code, revived.field, revived.limit], ['DemoError', 'field bytes is over', 'DEMO_CODE', 'bytes', 5n]);
  assert.equal(revived.stack, original.stack);
  // Not an Error, and a field that cannot be cloned:
  assert.deepEqual(toPlainError('plain text'), { name: 'NonError', message: 'plain text', code: null, stack: null, fields: {} });
  const withSymbol = Object.assign(new Error('x'), { tag: Symbol('t'), run: () => 1 });
  assert.deepEqual(toPlainError(withSymbol).fields, { tag: 'Symbol(t)', run: '[object Function]' });
});

test('a revived error cannot have its prototype replaced or its name, message or code clobbered by cloned keys', OPTS, () => {
  // What JSON.parse (or a structured clone of such an object) gives: `__proto__` as an own key.
  const fields = JSON.parse('{"__proto__": {"polluted": true}, "name": "Evil", "message": "evil", "code": "EVIL", "stack": "evil", "constructor": 1, "kind": "ok"}');
  const data: PlainError = structuredClone({ name: 'PoolHostError', message: 'the real message', code: 'POOL_HOST_FAILED', stack: null, fields });
  const revived = fromPlainError(data) as Error & Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(revived), Error.prototype);
  assert.equal(revived.polluted, undefined);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  assert.deepEqual([revived.name, revived.message, revived.code], ['PoolHostError', 'the real message', 'POOL_HOST_FAILED']);
  assert.equal(revived.kind, 'ok', 'other context fields are kept');
  assert.equal(typeof revived.constructor, 'function');
  // Junk instead of data still gives an Error.
  assert.ok(fromPlainError(undefined) instanceof Error);
  assert.equal(fromPlainError({ name: 5, message: null } as never).name, 'Error');
});

test('a state machine moves only along its table; an illegal edge throws, naming it as a bug', OPTS, () => {
  type Light = 'red' | 'green' | 'off';
  const table: TransitionTable<Light> = { red: ['green', 'off'], green: ['red', 'off'], off: [] };
  const light: { state: Light } = { state: 'red' };
  transition(light, 'green', table, 'light 1');
  assert.equal(light.state, 'green');
  transition(light, 'off', table, 'light 1');
  assert.throws(() => transition(light, 'red', table, 'light 1'), /^Error: light 1: illegal transition off → red \(allowed from off: none\); this is a bug$/);
  assert.equal(light.state, 'off');
});

test('a deferred settles from outside; a handled one does not count as an unhandled rejection; waits are bounded', OPTS, async () => {
  const handled = deferred<number>({ rejectionHandled: true });
  handled.reject(new Error('nobody awaits this'));
  const d = deferred<number>();
  d.resolve(7);
  assert.equal(await d.promise, 7);
  assert.equal(await settlesWithin(1_000, Promise.reject(new Error('settled'))), true);
  assert.equal(await settlesWithin(5, new Promise(() => undefined)), false);
  await assert.rejects(rejectAfter(5, new Promise(() => undefined), () => new Error('late')), /late/);
  assert.equal(await rejectAfter(1_000, Promise.resolve('in time'), () => new Error('late')), 'in time');
});

test('thresholds: jitter lowers, counts round up; a crossing latches in the band; the baseline discounts; the cooldown holds', OPTS, () => {
  const settings = { jitterFraction: 0.2, hysteresisFraction: 0.1, cooldownMs: 1_000 };
  const reading = (value: number, baseline: number | null = null): ThresholdReading<'m'> => ({ metric: 'm', value, limit: 100, baseline, label: 'm' });
  const none = { lastActionMs: null, actionName: 'renewal' };
  const unit = freshUnit<'m'>(0.5); // threshold 90, margin 9: band [81, 90)
  assert.equal(checkThresholds([reading(89)], settings, unit, none, 0).verdict.kind, 'none');
  const crossed = checkThresholds([reading(90)], settings, unit, { lastActionMs: 0, actionName: 'renewal' }, 10);
  assert.ok(crossed.verdict.kind === 'held');
  assert.match(crossed.verdict.reason, /m 90 >= threshold 90, but the last renewal was 10 ms ago \(cooldownMs 1000\)/);
  assert.equal(crossed.unit.latched.m, 90);
  const dipped = checkThresholds([reading(85)], settings, crossed.unit, none, 2_000);
  assert.ok(dipped.verdict.kind === 'act', 'latched inside the band: acts once the cooldown is over');
  assert.equal(dipped.verdict.crossing.threshold, 90);
  assert.equal(checkThresholds([reading(80)], settings, crossed.unit, none, 2_000).unit.latched.m, undefined, 'cleared below the band');
  const discounted = checkThresholds([reading(95, 90)], settings, unit, none, 0);
  assert.equal(discounted.verdict.kind, 'none');
  assert.match(discounted.verdict.kind === 'none' ? (discounted.verdict.reason ?? '') : '', /within the hysteresis margin 9 of its baseline 90/);
  const count = checkThresholds([{ ...reading(82), count: true, limit: 101 }], { ...settings, hysteresisFraction: 0 }, freshUnit<'m'>(0.99), none, 0);
  assert.ok(count.verdict.kind === 'act' && Number.isInteger(count.verdict.crossing.threshold));
  assert.deepEqual([jitterUnitOf(1), jitterUnitOf(Number.NaN), jitterUnitOf(-3)], [1 - Number.EPSILON, 0, 0]);
});
