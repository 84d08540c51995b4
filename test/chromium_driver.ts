// Debian's Chromium through playwright-core (test/engine.ts): never a downloaded browser.
import { chromium } from 'playwright-core';
import type { Engine, Size, Tab } from './engine.js';
import { selector } from './engine.js';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Engine> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost'],
  });
  return {
    name: `Chromium ${browser.version()}`,
    async open(url: string, size?: Size): Promise<Tab> {
      const page = await browser.newPage(size ? { viewport: size } : {});
      await page.goto(url);
      return {
        evaluate: (expression) => page.evaluate(expression),
        click: (testid) => page.click(selector(testid)),
        doubleClick: (testid) => page.dblclick(selector(testid), { force: true }),
        screenshot: () => page.screenshot(),
        close: () => page.close(),
      };
    },
    close: () => browser.close(),
  };
}
