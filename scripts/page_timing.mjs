// Measures the page as a student meets it (docs/page-timing.md):
//  1. the time from opening the page to the story and the example's figure on screen (the
//     example drawn, a verdict per arm), the median of 5 fresh tabs;
//  2. the estimate the page shows for the default comparison (L2 against LRD, quick preset)
//     against the real time of that run, Run pressed on the opening page. The page exposes both
//     in seconds on the estimate line (data-estimated, data-seconds).
// Needs `npm run build:web` and /usr/bin/chromium. `--opens N` changes the count of tabs;
// `--no-run` measures the opening only.
import { chromium } from 'playwright-core';
import { preview } from 'vite';
import { cpus, loadavg } from 'node:os';

const args = process.argv.slice(2);
const opens = Number(args[args.indexOf('--opens') + 1]) || 5;
const root = new URL('..', import.meta.url).pathname;
const server = await preview({ configFile: `${root}vite.config.ts`, root: `${root}web`, preview: { host: '127.0.0.1', port: 0 }, logLevel: 'warn' });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost'],
});
const url = server.resolvedUrls.local[0];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`load average at the start: ${load()} (${cpus().length} cores)`);
try {
  // 1. Open to story: from the navigation's start to the story shown with the example drawn.
  const times = [];
  for (let i = 0; i < opens; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => !document.getElementById('story').hidden && document.querySelectorAll('[data-testid="verdict"]').length >= 2 &&
      document.querySelector('#charts svg'), undefined, { timeout: 120_000, polling: 20 });
    times.push((Date.now() - t0) / 1000);
    await page.close();
  }
  console.log(`open -> story on screen: median ${median(times).toFixed(2)} s of ${opens} (${times.map((t) => t.toFixed(2)).join(', ')})`);

  if (!args.includes('--no-run')) {
    // 2. The default comparison: the estimate shown before Run, then the real time.
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('estimate').dataset.estimated, undefined, { timeout: 120_000 });
    const before = await page.evaluate(() => ({ text: document.getElementById('estimate').textContent, seconds: Number(document.getElementById('estimate').dataset.estimated) }));
    await page.getByTestId('run').click();
    await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'failed', undefined, { timeout: 1_800_000 });
    const after = await page.evaluate(() => ({ text: document.getElementById('estimate').textContent, real: Number(document.getElementById('estimate').dataset.seconds),
      estimated: Number(document.getElementById('estimate').dataset.estimated), status: document.getElementById('message').textContent }));
    console.log(`before Run: ${before.text}`);
    console.log(`after: ${after.text} | ${after.status}`);
    console.log(`default comparison: estimate ${after.estimated.toFixed(1)} s, real ${after.real.toFixed(1)} s, real/estimate ${(after.real / after.estimated).toFixed(2)} ` +
      `(${cpus().length} cores, navigator.hardwareConcurrency as the page saw it: ${await page.evaluate(() => navigator.hardwareConcurrency)})`);
  }
  console.log(`load average at the end: ${load()}`);
} finally {
  await browser.close();
  server.httpServer.close();
}
