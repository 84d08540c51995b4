// The comparison's statistics (src/study/survival.ts, src/study/compare.ts) against values
// worked by hand from their formulas.
import { describe, expect, it } from 'vitest';
import { formatInterval, kaplanMeier, medianSurvival, spread, wilsonInterval } from '../src/study/survival.js';
import { readFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { compareCsv, compareRows, compareSpec, compareTable, summarizeComparison } from '../src/study/compare.js';
import { parseCells, type CellRecord } from '../src/format/cells.js';

describe('survival', () => {
  it('Kaplan-Meier with a censored run: steps, band and median', () => {
    const curve = kaplanMeier([{ time: 1, event: true }, { time: 2, event: true }, { time: 3, event: true }, { time: 4, event: false }]);
    expect(curve.map((s) => [s.time, s.atRisk, s.events])).toEqual([[1, 4, 1], [2, 3, 1], [3, 2, 1]]);
    expect(curve.map((s) => s.survival)).toEqual([0.75, 0.5, 0.25]);
    // t = 1: Greenwood 1/(4*3); sigma = sqrt(1/12) / |log 0.75|; band exp(-exp(log(-log S) -+ z sigma)).
    const sigma = Math.sqrt(1 / 12) / Math.abs(Math.log(0.75));
    expect(curve[0].lower).toBeCloseTo(Math.exp(-Math.exp(Math.log(-Math.log(0.75)) + 1.959963984540054 * sigma)), 12);
    expect(curve[0].upper).toBeCloseTo(Math.exp(-Math.exp(Math.log(-Math.log(0.75)) - 1.959963984540054 * sigma)), 12);
    expect(curve[0].lower).toBeCloseTo(0.1279, 3);
    expect(curve[0].upper).toBeCloseTo(0.9606, 3);
    const m = medianSurvival(curve);
    expect(m.median).toBe(2);
    expect(m.low).toBe(1);
    expect(m.high).toBeNull(); // the upper band never reaches 0.5: the interval is open above
  });

  it('no run grokked: S stays 1, no median, an open interval', () => {
    const curve = kaplanMeier([{ time: 3500, event: false }, { time: 3500, event: false }]);
    expect(curve).toEqual([]);
    expect(medianSurvival(curve)).toEqual({ median: null, low: null, high: null });
  });

  it('every run grokked at once: the curve falls to 0 with a degenerate band', () => {
    const curve = kaplanMeier([{ time: 800, event: true }, { time: 800, event: true }, { time: 800, event: true }]);
    expect(curve).toEqual([{ time: 800, atRisk: 3, events: 3, survival: 0, lower: 0, upper: 0 }]);
    expect(medianSurvival(curve)).toEqual({ median: 800, low: 800, high: 800 });
  });

  it('Wilson intervals at 0, n/2 and n of n', () => {
    const [a, b] = wilsonInterval(0, 3);
    expect(a).toBe(0);
    expect(b).toBeCloseTo(0.5615, 4);
    const [c, d] = wilsonInterval(3, 3);
    expect(c).toBeCloseTo(0.4385, 4);
    expect(d).toBeCloseTo(1, 12);
    const [e, f] = wilsonInterval(5, 10);
    expect(e).toBeCloseTo(0.2366, 4);
    expect(f).toBeCloseTo(0.7634, 4);
  });

  it('spread and interval text', () => {
    expect(spread([1, 2, 3, null, undefined, NaN])).toEqual({ mean: 2, sd: 1, min: 1, max: 3, n: 3 });
    expect(spread([null])).toBeNull();
    expect(formatInterval(1200, null)).toBe('[1200, inf]');
    expect(formatInterval(0.12345, 0.9, 2)).toBe('[0.12, 0.90]');
  });
});

describe('comparison summary', () => {
  const row = (valAcc: number, stableRank: number) => ({ step: 0, trainLoss: 1, trainAcc: 1, valLoss: 1, valAcc, valAccUnmirrored: valAcc, stableRank, effectiveRank: 1, queryKeyNorm: 2, paramNorm: 3, checksum: '0000000000000000' });
  const rec = (arm: string, seed: number, grokStep: number | null): CellRecord => ({
    arm, frac: 0.5, rate: null, seed, grokStep, bestValAcc: grokStep === null ? 0.5 : 1, steps: 100, checksum: '0000000000000000', wallMs: 1,
    config: { steps: 100 } as CellRecord['config'], history: [row(grokStep === null ? 0.5 : 1, grokStep === null ? 10 : 2)],
  });
  it('counts, censors at the cap and orders arms as given', () => {
    const s = summarizeComparison([rec('lrd', 0, 40), rec('lrd', 1, null), rec('l2', 0, null), rec('lrd', 2, 60)]);
    expect(s.map((x) => x.arm)).toEqual(['lrd', 'l2']);
    expect(s[0]).toMatchObject({ runs: 3, grokked: 2, cap: 100, median: { median: 60 } });
    expect(s[0].finalStableRank).toMatchObject({ mean: 14 / 3 });
    expect(s[1]).toMatchObject({ runs: 1, grokked: 0, median: { median: null } });
    expect(compareTable(s)).toMatch(/^arm +grokked +share \[95%\] +median steps \[95%\]/);
    expect(compareTable(s)).toMatch(/\nl2 +0\/1 +0\.00 \[0\.00, 0\.79\] +>100 \[-, inf\]/);
    expect(compareCsv(s).split('\n')[1]).toMatch(/^lrd,3,2,0\.666/);
  });
});

describe('tuning choice', () => {
  it('per arm and loss, the setting with the fewest median steps to grok, then the larger share', async () => {
    const { bestPerArm } = await import('../src/study/compare.js');
    const rec = (arm: string, seed: number, grokStep: number | null) => ({ arm, frac: 0.5, rate: null, seed, grokStep, bestValAcc: 1, steps: 100,
      checksum: '0000000000000000', wallMs: 1, config: { steps: 100 }, history: [] }) as unknown as CellRecord;
    const records = [rec('l2:wd=1', 0, 50), rec('l2:wd=1', 1, 60), rec('l2:wd=2', 0, 40), rec('l2:wd=2', 1, null),
      rec('l2:wd=1:loss=stablemax', 0, null), rec('l2:wd=2:loss=stablemax', 0, 90), rec('lrd:rate=0.01', 0, null)];
    const best = bestPerArm(summarizeComparison(records), records).map((s) => s.arm);
    // wd=2's median is 40 (one of two grokked at 40: S falls to 0.5 there); wd=1's is 50.
    expect(best).toEqual(['l2:wd=2', 'l2:wd=2:loss=stablemax', 'lrd:rate=0.01']);
  });
});

describe('the comparison as the page shows it', () => {
  const file = new URL('../docs/results/compare-quick-final-ordered/cells.jsonl', import.meta.url).pathname;
  const records = parseCells(readFileSync(file, 'utf8'), 'cells.jsonl').records;
  const summaries = summarizeComparison(records);

  it('compareRows holds the terminal table\'s cells: one row per arm, intervals as [low, high]', () => {
    const { head, rows, note } = compareRows(summaries);
    // The committed study grows as arms are added; these five are final.
    const byArm = new Map(rows.map((r) => [r[0], r]));
    expect([...byArm.keys()]).toEqual(expect.arrayContaining(['l2:wd=2', 'lrd:rate=0.01', 'polar:rate=0.01', 'prox:rate=0.01', 'radial:rate=0.05']));
    expect(rows).toHaveLength(new Set(summaries.map((x) => x.arm)).size);
    expect(byArm.get('l2:wd=2')!.slice(1, 4)).toEqual(['10/10', '1.00 [0.72, 1.00]', '1100 [1000, 1300]']);
    expect(byArm.get('prox:rate=0.01')![3]).toBe('2800 [1000, inf]');
    const table = compareTable(summaries).split('\n');
    expect(table).toHaveLength(rows.length + 2);
    expect(table.at(-1)).toBe(note);
    for (const [i, row] of rows.entries()) for (const cell of row) expect(table[i + 1]).toContain(cell);
    for (const h of head) expect(table[0]).toContain(h);
  });

  it.each([358, 856])('compareSpec laid out for a %i px column fits it, and every rank and norm point is drawn (a 0 included)', async (width) => {
    const spec = compareSpec(records, summaries, 'Comparison: cells.jsonl', { width });
    const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
    await view.runAsync();
    const svg = await view.toSVG();
    expect(Number(/width="(\d+)"/.exec(svg)![1])).toBeLessThanOrEqual(width);
    expect(JSON.stringify(spec)).not.toContain('"type":"log"');
    view.finalize();
  });
});
