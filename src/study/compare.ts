// A comparison: arm settings x seeds at one setup, summarised per arm the way a reviewer reads
// it: how many seeds grok (with a Wilson interval), how long they take (Kaplan-Meier, censored at
// the step cap, the median with its interval), and where each arm ends (QK stable rank, the
// accuracy on pairs whose mirror was not trained, the Q/K and total weight norms).
import type { TopLevelSpec } from 'vega-lite';
import { GROK_ACCURACY } from '../format/run_result.js';
import type { CellRecord } from '../format/cells.js';
import { FRAME, armColors, armTitle, panelGrid, panelTitle, type FigureLayout } from './charts.js';
import { settingTag } from './arm_setting.js';
import { frequencyGini } from '../train/fourier.js';
import { formatInterval, kaplanMeier, medianSurvival, spread, wilsonInterval, type MedianEstimate, type SurvivalStep } from './survival.js';

export const COMPARE_OUTPUTS = ['summary.csv', 'compare.svg', 'compare.png'];

type Spread = ReturnType<typeof spread>;

export interface ArmSummary {
  arm: string;
  runs: number;
  grokked: number;
  share: number;
  shareInterval: [number, number];
  median: MedianEstimate;
  curve: SurvivalStep[];
  /** The step cap the censored runs were censored at (the largest config.steps). */
  cap: number;
  diverged: number;
  finalStableRank: Spread;
  finalUnmirrored: Spread;
  finalValAcc: Spread;
  finalQueryKeyNorm: Spread;
  finalParamNorm: Spread;
  /** Gini coefficient of the final embedding's norm over frequencies (addition only). */
  finalGini: Spread;
}

/** Per arm, in the order the arms first appear. */
export function summarizeComparison(records: CellRecord[]): ArmSummary[] {
  const arms = [...new Set(records.map((r) => r.arm))];
  return arms.map((arm) => {
    const runs = records.filter((r) => r.arm === arm);
    const cap = Math.max(...runs.map((r) => r.config.steps));
    const times = runs.map((r) => (r.grokStep === null ? { time: r.config.steps, event: false } : { time: r.grokStep, event: true }));
    const curve = kaplanMeier(times);
    const grokked = runs.filter((r) => r.grokStep !== null).length;
    const last = (r: CellRecord) => r.history.at(-1);
    return {
      arm, runs: runs.length, grokked, share: grokked / runs.length, shareInterval: wilsonInterval(grokked, runs.length),
      median: medianSurvival(curve), curve, cap, diverged: runs.filter((r) => r.diverged).length,
      finalStableRank: spread(runs.map((r) => last(r)?.stableRank)),
      finalUnmirrored: spread(runs.map((r) => last(r)?.valAccUnmirrored)),
      finalValAcc: spread(runs.map((r) => last(r)?.valAcc)),
      finalQueryKeyNorm: spread(runs.map((r) => last(r)?.queryKeyNorm)),
      finalParamNorm: spread(runs.map((r) => last(r)?.paramNorm)),
      finalGini: spread(runs.map((r) => { const f = last(r)?.frequencyShares; return f ? frequencyGini(f) : null; })),
    };
  });
}

/**
 * The tuning stage's choice: per arm (its update rule and loss), the setting with the fewest
 * median steps to grok; ties (or no median) go to the larger grok share, then the smaller mean
 * grok step. Settings are grouped by the label's arm name and loss, so `lrd` and
 * `lrd:loss=stablemax` are two arms.
 */
export function bestPerArm(summaries: ArmSummary[], records: CellRecord[]): ArmSummary[] {
  const armOf = (label: string) => `${label.split(':')[0]}${/:loss=stablemax/.test(label) ? ':stablemax' : ''}`;
  const meanGrok = (label: string) => {
    const steps = records.filter((r) => r.arm === label && r.grokStep !== null).map((r) => r.grokStep!);
    return steps.length ? steps.reduce((a, b) => a + b, 0) / steps.length : Infinity;
  };
  const groups = new Map<string, ArmSummary[]>();
  for (const s of summaries) groups.set(armOf(s.arm), [...(groups.get(armOf(s.arm)) ?? []), s]);
  return [...groups.values()].map((group) => [...group].sort((a, b) =>
    (a.median.median ?? Infinity) - (b.median.median ?? Infinity) || b.share - a.share || meanGrok(a.arm) - meanGrok(b.arm))[0]);
}

const meanSd = (s: Spread, digits: number) => (s ? `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}` : '-');

/** Whether cells are a comparison's runs (no rate axis) rather than a phase diagram's cells. */
export function isComparison(records: CellRecord[]): boolean {
  return records.length > 0 && records.every((r) => r.rate === null);
}

