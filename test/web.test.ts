// The browser app end to end: build it, serve it with `vite preview`, drive Debian's Chromium
// with playwright-core, and check that a run in the page gives the CLI's bits.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer } from '../src/node/index.js';
import type { RunResult } from '../src/train/trainer.js';
import { PRODUCT_TOLERANCE, type CheckReport } from '../src/gpu/webgpu_check.js';
import { GUARD_CHECKSUM, GUARD_CONFIG } from './guard.js';
import { SMALL_GPU_CONFIG, trainingDifferences } from './helpers.js';
import { armVerdict } from '../src/study/verdict.js';
import { mechanismSpec, panelGrid, phaseSpec, trainingSpec } from '../src/study/charts.js';
import { parallelSeconds, queueSeconds } from '../src/study/cost.js';
import { PRESET, mechanismConfigs, mechanismData, summarize } from '../src/study/experiments.js';
import { parseArmSettings } from '../src/study/arm_setting.js';
import { parseMechanism } from '../src/format/mechanism.js';
import { parseCells } from '../src/format/cells.js';
import { compareRows, summarizeComparison } from '../src/study/compare.js';
import { verifyVerdict } from '../src/train/verify.js';
import { LAYOUT_PROBE, type Layout } from './layout_probe.js';

const EXAMPLE = new URL('../docs/results/mechanism-quick-seeds/seed-0/mechanism.json', import.meta.url).pathname;
type Workers = { live: number; alive: Record<string, number>; started: Record<string, number> };

// The numbers the page shows come from src/: checked here without a browser.
describe('the page\'s numbers (src/)', () => {
  const example = parseMechanism(JSON.parse(readFileSync(EXAMPLE, 'utf8')), 'example');

  it('armVerdict: generalised at the grokking step; memorised and stayed, with the mirror split; stopped; diverged', () => {
    expect(armVerdict('lrd', example.arms.lrd)).toBe('LRD generalised at step 2800: validation accuracy reached 99% (best 99.8%).');
    expect(armVerdict('l2', example.arms.l2)).toBe(
      'L2 memorised the training pairs and stayed at 59% on the held-out ones through step 3499 (100% of the pairs whose mirror it saw, 0.6% of the others).');
    const early = { ...example.arms.l2, steps: 300, history: example.arms.l2.history.slice(0, 3), grokStep: null };
    expect(armVerdict('l2:wd=0.5', early)).toMatch(/^L2 wd=0\.5 (memorised|had not yet memorised).* \(stopped( at step 300 of 3500)?\)\.$/);
    expect(armVerdict('lrd', { ...example.arms.lrd, diverged: { step: 12, reason: 'trainLoss is NaN' } })).toBe('LRD diverged at step 12: a loss or weight stopped being finite.');
  });

  it('the page opens on the example\'s setup: the quick preset\'s mechanism configs are the example\'s, seed 0', () => {
    const configs = mechanismConfigs(PRESET.quick, {}, parseArmSettings('l2,lrd'));
    expect(configs.map((c) => c.decay)).toEqual(['l2', 'lrd']);
    for (const [i, arm] of (['l2', 'lrd'] as const).entries()) {
      for (const [k, v] of Object.entries(example.arms[arm].config)) expect((configs[i] as unknown as Record<string, unknown>)[k], `${arm} ${k}`).toEqual(v);
    }
  });

  it('panelGrid: two panels to a row in a 856 px column, one in a 358 px phone column; legend above; a rule at the grokking step', () => {
    expect(panelGrid({ width: 856 }).columns).toBe(2);
    expect(panelGrid({ width: 358 })).toMatchObject({ columns: 1 });
    expect(panelGrid({ width: 358 }).width + 85).toBeLessThanOrEqual(358);
    const data = mechanismData({ l2: { result: example.arms.l2 }, lrd: { result: example.arms.lrd } });
    const json = JSON.stringify(mechanismSpec(data, { width: 358 }));
    expect(json).toContain('"orient":"top"');
    expect(json).not.toContain('"orient":"bottom"');
    expect(json).toContain('"values":[{"arm":"Low-Rank Decay","step":2800}]');
    expect(JSON.stringify(trainingSpec({ l2: example.arms.l2.history }))).not.toContain('"mark":{"type":"rule"');
  });

  it('phaseSpec: the CLI\'s figure keeps 300 px panels side by side; in a 856 px column the arms stay side by side, in a 358 px one they stack with the key below', () => {
    const cells = summarize(parseCells(readFileSync(join(root, 'docs/results/sweep-reference/cells.jsonl'), 'utf8'), 'cells.jsonl').records);
    const rows = (spec: ReturnType<typeof phaseSpec>) => (spec as unknown as { vconcat: Record<string, { width: number }[]>[] }).vconcat;
    const cli = rows(phaseSpec(cells));
    expect(cli[0].hconcat.map((p) => p.width)).toEqual([300, 300]);
    const desk = rows(phaseSpec(cells, 'Phase diagram', { width: 856 }));
    expect(desk[0].hconcat).toHaveLength(2);
    expect(desk[0].hconcat[0].width).toBeLessThanOrEqual(300);
    const phone = rows(phaseSpec(cells, 'Phase diagram', { width: 358 }));
    expect(phone[0].hconcat).toBeUndefined();
    expect(phone[0].vconcat).toHaveLength(2);
    expect(phone[0].vconcat[0].width).toBe(358 - 10 - 120);
  });

  it('the estimate counts arms sharing the cores and each run\'s threads', () => {
    const f = [1e12, 1e12];
    expect(parallelSeconds([1e12], 10, { cores: 2, threadsPerRun: 1 })).toBe(100);
    expect(parallelSeconds(f, 10, { cores: 2, threadsPerRun: 1 })).toBe(100); // one core each
    expect(parallelSeconds(f, 10, { cores: 1, threadsPerRun: 1 })).toBe(200); // two arms on one core
    expect(parallelSeconds(f, 10, { cores: 8, threadsPerRun: 4 })).toBe(25);
    expect(parallelSeconds(f, 10, { cores: 2, threadsPerRun: 4 })).toBe(100); // helpers cannot make cores
    expect(queueSeconds([1e12, 1e12, 1e12, 1e12], 10, 2, 4)).toBe(200);
  });

  it('verifyVerdict words a pass, a partial pass and a mismatch as `grokwasm verify` does', () => {
    const base = { targets: 2, partial: false, evaluations: 70, bad: 0, cutShort: false, first: '', absent: [] };
    expect(verifyVerdict(base)).toEqual({ line: 'verified: 70 evaluations and the final fields match in 2 runs', exit: 0 });
    expect(verifyVerdict({ ...base, partial: true, upTo: 200, evaluations: 4 }).line).toBe(
      'partially verified: steps 0-199: 4 evaluations in 2 runs match; steps from 200 on and the final fields were NOT checked');
    expect(verifyVerdict({ ...base, bad: 1, cutShort: true, first: 'step    100  DIFFERS: valAcc 1 -> 0.5' })).toEqual({
      line: 'NOT verified: 1 mismatch in 2 runs; stopped at the first (--all lists every one); first: step    100  DIFFERS: valAcc 1 -> 0.5', exit: 1 });
  });
});

