// Vega-Lite specs of every figure. They are plain data, shared by the CLI (rendered to SVG and
// PNG in Node) and the browser app (rendered live), so a figure is defined once.
import type { TopLevelSpec } from 'vega-lite';
import { summarizeHistory } from '../format/run_result.js';
import type { EvalInfo } from '../train/trainer.js';
import type { KeyFrequencyProgress } from '../format/mechanism.js';
import { settingTitle } from './arm_setting.js';

/** An arm of a figure is an arm setting's label ("l2", "lrd:rate=0.003"; src/study/arm_setting.ts). */
export type Arm = string;

/** The arm's plain title in legends and panel titles. */
export function armTitle(arm: Arm): string {
  return settingTitle(arm);
}

// The reference's two arms keep their colours (Dark2's orange and green); other arms and
// further settings of one arm take the rest of Dark2, then Tableau's, in order of appearance.
const ARM_COLOR: Record<string, string> = { l2: '#d95f02', lrd: '#1b9e77' };
const PALETTE = ['#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666', '#1f77b4', '#17becf', '#bcbd22', '#8c564b', '#9467bd', '#d62728'];

/** Colours for arms (by title) in the order given: each gets its own, the classic arms theirs. */
export function armColors(titles: string[]): string[] {
  // The first setting of each classic arm takes its colour ("Low-Rank Decay (rate 0.003)" too).
  const classic = Object.entries(ARM_COLOR).map(([label, color]) => ({ title: armTitle(label), color, used: false }));
  let next = 0;
  return titles.map((t) => {
    const c = classic.find((x) => !x.used && (t === x.title || t.startsWith(`${x.title} (`)));
    if (c) { c.used = true; return c.color; }
    return PALETTE[next++ % PALETTE.length];
  });
}


export interface MechanismData {
  histories: Partial<Record<Arm, EvalInfo[]>>;
  /** Singular values of layers.0.attn.q_proj.weight, descending, per arm. */
  spectra: Partial<Record<Arm, number[]>>;
  /** Layer 0, head 0 attention over the p tokens at position 0 (p x p, rows are queries), per arm. */
  attention: Partial<Record<Arm, number[][]>>;
  /** The progress measures at the final model's key frequencies, per arm (absent in older files). */
  progress?: Partial<Record<Arm, KeyFrequencyProgress>>;
  title?: string;
}

const WIDTH = 330, HEIGHT = 210;

/**
 * The width a figure must fit, in CSS pixels (a page's column); without it, the CLI's two
 * panels of 330 px to a row. Panels go two to a row while each keeps 240 px, else one.
 */
export interface FigureLayout { width?: number }

/** Panels per row and each panel's plot width (axes, titles and gaps come on top). */
export function panelGrid(layout: FigureLayout = {}): { columns: number; width: number; height: number; wrap: boolean } {
  if (layout.width === undefined) return { columns: 2, width: WIDTH, height: HEIGHT, wrap: false };
  // About 85 px of axis labels and titles beside each plot, 20 px between panels, 10 px of padding.
  const fit = (columns: number) => Math.floor((layout.width! - 10 - columns * 85 - (columns - 1) * 20) / columns);
  const columns = fit(2) >= 240 ? 2 : 1;
  const width = Math.max(120, Math.min(fit(columns), 420));
  return { columns, width, height: Math.round(Math.min(HEIGHT, Math.max(150, width * 0.62))), wrap: true };
}

function historyRows(data: MechanismData) {
  return (Object.entries(data.histories) as [Arm, EvalInfo[]][]).flatMap(([arm, rows]) =>
    rows.map((r) => ({ arm: armTitle(arm), ...r })));
}

/** The arm colour encoding, its legend listing only the arms present (labels as in rows' `arm`). */
function armColor(titles: Iterable<string>) {
  const unique = [...new Set(titles)];
  return { field: 'arm', type: 'nominal', title: null, scale: { domain: unique, range: armColors(unique) }, legend: { orient: 'top', labelLimit: 360 } } as const;
}
const dashes = (domain: string[]) => ({ domain, range: [[1, 0], [5, 3]] });

// One metric on the training and the validation set against steps, both arms.
export type Grid = ReturnType<typeof panelGrid>;

