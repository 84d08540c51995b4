// Regenerates the README's screenshots of the page, as a student sees it: docs/images/web-app.png
// (1280 x 800, the quick mechanism run finished) and docs/images/web-app-phone.png (390 x 844,
// the same run in progress). Needs `npm run build:web` and /usr/bin/chromium.
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const root = new URL('..', import.meta.url).pathname;
const server = await preview({ configFile: `${root}vite.config.ts`, root: `${root}web`, preview: { host: '127.0.0.1', port: 0 }, logLevel: 'warn' });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost'],
});
const url = `${server.resolvedUrls.local[0]}?mode=mechanism&autorun=1`;
try {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  await phone.goto(url);
  await phone.waitForFunction(() => /step [1-9]\d{2,} of/.test(document.getElementById('progress-text').textContent), undefined, { timeout: 120_000 });
  await phone.screenshot({ path: `${root}docs/images/web-app-phone.png` });
  await phone.close();
  const desk = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await desk.goto(url);
  await desk.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 900_000 });
  // The page measures this browser's speed once nothing trains: wait for its estimate.
  await desk.waitForFunction(() => document.getElementById('estimate').textContent !== '', undefined, { timeout: 60_000 });
  await desk.screenshot({ path: `${root}docs/images/web-app.png` });
  console.log(await desk.evaluate(() => `${document.getElementById('estimate').textContent} | ${document.getElementById('message').textContent}`));
} finally {
  await browser.close();
  server.httpServer.close();
}
