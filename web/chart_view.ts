// The live figure: one Vega view, redrawn with the newest spec; draws that arrive while one is
// rendering collapse into the latest. A spec is built for the width of the figure's column
// (src/study/charts.ts lays its panels out to fit), rebuilt when the column changes width, and
// the SVG is scaled down to the column should it still be wider (a phase diagram).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { armColors, type FigureLayout } from '../src/core.js';
import { $ } from './page.js';

/** A figure for a given layout (the column's width). */
export type Figure = (layout: FigureLayout) => TopLevelSpec;

let view: vega.View | undefined;
let pending: Figure | undefined;
let shown: Figure | undefined;
let drawing = false;
let keyArms: string[] | undefined;

function columnWidth(): number {
  return Math.floor($('charts').clientWidth);
}

/**
 * Draws `figure`; `summary` is the figure's text for screen readers and anyone skimming (shown
 * below it). `arms` (the arms' titles, in the figure's order) puts the colour key above the first
 * chart, as HTML, in place of the figure's own arm legend; without it the figure keeps its own.
 */
export async function draw(figure: Figure | TopLevelSpec, summary?: string, arms?: string[]): Promise<void> {
  if (summary !== undefined) $('figure-summary').textContent = summary;
  showKey(arms);
  keyArms = arms;
  const make: Figure = typeof figure === 'function' ? figure : () => figure;
  pending = arms?.length ? (layout) => withoutArmLegend(make(layout)) : make;
  if (drawing) return;
  drawing = true;
  while (pending) {
    const next = pending;
    pending = undefined;
    shown = next;
    view?.finalize();
    const container = $('charts');
    container.replaceChildren();
    view = new vega.View(vega.parse(compile(next({ width: columnWidth() })).spec), { renderer: 'svg', container });
    await view.runAsync();
    fitSvg(container);
  }
  drawing = false;
}

/** The colour key above the charts: one swatch per arm, in the figure's colours (src/study/charts.ts's armColors). */
function showKey(arms: string[] | undefined): void {
  const key = $('legend');
  key.hidden = !arms?.length;
  if (!arms?.length) return key.replaceChildren();
  const colors = armColors(arms);
  key.replaceChildren(...arms.map((title, i) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.borderTopColor = colors[i];
    li.append(swatch, title);
    return li;
  }));
}

/** The spec with the arm colour legends switched off (the HTML key shows them); other legends stay. */
function withoutArmLegend(spec: TopLevelSpec): TopLevelSpec {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      const color = v as { field?: unknown } | null;
      out[k] = k === 'color' && color && typeof color === 'object' && color.field === 'arm' ? { ...color, legend: null } : walk(v);
    }
    return out;
  };
  return walk(spec) as TopLevelSpec;
}

/** Scales the figure's SVG to its column when it is wider, keeping its proportions. */
function fitSvg(container: HTMLElement): void {
  const svg = container.querySelector('svg');
  if (!svg) return;
  const w = Number(svg.getAttribute('width')), h = Number(svg.getAttribute('height'));
  if (!(w > 0 && h > 0)) return;
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.style.maxWidth = '100%';
  svg.style.height = 'auto';
}

// A change of the column's width (a turned phone, a resized window) lays the figure out again.
let lastWidth = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
new ResizeObserver(() => {
  const width = columnWidth();
  if (!shown || Math.abs(width - lastWidth) < 8) return;
  lastWidth = width;
  clearTimeout(timer);
  timer = setTimeout(() => { if (shown) void draw(shown, undefined, keyArms); }, 150);
}).observe($('charts'));

/** The figure as a PNG data URL (twice the screen size), or null before the first draw. */
export async function figurePng(): Promise<string | null> {
  return view ? view.toImageURL('png', 2) : null;
}