/**
 * A title that fits a page's layout: broken into lines of about the panel's width (at 14 px, up
 * to 9 px a character), the parenthesis on a line of its own. The CLI's figures keep one line.
 */
export function panelTitle(text: string, grid: Grid): string | string[] {
  if (!grid.wrap) return text;
  const chars = Math.max(16, Math.floor((grid.width + 60) / 9));
  const lines: string[] = [];
  for (const part of text.replace(' (', '\n(').split('\n')) {
    let line = '';
    for (const word of part.split(' ')) {
      if (line && line.length + 1 + word.length > chars) { lines.push(line); line = word; } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines.length > 1 ? lines : text;
}

/** The first step at which each arm's validation accuracy reached 0.99 (arms that did not are left out). */
function grokMarks(histories: MechanismData['histories']): { arm: string; step: number }[] {
  return (Object.entries(histories) as [Arm, EvalInfo[]][]).flatMap(([arm, rows]) => {
    const step = summarizeHistory(rows).grokStep;
    return step === null ? [] : [{ arm: armTitle(arm), step }];
  });
}

function splitPanel(rows: ReturnType<typeof historyRows>, metric: 'accuracy' | 'loss', points = false, grid: Grid = panelGrid(), groks: { arm: string; step: number }[] = []) {
  const [val, train] = metric === 'accuracy' ? (['valAcc', 'trainAcc'] as const) : (['valLoss', 'trainLoss'] as const);
  const title = `${metric === 'accuracy' ? 'Accuracy' : 'Loss'} (solid: validation, dashed: training${metric === 'accuracy' && groks.length ? '; dotted rule: grokked' : ''})`;
  const curves = {
    data: { values: rows.flatMap((r) => [
      { arm: r.arm, step: r.step, split: 'validation', value: r[val] },
      { arm: r.arm, step: r.step, split: 'training', value: r[train] },
    ]) },
    mark: points ? { type: 'line', point: true } : 'line',
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: metric === 'accuracy'
        ? { field: 'value', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } }
        : { field: 'value', type: 'quantitative', title: 'cross-entropy', scale: { type: 'log' } },
      color: armColor(rows.map((r) => r.arm)),
      strokeDash: { field: 'split', type: 'nominal', title: null, scale: dashes(['validation', 'training']), legend: null },
    },
  };
  // A dotted vertical rule at the step each arm first reached 0.99 validation accuracy.
  if (metric !== 'accuracy' || !groks.length) return { title: panelTitle(title, grid), width: grid.width, height: grid.height, ...curves };
  const rule = {
    data: { values: groks },
    mark: { type: 'rule', strokeDash: [2, 2], strokeWidth: 1.5 },
    encoding: { x: { field: 'step', type: 'quantitative' }, color: armColor(rows.map((r) => r.arm)) },
  };
  return { title: panelTitle(title, grid), width: grid.width, height: grid.height, layer: [curves, rule] };
}

function ranksPanel(rows: ReturnType<typeof historyRows>, points = false, grid: Grid = panelGrid()) {
  return {
    title: panelTitle('QK ranks (solid: stable, dashed: effective)', grid),
    width: grid.width, height: grid.height,
    data: { values: rows.flatMap((r) => [
      { arm: r.arm, step: r.step, rank: 'stable rank', value: r.stableRank },
      { arm: r.arm, step: r.step, rank: 'effective rank', value: r.effectiveRank },
    ]) },
    mark: points ? { type: 'line', point: true } : 'line',
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: 'rank (mean over q_proj, k_proj)', scale: { type: 'log' } },
      color: armColor(rows.map((r) => r.arm)),
      strokeDash: { field: 'rank', type: 'nominal', title: null, scale: dashes(['stable rank', 'effective rank']), legend: null },
    },
  };
}