const CHROMIUM = '/usr/bin/chromium';
// CI installs Chromium (.ci/run); elsewhere the browser tests are skipped when it is missing.
const available = existsSync(CHROMIUM) || Boolean(process.env.CI);
const root = new URL('..', import.meta.url).pathname;

type Config = Record<string, string | number>;
/** `grokwasm run` of a config, parsed from --json. */
function cliRun(config: Config): RunResult {
  const flags = Object.entries(config).filter(([k]) => k !== 'preset').flatMap(([k, v]) => [`--${k}`, String(v)]);
  const cli = spawnSync(process.execPath, [`${root}dist/cli/grokwasm.js`, 'run', ...flags, '--json'], { encoding: 'utf8' });
  expect(cli.status, cli.stderr).toBe(0);
  return JSON.parse(cli.stdout);
}
/** The page's query for a config (keys are the CLI's flag names), with extra keys. */
// The page starts on the quick preset; `grokwasm run`'s defaults are the reference setup's.
const queryOf = (config: Config, extra: Record<string, string> = {}) =>
  new URLSearchParams({ preset: 'reference', ...Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)])), ...extra });

describe.skipIf(!available)('browser app', () => {
  let server: PreviewServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    await build({ root: `${root}web`, configFile: `${root}vite.config.ts`, logLevel: 'warn' });
    server = await preview({ configFile: `${root}vite.config.ts`, root: `${root}web`, preview: { host: '127.0.0.1', port: 0 }, logLevel: 'warn' });
    base = server.resolvedUrls!.local[0];
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost'],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
  });

  it('a run in the page gives the checksum and history of `grokwasm run`, value for value', async () => {
    const expected = cliRun(GUARD_CONFIG);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const query = queryOf(GUARD_CONFIG, { autorun: '1' });
    const response = await page.goto(`${base}?${query}`);
    expect(response!.headers()['cross-origin-opener-policy']).toBe('same-origin');
    expect(response!.headers()['cross-origin-embedder-policy']).toBe('require-corp');
    const checksum = page.getByTestId('checksum');
    await expect.poll(() => checksum.textContent(), { timeout: 60_000 }).toMatch(/^[0-9a-f]{16}$/);
    expect(await checksum.textContent()).toBe(GUARD_CHECKSUM);
    expect(await checksum.textContent()).toBe(expected.checksum);
    const results = await page.evaluate(() => (window as unknown as { grokwasmResults: Record<string, { history: unknown[]; steps: number; config: unknown }> }).grokwasmResults);
    expect(results.lrd.history).toEqual(expected.history);
    expect(results.lrd.steps).toBe(expected.steps);
    expect(results.lrd.config).toEqual(expected.config);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // The run's files are a few Tab presses from Run (Pause and Stop, then the first file).
    await page.getByTestId('run').focus();
    let presses = 0;
    while (presses < 10 && !(await page.evaluate(() => document.activeElement!.closest('#downloads') !== null))) {
      await page.keyboard.press('Tab');
      presses++;
    }
    expect(await page.evaluate(() => document.activeElement!.textContent)).toBe('result.json');
    expect(presses).toBe(3);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('threads: a run on 1, 2, 3 and 4 threads in the page gives the bits of `grokwasm run`, and says how many it used', async () => {
    // Large enough that products, SiLU and AdamW are split between the threads (src/kernel/parallel.ts).
    const config = { p: 29, dim: 52, heads: 4, mlp: 340, batch: 250, steps: 24, evalEvery: 8, decay: 'lrd', rate: 0.01, lr: 0.003 };
    const expected = cliRun({ ...config, threads: 1 });
    for (const threads of [1, 2, 3, 4]) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}?${queryOf(config, { threads: String(threads), autorun: '1' })}`);
      await expect.poll(() => page.getByTestId('checksum').textContent(), { timeout: 60_000 }).toMatch(/^[0-9a-f]{16}$/);
      expect(await page.getByTestId('checksum').textContent()).toBe(expected.checksum);
      expect(await page.getByTestId('threads').textContent()).toBe(`threads: ${threads}`);
      const results = await page.evaluate(() => (window as unknown as { grokwasmResults: Record<string, { history: unknown[] }> }).grokwasmResults);
      expect(results.lrd.history).toEqual(expected.history);
      expect(errors).toEqual([]);
      await page.close();
    }
  }, 180_000);

  it('threads: a host without COOP/COEP headers runs on one thread, says why in one line, and gives the same bits', async () => {
    // A bare static server over the built page: no cross-origin isolation, so no shared memory.
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.svg': 'image/svg+xml' };
    const dist = join(root, 'dist/web');
    const plain = createServer((req, res) => {
      const path = join(dist, decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(/\/$/, '/index.html'));
      if (!path.startsWith(dist) || !existsSync(path)) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = plain.address() as AddressInfo;
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/?${queryOf(GUARD_CONFIG, { threads: '2', autorun: '1' })}`);
      await expect.poll(() => page.getByTestId('checksum').textContent(), { timeout: 60_000 }).toMatch(/^[0-9a-f]{16}$/);
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
      expect(await page.getByTestId('checksum').textContent()).toBe(GUARD_CHECKSUM);
      expect(await page.getByTestId('threads').textContent()).toMatch(/^threads: 1 \(this page is not cross-origin isolated, .*COOP\/COEP headers.*\)$/);
      await page.close();
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  }, 120_000);

  it('phase-diagram mode runs the cells of `grokwasm sweep` on a pool of workers, with the same bits', async () => {
    const tiny = { preset: 'quick', p: '11', dim: '8', heads: '2', mlp: '16', steps: '30', evalEvery: '10' };
    const grid = { fracs: '0.4,0.6', rates: '0.001,0.02', arms: 'l2,lrd', seeds: '0' };
    const dir = mkdtempSync(join(tmpdir(), 'grokwasm-web-sweep-'));
    const flags = Object.entries({ ...tiny, ...grid }).flatMap(([k, v]) => [`--${k}`, v]);
    expect(spawnSync(process.execPath, [`${root}dist/cli/grokwasm.js`, 'sweep', ...flags, '--out', dir, '--quiet']).status).toBe(0);
    const expected = readFileSync(join(dir, 'cells.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const page = await browser.newPage();
    await page.goto(`${base}?${new URLSearchParams({ mode: 'sweep', ...tiny, ...grid, autorun: '1' })}`);
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 60_000 }).toBe('8 of 8 cells done.');
    const cells = await page.evaluate(() => (window as unknown as { grokwasmCells: { wallMs: number }[] }).grokwasmCells);
    const strip = (r: { wallMs: number }) => ({ ...r, wallMs: 0 });
    expect(cells.map(strip)).toEqual(expected.map(strip));
    expect(await page.locator('#charts svg').count()).toBeGreaterThan(0);
    await page.close();
  }, 120_000);

  it('mechanism mode: both arms give `grokwasm mechanism`\'s checksums; charts, CSV, PNG and loading mechanism.json back', async () => {
    const tiny = { p: '11', dim: '8', heads: '2', mlp: '16', steps: '30', evalEvery: '10' };
    const dir = mkdtempSync(join(tmpdir(), 'grokwasm-web-mech-'));
    const flags = Object.entries(tiny).flatMap(([k, v]) => [`--${k}`, v]);
    expect(spawnSync(process.execPath, [`${root}dist/cli/grokwasm.js`, 'mechanism', ...flags, '--out', dir, '--quiet']).status).toBe(0);
    const expected = JSON.parse(readFileSync(join(dir, 'mechanism.json'), 'utf8'));
    const page = await browser.newPage();
    await page.goto(`${base}?${new URLSearchParams({ mode: 'mechanism', ...tiny, autorun: '1' })}`);
    for (const arm of ['l2', 'lrd']) {
      await expect.poll(() => page.getByTestId(`checksum-${arm}`).textContent(), { timeout: 60_000 }).toBe(expected.arms[arm].checksum);
    }
    // The final figure: accuracy, ranks, spectrum and two attention heatmaps.
    await expect.poll(() => page.locator('#charts svg').count()).toBeGreaterThan(0);
    expect(await page.locator('#charts').textContent()).toMatch(/layer 0, head 0 attention/);
    const save = async (name: string) => {
      const [file] = await Promise.all([page.waitForEvent('download'), page.getByText(name, { exact: true }).click()]);
      const path = join(dir, `page-${name}`);
      await file.saveAs(path);
      return readFileSync(path);
    };
    expect((await save('history.csv')).toString()).toBe(readFileSync(join(dir, 'history.csv'), 'utf8'));
    expect((await save('figure.png')).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const mechanism = await save('mechanism.json');
    expect(JSON.parse(mechanism.toString()).arms.lrd.checksum).toBe(expected.arms.lrd.checksum);

    const viewer = await browser.newPage();
    await viewer.goto(base);
    await viewer.setInputFiles('#load', join(dir, 'mechanism.json'));
    await expect.poll(() => viewer.locator('#message').textContent()).toBe('Showing mechanism.json.');
    expect(await viewer.locator('#charts svg').count()).toBeGreaterThan(0);
    await viewer.close();
    await page.close();
  }, 120_000);

  it('pause and resume end on the uninterrupted checksum; stop keeps the results, and its checkpoint continues in the CLI to the same bits', async () => {
    // The L2 arm does not stop early on grokking, so the run is still going when paused.
    const config = { preset: 'reference', decay: 'l2', p: '47', dim: '32', heads: '2', mlp: '64', batch: '256', steps: '1500', evalEvery: '100' };
    const expected = cliRun(config);
    const page = await browser.newPage();
    await page.goto(`${base}?${new URLSearchParams(config)}`);
    await page.click('#run');
    await expect.poll(() => page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value), { timeout: 30_000 }).toBeGreaterThan(100);
    await page.click('#pause');
    await expect.poll(() => page.locator('#message').textContent()).toMatch(/^Paused/);
    expect(await page.locator('#run').textContent()).toBe('Resume');
    await page.click('#run');
    await expect.poll(() => page.getByTestId('checksum').textContent(), { timeout: 90_000 }).toMatch(/^[0-9a-f]{16}$/);
    expect(await page.getByTestId('checksum').textContent()).toBe(expected.checksum);

    await page.click('#run');
    await expect.poll(() => page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value), { timeout: 30_000 }).toBeGreaterThan(100);
    await page.click('#stop');
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 30_000 }).toMatch(/^L2: \d+ steps \(stopped\)/);
    expect(await page.getByTestId('checksum').textContent()).toMatch(/^[0-9a-f]{16}$/);
    expect(await page.getByText('result.json').count()).toBe(1);

    // The stopped run's checkpoint, continued by the CLI, ends on the uninterrupted checksum.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByText('l2.checkpoint.safetensors').click()]);
    const file = join(mkdtempSync(join(tmpdir(), 'grokwasm-web-ckpt-')), 'l2.checkpoint.safetensors');
    await download.saveAs(file);
    const resumed = spawnSync(process.execPath, [`${root}dist/cli/grokwasm.js`, 'run', '--resume', file, '--json'], { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    const continued = JSON.parse(resumed.stdout);
    expect(continued.checksum).toBe(expected.checksum);
    expect(continued.history).toEqual(expected.history);
    await page.close();
  }, 180_000);

  it('Pause takes effect within a second at the reference setup, and the page says where it stopped', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}?preset=reference&autorun=1`); // one run at the reference setup: batch 512, dim 128
    await expect.poll(() => page.getByTestId('progress').textContent(), { timeout: 60_000 }).toMatch(/^step [1-9]\d* of 4000, [\d.]+ steps\/s, about .+ left$/);
    const clicked = Date.now();
    await page.getByTestId('pause').click();
    await page.waitForFunction(() => document.body.dataset.state === 'paused', undefined, { timeout: 10_000, polling: 20 });
    const latency = Date.now() - clicked;
    expect(latency, 'ms from the click to a paused worker').toBeLessThan(1000);
    // The worker is paused for real: no step is taken while the page says so.
    const at = await page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value);
    await page.waitForTimeout(1000);
    expect(await page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value)).toBe(at);
    expect(await page.getByTestId('status').textContent()).toMatch(new RegExp(`^Paused at step ${at} of 4000\\.`));
    await page.getByTestId('stop').click();
    await page.waitForFunction(() => document.body.dataset.state === 'done');
    expect(await page.getByTestId('status').textContent()).toMatch(new RegExp(`^LRD: ${at} steps \\(stopped\\)`));
    await page.close();
  }, 120_000);

  it('quick Pause and Resume clicks end on the uninterrupted bits; Stop then Run at once leaves no sweep running unseen', async () => {
    const config = { preset: 'reference', decay: 'l2', p: '31', dim: '16', heads: '2', mlp: '32', batch: '64', steps: '4000', evalEvery: '500' };
    const expected = cliRun(config);
    const page = await browser.newPage();
    await page.goto(`${base}?${new URLSearchParams(config)}`);
    await page.getByTestId('run').click();
    for (let i = 0; i < 3; i++) {
      await page.getByTestId('pause').click();
      // Run (Resume) is clicked at once: it only acts once the worker has really paused.
      await page.getByTestId('run').click();
    }
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 60_000 });
    expect(await page.getByTestId('checksum').textContent()).toBe(expected.checksum);
    expect(await page.getByTestId('status').textContent()).toMatch(/^L2: 4000 steps, best validation accuracy/);

    await page.goto(`${base}?mode=sweep&p=11&dim=8&heads=2&mlp=16&batch=16&steps=3000&evalEvery=1000&fracs=0.5,0.6&rates=0.01,0.02&arms=lrd`);
    await page.getByTestId('run').click();
    await page.waitForFunction(() => document.body.dataset.state === 'running');
    await page.getByTestId('stop').click();
    await page.getByTestId('run').click({ force: true, timeout: 2000 }).catch(() => {}); // disabled while stopping
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 60_000 });
    const cells = await page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value);
    await page.waitForTimeout(1500);
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');
    expect(await page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value)).toBe(cells);
    await page.close();
  }, 180_000);

  it.each([[1280, 800], [390, 844]])('at %i x %i: no horizontal scroll; at 1280 x 800 the controls, progress and live figure are in view together while it trains', async (width, height) => {
    const page = await browser.newPage({ viewport: { width, height } });
    await page.goto(`${base}?mode=mechanism&steps=1500&autorun=1`);
    const look = () => page.evaluate(() => {
      const rect = (id: string) => document.getElementById(id)!.getBoundingClientRect();
      return { scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
        run: rect('run').bottom, progress: rect('progress-text').bottom, charts: rect('charts').top, chartsHeight: rect('charts').height };
    });
    // The live figure: a run going, with its first evaluations drawn.
    await page.waitForFunction(() => document.body.dataset.state === 'running' && document.querySelector('#charts svg'), undefined, { timeout: 120_000 });
    const live = await look();
    await page.getByTestId('stop').click();
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 120_000 });
    // Done: the run's files now sit under the buttons, and the figure still begins in view.
    const done = await look();
    for (const box of [live, done]) expect(box.scroll, 'page width').toBeLessThanOrEqual(box.client);
    if (width >= 1280) {
      expect(live.run).toBeLessThan(height);
      expect(live.progress).toBeLessThan(height);
      expect(live.charts + Math.min(live.chartsHeight, 200)).toBeLessThan(height);
      expect(done.charts + 100).toBeLessThan(height);
    }
    await page.close();
  }, 150_000);

  it('shows an estimated duration from this browser\'s measured speed, for whatever is selected', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    const pattern = /^Estimated: about (\d+(?:\.\d)?) (s|min|h) in this browser at its measured [\d.]+ GFLOP\/s, less if a run stops early on grokking\.$/;
    await expect.poll(() => page.getByTestId('estimate').textContent(), { timeout: 30_000 }).toMatch(pattern);
    const seconds = async () => {
      const [, n, unit] = pattern.exec((await page.getByTestId('estimate').textContent())!)!;
      return Number(n) * (unit === 'h' ? 3600 : unit === 'min' ? 60 : 1);
    };
    const quick = await seconds();
    await page.selectOption('select[name="preset"]', 'reference');
    const reference = await seconds();
    expect(reference).toBeGreaterThan(3 * quick); // p 113, dim 128, batch 512 against p 47, dim 64
    await page.fill('input[name="steps"]', '0');
    expect(await page.getByTestId('estimate').textContent()).toBe(''); // no estimate for an invalid setup
    await page.close();
  });

  it('lists what a link asks for that the page cannot use, in one message, and starts nothing', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}?mode=nonsense&preset=huge&bogus=1&p=13&autorun=1`);
    await expect.poll(() => page.getByTestId('status').textContent()).toBe(
      'Not used from the link: mode=nonsense (one of run, mechanism, sweep); preset=huge (one of reference, quick); bogus (not a setting). Nothing was started.');
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('idle');
    expect(await page.locator('input[name="p"]').inputValue()).toBe('13');
    expect(await page.locator('#boot').isHidden()).toBe(true);
    await page.close();
  });

  it('a link that gives a key twice uses neither value, says so, and starts nothing; numbers are decimal only', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}?p=29&p=13&autorun=1`);
    await expect.poll(() => page.getByTestId('status').textContent()).toBe(
      'Not used from the link: p given 2 times (29, 13; a link gives each setting once). Nothing was started.');
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('idle');
    expect(['29', '13']).not.toContain(await page.locator('input[name="p"]').inputValue());
    await page.goto(`${base}?p=0x0b&autorun=1`);
    await expect.poll(() => page.locator('.field-error[data-field="p"]').textContent()).toMatch(/must be an integer/);
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('idle');
    await page.close();
  });

  it('passes the axe-core accessibility checks (WCAG 2 A and AA) before and after a run', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}?mode=mechanism&steps=200&autorun=1`);
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 120_000 });
    await page.addScriptTag({ path: `${root}node_modules/axe-core/axe.min.js` });
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
      const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return r.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    });
    expect(violations).toEqual([]);
    // The checker itself finds a planted fault: an image without a text alternative.
    const planted = await page.evaluate(async () => {
      document.body.append(Object.assign(document.createElement('img'), { src: 'data:,' }));
      const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: { id: string }[] }> } }).axe;
      return (await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a'] } })).violations.map((v) => v.id);
    });
    expect(planted).toContain('image-alt');
    expect(await page.getByTestId('figure-summary').textContent()).toMatch(/^L2 weight decay: \d+ evaluations, the last after step \d+: validation accuracy/);
    await page.close();
  }, 150_000);

  it('a checkpoint written by the CLI\'s code continues in the page to the uninterrupted checksum; a corrupt one is refused', async () => {
    const expected = cliRun(GUARD_CONFIG);
    const trainer = await createTrainer(GUARD_CONFIG);
    const stop = new AbortController();
    await trainer.run(undefined, { signal: stop.signal, onStep: (s) => { if (s.step === 19) stop.abort(); } });
    expect(trainer.stepCount).toBe(20);
    const dir = mkdtempSync(join(tmpdir(), 'grokwasm-web-resume-'));
    const bytes = trainer.saveCheckpoint();
    writeFileSync(join(dir, 'run.safetensors'), bytes);
    const page = await browser.newPage();
    await page.goto(base);
    await page.setInputFiles('#load', join(dir, 'run.safetensors'));
    await expect.poll(() => page.getByTestId('checksum').textContent(), { timeout: 60_000 }).toMatch(/^[0-9a-f]{16}$/);
    expect(await page.getByTestId('checksum').textContent()).toBe(expected.checksum);
    const results = await page.evaluate(() => (window as unknown as { grokwasmResults: Record<string, RunResult> }).grokwasmResults);
    expect(results.lrd.history).toEqual(expected.history);
    expect(await page.locator('input[name="p"]').inputValue()).toBe(String(GUARD_CONFIG.p));

    const corrupt = bytes.slice();
    corrupt[corrupt.length - 5] ^= 0xff;
    writeFileSync(join(dir, 'corrupt.safetensors'), corrupt);
    await page.setInputFiles('#load', join(dir, 'corrupt.safetensors'));
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 30_000 }).toMatch(/^Could not start: checkpoint: .+/);
    expect(await page.locator('#run').isEnabled()).toBe(true);
    await page.close();
  }, 90_000);

  it('a worker that cannot get its memory ends the run with a visible message, and the page stays usable', async () => {
    const page = await browser.newPage();
    // About 20 GB of activations: past what a 32-bit WebAssembly memory can hold.
    await page.goto(`${base}?p=2000&dim=2048&heads=8&mlp=16384&batch=8192&autorun=1`);
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 60_000 }).toMatch(/^Could not start: batch 8192 with dim 2048, mlp 16384, depth 2 and p 2000 needs [\d.]+ GiB of memory, over WebAssembly's 4 GiB; reduce batch, mlp or dim$/);
    expect(await page.locator('#message').getAttribute('class')).toBe('error');
    expect(await page.locator('#run').isEnabled()).toBe(true);
    await page.close();
  }, 90_000);

  it('refuses an invalid field next to it and starts nothing', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}?p=1&dim=12&heads=5&autorun=1`);
    await expect.poll(() => page.locator('.field-error[data-field="p"]').textContent()).toBe('must be an integer in [2, 2000]');
    expect(await page.locator('input[name="p"]').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#message').textContent()).toBe('Fix the fields marked in red.');
    expect(await page.getByTestId('checksum').count()).toBe(0);
    await page.goto(`${base}?dim=12&heads=5&autorun=1`);
    await expect.poll(() => page.locator('.field-error[data-field="heads"]').textContent()).toBe('heads must divide dim (got dim 12, heads 5)');
    await page.goto(`${base}?mode=sweep&fracs=0.5,1.5&autorun=1`);
    await expect.poll(() => page.locator('.field-error[data-field="grid"]').textContent()).toBe("fracs must be a comma-separated list of a number in (0, 1) (got '1.5')");
    await page.goto(`${base}?backend=cuda&autorun=1`);
    await expect.poll(() => page.locator('.field-error[data-field="backend"]').textContent()).toBe("backend must be one of wasm, webgpu (got 'cuda')");
    await page.goto(`${base}?threads=0&autorun=1`);
    await expect.poll(() => page.locator('.field-error[data-field="threads"]').textContent()).toBe('must be an integer in [1, 64]');
    expect(await page.getByTestId('checksum').count()).toBe(0);
    await page.close();
  });


  it('one run per click: double click, held Enter, and Run right after a link\'s autorun each start one run; Stop ends every worker', async () => {
    const config = { preset: 'reference', decay: 'l2', p: '31', dim: '16', heads: '2', mlp: '32', batch: '64', steps: '20000', evalEvery: '1000' };
    const page = await browser.newPage();
    const workers = () => page.evaluate(() => (window as unknown as { grokwasmWorkers: Workers }).grokwasmWorkers);
    await page.goto(`${base}?${new URLSearchParams(config)}`);
    // Three clicks in one task (faster than any hand), then a double click.
    await page.evaluate(() => { const run = document.getElementById('run')!; run.click(); run.click(); run.click(); });
    await page.getByTestId('run').dblclick({ force: true });
    await page.waitForFunction(() => document.body.dataset.state === 'running');
    expect((await workers()).started.train).toBe(1);
    await page.getByTestId('stop').click();
    await page.waitForFunction(() => document.body.dataset.state === 'done');
    expect(await page.getByTestId('estimate').textContent()).toMatch(/^Took \d+ (s|min)( \(estimated about .+\))?\.$/);
    // Every worker ends: none trains unseen after Stop (the speed probe that follows ends too).
    await expect.poll(async () => (await workers()).live, { timeout: 20_000 }).toBe(0);
    await expect.poll(() => page.workers().length, { timeout: 20_000 }).toBe(0);

    // Enter held down in a field: one run.
    await page.goto(`${base}?${new URLSearchParams(config)}`);
    await page.locator('input[name="p"]').focus();
    for (let i = 0; i < 6; i++) await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.body.dataset.state === 'running');
    await page.waitForTimeout(300);
    expect((await workers()).started.train).toBe(1);
    await page.getByTestId('stop').click();
    await page.waitForFunction(() => document.body.dataset.state === 'done');

    // Run clicked as a link's autorun starts: still one.
    await page.goto(`${base}?${new URLSearchParams({ ...config, autorun: '1' })}`);
    await page.evaluate(() => document.getElementById('run')!.click());
    await page.waitForFunction(() => document.body.dataset.state === 'running');
    await page.evaluate(() => document.getElementById('run')!.click());
    await page.waitForTimeout(300);
    expect((await workers()).started.train).toBe(1);
    await page.getByTestId('stop').click();
    await page.waitForFunction(() => document.body.dataset.state === 'done');
    await expect.poll(async () => (await workers()).alive.train ?? 0, { timeout: 20_000 }).toBe(0);
    await page.close();
  }, 120_000);

  it('a burst of Pause and Resume clicks ends in the state of the last click', async () => {
    const config = { preset: 'reference', decay: 'l2', p: '31', dim: '16', heads: '2', mlp: '32', batch: '64', steps: '40000', evalEvery: '5000' };
    const page = await browser.newPage();
    const progress = () => page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value);
    await page.goto(`${base}?${new URLSearchParams(config)}`);
    await page.getByTestId('run').click();
    await expect.poll(progress, { timeout: 30_000 }).toBeGreaterThan(50);
    // Pause, Resume, Pause, Resume, Pause in one task: ends paused, and stays so.
    await page.evaluate(() => { for (const id of ['pause', 'run', 'pause', 'run', 'pause']) document.getElementById(id)!.click(); });
    await page.waitForFunction(() => document.body.dataset.state === 'paused', undefined, { timeout: 10_000 });
    const at = await progress();
    await page.waitForTimeout(800);
    expect(await progress()).toBe(at);
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('paused');
    // Resume, Pause, Resume: ends running, and training goes on.
    await page.evaluate(() => { for (const id of ['run', 'pause', 'run']) document.getElementById(id)!.click(); });
    await expect.poll(progress, { timeout: 10_000 }).toBeGreaterThan(at + 20);
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('running');
    // Pause then Resume in one task while running: still running once the pause has settled.
    await page.evaluate(() => { for (const id of ['pause', 'run']) document.getElementById(id)!.click(); });
    await page.waitForTimeout(1000);
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('running');
    const later = await progress();
    await expect.poll(progress, { timeout: 10_000 }).toBeGreaterThan(later);
    await page.getByTestId('stop').click();
    await page.waitForFunction(() => document.body.dataset.state === 'done');
    await page.close();
  }, 120_000);

  it.each([[1280, 800], [390, 844]])('at %i x %i the page opens on L2 against LRD: the story, the example drawn to fit its column with the key above, a step slider and a verdict per arm', async (width, height) => {
    const page = await browser.newPage({ viewport: { width, height } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(base);
    await expect.poll(() => page.getByTestId('verdicts').textContent(), { timeout: 30_000 }).toContain('LRD generalised at step 2800');
    expect(await page.locator('select[name="mode"]').inputValue()).toBe('mechanism');
    expect(await page.locator('input[name="arms"]').inputValue()).toBe('l2,lrd');
    expect(await page.locator('input[name="p"]').inputValue()).toBe('47');
    expect(await page.locator('input[name="seed"]').inputValue()).toBe('0');
    const story = page.getByTestId('story');
    expect(await story.isVisible()).toBe(true);
    expect(await story.textContent()).toMatch(/memorises[\s\S]*generalises[\s\S]*shrinks every weight[\s\S]*low rank[\s\S]*stable rank/);
    expect(await page.getByTestId('verdicts').textContent()).toContain('L2 memorised the training pairs and stayed at 59%');
    const layout = await page.evaluate(() => {
      const svg = document.querySelector('#charts svg')!;
      const top = (text: string, role: string) => [...svg.querySelectorAll(`g.role-${role}`)].find((g) => g.textContent!.startsWith(text))!.getBoundingClientRect().top;
      const key = document.querySelector<HTMLElement>('[data-testid="legend"]')!;
      return { svg: svg.getBoundingClientRect().width, natural: Number(svg.getAttribute('width')), column: document.getElementById('charts')!.clientWidth,
        legend: key.getBoundingClientRect().bottom, legendShown: key.checkVisibility(), legendText: key.textContent,
        svgLegends: [...svg.querySelectorAll('g.role-legend')].filter((g) => g.textContent!.includes('L2 weight decay')).length, accuracy: top('Accuracy', 'title'),
        verdicts: [...document.querySelectorAll('[data-testid="verdict"]')].map((li) => li.textContent),
        scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth };
    });
    expect(layout.column).toBe(width >= 1280 ? 856 : 358);
    expect(layout.natural, 'the figure is laid out for its column, not scaled down').toBeLessThanOrEqual(layout.column);
    expect(layout.legendShown).toBe(true);
    expect(layout.legendText).toBe('L2 weight decayLow-Rank Decay');
    expect(layout.legend, 'the colour key sits above the first chart').toBeLessThan(layout.accuracy);
    expect(layout.svgLegends, 'one key: the HTML one replaces the figure\'s arm legend').toBe(0);
    expect(layout.verdicts).toHaveLength(2);
    expect(layout.verdicts[1]).toMatch(/^LRD generalised at step 2800/);
    expect(layout.scroll).toBeLessThanOrEqual(layout.client);
    // The slider scrubs through the evaluations: the first one, then the end with the whole figure.
    // By keyboard: Home is the first evaluation, End the last.
    const slider = page.getByTestId('step-slider');
    await slider.focus();
    await page.keyboard.press('Home');
    await expect.poll(() => page.getByTestId('figure-summary').textContent()).toMatch(/^L2 weight decay: 1 evaluation, the last after step 0:/);
    expect(await slider.getAttribute('aria-valuetext')).toBe('step 0');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.getByTestId('figure-summary').textContent()).toMatch(/^L2 weight decay: 2 evaluations, the last after step 100:/);
    expect(await page.locator('#charts').textContent()).toMatch(/at ?step ?100/);
    await page.keyboard.press('End');
    await expect.poll(() => page.locator('#charts').textContent()).toContain('layer 0, head 0 attention');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it.each([[1280, 800], [390, 844]])('at %i x %i a comparison study linked with show= (or picked as a file, or dropped on the page) shows its survival curves and the CLI\'s table with intervals, fitting the column', async (width, height) => {
    const file = join(root, 'docs/results/compare-quick-final-ordered/cells.jsonl');
    const { head, rows } = compareRows(summarizeComparison(parseCells(readFileSync(file, 'utf8'), 'cells.jsonl').records));
    const page = await browser.newPage({ viewport: { width, height } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const shown = async () => {
      await expect.poll(() => page.getByTestId('study').isVisible(), { timeout: 60_000 }).toBe(true);
      await page.waitForFunction(() => document.getElementById('figure-summary')!.textContent!.includes('l2:wd=2') && document.querySelector('#charts svg'));
      return page.evaluate(() => {
        const table = document.querySelector('[data-testid="compare-table"]')!;
        const svg = document.querySelector('#charts svg')!;
        const key = document.querySelector('[data-testid="legend"]')!;
        const firstTitle = [...svg.querySelectorAll('g.role-title')].find((g) => g.textContent!.startsWith('Not yet grokked'))!;
        return {
          head: [...table.querySelectorAll('th')].map((th) => th.textContent),
          rows: [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
          natural: Number(svg.getAttribute('width')), column: document.getElementById('charts')!.clientWidth,
          keyItems: key.querySelectorAll('li').length, keyBottom: key.getBoundingClientRect().bottom, firstChart: firstTitle.getBoundingClientRect().top,
          story: document.getElementById('story')!.checkVisibility(), slider: document.getElementById('scrub')!.checkVisibility(),
          tableRight: table.getBoundingClientRect().right, scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
        };
      });
    };
    await page.goto(`${base}?show=results/compare-quick-final-ordered/cells.jsonl`);
    const view = await shown();
    expect(view.head).toEqual(head);
    expect(view.rows).toEqual(rows);
    expect(view.rows.find((r: string[]) => r[0] === 'l2:wd=2')![3]).toMatch(/^\d+ \[\d+, (\d+|inf)\]$/);
    expect(view.natural, 'the figure is laid out for its column').toBeLessThanOrEqual(view.column);
    const studyLines = readFileSync(join(root, 'docs/results/compare-quick-final-ordered/cells.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { arm: string });
    expect(view.keyItems).toBe(new Set(studyLines.map((c) => c.arm)).size);
    expect(view.keyBottom, 'the colour key sits above the first chart').toBeLessThan(view.firstChart);
    expect(view.story || view.slider, 'the example\'s story and slider give way to the study').toBe(false);
    expect(view.tableRight).toBeLessThanOrEqual(view.client);
    expect(view.scroll).toBeLessThanOrEqual(view.client);
    expect(await page.getByTestId('status').textContent()).toContain(`${studyLines.length} runs of a comparison`);
    // The same file from the file picker, on a page that opened on the example.
    await page.goto(base);
    await expect.poll(() => page.getByTestId('verdict').count(), { timeout: 30_000 }).toBe(2);
    await page.locator('#load').setInputFiles(file);
    expect((await shown()).rows).toEqual(rows);
    // And dropped anywhere on the page, as a file dragged from the desktop arrives.
    await page.goto(base);
    await expect.poll(() => page.getByTestId('verdict').count(), { timeout: 30_000 }).toBe(2);
    const text = readFileSync(file, 'utf8');
    await page.evaluate((content) => {
      const data = new DataTransfer();
      data.items.add(new File([content], 'cells.jsonl', { type: 'application/x-ndjson' }));
      const target = document.getElementById('charts')!;
      for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }, text);
    expect((await shown()).rows).toEqual(rows);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it.each([[1280, 800], [390, 844]])('at %i x %i a sweep\'s cells.jsonl linked with show= draws its phase diagram, laid out for the column (arms side by side, or stacked on a phone)', async (width, height) => {
    const file = join(root, 'docs/results/sweep-reference/cells.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n').length;
    const page = await browser.newPage({ viewport: { width, height } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}?show=results/sweep-reference/cells.jsonl`);
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 60_000 }).toContain(`${lines} cells of a phase diagram, shown below`);
    await page.waitForFunction(() => document.querySelector('#charts svg g.role-title'));
    const look = await page.evaluate<Layout>(LAYOUT_PROBE);
    const titles = await page.evaluate(() => [...document.querySelectorAll('#charts svg g.role-title')].map((g) => ({ text: g.textContent, top: Math.round(g.getBoundingClientRect().top) })));
    const l2 = titles.find((t) => t.text!.startsWith('L2 weight decay: best'))!, lrd = titles.find((t) => t.text!.startsWith('Low-Rank Decay: best'))!;
    // Side by side at 1280 (the same row), stacked on the phone (LRD's panel below L2's).
    if (width >= 1280) expect(lrd.top).toBe(l2.top);
    else expect(lrd.top).toBeGreaterThan(l2.top);
    expect(look.natural, 'the figure is laid out for its column, not scaled down').toBeLessThanOrEqual(look.column);
    expect(look.scroll).toBeLessThanOrEqual(look.client);
    expect(await page.getByTestId('figure-summary').textContent()).toMatch(/^\d+ cells: best validation accuracy( \(mean over seeds\))? at rates 0\.0001, 0\.0005, 0\.001, 0\.005, 0\.01, 0\.05: l2 at fraction 0\.3: 0\.\d\d, /);
    expect(await page.getByTestId('story').isVisible()).toBe(false);
    if (process.env.SHOT_DIR) await page.screenshot({ path: `${process.env.SHOT_DIR}/phase-${width}.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('at 390 x 844: labels above their controls and not cut off, flags whole, tap targets at least 44 x 44 px, a visible focus ring, unavailable buttons aria-disabled', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(base);
    await expect.poll(() => page.getByTestId('verdict').count(), { timeout: 30_000 }).toBe(2);
    const look = await page.evaluate<Layout>(LAYOUT_PROBE);
    const pause = await page.getByTestId('pause').getAttribute('aria-disabled');
    expect(look.small, 'tap targets under 44 x 44 px').toEqual([]);
    expect(look.cut, 'selects whose option is cut off').toEqual([]);
    expect(look.labelsAbove).toBe(true);
    expect(look.flagsWhole).toBe(true);
    expect(pause).toBe('true');
    // The focus ring: Tab to Run, then a thick outline in a colour that stands out from white.
    await page.getByTestId('run').focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement!);
      return { id: document.activeElement!.id, style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor };
    });
    expect(ring.id).toBe('run');
    expect(ring.style).not.toBe('none');
    expect(ring.width).toBeGreaterThanOrEqual(2);
    expect(ring.color).toBe('rgb(26, 95, 180)');
    await page.close();
  }, 60_000);

  it('Verify reruns a committed result linked with verify= and prints `grokwasm verify`\'s verdict; a changed value is caught; a huge file is refused in one line; pause, resume and stop', async () => {
    const dir = join(root, 'docs/results/mechanism-quick-seeds/seed-0');
    const cli = (file: string, cwd: string) => {
      const out = spawnSync(process.execPath, [`${root}dist/cli/grokwasm.js`, 'verify', '--steps', '150', '--threads', '1', file], { encoding: 'utf8', cwd });
      return out.stdout.trim().split('\n');
    };
    const expected = cli('mechanism.json', dir);
    const page = await browser.newPage();
    await page.goto(`${base}?verify=results/mechanism-quick-seeds/seed-0/mechanism.json`);
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 30_000 }).toMatch(/^Loaded results\/mechanism-quick-seeds\/seed-0\/mechanism\.json/);
    await page.getByTestId('verify-steps').fill('150');
    await page.getByTestId('verify').click();
    await expect.poll(() => page.getByTestId('verify-result').textContent(), { timeout: 60_000 }).toMatch(/verified/);
    expect(await page.getByTestId('verify-result').textContent()).toBe(expected.at(-1));
    expect(expected.at(-1)).toMatch(/^partially verified: steps 0-149: 4 evaluations in 2 runs match;/);
    expect(await page.locator('#verify-log li').allTextContents()).toEqual(expected.slice(0, -1));
    await expect.poll(() => page.evaluate(() => (window as unknown as { grokwasmWorkers: Workers }).grokwasmWorkers.alive.verify ?? 0)).toBe(0);

    // One value changed: both say NOT verified, naming the same first field.
    const tampered = JSON.parse(readFileSync(join(dir, 'mechanism.json'), 'utf8'));
    tampered.arms.lrd.history[1].valAcc = 0.5;
    const tmp = mkdtempSync(join(tmpdir(), 'grokwasm-web-verify-'));
    writeFileSync(join(tmp, 'mechanism.json'), JSON.stringify(tampered));
    const wrong = cli('mechanism.json', tmp);
    await page.setInputFiles('#load', join(tmp, 'mechanism.json'));
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('Showing mechanism.json.');
    await page.getByTestId('verify').click();
    await expect.poll(() => page.getByTestId('verify-result').textContent(), { timeout: 60_000 }).toMatch(/^NOT verified/);
    expect(await page.getByTestId('verify-result').textContent()).toBe(wrong.at(-1));

    // Over the size limit: refused before it is read.
    writeFileSync(join(tmp, 'huge.json'), Buffer.alloc(65 * 2 ** 20, 32));
    await page.setInputFiles('#load', join(tmp, 'huge.json'));
    await expect.poll(() => page.getByTestId('status').textContent()).toBe("Cannot read huge.json: 65 MB, over the page's 64 MB limit for a results file (the CLI reads up to 512 MB).");
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');

    // A run result dropped on the page is shown, with its verdict, and kept for Verify.
    const lrd = readFileSync(EXAMPLE, 'utf8');
    await page.evaluate((text) => {
      const data = new DataTransfer();
      data.items.add(new File([JSON.stringify(JSON.parse(text).arms.lrd)], 'lrd.json', { type: 'application/json' }));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, lrd);
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('Showing lrd.json.');
    expect(await page.getByTestId('verdicts').textContent()).toBe('LRD generalised at step 2800: validation accuracy reached 99% (best 99.8%).');
    expect(await page.locator('#verify-file').textContent()).toBe('lrd.json');

    // Paused and resumed: the check holds its step while paused, then ends on the verdict.
    await page.setInputFiles('#load', join(dir, 'mechanism.json'));
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('Showing mechanism.json.');
    await page.getByTestId('verify-steps').fill('600');
    await page.getByTestId('verify').click();
    const verifyProgress = () => page.locator('#verify-progress').evaluate((p: HTMLProgressElement) => p.value);
    await expect.poll(verifyProgress, { timeout: 30_000 }).toBeGreaterThan(0);
    await page.getByTestId('pause').click();
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('verify-paused');
    expect(await page.getByTestId('run').textContent()).toBe('Resume');
    await page.waitForTimeout(500);
    const held = await verifyProgress();
    await page.waitForTimeout(1500);
    expect(await verifyProgress()).toBe(held);
    expect(held).toBeLessThan(1200);
    await page.getByTestId('run').click();
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('verifying');
    await expect.poll(() => page.getByTestId('verify-result').textContent(), { timeout: 90_000 }).toMatch(/^partially verified: steps 0-599: \d+ evaluations in 2 runs match;/);
    expect(await page.getByTestId('run').textContent()).toBe('Run');

    // A full check of the same file, stopped: its worker ends, and nothing is claimed.
    await page.getByTestId('verify-steps').fill('');
    await page.getByTestId('verify').click();
    await expect.poll(() => page.locator('#verify-progress').evaluate((p: HTMLProgressElement) => p.value), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.getByTestId('stop').click();
    expect(await page.getByTestId('verify-result').textContent()).toMatch(/^not verified: stopped/);
    expect(await page.evaluate(() => (window as unknown as { grokwasmWorkers: Workers }).grokwasmWorkers.alive.verify ?? 0)).toBe(0);
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');
    await page.close();
  }, 240_000);

  it('Run on the opening page trains the example\'s setup to the example\'s bits (its first evaluations, stopped early)', async () => {
    const example = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
    const page = await browser.newPage();
    await page.goto(base);
    await expect.poll(() => page.getByTestId('verdicts').textContent(), { timeout: 30_000 }).toContain('LRD generalised');
    await page.getByTestId('run').click();
    await expect.poll(() => page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value), { timeout: 60_000 }).toBeGreaterThan(2 * 250);
    // While it runs, the estimate is corrected from its own measured speed.
    expect(await page.getByTestId('estimate').textContent()).toMatch(/at this run's measured speed, about \d+(\.\d)? (s|min|h) left\.$/);
    await page.getByTestId('stop').click();
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 60_000 });
    expect(await page.getByTestId('estimate').textContent()).toMatch(/^Took \d+ (s|min)/);
    const results = await page.evaluate(() => (window as unknown as { grokwasmResults: Record<string, RunResult> }).grokwasmResults);
    for (const arm of ['l2', 'lrd']) {
      const live = results[arm].history;
      expect(live.length, arm).toBeGreaterThanOrEqual(2);
      expect(results[arm].config).toMatchObject(example.arms[arm].config);
      // The example was written before some row fields existed: compare the fields it has.
      for (const [i, row] of live.entries()) {
        const claimed = example.arms[arm].history[i];
        for (const key of Object.keys(claimed)) expect((row as unknown as Record<string, unknown>)[key], `${arm} step ${row.step} ${key}`).toEqual(claimed[key]);
      }
    }
    await page.close();
  }, 120_000);

  it('a setup too large for WebAssembly\'s memory says why before Run, with no time estimate', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}?p=2000&dim=2048&heads=8&mlp=16384&batch=8192`);
    await expect.poll(() => page.getByTestId('estimate').textContent(), { timeout: 30_000 }).toMatch(
      /^Cannot start: batch 8192 with dim 2048, mlp 16384, depth 2 and p 2000 needs [\d.]+ GiB of memory, over WebAssembly's 4 GiB; reduce batch, mlp or dim\.$/);
    await page.fill('input[name="p"]', '97');
    await page.fill('input[name="batch"]', '64');
    await page.fill('input[name="mlp"]', '64');
    await page.fill('input[name="dim"]', '64');
    await expect.poll(() => page.getByTestId('estimate').textContent(), { timeout: 30_000 }).toMatch(/^Estimated: about /);
    await page.close();
  }, 60_000);

  // This browser runs without --enable-unsafe-webgpu, so requestAdapter() gives null: the
  // fallback taken for real.
  it('asking for WebGPU without an adapter trains on Wasm, says so in one line, and gives the CLI\'s bits', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}?${queryOf(GUARD_CONFIG, { backend: 'webgpu', autorun: '1' })}`);
    await expect.poll(() => page.getByTestId('checksum').textContent(), { timeout: 60_000 }).toMatch(/^[0-9a-f]{16}$/);
    expect(await page.getByTestId('checksum').textContent()).toBe(GUARD_CHECKSUM);
    expect(await page.getByTestId('backend').textContent()).toBe('wasm: WebGPU found no adapter; using the Wasm matmul');
    const results = await page.evaluate(() => (window as unknown as { grokwasmResults: Record<string, { backend: string }> }).grokwasmResults);
    expect(results.lrd.backend).toBe('wasm');
    await page.click('#check-gpu');
    await expect.poll(() => page.getByTestId('gpu-check').textContent()).toBe('Nothing to check: WebGPU found no adapter; using the Wasm matmul.');
    await page.close();
  }, 90_000);

  describe('with WebGPU on SwiftShader (--enable-unsafe-webgpu)', () => {
    let gpuBrowser: Browser;
    beforeAll(async () => {
      gpuBrowser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
          '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost'],
      });
    }, 60_000);
    afterAll(async () => { await gpuBrowser?.close(); });

    it('Check WebGPU: every layout on random shapes, odd sizes included, within the product tolerance of the Wasm matmul', async () => {
      const page = await gpuBrowser.newPage();
      await page.goto(base);
      await page.click('#check-gpu');
      await expect.poll(() => page.getByTestId('gpu-check').textContent(), { timeout: 60_000 }).not.toMatch(/^Checking/);
      const outcome = await page.evaluate(() => (window as unknown as { grokwasmGpuCheck: { device?: string; reason?: string; report?: CheckReport } }).grokwasmGpuCheck);
      expect(outcome.reason, 'SwiftShader adapter').toBeUndefined();
      expect(outcome.device).toMatch(/fallback adapter/);
      expect(outcome.report!.rows).toHaveLength(15);
      for (const row of outcome.report!.rows) expect(row.relErr, `${row.layout} ${row.m}x${row.k}x${row.n}`).toBeLessThanOrEqual(PRODUCT_TOLERANCE);
      expect(await page.getByTestId('gpu-check').textContent()).toBe(`${outcome.device}: ${outcome.report!.summary}`);
      await page.close();
    }, 90_000);

    it('a short run on the WebGPU backend stays within the training tolerance of `grokwasm run`', async () => {
      const expected = cliRun(SMALL_GPU_CONFIG);
      const page = await gpuBrowser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}?${queryOf(SMALL_GPU_CONFIG, { backend: 'webgpu', autorun: '1' })}`);
      await expect.poll(() => page.getByTestId('checksum').textContent(), { timeout: 90_000 }).toMatch(/^[0-9a-f]{16}$/);
      expect(await page.getByTestId('backend').textContent()).toMatch(/^webgpu: the model's products on .*\(software fallback adapter\); the rest on Wasm$/);
      const results = await page.evaluate(() => (window as unknown as { grokwasmResults: Record<string, RunResult> }).grokwasmResults);
      expect(results.lrd.backend).toBe('webgpu');
      expect(trainingDifferences(results.lrd, expected)).toEqual([]);
      expect(new URL(page.url()).searchParams.get('backend')).toBe('webgpu');
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);
  });
});
