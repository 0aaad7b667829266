/**
 * The pool's check of every message an isolate posts on its private channel
 * (protocol.ts): its namespaced `type`, the isolate's token, and the shape of
 * each field the pool reads. A message that fails it is that isolate's crash
 * (`protocol`, isolate-slots.ts), so nothing an isolate posts can make the
 * pool throw (I7). Values the pool only passes on (a job's result, the Rayon
 * pool's health inside a snapshot) are not looked into.
 */
import type { FromIsolate } from './protocol.js';
import { FROM_ISOLATE } from './protocol.js';

export type Checked = { readonly ok: true; readonly message: FromIsolate } | { readonly ok: false; readonly problem: string };

type Check = (value: unknown) => boolean;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const number: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const duration: Check = (v) => number(v) && (v as number) >= 0;
const id: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const string: Check = (v) => typeof v === 'string';
const orNull = (check: Check): Check => (v) => v === null || check(v);
const oneOf = (...choices: readonly unknown[]): Check => (v) => choices.includes(v);
const stringList: Check = (v) => Array.isArray(v) && v.every(string);

const shape = (fields: Record<string, Check>): Check => (v) => isObject(v) && Object.entries(fields).every(([field, check]) => check(v[field]));

const remoteError = shape({ name: string, message: string, code: orNull(string), stack: orNull(string), fields: isObject });
const memory = shape({
  linearBytes: orNull(number),
  linearMaxBytes: orNull(number),
  allocatorLiveBytes: orNull(number),
  v8HeapBytes: orNull(number),
  rssShareBytes: orNull(number),
});
const snapshot = shape({ timestampMs: number, pool: orNull(isObject), poolError: orNull(string), memory, jobsRun: id });
const fault = orNull(oneOf('outOfMemory', 'wasmPanic'));

const SHAPES: Record<string, Record<string, Check>> = {
  [FROM_ISOLATE.ready]: { jobNames: stringList, moduleHash: orNull(string), loadMs: duration, warmMs: duration, snapshot },
  [FROM_ISOLATE.startFailed]: { stage: oneOf('load', 'warm', 'module-changed'), error: remoteError },
  [FROM_ISOLATE.result]: { jobId: id, runMs: duration, snapshot: orNull(snapshot) },
  [FROM_ISOLATE.failed]: { jobId: id, error: remoteError, instanceDead: oneOf(true, false), fault, runMs: duration, snapshot: orNull(snapshot) },
  [FROM_ISOLATE.health]: { requestId: id, snapshot: orNull(snapshot) },
};

/** Checks a message from the isolate whose token is `token`; says what is wrong with one that fails. */
export function checkFromIsolate(message: unknown, token: string): Checked {
  if (!isObject(message)) return { ok: false, problem: `a message that is not an object: ${describe(message)}` };
  const fields = typeof message.type === 'string' ? SHAPES[message.type] : undefined;
  if (fields === undefined || !Object.prototype.hasOwnProperty.call(SHAPES, message.type as string)) {
    return { ok: false, problem: `a message of unknown type: ${describe(message)}` };
  }
  if (message.token !== token) return { ok: false, problem: `a '${message.type}' message without this isolate's token` };
  for (const [field, check] of Object.entries(fields)) {
    if (!check(message[field])) return { ok: false, problem: `a '${message.type}' message whose ${field} is malformed: ${describe(message[field])}` };
  }
  return { ok: true, message: message as unknown as FromIsolate };
}

/** A short, safe description of what arrived (never throws). */
export function describe(value: unknown): string {
  try {
    return (JSON.stringify(value) ?? String(value)).slice(0, 200);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