// Validation accuracy on the pairs whose mirror (b, a) was trained on, and on the others: the
// L2 plateau is the first at 1 and the second at 0. Only for commutative tasks.
function mirrorPanel(rows: ReturnType<typeof historyRows>, points = false, grid: Grid = panelGrid()) {
  return {
    title: panelTitle('Validation pairs (solid: mirror trained, dashed: not)', grid),
    width: grid.width, height: grid.height,
    data: { values: rows.filter((r) => r.valAccMirrored != null || r.valAccUnmirrored != null).flatMap((r) => [
      { arm: r.arm, step: r.step, pairs: 'mirror (b, a) in training', value: r.valAccMirrored },
      { arm: r.arm, step: r.step, pairs: 'mirror not in training', value: r.valAccUnmirrored },
    ]).filter((v) => v.value != null) },
    mark: points ? { type: 'line', point: true } : 'line',
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: 'validation accuracy', scale: { domain: [0, 1] } },
      color: armColor(rows.map((r) => r.arm)),
      strokeDash: { field: 'pairs', type: 'nominal', title: null, scale: dashes(['mirror (b, a) in training', 'mirror not in training']), legend: null },
    },
  };
}

// Fourier progress measures (addition only): the training loss of the logits restricted to the
// key frequencies (solid) and without them (dashed), against steps.
function fourierLossPanel(rows: ReturnType<typeof historyRows>, grid: Grid = panelGrid()) {
  return {
    title: panelTitle('Key frequencies (solid: restricted loss, dashed: excluded)', grid),
    width: grid.width, height: grid.height,
    data: { values: rows.filter((r) => r.restrictedLoss != null).flatMap((r) => [
      { arm: r.arm, step: r.step, part: 'restricted', value: r.restrictedLoss },
      { arm: r.arm, step: r.step, part: 'excluded', value: r.excludedLoss },
    ]) },
    mark: 'line',
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: 'training cross-entropy', scale: { type: 'log' } },
      color: armColor(rows.map((r) => r.arm)),
      strokeDash: { field: 'part', type: 'nominal', title: null, scale: dashes(['restricted', 'excluded']), legend: null },
    },
  };
}

// Nanda et al.'s progress measures as they define them: the key frequencies fixed from the final
// model (named in the legend), the restricted (solid) and excluded (dashed) loss against steps.
function fixedKeyPanel(data: MechanismData, grid: Grid = panelGrid()) {
  const values = (Object.entries(data.progress ?? {}) as [Arm, KeyFrequencyProgress][]).flatMap(([arm, p]) => {
    const title = `${armTitle(arm)}: keys ${p.frequencies.join(', ')}`;
    return (data.histories[arm] ?? []).flatMap((r, i) => [
      { arm: title, step: r.step, part: 'restricted', value: p.restrictedLoss[i] },
      { arm: title, step: r.step, part: 'excluded', value: p.excludedLoss[i] },
    ]);
  });
  return {
    title: panelTitle('Keys fixed from the final model (solid: restricted loss, dashed: excluded)', grid),
    width: grid.width, height: grid.height,
    data: { values },
    mark: 'line',
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: 'training cross-entropy', scale: { type: 'log' } },
      color: { field: 'arm', type: 'nominal', title: null, scale: { domain: [...new Set(values.map((v) => v.arm))], range: armColors(Object.keys(data.progress ?? {}).map(armTitle)) }, legend: { orient: 'top', labelLimit: 360 } },
      strokeDash: { field: 'part', type: 'nominal', title: null, scale: dashes(['restricted', 'excluded']), legend: null },
    },
  };
}

// The token embedding's share of squared norm per frequency at the last evaluation, per arm:
// a generalising model on addition concentrates it on a few key frequencies.
function frequencyPanel(histories: MechanismData['histories'], grid: Grid = panelGrid()) {
  const values = (Object.entries(histories) as [Arm, EvalInfo[]][]).flatMap(([arm, rows]) => {
    const shares = rows.at(-1)?.frequencyShares;
    return shares ? shares.map((share, k) => ({ arm: armTitle(arm), k, share })).slice(1) : [];
  });
  return {
    title: panelTitle('Embedding norm per frequency (at the end)', grid),
    width: grid.width, height: grid.height,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'k', type: 'quantitative', title: 'frequency k (of 2 pi k / p)' },
      y: { field: 'share', type: 'quantitative', title: 'share of squared norm' },
      color: armColor(values.map((v) => v.arm)),
    },
  };
}

/** Whether any row carries the mirror-pair accuracies (a commutative task, a result that has them). */
function hasMirror(rows: ReturnType<typeof historyRows>): boolean {
  return rows.some((r) => r.valAccMirrored != null);
}