/** The comparison table's cells, as the terminal (compareTable) and the page both show them. */
export interface CompareRows {
  head: string[];
  rows: string[][];
  /** What the columns mean, in one sentence. */
  note: string;
}

/** The table's header, one row of text per arm, and its note: the one place its numbers are formatted. */
export function compareRows(summaries: ArmSummary[]): CompareRows {
  const head = ['arm', 'grokked', 'share [95%]', 'median steps [95%]', 'QK stable rank', 'acc, mirror unseen', 'Q/K norm', 'freq. Gini'];
  const rows = summaries.map((s) => [
    s.arm, `${s.grokked}/${s.runs}${s.diverged ? ` (${s.diverged} diverged)` : ''}`,
    `${s.share.toFixed(2)} ${formatInterval(s.shareInterval[0], s.shareInterval[1], 2)}`,
    `${s.median.median ?? `>${s.cap}`} ${formatInterval(s.median.low, s.median.high)}`,
    meanSd(s.finalStableRank, 2), meanSd(s.finalUnmirrored, 3), meanSd(s.finalQueryKeyNorm, 2), meanSd(s.finalGini, 2),
  ]);
  const note = `(steps to first validation accuracy >= ${GROK_ACCURACY}; runs that never get there are censored at their step cap; ` +
    'median and its interval from the Kaplan-Meier curve, share by Wilson; measures: mean ± sd at the last evaluation)';
  return { head, rows, note };
}

/** The terminal table. */
export function compareTable(summaries: ArmSummary[]): string {
  const { head, rows, note } = compareRows(summaries);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), ...rows.map(line), note].join('\n');
}

/** summary.csv: one row per arm. */
export function compareCsv(summaries: ArmSummary[]): string {
  const cols = ['arm', 'runs', 'grokked', 'share', 'shareLow', 'shareHigh', 'medianSteps', 'medianLow', 'medianHigh', 'stepCap', 'diverged',
    'stableRankMean', 'stableRankSd', 'unmirroredAccMean', 'unmirroredAccSd', 'valAccMean', 'valAccSd', 'queryKeyNormMean', 'queryKeyNormSd',
    'paramNormMean', 'paramNormSd', 'frequencyGiniMean', 'frequencyGiniSd'];
  const v = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(x));
  const rows = summaries.map((s) => [s.arm.includes(',') ? `"${s.arm}"` : s.arm, s.runs, s.grokked, s.share, s.shareInterval[0], s.shareInterval[1],
    v(s.median.median), v(s.median.low), v(s.median.high), s.cap, s.diverged,
    v(s.finalStableRank?.mean), v(s.finalStableRank?.sd), v(s.finalUnmirrored?.mean), v(s.finalUnmirrored?.sd),
    v(s.finalValAcc?.mean), v(s.finalValAcc?.sd), v(s.finalQueryKeyNorm?.mean), v(s.finalQueryKeyNorm?.sd),
    v(s.finalParamNorm?.mean), v(s.finalParamNorm?.sd), v(s.finalGini?.mean), v(s.finalGini?.sd)].join(','));
  return `${[cols.join(','), ...rows].join('\n')}\n`;
}

/**
 * The figure: survival curves with their bands, and one panel per final measure (each run a dot,
 * the mean a bar). Without a layout, the CLI's two rows; with one (a page's column), its panels
 * wrap to fit the width, one to a row on a phone.
 */
