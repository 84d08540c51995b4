// The page's main flows in the three browser engines (test/engine.ts): Chromium (V8), Firefox
// ESR (SpiderMonkey) and WebKitGTK (JavaScriptCore), from Debian's packages, which .ci/run
// installs. In each: a run gives the CLI's checksum, pause/resume/stop, and Verify in the tab;
// in WebKit also the page without Wasm SIMD and with SharedArrayBuffer switched on.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCells } from '../src/format/cells.js';
import { noSimdMessage } from '../src/kernel/simd.js';
import { compareRows, summarizeComparison } from '../src/study/compare.js';
import { CHROMIUM, launchChromium } from './chromium_driver.js';
import { fill, progressValue, text, waitFor, type Engine, type Tab } from './engine.js';
import { FIREFOX, launchFirefox } from './firefox_driver.js';
import { GUARD_CHECKSUM, GUARD_CONFIG } from './guard.js';
import { LAYOUT_PROBE, type Layout } from './layout_probe.js';
import { root, serveApp } from './web_app.js';
import { launchWebKit, webkitAvailable } from './webkit_driver.js';

type Config = Record<string, string | number>;
const CLI = `${root}dist/cli/grokwasm.js`;
/** `grokwasm run --json` of a config. */
function cliRun(config: Config): { checksum: string; history: unknown[] } {
  const cli = spawnSync(process.execPath, [CLI, 'run', ...Object.entries(config).flatMap(([k, v]) => [`--${k}`, String(v)]), '--json'], { encoding: 'utf8' });
  expect(cli.status, cli.stderr).toBe(0);
  return JSON.parse(cli.stdout);
}
/** The page's query for a config: the page opens on the quick preset, `grokwasm run` on the reference one. */
const queryOf = (config: Config, extra: Record<string, string> = {}) =>
  new URLSearchParams({ preset: 'reference', ...Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)])), ...extra });

// The L2 arm does not stop early on grokking, so a run is still going when paused.
const PAUSE_CONFIG = { decay: 'l2', p: 47, dim: 32, heads: 2, mlp: 64, batch: 256, steps: 600, evalEvery: 100 };
const VERIFIED = 'results/mechanism-quick-seeds/seed-0/mechanism.json';
/** The committed comparison study's table as `grokwasm compare` prints it. */
const STUDY = compareRows(summarizeComparison(parseCells(readFileSync(`${root}docs/results/compare-quick-final-ordered/cells.jsonl`, 'utf8'), 'cells.jsonl').records));
const HEX = /^[0-9a-f]{16}$/;
const checksumOf = (tab: Tab) => text(tab, 'checksum');
/** Past step `n` of a run that is going now (not the last run's bar, which stays until the new run's workers are up). */
const runningPast = (tab: Tab, n: number, what: string) => waitFor(
  () => tab.evaluate<boolean>(`document.body.dataset.state === 'running' && !document.querySelector('[data-testid=checksum]') && document.getElementById('progress').value > ${n}`),
  (yes) => yes, what);

/** On a timeout, say where the page stood: a slow start, a stuck run and a click that never landed read differently. */
async function saying<T>(tab: Tab, wait: Promise<T>): Promise<T> {
  return wait.catch(async (e: Error) => {
    const where = await tab.evaluate<string>(`JSON.stringify({ state: document.body.dataset.state, status: document.querySelector('[data-testid=status]')?.textContent ?? null })`).catch(() => 'unreadable');
    throw new Error(`${e.message}; the page: ${where}`);
  });
}
/**
 * Clicks Run on an idle page and waits until the page has left idle (starting, running or already
 * done). Once (CI, Firefox, the whole suite on 2 cores) no checksum came in 150 s after a click on a
 * just-reloaded page, and where the page stood was not recorded: now it is, and a second click is
 * sent only when the page is still idle 15 s after the first, with a warning in the log.
 */
async function clickRun(tab: Tab, name: string): Promise<void> {
  const left = () => tab.evaluate<boolean>(`document.body.dataset.state !== 'idle'`);
  await tab.click('run');
  if (await waitFor(left, (yes) => yes, `${name}: the run to start`, 15_000).catch(() => false)) return;
  console.warn(`${name}: the page was still idle 15 s after a click on Run; clicking again`);
  await tab.click('run');
  await saying(tab, waitFor(left, (yes) => yes, `${name}: the run to start after a second click`, 30_000));
}