function spectrumPanel(spectra: MechanismData['spectra'], grid: Grid = panelGrid()) {
  return {
    title: panelTitle('layers.0 q_proj spectrum (normalised)', grid),
    width: Math.round(grid.width * (grid.columns > 1 ? 0.75 : 1)), height: grid.height,
    data: { values: (Object.entries(spectra) as [Arm, number[]][]).flatMap(([arm, s]) =>
      s.map((v, i) => ({ arm: armTitle(arm), index: i + 1, value: Math.max(v / s[0], 1e-16) }))) },
    mark: 'line',
    encoding: {
      x: { field: 'index', type: 'quantitative', title: 'singular value index' },
      y: { field: 'value', type: 'quantitative', title: 'sigma_i / sigma_1', scale: { type: 'log' }, axis: { format: '.0e', tickCount: 6 } },
      color: { ...armColor((Object.keys(spectra) as Arm[]).map((a) => armTitle(a))), legend: null }, // the curves above carry the arms' legend
    },
  };
}

function attentionPanel(arm: Arm, m: number[][], grid: Grid = panelGrid()) {
  // Square; room is left for the colour bar on the right.
  const side = Math.min(230, grid.width - 70);
  return {
    title: grid.wrap ? [`${armTitle(arm)}:`, 'layer 0, head 0 attention'] : `${armTitle(arm)}: layer 0, head 0 attention`,
    width: side, height: side,
    data: { values: m.flatMap((row, q) => row.map((w, k) => ({ query: q, key: k, weight: w }))) },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'key', type: 'ordinal', title: 'key token', axis: { values: ticks(m.length), labelAngle: 0 } },
      y: { field: 'query', type: 'ordinal', title: 'query token', axis: { values: ticks(m.length) } },
      color: { field: 'weight', type: 'quantitative', title: 'weight', scale: { scheme: 'viridis' } },
    },
  };
}

// Text at 12-14 px; no ARIA from Vega itself (it names a figure by joining every tick label):
// pages give each figure a one-line text summary instead.
export const FRAME = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  config: {
    font: 'DejaVu Sans', view: { stroke: null }, aria: false,
    axis: { labelFontSize: 12, titleFontSize: 13 }, legend: { labelFontSize: 12, titleFontSize: 12 }, title: { fontSize: 14 },
  },
};

/** The figure in one sentence per arm, for readers who cannot see it: where each run stands. */
export function figureSummary(histories: MechanismData['histories']): string {
  const parts = (Object.entries(histories) as [Arm, EvalInfo[]][]).filter(([, rows]) => rows.length).map(([arm, rows]) => {
    const last = rows[rows.length - 1];
    return `${armTitle(arm)}: ${rows.length} evaluation${rows.length > 1 ? 's' : ''}, the last after step ${last.step}: ` +
      `validation accuracy ${last.valAcc.toFixed(3)}, training accuracy ${last.trainAcc.toFixed(3)}, ` +
      `validation loss ${last.valLoss.toFixed(4)}, QK stable rank ${last.stableRank.toFixed(2)}, effective rank ${last.effectiveRank.toFixed(2)}` +
      (last.valAccMirrored != null && last.valAccUnmirrored != null
        ? `; validation accuracy ${last.valAccMirrored.toFixed(3)} on pairs whose mirror was trained on, ${last.valAccUnmirrored.toFixed(3)} on the others.`
        : '.');
  });
  return parts.length ? parts.join(' ') : 'No evaluation yet.';
}

// The curves two panels to a row, so that a figure fits a laptop screen's width: accuracy and
// loss, then the ranks and (for a commutative task) the mirror-pair accuracies.
// (In a narrow column, one panel to a row.) The arms' colour key sits above the first panel.
function curveRows(rows: ReturnType<typeof historyRows>, points = false, grid: Grid = panelGrid(), groks: { arm: string; step: number }[] = []) {
  const panels = [splitPanel(rows, 'accuracy', points, grid, groks), splitPanel(rows, 'loss', points, grid),
    ranksPanel(rows, points, grid), ...(hasMirror(rows) ? [mirrorPanel(rows, points, grid)] : [])];
  // Rows and columns aligned each on their own (not every cell to the largest): panels stay close.
  return [{ concat: panels, columns: grid.columns, align: 'each', resolve: { scale: { strokeDash: 'independent' } } }];
}

