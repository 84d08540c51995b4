// The statistics of a comparison over seeds: how long runs take to grok, when some never do.
// Steps to first reach 0.99 are survival times; a run that never gets there within its budget is
// censored at the step cap (it might grok later), never dropped, so the Kaplan-Meier estimator
// gives the share still not grokked at each step. Intervals are 95%:
//  - the pointwise band of S(t) is Greenwood's variance on the log(-log) scale (Kalbfleisch and
//    Prentice), which stays inside [0, 1] and behaves at the small counts of a few seeds;
//  - the median's interval inverts that band (Brookmeyer and Crowley): its ends are where the
//    band's upper and lower curves first reach 0.5, as R's survfit reports them;
//  - a share (seeds that grokked) gets Wilson's score interval, which unlike the normal
//    approximation never leaves [0, 1] and is not degenerate at 0 of n or n of n.
// All of it is a few lines of arithmetic, written here rather than taken from a statistics
// package (none on npm implements the censored median's interval).

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

export interface SurvivalTime {
  /** The step of the event, or the censoring step. */
  time: number;
  /** True when the run grokked at `time`; false when it was censored there. */
  event: boolean;
}

export interface SurvivalStep {
  time: number;
  /** Runs still at risk just before `time`, and events at `time`. */
  atRisk: number;
  events: number;
  /** S(t): the estimated share not yet grokked after `time`, with its 95% band. */
  survival: number;
  lower: number;
  upper: number;
}

/** The Kaplan-Meier curve at each event time, with the log(-log) 95% band. */
export function kaplanMeier(times: readonly SurvivalTime[]): SurvivalStep[] {
  const sorted = [...times].sort((a, b) => a.time - b.time);
  const distinct = [...new Set(sorted.filter((t) => t.event).map((t) => t.time))];
  const out: SurvivalStep[] = [];
  let s = 1, greenwood = 0;
  for (const time of distinct) {
    const atRisk = sorted.filter((t) => t.time >= time).length;
    const events = sorted.filter((t) => t.event && t.time === time).length;
    s *= 1 - events / atRisk;
    if (atRisk > events) greenwood += events / (atRisk * (atRisk - events));
    const [lower, upper] = logLogBand(s, greenwood);
    out.push({ time, atRisk, events, survival: s, lower, upper });
  }
  return out;
}

// The band exp(-exp(log(-log S) +- z sigma)), sigma^2 = Greenwood / (log S)^2; at S = 0 or 1 it is that point.
function logLogBand(s: number, greenwood: number): [number, number] {
  if (s <= 0) return [0, 0];
  if (s >= 1) return [1, 1];
  const sigma = Math.sqrt(greenwood) / Math.abs(Math.log(s));
  const centre = Math.log(-Math.log(s));
  return [Math.exp(-Math.exp(centre + Z95 * sigma)), Math.exp(-Math.exp(centre - Z95 * sigma))];
}

export interface MedianEstimate {
  /** The first step where S(t) <= 0.5, or null when fewer than half of the runs grokked. */
  median: number | null;
  /** Where the band's lower and upper curves first reach 0.5; null when that curve never does (unbounded). */
  low: number | null;
  high: number | null;
}

/** The median steps to grok and its 95% interval, from the curve. */
export function medianSurvival(curve: readonly SurvivalStep[]): MedianEstimate {
  const first = (pick: (s: SurvivalStep) => number) => curve.find((s) => pick(s) <= 0.5 + 1e-12)?.time ?? null;
  return { median: first((s) => s.survival), low: first((s) => s.lower), high: first((s) => s.upper) };
}

/** Wilson's 95% score interval for `successes` of `n`. */
export function wilsonInterval(successes: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n, z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z95 / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Mean, sample standard deviation, minimum and maximum of finite values (null when there are none). */
export function spread(values: readonly (number | null | undefined)[]): { mean: number; sd: number; min: number; max: number; n: number } | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (!xs.length) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** `[low, high]`, as the tables write an interval; an open end is written as its bound ("-" below, "inf" above). */
export function formatInterval(low: number | null, high: number | null, digits = 0): string {
  const f = (v: number | null, open: string) => (v === null ? open : digits ? v.toFixed(digits) : String(Math.round(v)));
  return `[${f(low, '-')}, ${f(high, 'inf')}]`;
}
