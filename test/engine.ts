// One small interface over the three browser engines the tests drive (test/engines.test.ts):
// Chromium (V8) through playwright-core, Firefox ESR (SpiderMonkey) through puppeteer-core over
// WebDriver BiDi, and WebKitGTK (JavaScriptCore) through WebKitWebDriver (W3C WebDriver over
// HTTP). Each speaks in data-testids and page expressions, so one test body runs on all three.

/** One open page. */
export interface Tab {
  /** The value of a JavaScript expression evaluated in the page (JSON-serialisable). */
  evaluate<T>(expression: string): Promise<T>;
  /** A real click on the element with this data-testid. */
  click(testid: string): Promise<void>;
  /** A real double click (two presses of the mouse button in quick succession) on it. */
  doubleClick(testid: string): Promise<void>;
  /** A PNG of the viewport. */
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

export interface Size { width: number; height: number }

/** A running browser. */
export interface Engine {
  /** Chromium, Firefox ESR or WebKitGTK, with the version the browser reports. */
  readonly name: string;
  /** A tab at `url`; with `size`, its viewport (the page's innerWidth x innerHeight) is that many CSS pixels. */
  open(url: string, size?: Size): Promise<Tab>;
  close(): Promise<void>;
}

const selector = (testid: string) => `[data-testid="${testid}"]`;

/** The text of the element with this data-testid, or null when there is none. */
export function text(tab: Tab, testid: string): Promise<string | null> {
  return tab.evaluate(`document.querySelector(${JSON.stringify(selector(testid))})?.textContent ?? null`);
}

/** Sets an input's value as typing would (an input event follows). */
export function fill(tab: Tab, testid: string, value: string): Promise<void> {
  return tab.evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector(testid))}); e.value = ${JSON.stringify(value)};
    e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); return null; })()`);
}

/** A progress element's value (by id). */
export function progressValue(tab: Tab, id: string): Promise<number> {
  return tab.evaluate(`document.getElementById(${JSON.stringify(id)}).value`);
}

/**
 * Reads `read` every 100 ms until `ok` holds and returns that value; after `timeout` ms throws
 * with what was last read, so a failure says where the page stood.
 */
export async function waitFor<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeout = 150_000): Promise<T> {
  const until = Date.now() + timeout;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (Date.now() > until) throw new Error(`waited ${timeout / 1000} s for ${what}; last read: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { selector };