/** Live training curves: accuracy, loss and QK ranks of every arm so far. */
export function trainingSpec(histories: MechanismData['histories'], title = 'Training', layout: FigureLayout = {}): TopLevelSpec {
  const rows = historyRows({ histories, spectra: {}, attention: {} });
  // Points on the lines: the first evaluation shows at once, before there is a line to draw.
  const grid = panelGrid(layout);
  return { ...FRAME, title: panelTitle(title, grid), vconcat: curveRows(rows, true, grid, grokMarks(histories)), resolve: { scale: { strokeDash: 'independent' } } } as TopLevelSpec;
}

/** The mechanism figure: accuracy, QK ranks, q_proj spectrum, attention heatmaps. */
export function mechanismSpec(data: MechanismData, layout: FigureLayout = {}): TopLevelSpec {
  const grid = panelGrid(layout);
  const rows = historyRows(data);
  const heatmaps = (Object.entries(data.attention) as [Arm, number[][]][]).filter(([, m]) => m).map(([arm, m]) => attentionPanel(arm, m, grid));
  const arms = Object.keys(data.histories) as Arm[];
  const spectra = Object.keys(data.spectra).length ? [spectrumPanel(data.spectra, grid)] : [];
  const fixed = Object.keys(data.progress ?? {}).length ? [fixedKeyPanel(data, grid)] : [];
  return {
    ...FRAME,
    // The title says what ran: both arms, or the one.
    title: panelTitle(data.title ?? arms.map(armTitle).join(' versus '), grid),
    vconcat: [
      ...curveRows(rows, false, grid, grokMarks(data.histories)),
      ...(rows.some((r) => r.restrictedLoss != null) ? [{
        concat: [fourierLossPanel(rows, grid), ...fixed, frequencyPanel(data.histories, grid)],
        // The fixed-key panel names each arm's keys in its own colour key.
        columns: grid.columns, align: 'each', resolve: { scale: { strokeDash: 'independent', ...(fixed.length ? { color: 'independent' } : {}) } },
      }] : []),
      { concat: [...spectra, ...heatmaps], columns: layout.width === undefined ? spectra.length + heatmaps.length : grid.columns, align: 'each', resolve: { scale: { color: 'independent' } } },
    ],
  } as TopLevelSpec;
}

function ticks(n: number): number[] {
  const step = Math.max(1, Math.round(n / 8));
  return Array.from({ length: Math.ceil(n / step) }, (_, i) => i * step);
}

export interface PhaseCell {
  arm: Arm;
  frac: number;
  rate: number;
  /** Mean and spread (max - min) over seeds of the best validation accuracy. */
  accMean: number;
  accSpread: number;
  /** Mean over the seeds that grokked of the first step with validation accuracy >= 0.99. */
  grokMean: number | null;
  grokked: number;
  seeds: number;
  /** The cells' AdamW weight decay (the L2 arm's is 10 x rate). */
  wd: number;
  /** Seeds whose run diverged (a loss or weight stopped being finite). */
  diverged: number;
  /**
   * Mean over seeds of the final validation accuracy on the pairs whose mirror was not trained:
   * what the model learned beyond the swap symmetry it starts with. Null where no seed's result
   * has it (a task that is not commutative, a split that keeps mirrors together, an older file).
   */
  unmirroredMean?: number | null;
}

