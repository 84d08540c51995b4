// The live figure: one Vega view, redrawn with the newest spec; draws that arrive while one is
// rendering collapse into the latest. A spec is built for the width of the figure's column
// (src/study/charts.ts lays its panels out to fit), rebuilt when the column changes width, and
// the SVG is scaled down to the column should it still be wider (a phase diagram).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { FigureLayout } from '../src/core.js';
import { $ } from './page.js';

/** A figure for a given layout (the column's width). */
export type Figure = (layout: FigureLayout) => TopLevelSpec;

let view: vega.View | undefined;
let pending: Figure | undefined;
let shown: Figure | undefined;
let drawing = false;

function columnWidth(): number {
  return Math.floor($('charts').clientWidth);
}

/** Draws `figure`; `summary` is the figure's text for screen readers and anyone skimming (shown below it). */
export async function draw(figure: Figure | TopLevelSpec, summary?: string): Promise<void> {
  if (summary !== undefined) $('figure-summary').textContent = summary;
  pending = typeof figure === 'function' ? figure : () => figure;
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
  timer = setTimeout(() => { if (shown) void draw(shown); }, 150);
}).observe($('charts'));

/** The figure as a PNG data URL (twice the screen size), or null before the first draw. */
export async function figurePng(): Promise<string | null> {
  return view ? view.toImageURL('png', 2) : null;
}
