// One page-side look at the layout, the same expression in every engine (test/web.test.ts in
// Chromium, test/engines.test.ts in all three): what is cut off, too small to tap, or wider
// than its column.

export interface Layout {
  /** The viewport, innerWidth x innerHeight. */
  inner: [number, number];
  /** The charts' column and the figure's own width (laid out for the column, never scaled down). */
  column: number;
  natural: number | null;
  /** Bottom of the colour key and top of the first chart's title (the key sits above it). */
  legendBottom: number | null;
  firstChartTop: number | null;
  /** The document's width against the viewport's (no sideways scrolling). */
  scroll: number;
  client: number;
  /** Visible controls under 44 x 44 px, as "name WxH". */
  small: string[];
  /** Selects too narrow for their chosen option's text. */
  cut: string[];
  /** Every form label's name above its control, and every flag name on one line. */
  labelsAbove: boolean;
  flagsWhole: boolean;
}

export const LAYOUT_PROBE = `(() => {
  const visible = (e) => e.checkVisibility() && e.getBoundingClientRect().width > 0;
  const svg = document.querySelector('#charts svg');
  const key = document.querySelector('[data-testid="legend"]');
  const titles = svg ? [...svg.querySelectorAll('g.role-title')].map((g) => g.getBoundingClientRect().top) : [];
  const small = [...document.querySelectorAll('button, select, input, a[href], summary')].filter(visible)
    .map((e) => ({ e, r: e.getBoundingClientRect() })).filter(({ r }) => r.width < 44 || r.height < 44)
    .map(({ e, r }) => (e.id || e.name || e.textContent) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
  const cut = [...document.querySelectorAll('#config select')].filter(visible).filter((s) => {
    const probe = Object.assign(document.createElement('span'), { textContent: s.selectedOptions[0].text });
    probe.style.font = getComputedStyle(s).font;
    document.body.append(probe);
    const w = probe.getBoundingClientRect().width;
    probe.remove();
    return w + 24 > s.clientWidth;
  }).map((s) => s.name);
  const labelsAbove = [...document.querySelectorAll('#config label')].filter(visible).every((l) => {
    const control = l.querySelector('input, select');
    // The label's name: its leading text ("mode") or its .field-name ("Modulus --p").
    const name = l.firstChild && l.firstChild.nodeType === Node.TEXT_NODE && l.firstChild.textContent.trim() ? l.firstChild : l.querySelector('.field-name');
    if (!control || !name) return true;
    const range = document.createRange();
    range.selectNodeContents(name);
    return range.getBoundingClientRect().bottom <= control.getBoundingClientRect().top + 1;
  });
  const flagsWhole = [...document.querySelectorAll('.field-name code')].filter(visible).every((c) => c.getClientRects().length === 1);
  return {
    inner: [innerWidth, innerHeight], column: document.getElementById('charts').clientWidth,
    natural: svg ? Number(svg.getAttribute('width')) : null,
    legendBottom: key && key.checkVisibility() ? key.getBoundingClientRect().bottom : null,
    firstChartTop: titles.length ? Math.min(...titles) : null,
    scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
    small, cut, labelsAbove, flagsWhole,
  };
})()`;