// CI installs the three browsers (.ci/run); elsewhere an engine that is missing is skipped.
const ENGINES = [
  { key: 'chromium', present: existsSync(CHROMIUM), launch: () => launchChromium(),
    // V8 (this Chromium and Node 20) has no flag that turns Wasm SIMD off: --js-flags=--help lists only its optimisations.
    noSimd: 'V8 has no flag that switches Wasm SIMD off' },
  { key: 'firefox', present: existsSync(FIREFOX), launch: () => launchFirefox(),
    // The pref javascript.options.wasm_simd is gone: set to false, Firefox ESR 153 still validates SIMD and trains.
    noSimd: 'Firefox ESR 153 has no pref that switches Wasm SIMD off (javascript.options.wasm_simd set to false changes nothing)' },
  { key: 'webkit', present: webkitAvailable(), launch: () => launchWebKit(), noSimd: null },
] as const;

let app: { base: string; close(): Promise<void> } | undefined;
const expected: { guard?: ReturnType<typeof cliRun>; pause?: ReturnType<typeof cliRun>; verify?: string } = {};
const anyEngine = ENGINES.some((e) => e.present) || Boolean(process.env.CI);

describe.skipIf(!anyEngine)('the page in three engines', () => {
  beforeAll(async () => {
    app = await serveApp();
    expected.guard = cliRun(GUARD_CONFIG);
    expected.pause = cliRun(PAUSE_CONFIG);
    const verify = spawnSync(process.execPath, [CLI, 'verify', '--steps', '150', '--threads', '1', `${root}docs/results/mechanism-quick-seeds/seed-0/mechanism.json`], { encoding: 'utf8' });
    expected.verify = verify.stdout.trim().split('\n').at(-1);
  }, 180_000);
  afterAll(() => app?.close());

  it('the server sends COOP/COEP on 304 (Not Modified) replies too, so a cached reload stays isolated', async () => {
    const first = await fetch(app!.base);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(app!.base, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(again.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
  });

  for (const engine of ENGINES) {
    describe.skipIf(!engine.present && !process.env.CI)(engine.key, () => {
      let browser: Engine;
      beforeAll(async () => { browser = await engine.launch(); }, 60_000);
      afterAll(() => browser?.close());

      it('a run gives the checksum and history of `grokwasm run`; the page is cross-origin isolated, also after a cached reload; the threads line says what it used', async () => {
        const url = `${app!.base}?${queryOf(GUARD_CONFIG, { threads: '2', autorun: '1' })}`;
        const tab = await browser.open(url);
        await saying(tab, waitFor(() => checksumOf(tab), (c) => HEX.test(c ?? ''), `${browser.name}: the checksum`));
        expect(await checksumOf(tab)).toBe(expected.guard!.checksum);
        expect(expected.guard!.checksum).toBe(GUARD_CHECKSUM);
        expect(JSON.parse(await tab.evaluate<string>('JSON.stringify(window.grokwasmResults.lrd.history)'))).toEqual(expected.guard!.history);
        // WebKitGTK gives no SharedArrayBuffer even to an isolated page: one thread, and why.
        const threadsLine = engine.key === 'webkit'
          ? 'threads: 1 (this browser gives the page no SharedArrayBuffer although it is cross-origin isolated, so helper threads cannot share the run\'s memory)'
          : 'threads: 2';
        expect(await text(tab, 'threads')).toBe(threadsLine);
        // A reload: the browser revalidates its cached files, and the server answers 304 (Not Modified).
        // The page has dropped autorun from its URL by now, so the reloaded page waits for Run.
        await tab.evaluate('(setTimeout(() => location.reload(), 0), null)');
        await waitFor(() => tab.evaluate<boolean>(`document.body.dataset.state === 'idle' && !document.querySelector('[data-testid=checksum]')`).catch(() => false),
          (yes) => yes, `${browser.name}: the reloaded page`, 30_000);
        expect(await tab.evaluate('crossOriginIsolated')).toBe(true);
        await clickRun(tab, browser.name);
        await saying(tab, waitFor(() => checksumOf(tab), (c) => HEX.test(c ?? ''), `${browser.name}: the checksum after a reload`));
        expect(await text(tab, 'threads')).toBe(threadsLine);
        expect(await checksumOf(tab)).toBe(GUARD_CHECKSUM);
        await tab.close();
      }, 300_000);

      it('pause and resume end on the uninterrupted checksum; stop keeps the run\'s checksum', async () => {
        const tab = await browser.open(`${app!.base}?${queryOf(PAUSE_CONFIG)}`);
        await tab.click('run');
        await runningPast(tab, 100, `${browser.name}: step 100`);
        await tab.click('pause');
        await waitFor(() => text(tab, 'status'), (s) => /^Paused/.test(s ?? ''), `${browser.name}: Paused`);
        expect(await text(tab, 'run')).toBe('Resume');
        const at = await progressValue(tab, 'progress');
        expect(at).toBeLessThan(PAUSE_CONFIG.steps);
        await tab.click('run');
        await saying(tab, waitFor(() => checksumOf(tab), (c) => HEX.test(c ?? ''), `${browser.name}: the checksum`, 90_000));
        expect(await checksumOf(tab)).toBe(expected.pause!.checksum);

        await tab.click('run');
        await runningPast(tab, 100, `${browser.name}: step 100 of the second run`);
        await tab.click('stop');
        const status = await waitFor(() => text(tab, 'status'), (s) => /^L2: \d+ steps \(stopped\)/.test(s ?? ''), `${browser.name}: stopped`);
        expect(Number(/^L2: (\d+)/.exec(status!)![1])).toBeLessThan(PAUSE_CONFIG.steps);
        expect(await checksumOf(tab)).toMatch(HEX);
        await tab.close();
      }, 300_000);

      it.each([[1280, 800], [390, 844]])('at %i x %i the opening page fits: the example drawn for its column with the key above, no sideways scroll, labels above, nothing cut; on a phone every tap target at least 44 x 44 px', async (width, height) => {
        const tab = await browser.open(app!.base, { width, height });
        await saying(tab, waitFor(() => tab.evaluate<number>(`document.querySelectorAll('[data-testid=verdict]').length`), (n) => n === 2, `${browser.name}: the example's verdicts`, 60_000));
        const look = await tab.evaluate<Layout>(LAYOUT_PROBE);
        expect(look.inner, 'the viewport asked for').toEqual([width, height]);
        expect(look.natural, 'the figure is laid out for its column, not scaled down').toBeLessThanOrEqual(look.column);
        expect(look.legendBottom, 'the colour key sits above the first chart').toBeLessThan(look.firstChartTop!);
        expect(look.scroll, 'no sideways scroll').toBeLessThanOrEqual(look.client);
        expect(look.cut, 'selects whose option is cut off').toEqual([]);
        expect(look.labelsAbove).toBe(true);
        expect(look.flagsWhole).toBe(true);
        if (width < 500) expect(look.small, 'tap targets under 44 x 44 px').toEqual([]);
        await tab.close();
      }, 120_000);

      it.each([[1280, 800], [390, 844]])('at %i x %i a comparison study linked with show= shows the CLI\'s table with intervals and its survival curves, fitting the column', async (width, height) => {
        const tab = await browser.open(`${app!.base}?show=results/compare-quick-final-ordered/cells.jsonl`, { width, height });
        await saying(tab, waitFor(() => tab.evaluate<boolean>(`!document.getElementById('study').hidden && !!document.querySelector('#charts svg')`), (yes) => yes, `${browser.name}: the study`, 60_000));
        const rows = await tab.evaluate<string[][]>(`[...document.querySelectorAll('[data-testid=compare-table] tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))`);
        expect(rows).toEqual(STUDY.rows);
        const look = await tab.evaluate<Layout>(LAYOUT_PROBE);
        expect(look.inner).toEqual([width, height]);
        expect(look.natural, 'the figure is laid out for its column').toBeLessThanOrEqual(look.column);
        expect(look.legendBottom, 'the colour key sits above the first chart').toBeLessThan(look.firstChartTop!);
        expect(look.scroll, 'no sideways scroll').toBeLessThanOrEqual(look.client);
        await tab.close();
      }, 120_000);

      it('one run per click: three clicks in one task and a real double click start one run; Stop ends every worker', async () => {
        const tab = await browser.open(`${app!.base}?${queryOf(PAUSE_CONFIG, { steps: '20000' })}`);
        const workers = () => tab.evaluate<{ live: number; alive: Record<string, number>; started: Record<string, number> }>('window.grokwasmWorkers');
        await tab.evaluate(`(() => { const run = document.getElementById('run'); run.click(); run.click(); run.click(); return null; })()`);
        await tab.doubleClick('run');
        await saying(tab, waitFor(() => tab.evaluate<string>('document.body.dataset.state'), (s) => s === 'running', `${browser.name}: running`, 60_000));
        await new Promise((r) => setTimeout(r, 300));
        expect((await workers()).started.train).toBe(1);
        await tab.click('stop');
        await saying(tab, waitFor(() => tab.evaluate<string>('document.body.dataset.state'), (s) => s === 'done', `${browser.name}: stopped`, 60_000));
        await waitFor(async () => (await workers()).alive.train ?? 0, (n) => n === 0, `${browser.name}: no training worker left`, 20_000);
        await tab.close();
      }, 120_000);

      it('Verify in the tab reruns a committed result and prints `grokwasm verify`\'s verdict', async () => {
        const tab = await browser.open(`${app!.base}?verify=${VERIFIED}`);
        await waitFor(() => text(tab, 'status'), (s) => (s ?? '').startsWith(`Loaded ${VERIFIED}`), `${browser.name}: the file loaded`, 30_000);
        await fill(tab, 'verify-steps', '150');
        await tab.click('verify');
        const verdict = await waitFor(() => text(tab, 'verify-result'), (s) => /verified/.test(s ?? ''), `${browser.name}: the verdict`, 90_000);
        expect(expected.verify).toMatch(/^partially verified: steps 0-149: 4 evaluations in 2 runs match;/);
        expect(verdict).toBe(expected.verify);
        await tab.close();
      }, 300_000);

      if (engine.noSimd) {
        it.skip(`without Wasm SIMD the page says so in one sentence (skipped: ${engine.noSimd})`, () => {});
      } else {
        it('without Wasm SIMD (JSC_useWasmSIMD=false) the page says so in one sentence and starts nothing; with SharedArrayBuffer on (JSC_useSharedArrayBuffer=true) it runs 2 threads to the same bits', async () => {
          const plain = await launchWebKit({ JSC_useWasmSIMD: 'false' });
          try {
            const tab = await plain.open(`${app!.base}?${queryOf(GUARD_CONFIG, { autorun: '1' })}`);
            expect(await tab.evaluate('WebAssembly.validate(new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,10,1,8,0,65,0,253,15,253,98,11]))')).toBe(false);
            await waitFor(() => text(tab, 'status'), (s) => s === noSimdMessage('browser'), 'the no-SIMD sentence', 30_000);
            await tab.click('run');
            await new Promise((r) => setTimeout(r, 500));
            expect(await text(tab, 'status')).toBe(noSimdMessage('browser'));
            expect(await tab.evaluate('document.body.textContent')).not.toMatch(/parse at byte|CompileError/);
            expect(await checksumOf(tab)).toBe(null);
            await tab.close();
          } finally {
            await plain.close();
          }
          const shared = await launchWebKit({ JSC_useSharedArrayBuffer: 'true' });
          try {
            const tab = await shared.open(`${app!.base}?${queryOf(GUARD_CONFIG, { threads: '2', autorun: '1' })}`);
            await waitFor(() => checksumOf(tab), (c) => HEX.test(c ?? ''), 'the checksum on 2 threads');
            expect(await checksumOf(tab)).toBe(GUARD_CHECKSUM);
            expect(await text(tab, 'threads')).toBe('threads: 2');
            await tab.close();
          } finally {
            await shared.close();
          }
        }, 300_000);
      }
    });
  }
});