/** Phase diagram: best accuracy and steps-to-grok per (fraction, rate), one column per arm. */
export function phaseSpec(cells: PhaseCell[], title = 'Phase diagram', layout: FigureLayout = {}): TopLevelSpec {
  const arms = [...new Set(cells.map((c) => c.arm))].sort() as Arm[];
  // The CLI's figure: 300 px panels, the arms side by side, each row's legend at its right. In a
  // column (the page), side by side while a panel keeps 200 px beside its axis labels (about
  // 85 px) and the legend (about 100 px); otherwise the arms stacked, the legend below them.
  const beside = layout.width === undefined ? 300 : Math.floor((layout.width - 10 - arms.length * 85 - (arms.length - 1) * 20 - 100) / arms.length);
  const stacked = beside < 200;
  const panelWidth = stacked ? Math.max(150, Math.min(300, layout.width! - 10 - 120)) : Math.min(300, beside);
  const group = (panels: object[]) => (stacked ? { vconcat: panels } : { hconcat: panels });
  const values = cells.map((c) => ({
    ...c,
    accText: (c.seeds > 1 ? `${c.accMean.toFixed(2)}±${(c.accSpread / 2).toFixed(2)}` : c.accMean.toFixed(2)) +
      (c.diverged ? ` (${c.diverged} diverged)` : ''),
    grokText: c.grokMean === null ? '-' : `${Math.round(c.grokMean)}${c.seeds > 1 ? ` (${c.grokked}/${c.seeds})` : ''}`,
    spreadText: c.accSpread.toFixed(2),
    unmirroredText: c.unmirroredMean == null ? '-' : c.unmirroredMean.toFixed(2),
  }));
  // Steps to 0.99 has no scale when no cell grokked: a fixed domain and no legend, not NaN ticks.
  const groks = cells.map((c) => c.grokMean).filter((g): g is number => g !== null);
  const grokTop = groks.length ? Math.max(...groks) : 0;
  const panel = (field: string, text: string, titleText: string, scheme: string, legendTitle: string, filter?: string) => ({
    // A long panel title is cut with an ellipsis at the panel's width rather than widening the figure.
    title: layout.width === undefined ? titleText : { text: titleText, limit: panelWidth + 60 },
    width: panelWidth, height: 210,
    transform: filter ? [{ filter }] : [],
    encoding: {
      x: { field: 'rate', type: 'ordinal' as const, title: 'rate (arms tuned by wd: wd = 10 x rate)', axis: { labelExpr: 'format(datum.value, ".0e")', labelAngle: 0 } },
      y: { field: 'frac', type: 'ordinal' as const, title: 'training fraction', sort: 'descending' as const },
    },
    layer: [
      { mark: 'rect' as const, encoding: { color: { field, type: 'quantitative' as const, title: legendTitle,
        scale: { scheme, domain: field === 'grokMean' ? (groks.length ? undefined : [0, 1]) : [0, 1] },
        ...(field === 'grokMean' && !groks.length ? { legend: null } : stacked ? { legend: { orient: 'bottom' as const } } : {}) } } },
      // Dark text on light cells and white on dark ones, for contrast at every value.
      { mark: { type: 'text' as const, fontSize: 11 }, encoding: { text: { field: text, type: 'nominal' as const },
        color: { condition: { test: field === 'grokMean' ? `datum.grokMean > ${0.6 * grokTop}` : `datum.${field} > 0.6`, value: 'white' }, value: 'black' } } },
    ],
  });
  return {
    ...FRAME,
    title,
    data: { values },
    vconcat: [
      { ...group(arms.map((a) => panel('accMean', 'accText', `${armTitle(a)}: best validation accuracy`, 'blues', 'accuracy', `datum.arm === '${a}'`))), resolve: { scale: { color: 'shared' } } },
      { ...group(arms.map((a) => panel('grokMean', 'grokText', `${armTitle(a)}: steps to 0.99 (grokked/seeds)`, 'oranges', 'steps', `datum.arm === '${a}'`))), resolve: { scale: { color: 'shared' } } },
      // Beyond the swap symmetry: accuracy on the pairs whose mirror was never trained (ordered split).
      ...(cells.some((c) => c.unmirroredMean != null)
        ? [{ ...group(arms.map((a) => panel('unmirroredMean', 'unmirroredText', `${armTitle(a)}: final accuracy, mirror not trained`, 'greens', 'accuracy', `datum.arm === '${a}'`))), resolve: { scale: { color: 'shared' } } }]
        : []),
      // With several seeds, how far apart they land: max - min of the best validation accuracy.
      ...(cells.some((c) => c.seeds > 1)
        ? [{ ...group(arms.map((a) => panel('accSpread', 'spreadText', `${armTitle(a)}: spread over seeds (max - min)`, 'purples', 'spread', `datum.arm === '${a}'`))), resolve: { scale: { color: 'shared' } } }]
        : []),
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}


/** One run of a seeds study: an arm at one seed, with its history and final q_proj spectrum. */
export interface SeedRun {
  arm: Arm;
  seed: number;
  history: EvalInfo[];
  spectrum: number[] | null;
}

export interface BandRow { arm: string; x: number; metric: string; mean: number; min: number; max: number }

const BAND_METRICS = [
  ['valAcc', 'validation accuracy'], ['stableRank', 'QK stable rank'], ['valAccUnmirrored', 'validation accuracy, mirror not trained'],
] as const;

/**
 * Mean and min-max over seeds of each metric at each evaluation step, per arm. A run that
 * stopped early (two evaluations above 0.99) holds its last values to the longest run's end,
 * so every point averages the same seeds.
 */
export function seedBands(runs: SeedRun[]): BandRow[] {
  const out: BandRow[] = [];
  for (const arm of [...new Set(runs.map((r) => r.arm))].sort()) {
    const mine = runs.filter((r) => r.arm === arm && r.history.length);
    const steps = [...new Set(mine.flatMap((r) => r.history.map((h) => h.step)))].sort((a, b) => a - b);
    for (const [metric, label] of BAND_METRICS) {
      for (const step of steps) {
        const values = mine.map((r) => {
          const row = [...r.history].reverse().find((h) => h.step <= step) ?? r.history[0];
          return row[metric];
        }).filter((v): v is number => typeof v === 'number');
        if (!values.length) continue;
        out.push({ arm: armTitle(arm), x: step, metric: label, mean: values.reduce((a, b) => a + b, 0) / values.length,
          min: Math.min(...values), max: Math.max(...values) });
      }
    }
  }
  return out;
}

/** Per arm and singular value index: log10(sigma_i / sigma_1) mean and min-max over seeds (floored at 1e-16). */
export function spectrumBands(runs: SeedRun[]): BandRow[] {
  const out: BandRow[] = [];
  for (const arm of [...new Set(runs.map((r) => r.arm))].sort()) {
    const spectra = runs.filter((r) => r.arm === arm && r.spectrum?.length).map((r) => r.spectrum!.map((v) => Math.log10(Math.max(v / r.spectrum![0], 1e-16))));
    if (!spectra.length) continue;
    for (let i = 0; i < Math.min(...spectra.map((s) => s.length)); i++) {
      const values = spectra.map((s) => s[i]);
      out.push({ arm: armTitle(arm), x: i + 1, metric: 'spectrum', mean: values.reduce((a, b) => a + b, 0) / values.length,
        min: Math.min(...values), max: Math.max(...values) });
    }
  }
  return out;
}

function bandPanel(rows: BandRow[], title: string, xTitle: string, yTitle: string, scale: Record<string, unknown>) {
  const color = { ...armColor(rows.map((r) => r.arm)) };
  return {
    title, width: WIDTH, height: HEIGHT,
    data: { values: rows },
    encoding: { x: { field: 'x', type: 'quantitative', title: xTitle }, color },
    layer: [
      { mark: { type: 'area', opacity: 0.25 }, encoding: { y: { field: 'min', type: 'quantitative', title: yTitle, scale }, y2: { field: 'max' } } },
      { mark: 'line', encoding: { y: { field: 'mean', type: 'quantitative', title: yTitle, scale } } },
    ],
  };
}

/** The seeds figure: mean (line) and min-max (band) over seeds of accuracy, ranks, mirror accuracy and the q_proj spectrum. */
export function seedBandsSpec(runs: SeedRun[], title: string): TopLevelSpec {
  const bands = seedBands(runs);
  const of = (label: string) => bands.filter((b) => b.metric === label);
  const spectrum = spectrumBands(runs);
  const top = [
    bandPanel(of('validation accuracy'), 'Validation accuracy', 'step', 'accuracy', { domain: [0, 1] }),
    bandPanel(of('QK stable rank'), 'QK stable rank', 'step', 'stable rank', { type: 'log' }),
  ];
  const bottom = [
    ...(of('validation accuracy, mirror not trained').length
      ? [bandPanel(of('validation accuracy, mirror not trained'), 'Validation pairs whose mirror was not trained', 'step', 'accuracy', { domain: [0, 1] })] : []),
    ...(spectrum.length ? [bandPanel(spectrum, 'layers.0 q_proj spectrum at the end', 'singular value index', 'log10(sigma_i / sigma_1)', {})] : []),
  ];
  return { ...FRAME, title, vconcat: [{ hconcat: top }, ...(bottom.length ? [{ hconcat: bottom }] : [])] } as TopLevelSpec;
}
