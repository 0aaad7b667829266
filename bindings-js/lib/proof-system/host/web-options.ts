/**
 * The web backend's own host options (backend.ts has the ones every platform
 * has) and the shared memory's maximum they decide, checked by the kernel's
 * rules (kernel/options.ts) like every other option.
 */
import { rules, type FieldRules } from '../kernel/options.js';

export interface WebHostOptions {
  /** Maximum of the shared memory; `null`: 4 GiB, 1 GiB on iOS. Fixed once the bindings created the memory. */
  readonly memoryMaximumBytes: number | null;
  /** Bound on one forwarded o1js binding (the page spins meanwhile). */
  readonly callTimeoutMs: number;
}

export const WEB_OPTION_RULES: FieldRules<WebHostOptions> = {
  memoryMaximumBytes: rules.orNull(rules.memoryMaximum(), 'the default'),
  callTimeoutMs: rules.timerMs(1),
};

export const WEB_OPTION_DEFAULTS: WebHostOptions = Object.freeze({
  memoryMaximumBytes: null,
  // A proof takes minutes at most.
  callTimeoutMs: 30 * 60_000,
});

export const WASM_PAGE_BYTES = 65_536;

/** Pages the shared memory starts with: at least the module's declared minimum (19 in this build). */
export const INITIAL_MEMORY_PAGES = 20;

const GiB = 2 ** 30;

/** Upstream's memory maximum for a user agent: 1 GiB on iOS (Safari's limit), 4 GiB elsewhere. */
export function wasmMemoryMaximumBytes(userAgent: string, maxTouchPoints = 0): number {
  // iPadOS reports a Mac user agent; touch points tell them apart.
  const iOS = /iPad|iPhone|iPod/.test(userAgent) || (/Macintosh/.test(userAgent) && maxTouchPoints > 1);
  return iOS ? 1 * GiB : 4 * GiB;
}
