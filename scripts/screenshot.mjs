// Regenerates the README's screenshots of the page, as a student first sees it: the comparison
// of L2 and LRD with its story, the committed example drawn and a verdict per arm, before any
// training. docs/images/web-app.png is 1280 x 800; docs/images/web-app-phone.png is 390 x 844,
// scrolled to the results. web-compare.png and web-compare-phone.png show a committed comparison
// study (?show=results/compare-quick-final-ordered/cells.jsonl) at the same two sizes, scrolled to
// the study. Needs `npm run build:web` and /usr/bin/chromium.
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const root = new URL('..', import.meta.url).pathname;
const server = await preview({ configFile: `${root}vite.config.ts`, root: `${root}web`, preview: { host: '127.0.0.1', port: 0 }, logLevel: 'warn' });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost'],
});
const url = server.resolvedUrls.local[0];
/** The page once the example is drawn and the speed measured (the estimate line shows). */
async function opened(page) {
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('verdicts').children.length > 0 && document.querySelector('#charts svg'), undefined, { timeout: 60_000 });
  await page.waitForFunction(() => document.getElementById('estimate').textContent !== '', undefined, { timeout: 60_000 });
}
try {
  const desk = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await opened(desk);
  await desk.screenshot({ path: `${root}docs/images/web-app.png` });
  console.log(await desk.evaluate(() => `${document.getElementById('estimate').textContent} | ${document.getElementById('verdicts').textContent}`));
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  await opened(phone);
  await phone.evaluate(() => document.getElementById('verdicts').scrollIntoView());
  await phone.screenshot({ path: `${root}docs/images/web-app-phone.png` });
  for (const [size, name] of [[{ width: 1280, height: 800 }, 'web-compare.png'], [{ width: 390, height: 844 }, 'web-compare-phone.png']]) {
    const page = await browser.newPage({ viewport: size, deviceScaleFactor: size.width < 500 ? 2 : 1 });
    await page.goto(`${url}?show=results/compare-quick-final-ordered/cells.jsonl`);
    await page.waitForFunction(() => !document.getElementById('study').hidden && document.querySelector('#charts svg'), undefined, { timeout: 60_000 });
    // The phone shows the key and the curves (its table is a long list of labelled lines above them).
    await page.evaluate((phone) => document.getElementById(phone ? 'legend' : 'study').scrollIntoView(), size.width < 500);
    await page.screenshot({ path: `${root}docs/images/${name}` });
  }
} finally {
  await browser.close();
  server.httpServer.close();
}
