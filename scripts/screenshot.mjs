// Regenerates docs/images/web-app.png: the page after a quick mechanism run, with the WebGPU
// check run on Chromium's SwiftShader adapter. Needs `npm run build:web` and /usr/bin/chromium.
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const root = new URL('..', import.meta.url).pathname;
const server = await preview({ configFile: `${root}vite.config.ts`, root: `${root}web`, preview: { host: '127.0.0.1', port: 0 }, logLevel: 'warn' });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--enable-unsafe-webgpu', '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`${server.resolvedUrls.local[0]}?mode=mechanism&autorun=1`);
  await page.getByTestId('checksum-lrd').filter({ hasText: /^[0-9a-f]{16}$/ }).waitFor({ timeout: 600_000 });
  await page.click('#check-gpu');
  await page.getByTestId('gpu-check').filter({ hasText: /Wasm matmul/ }).waitFor({ timeout: 120_000 });
  await page.screenshot({ path: `${root}docs/images/web-app.png`, fullPage: true });
} finally {
  await browser.close();
  server.httpServer.close();
}
