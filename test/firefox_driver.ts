// Debian's Firefox ESR through puppeteer-core 24 over WebDriver BiDi (test/engine.ts).
// puppeteer-core downloads no browser; 25.x needs Node >= 22, so it stays on 24.
import puppeteer from 'puppeteer-core';
import type { Engine, Size, Tab } from './engine.js';
import { selector } from './engine.js';

export const FIREFOX = '/usr/bin/firefox-esr';

export async function launchFirefox(prefs: Record<string, unknown> = {}): Promise<Engine> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    // No updates, telemetry or remote settings: the tests reach only 127.0.0.1.
    extraPrefsFirefox: { 'app.update.enabled': false, 'network.dns.disableIPv6': true, 'toolkit.telemetry.enabled': false, ...prefs },
  });
  return {
    name: `Firefox ${(await browser.version()).replace(/^firefox\//i, '')}`,
    async open(url: string, size?: Size): Promise<Tab> {
      const page = await browser.newPage();
      // puppeteer sends the viewport and then a screen orientation, which Firefox ESR's BiDi does
      // not know; the viewport is set all the same (the tests read innerWidth back).
      if (size) await page.setViewport(size).catch((e: Error) => { if (!/setScreenOrientationOverride/.test(e.message)) throw e; });
      await page.goto(url);
      return {
        evaluate: (expression) => page.evaluate(expression) as never,
        click: (testid) => page.click(selector(testid)),
        doubleClick: (testid) => page.click(selector(testid), { count: 2 }),
        screenshot: async () => Buffer.from(await page.screenshot()),
        close: () => page.close(),
      };
    },
    close: () => browser.close(),
  };
}
