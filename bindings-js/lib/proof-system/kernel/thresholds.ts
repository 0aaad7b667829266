/**
 * The one threshold engine: when a limit on a *unit* (a generation of Rayon
 * workers, a prover isolate) calls for renewing it (a recycle, a
 * replacement). The coordinator's policy (coordinator-policy.ts) and the
 * isolates' (isolates/replacement-policy.ts) both decide through it; each
 * says what its units and metrics are and what acting means.
 *
 * Pure: no clocks, no randomness, no I/O; the caller keeps the state.
 *
 * Jitter: each limit is lowered to `limit × (1 − jitterFraction × jitterUnit)`,
 * `jitterUnit` in [0, 1) drawn once per unit by the caller; counts (jobs) are
 * rounded up (a lowered threshold of 7.6 jobs means the 8th). Lowered, never
 * raised: units started together are not renewed together, and none later
 * than the limit set.
 *
 * Hysteresis, one meaning: `margin = hysteresisFraction × threshold` is the
 * smallest change that counts.
 *   - A crossing (value ≥ threshold) latches, and stays latched until the
 *     value falls below `threshold − margin`: a reading that dips just under
 *     the line (live bytes go up and down between jobs) does not forget it,
 *     e.g. while the cooldown holds it back.
 *   - A crossing acts only when the value is at least `margin` above the
 *     unit's baseline, what the unit started with, which is what renewing it
 *     gives back to: an isolate's memory after its warm step, a generation's
 *     memory at its first reading (a recycle frees no live data, and linear
 *     memory never shrinks, so the next generation starts where the last one
 *     ended). Renewing cannot bring the value down by a margin otherwise: a
 *     limit below what a fresh unit takes would renew forever. Ages and job
 *     counts restart at zero: no baseline.
 *
 * Cooldown: no two actions closer than `cooldownMs` (per pool). A crossing
 * inside it is held: it stays latched and acts once the cooldown is over.
 * A unit that is still there after acting (the action failed, or is under
 * way) acts again, no sooner than the cooldown allows.
 */

/** One limit of one unit, as the engine reads it. */
export interface ThresholdReading<Metric extends string> {
  readonly metric: Metric;
  readonly value: number;
  /** The limit as configured, before jitter. */
  readonly limit: number;
  /** A count: the lowered threshold is rounded up to a whole number. */
  readonly count?: boolean;
  /** What the unit started with (see the module doc); `null` when there is none or it is not known yet. */
  readonly baseline: number | null;
  /** Names the value in reasons, e.g. `allocator live bytes`. */
  readonly label: string;
  /** Names the baseline in reasons, e.g. `its post-warm value`. */
  readonly baselineLabel?: string;
}

export interface ThresholdSettings {
  readonly jitterFraction: number;
  readonly hysteresisFraction: number;
  readonly cooldownMs: number;
}

/** Kept per unit between calls; a new unit starts from `freshUnit(jitterUnit)`. */
export interface UnitThresholds<Metric extends string> {
  /** In [0, 1): this unit's jitter draw. */
  readonly jitterUnit: number;
  /** Crossings still latched, with the value at the crossing. Absent: not latched. */
  readonly latched: { readonly [M in Metric]?: number };
}

/** A crossing that calls for renewing the unit. */
export interface Crossing<Metric extends string> {
  readonly metric: Metric;
  readonly value: number;
  /** The effective threshold (after jitter) that was reached. */
  readonly threshold: number;
  readonly reason: string;
}

export type ThresholdVerdict<Metric extends string> =
  /** Nothing to act on; `reason` says why a crossing did not count (the baseline), else null. */
  | { readonly kind: 'none'; readonly reason: string | null }
  /** Crossed, held back by the cooldown; `reason` says so. */
  | { readonly kind: 'held'; readonly crossing: Crossing<Metric>; readonly reason: string }
  | { readonly kind: 'act'; readonly crossing: Crossing<Metric> };

export interface ThresholdResult<Metric extends string> {
  readonly verdict: ThresholdVerdict<Metric>;
  readonly unit: UnitThresholds<Metric>;
}

/** When the pool last acted, for the cooldown; and what acting is called in reasons (`recycle`, `replacement`). */
export interface Cooldown {
  readonly lastActionMs: number | null;
  readonly actionName: string;
}

export function freshUnit<Metric extends string>(jitterUnit: number): UnitThresholds<Metric> {
  return Object.freeze({ jitterUnit, latched: Object.freeze({}) });
}

/** A random draw as a jitter unit: in [0, 1), 0 for junk (an injected RNG returning 1 or NaN must not push a threshold past its bound). */
export function jitterUnitOf(draw: number): number {
  return Number.isFinite(draw) ? Math.min(Math.max(draw, 0), 1 - Number.EPSILON) : 0;
}

/** A limit lowered by this unit's jitter. */
export function loweredThreshold(limit: number, jitterFraction: number, jitterUnit: number, count = false): number {
  const lowered = limit * (1 - jitterFraction * jitterUnit);
  return count ? Math.ceil(lowered) : lowered;
}

/**
 * Checks `readings` (in priority order: the first that acts wins) against
 * their thresholds, updates the latches, and says whether to act. Pure.
 */
export function checkThresholds<Metric extends string>(
  readings: readonly ThresholdReading<Metric>[],
  settings: ThresholdSettings,
  unit: UnitThresholds<Metric>,
  cooldown: Cooldown,
  nowMs: number,
): ThresholdResult<Metric> {
  const latched: { [M in Metric]?: number } = { ...unit.latched };
  let trigger: Crossing<Metric> | null = null;
  let discounted: string | null = null;
  for (const reading of readings) {
    const threshold = loweredThreshold(reading.limit, settings.jitterFraction, unit.jitterUnit, reading.count);
    const margin = settings.hysteresisFraction * threshold;
    if (latched[reading.metric] !== undefined && reading.value < threshold - margin) delete latched[reading.metric]; // left the band
    if (reading.value >= threshold) latched[reading.metric] ??= reading.value;
    if (latched[reading.metric] === undefined) continue;
    const crossing = `${reading.label} ${formatNumber(reading.value)} >= threshold ${formatNumber(threshold)}`;
    if (reading.baseline !== null && reading.value - reading.baseline < margin) {
      discounted ??=
        `${crossing}, but within the hysteresis margin ${formatNumber(margin)} of ${reading.baselineLabel ?? 'its baseline'} ` +
        `${formatNumber(reading.baseline)}: a fresh one would start there`;
      continue;
    }
    trigger ??= { metric: reading.metric, value: reading.value, threshold, reason: crossing };
  }
  const next: UnitThresholds<Metric> = { ...unit, latched };
  if (trigger === null) return { verdict: { kind: 'none', reason: discounted }, unit: next };
  const { lastActionMs, actionName } = cooldown;
  if (lastActionMs !== null && nowMs - lastActionMs < settings.cooldownMs) {
    const reason = `${trigger.reason}, but the last ${actionName} was ${nowMs - lastActionMs} ms ago (cooldownMs ${settings.cooldownMs})`;
    return { verdict: { kind: 'held', crossing: trigger, reason }, unit: next };
  }
  return { verdict: { kind: 'act', crossing: trigger }, unit: next };
}

/** A number in a reason: integers as they are, fractions to 4 places (large ones to 1). */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1_000 ? value.toFixed(1) : value.toFixed(4);
}
