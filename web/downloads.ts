// What a finished run offers: its checksums, and downloads of its results (JSON through the
// shared formats, CSV, the figure, parameters and the whole run state).
import { historyCsv, mechanismFile } from '../src/core.js';
import { figurePng } from './chart_view.js';
import type { ArmRun } from './main.js';
import { $ } from './page.js';

export function showChecksums(runs: ArmRun[]): void {
  const dl = $('checksums');
  dl.replaceChildren();
  for (const r of runs) {
    const dt = document.createElement('dt');
    dt.textContent = `${r.arm} checksum`;
    const dd = document.createElement('dd');
    dd.dataset.testid = runs.length === 1 ? 'checksum' : `checksum-${r.arm}`;
    dd.textContent = r.last?.checksum ?? '';
    dl.append(dt, dd);
  }
}

export function download(name: string, data: BlobPart, type: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([data], { type }));
  a.download = name;
  a.textContent = name;
  return a;
}

export function showDownloads(runs: ArmRun[], done: ArmRun[], failed: boolean): void {
  const box = $('downloads');
  box.replaceChildren();
  if (!done.length) return;
  // Every arm finished: one mechanism.json; otherwise each arm's run result on its own.
  const all = runs.length > 1 && done.length === runs.length;
  if (all) {
    const arms = runs.map((r) => ({ label: r.arm, result: r.last!, spectrum: r.analysis?.spectrum ?? null, attention: r.analysis?.attention ?? null, progress: r.analysis?.progress ?? null }));
    box.append(download('mechanism.json', JSON.stringify(mechanismFile(arms)), 'application/json'));
  } else {
    for (const r of done) box.append(download(runs.length === 1 ? 'result.json' : `${r.arm.replace(/[^A-Za-z0-9.=_-]/g, '_')}.json`, JSON.stringify(r.last, null, 2), 'application/json'));
  }
  box.append(download('history.csv', historyCsv(done.map((r) => ({ label: { arm: r.arm }, history: r.history }))), 'text/csv'));
  // Files made on request are buttons (they act); ready files are links (they go somewhere).
  const png = document.createElement('button');
  png.type = 'button';
  png.className = 'link';
  png.textContent = 'figure.png';
  png.addEventListener('click', async () => {
    const url = await figurePng();
    if (!url) return;
    const a = document.createElement('a');
    a.href = url;
    a.download = 'figure.png';
    a.click();
  });
  box.append(png);
  // Parameters as a PyTorch state_dict, and the whole run state, which `grokwasm run --resume`
  // continues to the same bits as an uninterrupted run.
  const files = [
    { suffix: 'safetensors', title: 'parameters as a PyTorch state_dict', bytes: (r: ArmRun) => r.files?.stateDict },
    { suffix: 'checkpoint.safetensors', title: 'the whole run state: grokwasm run --resume FILE continues it', bytes: (r: ArmRun) => r.files?.checkpoint },
  ];
  for (const r of done) {
    if (failed || !r.files) continue;
    for (const file of files) {
      const name = `${r.arm}.${file.suffix}`;
      const link = document.createElement('button');
      link.type = 'button';
      link.className = 'link';
      link.textContent = name;
      link.title = file.title;
      link.addEventListener('click', () => {
        download(name, file.bytes(r) as Uint8Array<ArrayBuffer>, 'application/octet-stream').click();
      });
      box.append(link);
    }
  }
}

