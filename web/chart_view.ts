// The live figure: one Vega view, redrawn with the newest spec; draws that arrive while one is
// rendering collapse into the latest.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { $ } from './page.js';

let view: vega.View | undefined;
let pendingSpec: TopLevelSpec | undefined;
let drawing = false;
/** Draws `spec`; `summary` is the figure's text for screen readers and anyone skimming (shown below it). */
export async function draw(spec: TopLevelSpec, summary?: string): Promise<void> {
  if (summary !== undefined) $('figure-summary').textContent = summary;
  pendingSpec = spec;
  if (drawing) return;
  drawing = true;
  while (pendingSpec) {
    const next = pendingSpec;
    pendingSpec = undefined;
    view?.finalize();
    const container = $('charts');
    container.replaceChildren();
    view = new vega.View(vega.parse(compile(next).spec), { renderer: 'svg', container });
    await view.runAsync();
  }
  drawing = false;
}

/** The figure as a PNG data URL (twice the screen size), or null before the first draw. */
export async function figurePng(): Promise<string | null> {
  return view ? view.toImageURL('png', 2) : null;
}