export function compareSpec(records: CellRecord[], summaries: ArmSummary[], title: string, layout?: FigureLayout): TopLevelSpec {
  const titles = summaries.map((s) => armTitle(s.arm));
  const grid = layout?.width === undefined ? null : panelGrid(layout);
  // On a page the key sits on top, one arm a line, as wide as the column allows.
  const legend = grid ? { orient: 'top', columns: 1, labelLimit: 100 } : { orient: 'bottom', columns: 2, labelLimit: 400 };
  const color = { field: 'arm', type: 'nominal', title: null, scale: { domain: titles, range: armColors(titles) }, legend };
  const tags = summaries.map((s) => settingTag(s.arm));
  // A step function from (0, 1) through every event time to the cap.
  const curveRows = summaries.flatMap((s) => {
    const arm = armTitle(s.arm);
    const points = [{ arm, step: 0, survival: 1, lower: 1, upper: 1 }];
    let prev = points[0];
    for (const c of s.curve) {
      points.push({ ...prev, step: c.time });
      prev = { arm, step: c.time, survival: c.survival, lower: c.lower, upper: c.upper };
      points.push(prev);
    }
    points.push({ ...prev, step: s.cap });
    return points;
  });
  const survivalTitle = `Not yet grokked (share of seeds below ${GROK_ACCURACY}; Kaplan-Meier, 95% band)`;
  // On a page every panel's plot starts at one x, right of the widest axis: the measures' arm
  // labels (up to 7.5 px a character at 12 px, and the ticks); 15 px more for a last tick label.
  // Labels longer than a third of a column are cut short (with an ellipsis) by labelLimit.
  const labelLimit = grid ? Math.min(240, Math.ceil(7.5 * Math.max(...tags.map((t) => t.length))), Math.floor(layout!.width! / grid.columns / 3)) : 240;
  const left = labelLimit + 40;
  // The key starts where the plots do, right of that axis.
  if (grid) legend.labelLimit = Math.max(100, layout!.width! - left - 40);
  const plot = grid ? Math.max(100, Math.floor((layout!.width! - 10 - grid.columns * (left + 15) - (grid.columns - 1) * 20) / grid.columns)) : 0;
  const measureWidth = grid ? plot : 200;
  // Titles are centred on their plot and may pass it by 15 px a side: lines of (plot + 30) / 11 characters (bold 14 px).
  const wrap = (text: string) => (grid ? panelTitle(text, { ...grid, width: Math.floor((9 * (plot + 30)) / 11) - 60 }) : text);
  const survival = {
    title: wrap(survivalTitle),
    width: grid ? plot : 420, height: grid ? grid.height : 260,
    data: { values: curveRows },
    encoding: { x: { field: 'step', type: 'quantitative', title: 'step' }, color },
    layer: [
      { mark: { type: 'area', opacity: 0.15 }, encoding: { y: { field: 'lower', type: 'quantitative', title: 'share not grokked', scale: { domain: [0, 1] } }, y2: { field: 'upper' } } },
      { mark: 'line', encoding: { y: { field: 'survival', type: 'quantitative' } } },
    ],
  };
  // Rank and norm span decades, and a run that collapses them ends at 0 (prox): a symmetric log
  // scale (linear near 0) shows both, where a log scale drew no point at all.
  const measure = (field: string, label: string, pick: (r: CellRecord) => number | null | undefined) => {
    const values = records.map((r) => ({ arm: armTitle(r.arm), tag: settingTag(r.arm), value: pick(r) })).filter((d) => typeof d.value === 'number');
    return {
      title: wrap(label), width: measureWidth, height: grid ? Math.max(120, 30 * tags.length) : 260,
      data: { values },
      encoding: { y: { field: 'tag', type: 'nominal', title: null, sort: tags, axis: { labelLimit } }, color },
      layer: [
        { mark: { type: 'point', opacity: 0.6 }, encoding: { x: { field: 'value', type: 'quantitative', title: grid ? null : label, scale: field === 'stableRank' || field === 'queryKeyNorm' ? { type: 'symlog', constant: field === 'stableRank' ? 1 : 0.01 } : { zero: false } } } },
        { mark: { type: 'tick', thickness: 2, size: 14 }, encoding: { x: { aggregate: 'mean', field: 'value', type: 'quantitative' } } },
      ],
    };
  };
  const last = (r: CellRecord) => r.history.at(-1);
  if (grid) {
    return {
      ...FRAME,
      title: panelTitle(title, grid),
      concat: [survival,
        measure('valAccUnmirrored', 'final accuracy, mirror unseen', (r) => last(r)?.valAccUnmirrored),
        measure('stableRank', 'final QK stable rank', (r) => last(r)?.stableRank),
        measure('queryKeyNorm', 'final Q/K Frobenius norm', (r) => last(r)?.queryKeyNorm),
        measure('valAcc', 'final validation accuracy', (r) => last(r)?.valAcc)],
      columns: grid.columns,
      // Each panel placed on its own: the measures' wide arm labels must not push the curves right.
      align: 'none', spacing: { row: 20, column: 20 },
    } as unknown as TopLevelSpec;
  }
  return {
    ...FRAME,
    title,
    vconcat: [
      { hconcat: [survival, measure('valAccUnmirrored', 'final accuracy, mirror unseen', (r) => last(r)?.valAccUnmirrored)] },
      { hconcat: [
        measure('stableRank', 'final QK stable rank', (r) => last(r)?.stableRank),
        measure('queryKeyNorm', 'final Q/K Frobenius norm', (r) => last(r)?.queryKeyNorm),
        measure('valAcc', 'final validation accuracy', (r) => last(r)?.valAcc),
      ] },
    ],
  } as unknown as TopLevelSpec;
}
