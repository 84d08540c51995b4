// A hostile corpus: files and command lines that a careless user or an adversary hands the CLI.
// Every case must end with exit code 2 (refused: one line naming the file or flag and the field),
// 1 (a verification that failed), 3 (a partial verification) or 0 (a file of an older format
// verified, naming what it could not compare), print no stack trace, never hang, and leave every
// file that existed before exactly as it was (and add none).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const CLI = new URL('../dist/cli/grokwasm.js', import.meta.url).pathname;
const TINY = ['--p', '11', '--dim', '8', '--heads', '2', '--mlp', '16', '--batch', '16', '--steps', '40', '--evalEvery', '10'];
const SWEEP = [...TINY, '--fracs', '0.5', '--rates', '0.01', '--seeds', '0'];
/** args with flag's value replaced (a flag may be given only once). */
const withFlag = (args: string[], flag: string, value: string) => { const i = args.indexOf(flag); expect(i).toBeGreaterThanOrEqual(0); return args.map((a, j) => (j === i + 1 ? value : a)); };

function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
}

/** Every file under dir: its type, and for regular files a hash of the bytes and the mode. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const s = lstatSync(path);
      if (s.isDirectory()) walk(path);
      // Sparse giants (the size-cap cases) by size and time; the rest by their bytes.
      else if (s.isFile() && s.size > 2 ** 26) out[path] = `file ${s.mode.toString(8)} ${s.size} ${s.mtimeMs}`;
      else if (s.isFile()) out[path] = `file ${s.mode.toString(8)} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
      else out[path] = s.isFIFO() ? 'fifo' : s.isCharacterDevice() ? `chardev ${s.rdev}` : s.isSymbolicLink() ? 'link' : 'other';
    }
  };
  walk(dir);
  return out;
}

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'grokwasm-hostile-base-'));
  const ok = (args: string[]) => expect(cli(args, base).status, args.join(' ')).toBe(0);
  ok(['run', ...TINY, '--out', 'r.json', '--checkpoint', 'ck.safetensors', '--save', 'params.safetensors', '--quiet']);
  ok(['mechanism', ...TINY, '--out', 'mech', '--quiet']);
  ok(['sweep', ...SWEEP, '--out', 'sw', '--quiet']);
}, 120_000);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const readJson = (dir: string, file: string): Json => JSON.parse(readFileSync(join(dir, file), 'utf8'));
const writeJson = (dir: string, file: string, value: unknown) => writeFileSync(join(dir, file), JSON.stringify(value));
const editResult = (edit: (r: Json) => void) => (dir: string) => { const r = readJson(dir, 'r.json'); edit(r); writeJson(dir, 'f.json', r); };
const editMechanism = (edit: (m: Json) => void) => (dir: string) => { const m = readJson(dir, 'mech/mechanism.json'); edit(m); writeJson(dir, 'f.json', m); };
const cellLines = (dir: string): Json[] => readFileSync(join(dir, 'sw/cells.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const editCells = (edit: (cells: Json[]) => void) => (dir: string) => {
  const cells = cellLines(dir);
  edit(cells);
  writeFileSync(join(dir, 'f.jsonl'), cells.map((c) => JSON.stringify(c)).join('\n') + '\n');
};
// A file's text with one edit made to it, as a forger would make it by hand (duplicate keys
// cannot be made through JSON.stringify).
const editText = (from: string, to: string, edit: (text: string) => string) => (dir: string) => {
  const text = readFileSync(join(dir, from), 'utf8');
  const edited = edit(text);
  expect(edited, 'the edit changed nothing').not.toBe(text);
  writeFileSync(join(dir, to), edited);
};
/** The first match of `at` in text, with `insert` placed right after it. */
const after = (at: string, insert: string) => (text: string) => { const i = text.indexOf(at); expect(i).toBeGreaterThanOrEqual(0); return text.slice(0, i + at.length) + insert + text.slice(i + at.length); };
const compactResult = (dir: string) => writeJson(dir, 'c.json', readJson(dir, 'r.json'));
/** A safetensors file with its header text edited and optional bytes before and after the data. */
const editSafetensors = (from: string, to: string, edit: (header: string) => string, pad: { before?: number; after?: number } = {}) => (dir: string) => {
  const b = readFileSync(join(dir, from));
  const n = Number(b.readBigUInt64LE(0));
  const header = Buffer.from(edit(b.subarray(8, 8 + n).toString('utf8').trimEnd()));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(dir, to), Buffer.concat([length, header, Buffer.alloc(pad.before ?? 0), b.subarray(8 + n), Buffer.alloc(pad.after ?? 0)]));
};
/** Every tensor's data_offsets moved by `by` bytes (for a hole before the first tensor). */
const shiftOffsets = (by: number) => (header: string) => header.replace(/"data_offsets":\[(\d+),(\d+)\]/g, (_, a, b) => `"data_offsets":[${Number(a) + by},${Number(b) + by}]`);
const fifo = (name: string) => (dir: string) => execFileSync('mkfifo', [join(dir, name)]);
const write = (name: string, text: string | Buffer) => (dir: string) => { mkdirSync(join(dir, name, '..'), { recursive: true }); writeFileSync(join(dir, name), text); };

interface Case {
  name: string;
  setup?: (dir: string) => void;
  args: string[];
  env?: Record<string, string>;
  /** 2: refused; 1: a verification that failed; 3: a partial verification; 0: done as asked. */
  code: 0 | 1 | 2 | 3;
  /** What the one line (stderr for 2, the verdict, the last line on stdout, otherwise) must say. */
  says: RegExp;
}

const VERIFY_FORGERIES: Case[] = [
  { name: 'bestValAcc and grokStep edited in', setup: editResult((r) => { r.bestValAcc = 1; r.grokStep = 10; }), args: ['verify', 'f.json'], code: 2, says: /f\.json: bestValAcc: 1, but the history's best valAcc is/ },
  { name: 'an extra history row with valAcc 1', setup: editResult((r) => { r.history.push({ ...r.history[3], step: 35, valAcc: 1 }); r.bestValAcc = 1; }), args: ['verify', 'f.json'], code: 2, says: /history\[5\]: an extra row \(step 35\)/ },
  { name: 'a row at a step past the end', setup: editResult((r) => { r.history.push({ ...r.history[3], step: 50 }); }), args: ['verify', 'f.json'], code: 2, says: /history\[5\]: an extra row \(step 50\)/ },
  { name: 'a missing row', setup: editResult((r) => { r.history.splice(2, 1); }), args: ['verify', 'f.json'], code: 2, says: /history\[2\]\.step: 30, .*expected 20/ },
  { name: 'a duplicated step', setup: editResult((r) => { r.history[2] = { ...r.history[1] }; }), args: ['verify', 'f.json'], code: 2, says: /history\[2\]\.step: 10/ },
  { name: 'rows out of order', setup: editResult((r) => { [r.history[1], r.history[2]] = [r.history[2], r.history[1]]; }), args: ['verify', 'f.json'], code: 2, says: /history\[1\]\.step: 20/ },
  { name: 'ten million steps and an empty history', setup: editResult((r) => { r.config.steps = 1e7; r.steps = 1e7; r.history = []; r.bestValAcc = 0; }), args: ['verify', 'f.json'], code: 2, says: /history: 0 rows, but 10000000 steps give 1000001 \(evaluations follow steps 0, 10, 20, \.\.\. \(evalEvery 10\) and the last step 9999999/ },
  { name: 'steps above config.steps', setup: editResult((r) => { r.steps = 41; }), args: ['verify', 'f.json'], code: 2, says: /steps: 41 is more than config\.steps 40/ },
  { name: 'steps below config.steps with no early stop', setup: editResult((r) => { r.config.steps = 400; r.history.pop(); }), args: ['verify', 'f.json'], code: 2, says: /steps: 40 is below config\.steps 400, .*--steps 40/ },
  { name: 'grokStep that the history contradicts', setup: editResult((r) => { r.history[1].valAcc = 0.995; r.bestValAcc = 0.995; }), args: ['verify', 'f.json'], code: 2, says: /grokStep: null, but the history first reaches 0\.99 at 10/ },
  { name: 'an evaluation after two above 0.99', setup: editResult((r) => { r.history[1].valAcc = 0.995; r.history[2].valAcc = 0.995; r.bestValAcc = 0.995; r.grokStep = 10; }), args: ['verify', 'f.json'], code: 2, says: /history\[3\]: the run goes on after 2 evaluations above 0\.99/ },
  { name: 'diverged at a step other than the last', setup: editResult((r) => { r.diverged = { step: 3, reason: 'x' }; }), args: ['verify', 'f.json'], code: 2, says: /diverged\.step: 3, but a diverged run ends at that step/ },
  { name: 'an unknown field', setup: editResult((r) => { r.verifiedBy = 'me'; }), args: ['verify', 'f.json'], code: 2, says: /Unrecognized key: "verifiedBy"/ },
  { name: 'a config field missing', setup: editResult((r) => { delete r.config.seed; }), args: ['verify', 'f.json'], code: 2, says: /config\.seed: missing; must be an integer/ },
  { name: 'an unknown config field', setup: editResult((r) => { r.config.dropout = 0.1; }), args: ['verify', 'f.json'], code: 2, says: /config\.dropout: unknown config field 'dropout'/ },
  { name: 'a config value out of range', setup: editResult((r) => { r.config.p = 1; }), args: ['verify', 'f.json'], code: 2, says: /config\.p: p must be an integer in \[2, 2000\] \(got 1\)/ },
  { name: 'a checksum that is not hex', setup: editResult((r) => { r.checksum = 'zz'; }), args: ['verify', 'f.json'], code: 2, says: /checksum: must be 16 lowercase hex digits/ },
  { name: 'a row field of the wrong type', setup: editResult((r) => { r.history[0].valAcc = '1'; }), args: ['verify', 'f.json'], code: 2, says: /history\[0\]\.valAcc: Invalid input: expected number, received string/ },
  { name: 'history that is not a list', setup: editResult((r) => { r.history = {}; }), args: ['verify', 'f.json'], code: 2, says: /history: Invalid input: expected array/ },
  { name: 'null', setup: write('f.json', 'null'), args: ['verify', 'f.json'], code: 2, says: /f\.json: top level: Invalid input: expected object, received null/ },
  { name: 'a list', setup: write('f.json', '[]'), args: ['verify', 'f.json'], code: 2, says: /f\.json: top level: Invalid input: expected object, received array/ },
  { name: 'not JSON', setup: write('f.json', '{"config": '), args: ['verify', 'f.json'], code: 2, says: /f\.json: not JSON/ },
  { name: 'an empty file', setup: write('f.json', ''), args: ['verify', 'f.json'], code: 2, says: /f\.json: not JSON/ },
  { name: 'bytes that are not UTF-8', setup: write('f.json', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), args: ['verify', 'f.json'], code: 2, says: /f\.json: not UTF-8 text/ },
  { name: 'cells relabelled to another arm and rate', setup: editCells((c) => { c[0].arm = 'lrd'; c[0].rate = 0.05; }), args: ['verify', 'f.jsonl'], code: 2, says: /f\.jsonl: line 1: arm: 'lrd' names the lrd arm, but config\.decay is 'l2'/ },
  { name: 'a cell relabelled to another seed', setup: editCells((c) => { c[1].seed = 3; }), args: ['verify', 'f.jsonl'], code: 2, says: /line 2: seed: 3, but config\.seed is 0/ },
  { name: 'an L2 cell whose wd is not 10 x rate', setup: editCells((c) => { c[0].rate = 0.02; }), args: ['verify', 'f.jsonl'], code: 2, says: /line 1: rate: 0\.02, but the l2 arm's config\.wd 0\.1 is not 10 x rate/ },
  { name: 'a cell line {}', setup: write('f.jsonl', '{}\n'), args: ['verify', 'f.jsonl'], code: 2, says: /f\.jsonl: line 1: arm: Invalid input: expected string, received undefined/ },
  { name: 'a cell line null', setup: write('f.jsonl', 'null\n'), args: ['verify', 'f.jsonl'], code: 2, says: /line 1: top level: Invalid input: expected object, received null/ },
  { name: 'a cell line []', setup: write('f.jsonl', '[]\n'), args: ['verify', 'f.jsonl'], code: 2, says: /line 1: top level: Invalid input: expected object, received array/ },
  { name: 'a cell without config', setup: editCells((c) => { delete c[0].config; }), args: ['verify', 'f.jsonl'], code: 2, says: /line 1: config: missing|line 1: config: must be an object/ },
  { name: 'a torn last cell line', setup: (d) => { editCells(() => {})(d); writeFileSync(join(d, 'f.jsonl'), readFileSync(join(d, 'f.jsonl'), 'utf8') + '{"arm":"l2","fr'); }, args: ['verify', 'f.jsonl'], code: 2, says: /f\.jsonl: line 3: torn/ },
  { name: 'an empty cells.jsonl', setup: write('f.jsonl', ''), args: ['verify', 'f.jsonl'], code: 2, says: /f\.jsonl: no cells to verify/ },
  { name: 'a blank line among cells', setup: (d) => { const c = cellLines(d); writeFileSync(join(d, 'f.jsonl'), `${JSON.stringify(c[0])}\n\n${JSON.stringify(c[1])}\n`); }, args: ['verify', 'f.jsonl'], code: 2, says: /line 2: empty line/ },
  { name: 'a mechanism whose L2 arm is a copy of its LRD arm', setup: editMechanism((m) => { m.arms.l2 = m.arms.lrd; m.spectra.l2 = m.spectra.lrd; m.attention.l2 = m.attention.lrd; }), args: ['verify', 'f.json'], code: 2, says: /arms\.l2: 'l2' names the l2 arm, but config\.decay is 'lrd'/ },
  { name: '{"arms":{}}', setup: write('f.json', '{"arms":{}}'), args: ['verify', 'f.json'], code: 2, says: /f\.json: spectra: Invalid input: expected record, received undefined/ },
  { name: 'mechanism arms on different seeds', setup: editMechanism((m) => { m.arms.lrd.config.seed = 5; }), args: ['verify', 'f.json'], code: 2, says: /arms\.lrd\.config\.seed: 5, but arm l2 has 0; every arm shares one setup/ },
  { name: 'a spectrum of the wrong length', setup: editMechanism((m) => { m.spectra.lrd.push(0); }), args: ['verify', 'f.json'], code: 2, says: /spectra\.lrd: 9 values, but q_proj \(8 x 8\) has 8/ },
  { name: 'attention that is not p x p', setup: editMechanism((m) => { m.attention.l2.pop(); }), args: ['verify', 'f.json'], code: 2, says: /attention\.l2: must be 11 rows of 11 weights/ },
  { name: 'a mechanism without spectra', setup: editMechanism((m) => { delete m.spectra; }), args: ['verify', 'f.json'], code: 2, says: /spectra: Invalid input: expected record, received undefined/ },
];

const VERIFY_MISMATCHES: Case[] = [
  { name: 'a loss changed, consistently', setup: editResult((r) => { r.history[1].valLoss += 1e-9; }), args: ['verify', 'f.json', '--quiet'], code: 1, says: /NOT verified: 1 mismatch; .*step +10 +DIFFERS: valLoss/ },
  { name: 'an accuracy changed, with its summary', setup: editResult((r) => { r.history[2].valAcc = 0.5; r.bestValAcc = 0.5; }), args: ['verify', 'f.json', '--quiet'], code: 1, says: /step +20 +DIFFERS: valAcc 0\.5 ->/ },
  { name: 'a row checksum', setup: editResult((r) => { r.history[3].checksum = '0000000000000000'; }), args: ['verify', 'f.json', '--quiet'], code: 1, says: /step +30 +DIFFERS: checksum 0000000000000000 ->/ },
  { name: 'the final checksum', setup: editResult((r) => { r.checksum = 'ffffffffffffffff'; }), args: ['verify', 'f.json', '--quiet'], code: 1, says: /final +DIFFERS: checksum "ffffffffffffffff" ->/ },
  { name: 'the seed', setup: editResult((r) => { r.config.seed = 1; }), args: ['verify', 'f.json', '--quiet'], code: 1, says: /step +0 +DIFFERS/ },
  { name: 'a forged early stop', setup: editResult((r) => { r.history = r.history.slice(0, 3); r.history[1].valAcc = 0.995; r.history[2].valAcc = 0.995; r.bestValAcc = 0.995; r.grokStep = 10; r.steps = 21; }), args: ['verify', 'f.json', '--quiet'], code: 1, says: /step +10 +DIFFERS: valAcc 0\.995 ->/ },
  { name: 'a forged divergence', setup: editResult((r) => { r.diverged = { step: 39, reason: 'the training loss is NaN' }; r.history.pop(); }), args: ['verify', 'f.json', '--quiet'], code: 1, says: /step +39 +DIFFERS: the rerun evaluated step 39, which the result does not have/ },
  { name: 'a forgery within a partial check', setup: editResult((r) => { r.history[1].trainAcc = 0.75; }), args: ['verify', 'f.json', '--steps', '15', '--quiet'], code: 1, says: /step +10 +DIFFERS: trainAcc 0\.75/ },
  { name: 'a spectrum value', setup: editMechanism((m) => { m.spectra.lrd[3] *= 0.5; }), args: ['verify', 'f.json', '--quiet'], code: 1, says: /arm lrd: final +DIFFERS: spectrum\[3\]/ },
  { name: 'an attention weight', setup: editMechanism((m) => { m.attention.l2[2][3] += 1e-7; }), args: ['verify', 'f.json', '--quiet'], code: 1, says: /arm l2: final +DIFFERS: attention\[25\]/ },
  // Every cell relabelled alike: one cell alone with another setting is refused (VERIFY_COVERAGE).
  { name: 'cells trained with another learning rate', setup: editCells((c) => { for (const x of c) x.config.lr = 0.002; }), args: ['verify', 'f.jsonl', '--quiet'], code: 1, says: /line 1 .*DIFFERS/ },
];

const STRANGE_FILES: Case[] = [
  { name: 'verify: a FIFO', setup: fifo('f.json'), args: ['verify', 'f.json'], code: 2, says: /result f\.json: a FIFO, not a regular file/ },
  { name: 'verify: /dev/zero', args: ['verify', '/dev/zero'], code: 2, says: /result \/dev\/zero: a character device, not a regular file/ },
  { name: 'verify: a directory', args: ['verify', 'mech'], code: 2, says: /result mech: a directory, not a regular file/ },
  { name: 'verify: a missing file', args: ['verify', 'nothing.json'], code: 2, says: /result nothing\.json: cannot read it \(ENOENT\)/ },
  { name: 'run --resume: a FIFO', setup: fifo('ck.fifo'), args: ['run', '--resume', 'ck.fifo'], code: 2, says: /--resume ck\.fifo: a FIFO, not a regular file/ },
  { name: 'run --resume: /dev/zero', args: ['run', '--resume', '/dev/zero'], code: 2, says: /--resume \/dev\/zero: a character device, not a regular file/ },
  { name: 'run --init: a FIFO', setup: fifo('p.fifo'), args: ['run', ...TINY, '--init', 'p.fifo'], code: 2, says: /--init p\.fifo: a FIFO, not a regular file/ },
  { name: 'run --init: /dev/zero', args: ['run', ...TINY, '--init', '/dev/zero'], code: 2, says: /--init \/dev\/zero: a character device/ },
  { name: 'run --resume: a directory', args: ['run', '--resume', 'sw'], code: 2, says: /--resume sw: a directory, not a regular file/ },
  { name: 'run --resume: a sparse 4 GiB file', setup: (d) => { writeFileSync(join(d, 'big.ckpt'), ''); truncateSync(join(d, 'big.ckpt'), 4 * 2 ** 30); }, args: ['run', '--resume', 'big.ckpt'], code: 2, says: /--resume big\.ckpt: 4\.0 GiB, over the 3\.1 GiB that the largest config needs/ },
  { name: 'run --init: a sparse 2 GiB file', setup: (d) => { writeFileSync(join(d, 'big.st'), ''); truncateSync(join(d, 'big.st'), 2 * 2 ** 30); }, args: ['run', ...TINY, '--init', 'big.st'], code: 2, says: /--init big\.st: 2\.0 GiB, over the 1\.1 GiB/ },
  { name: 'run --resume: a bit flipped in the metadata', setup: (d) => { const b = readFileSync(join(d, 'ck.safetensors')); const key = 'evalEvery\\":'; const at = b.indexOf(key); expect(at).toBeGreaterThan(0); b[at + key.length] ^= 1; writeFileSync(join(d, 'bad.ckpt'), b); }, args: ['run', '--resume', 'bad.ckpt'], code: 2, says: /--resume bad\.ckpt: checkpoint: its contents do not match its digest/ },
  { name: 'run --resume: a truncated checkpoint', setup: (d) => { writeFileSync(join(d, 'bad.ckpt'), readFileSync(join(d, 'ck.safetensors')).subarray(0, 500)); }, args: ['run', '--resume', 'bad.ckpt'], code: 2, says: /checkpoint: not a readable checkpoint: safetensors: header length/ },
  { name: 'run --resume: the parameters file', args: ['run', '--resume', 'params.safetensors'], code: 2, says: /--resume params\.safetensors: checkpoint: not a grokwasm checkpoint/ },
  { name: 'run --init: a JSON file', args: ['run', ...TINY, '--init', 'r.json'], code: 2, says: /--init r\.json: safetensors: header length/ },
  { name: 'plot: mechanism.json {}', setup: write('p/mechanism.json', '{}'), args: ['plot', 'p'], code: 2, says: /p\/mechanism\.json: arms: Invalid input/ },
  { name: 'plot: mechanism.json null', setup: write('p/mechanism.json', 'null'), args: ['plot', 'p'], code: 2, says: /p\/mechanism\.json: top level: Invalid input: expected object, received null/ },
  { name: 'plot: mechanism.json []', setup: write('p/mechanism.json', '[]'), args: ['plot', 'p'], code: 2, says: /top level: Invalid input: expected object, received array/ },
  { name: 'plot: an arm without config', setup: (d) => { const m = readJson(d, 'mech/mechanism.json'); delete m.arms.l2.config; write('p/mechanism.json', JSON.stringify(m))(d); }, args: ['plot', 'p'], code: 2, says: /arms\.l2\.config: must be an object/ },
  { name: 'plot: a cells.jsonl line {}', setup: write('p/cells.jsonl', '{}\n'), args: ['plot', 'p'], code: 2, says: /p\/cells\.jsonl: line 1: arm: Invalid input: expected string, received undefined/ },
  { name: 'merge: an input line {}', setup: write('s1/cells.jsonl', '{}\n'), args: ['merge', 's1', '--out', 'm'], code: 2, says: /s1\/cells\.jsonl: line 1: arm/ },
  { name: 'merge: a record without config', setup: (d) => { const c = cellLines(d); delete c[1].config; write('s1/cells.jsonl', c.map((x) => JSON.stringify(x)).join('\n') + '\n')(d); }, args: ['merge', 'sw', 's1', '--out', 'm'], code: 2, says: /s1\/cells\.jsonl: line 2: config: must be an object/ },
  { name: 'sweep resumed over a damaged line', setup: (d) => { writeFileSync(join(d, 'sw/cells.jsonl'), readFileSync(join(d, 'sw/cells.jsonl'), 'utf8') + 'null\n'); }, args: ['sweep', ...SWEEP, '--out', 'sw'], code: 2, says: /sw\/cells\.jsonl: line 3: top level: Invalid input: expected object, received null/ },
  { name: 'sweep resumed over a damaged middle line', setup: (d) => { const t = readFileSync(join(d, 'sw/cells.jsonl'), 'utf8').split('\n'); t[0] = t[0].slice(0, 20); writeFileSync(join(d, 'sw/cells.jsonl'), t.join('\n')); }, args: ['sweep', ...SWEEP, '--out', 'sw'], code: 2, says: /sw\/cells\.jsonl: line 1: not JSON; the file is damaged/ },
];

const OUTPUTS: Case[] = [
  { name: '--out and --checkpoint the same file', args: ['run', ...TINY, '--out', 'x', '--checkpoint', 'x'], code: 2, says: /--out and --checkpoint name the same file x/ },
  { name: '--out and --save the same file', args: ['run', ...TINY, '--out', 'x', '--save', './x'], code: 2, says: /--out and --save name the same file/ },
  { name: '--out the same file through a symbolic link', setup: (d) => execFileSync('ln', ['-s', 'r.json', join(d, 'link.json')]), args: ['run', ...TINY, '--out', 'link.json', '--checkpoint', 'r.json'], code: 2, says: /--out and --checkpoint name the same file r\.json/ },
  { name: '--out an existing directory', args: ['run', ...TINY, '--out', 'mech'], code: 2, says: /--out mech: a directory; only regular files are replaced/ },
  { name: '--save an existing directory', args: ['run', ...TINY, '--save', 'sw'], code: 2, says: /--save sw: a directory/ },
  { name: '--checkpoint a FIFO', setup: fifo('ck.fifo'), args: ['run', ...TINY, '--checkpoint', 'ck.fifo'], code: 2, says: /--checkpoint ck\.fifo: a FIFO; only regular files are replaced/ },
  // A device node of our own (as root), so that a regression could never replace the machine's /dev/null.
  { name: '--out a character device', setup: (d) => execFileSync('mknod', [join(d, 'null'), 'c', '1', '3']), args: ['run', ...TINY, '--out', 'null'], code: 2, says: /--out null: a character device; only regular files are replaced/ },
  { name: '--out under a regular file', args: ['run', ...TINY, '--out', 'r.json/x.json'], code: 2, says: /--out: .*r\.json is a regular file, not a directory|--out: .*r\.json is a directory|cannot create the directory .*r\.json \(E(NOTDIR|EXIST)\)/ },
  { name: '--out over the --init file', args: ['run', ...TINY, '--init', 'params.safetensors', '--out', 'params.safetensors'], code: 2, says: /--init and --out name the same file params\.safetensors; the input would be overwritten/ },
  { name: '--out over the --resume file', args: ['run', '--resume', 'ck.safetensors', '--out', 'ck.safetensors'], code: 2, says: /--resume and --out name the same file ck\.safetensors; the input would be overwritten/ },
  { name: 'mechanism --out a regular file', args: ['mechanism', ...TINY, '--out', 'r.json'], code: 2, says: /--out: .*r\.json is a regular file, not a directory|--out: .*r\.json is .*not a directory/ },
  { name: 'mechanism --out where mechanism.json is a directory', setup: (d) => mkdirSync(join(d, 'm2/mechanism.json'), { recursive: true }), args: ['mechanism', ...TINY, '--out', 'm2'], code: 2, says: /mechanism\.json in --out m2\/mechanism\.json: a directory/ },
  { name: 'sweep --out a regular file', args: ['sweep', ...SWEEP, '--out', 'r.json'], code: 2, says: /--out: .*r\.json is .*not a directory/ },
  { name: 'merge --out a regular file', args: ['merge', 'sw', '--out', 'r.json'], code: 2, says: /--out: .*r\.json is .*not a directory/ },
];

const SWEEPS: Case[] = [
  { name: 'an empty SLURM_ARRAY_TASK_ID', args: ['sweep', ...SWEEP, '--out', 'n'], env: { SLURM_ARRAY_TASK_ID: '', SLURM_ARRAY_TASK_COUNT: '2' }, code: 2, says: /SLURM_ARRAY_TASK_ID must be a non-negative integer \(got ''\)/ },
  { name: 'a blank SLURM_ARRAY_TASK_ID', args: ['sweep', ...SWEEP, '--out', 'n'], env: { SLURM_ARRAY_TASK_ID: '  ', SLURM_ARRAY_TASK_COUNT: '2' }, code: 2, says: /SLURM_ARRAY_TASK_ID must be a non-negative integer \(got ' {2}'\)/ },
  { name: 'an empty JOB_COMPLETION_INDEX', args: ['sweep', ...SWEEP, '--shard-count', '2', '--out', 'n'], env: { JOB_COMPLETION_INDEX: '' }, code: 2, says: /JOB_COMPLETION_INDEX must be a non-negative integer \(got ''\)/ },
  { name: 'a SLURM_ARRAY_TASK_COUNT that is not a number', args: ['sweep', ...SWEEP, '--out', 'n'], env: { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: 'x' }, code: 2, says: /SLURM_ARRAY_TASK_COUNT must be a non-negative integer \(got 'x'\)/ },
  { name: 'SLURM_ARRAY_TASK_ID without a count', args: ['sweep', ...SWEEP, '--out', 'n'], env: { SLURM_ARRAY_TASK_ID: '1' }, code: 2, says: /SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT/ },
  { name: 'a directory locked by a live sweep', setup: (d) => { mkdirSync(join(d, 'sw/.grokwasm.lock')); writeFileSync(join(d, 'sw/.grokwasm.lock/owner.0'), JSON.stringify({ pid: process.pid, host: hostname(), command: 'grokwasm sweep' })); }, args: ['sweep', ...SWEEP, '--out', 'sw'], code: 2, says: /sw is held by "grokwasm sweep" \(pid \d+ on host .+\); wait for it to finish/ },
  { name: '--workers 0', args: ['sweep', ...SWEEP, '--workers', '0', '--out', 'n'], code: 2, says: /--workers must be an integer in \[1, 1024\] \(got '0'\)/ },
  { name: '--workers blank', args: ['sweep', ...SWEEP, '--workers', ' ', '--out', 'n'], code: 2, says: /--workers must be an integer in \[1, 1024\] \(got ' '\)/ },
  { name: 'verify --steps 0', args: ['verify', 'r.json', '--steps', '0'], code: 2, says: /--steps must be an integer in \[1, 10000000\]/ },
];

// Class 1: a key twice, or a prototype key, in any file the tool reads; bytes no tensor covers.
const DUPLICATE_KEYS: Case[] = [
  { name: 'bestValAcc and grokStep placed before the honest keys', setup: editText('r.json', 'f.json', (t) => t.replace('{', '{"bestValAcc": 1, "grokStep": 10,')), args: ['verify', 'f.json'], code: 2, says: /f\.json: line \d+: key "bestValAcc" appears twice at the top level/ },
  { name: 'a second valAcc in a history row', setup: (d) => { compactResult(d); editText('c.json', 'f.json', after('"step":10,', '"valAcc":1,'))(d); }, args: ['verify', 'f.json'], code: 2, says: /f\.json: line 1: key "valAcc" appears twice in history\[1\]/ },
  { name: 'seed 7 then seed 0 in config', setup: (d) => { compactResult(d); editText('c.json', 'f.json', after('"config":{', '"seed":7,'))(d); }, args: ['verify', 'f.json'], code: 2, says: /key "seed" appears twice in config/ },
  { name: 'a key twice, one spelled with an escape', setup: (d) => { compactResult(d); editText('c.json', 'f.json', after('"config":{', '"s\\u0065ed":7,'))(d); }, args: ['verify', 'f.json'], code: 2, says: /key "seed" appears twice in config/ },
  { name: 'a fake checksum before the real one', setup: editText('r.json', 'f.json', (t) => t.replace('{', '{"checksum": "0000000000000000",')), args: ['verify', 'f.json'], code: 2, says: /key "checksum" appears twice at the top level/ },
  { name: 'a forged history before the honest one', setup: editText('r.json', 'f.json', (t) => t.replace('{', '{"history": [],')), args: ['verify', 'f.json'], code: 2, says: /key "history" appears twice at the top level/ },
  { name: 'a __proto__ key in config', setup: (d) => { compactResult(d); editText('c.json', 'f.json', after('"config":{', '"__proto__":{"p":5},'))(d); }, args: ['verify', 'f.json'], code: 2, says: /f\.json: line 1: key "__proto__" in config is not allowed/ },
  { name: 'a constructor key at the top level', setup: editText('r.json', 'f.json', (t) => t.replace('{', '{"constructor": 1,')), args: ['verify', 'f.json'], code: 2, says: /key "constructor" at the top level is not allowed/ },
  { name: 'a key twice in a cells.jsonl line', setup: editText('sw/cells.jsonl', 'f.jsonl', (t) => { const l = t.split('\n'); l[1] = l[1].replace('"config":{', '"config":{"seed":3,'); return l.join('\n'); }), args: ['verify', 'f.jsonl'], code: 2, says: /f\.jsonl: line 2: key "seed" appears twice in config/ },
  { name: 'a key twice in a merge input', setup: (d) => { mkdirSync(join(d, 's1')); editText('sw/cells.jsonl', 's1/cells.jsonl', (t) => t.replace('"arm":"l2"', '"arm":"lrd","arm":"l2"'))(d); }, args: ['merge', 's1', '--out', 'm'], code: 2, says: /s1\/cells\.jsonl: line 1: key "arm" appears twice at the top level/ },
  { name: 'a key twice in a resumed sweep\'s cells.jsonl', setup: editText('sw/cells.jsonl', 'sw/cells.jsonl', (t) => t.replace('"frac":0.5', '"frac":0.6,"frac":0.5')), args: ['sweep', ...SWEEP, '--out', 'sw'], code: 2, says: /sw\/cells\.jsonl: line 1: key "frac" appears twice/ },
  { name: 'an attention arm twice in mechanism.json', setup: editText('mech/mechanism.json', 'f.json', after('"attention":{', '"l2":null,')), args: ['verify', 'f.json'], code: 2, says: /key "l2" appears twice in attention/ },
  { name: 'plot: a key twice in mechanism.json', setup: (d) => { mkdirSync(join(d, 'p')); editText('mech/mechanism.json', 'p/mechanism.json', after('"spectra":{', '"lrd":null,'))(d); }, args: ['plot', 'p'], code: 2, says: /p\/mechanism\.json: line 1: key "lrd" appears twice in spectra/ },
  { name: 'a safetensors tensor named twice', setup: editSafetensors('params.safetensors', 'f.safetensors', (h) => { const m = /"(layers[^"]+)":(\{[^}]*\})/.exec(h)!; return h.replace('{', `{"${m[1]}":${m[2]},`); }), args: ['run', ...TINY, '--init', 'f.safetensors'], code: 2, says: /--init f\.safetensors: safetensors: header: line 1: key "[^"]+" appears twice at the top level/ },
  { name: 'a safetensors tensor named __proto__', setup: editSafetensors('params.safetensors', 'f.safetensors', (h) => h.replace(/^\{"[^"]+":/, '{"__proto__":')), args: ['run', ...TINY, '--init', 'f.safetensors'], code: 2, says: /safetensors: header: line 1: key "__proto__" at the top level is not allowed/ },
  { name: 'bytes after the last tensor', setup: editSafetensors('params.safetensors', 'f.safetensors', (h) => h, { after: 4 }), args: ['run', ...TINY, '--init', 'f.safetensors'], code: 2, says: /safetensors: bytes \d+\.\.\d+ of the data belong to no tensor \(a hole after the last tensor\)/ },
  { name: 'bytes before the first tensor', setup: editSafetensors('params.safetensors', 'f.safetensors', shiftOffsets(8), { before: 8 }), args: ['run', ...TINY, '--init', 'f.safetensors'], code: 2, says: /safetensors: bytes 0\.\.8 of the data belong to no tensor \(a hole before "/ },
  { name: 'a checkpoint with a second __metadata__ before the honest one', setup: editSafetensors('ck.safetensors', 'f.ckpt', (h) => h.replace('{', '{"__metadata__":{"format":"grokwasm-checkpoint-2"},')), args: ['run', '--resume', 'f.ckpt'], code: 2, says: /--resume f\.ckpt: checkpoint: not a readable checkpoint: safetensors: header: line 1: key "__metadata__" appears twice at the top level/ },
  { name: 'a checkpoint with a hole between its tensors', setup: editSafetensors('ck.safetensors', 'f.ckpt', (h) => { let first = true; return h.replace(/"data_offsets":\[(\d+),(\d+)\]/g, (m, a, b) => { if (Number(a) === 0 && first) { first = false; return m; } return `"data_offsets":[${Number(a) + 4},${Number(b) + 4}]`; }); }, { after: 4 }), args: ['run', '--resume', 'f.ckpt'], code: 2, says: /checkpoint: not a readable checkpoint: safetensors: bytes \d+\.\.\d+ of the data belong to no tensor \(a hole before "/ },
];

// Class 2: verify compares every field a file of its format carries, and says what it did not.
const dropFields = (row: Json, fields: string[]) => { for (const f of fields) delete row[f]; };
const MIRROR = ['valAccMirrored', 'valAccUnmirrored'];
const FOURIER = ['frequencyShares', 'restrictedLoss', 'excludedLoss'];
const VERIFY_COVERAGE: Case[] = [
  { name: 'the mirror-pair fields deleted from one row', setup: editResult((r) => dropFields(r.history[2], MIRROR)), args: ['verify', 'f.json'], code: 2, says: /f\.json: history\[2\]: valAccMirrored is missing, but history\[0\] has it; the current format carries it in every row, an older one in none/ },
  { name: 'the Fourier fields deleted from one arm of a mechanism', setup: editMechanism((m) => { for (const row of m.arms.lrd.history) dropFields(row, FOURIER); }), args: ['verify', 'f.json'], code: 2, says: /f\.json: arm lrd: history\[0\]: restrictedLoss is missing, but f\.json: arm l2: history\[0\] has it/ },
  { name: 'the Fourier fields deleted from one cell', setup: editCells((c) => { for (const row of c[1].history) dropFields(row, FOURIER); }), args: ['verify', 'f.jsonl'], code: 2, says: /f\.jsonl: line 2 \(lrd frac 0\.5 rate 0\.01 seed 0\): history\[0\]: restrictedLoss is missing/ },
  { name: 'the Fourier fields deleted from every row: verified, naming them as not compared', setup: editMechanism((m) => { for (const a of ['l2', 'lrd']) for (const row of m.arms[a].history) dropFields(row, FOURIER); }), args: ['verify', 'f.json', '--quiet'], code: 0, says: /^verified: 10 evaluations and the final fields match in 2 runs; NOT compared, absent from every row of this older-format file: restrictedLoss, excludedLoss, frequencyShares$/ },
  { name: 'verify --steps that stops before a forged row', setup: editResult((r) => { r.history[3].trainLoss += 1; }), args: ['verify', 'f.json', '--steps', '25'], code: 3, says: /^partially verified: steps 0-24: 3 evaluations match; steps from 25 on and the final fields were NOT checked$/ },
  { name: 'verify --steps on a sweep', args: ['verify', 'sw/cells.jsonl', '--steps', '1', '--quiet'], code: 3, says: /^partially verified: steps 0-0: 2 evaluations in 2 runs match/ },
  { name: 'the same cell twice in a cells.jsonl', setup: editCells((c) => { c.push(c[0]); }), args: ['verify', 'f.jsonl'], code: 2, says: /f\.jsonl: line 3: the cell l2 frac 0\.5 rate 0\.01 seed 0 again \(first on line 1\); a sweep holds each cell once/ },
  { name: 'cells of two setups in one cells.jsonl', setup: editCells((c) => { c[1].config.p = 13; }), args: ['verify', 'f.jsonl'], code: 2, says: /f\.jsonl: line 2: p 13, but line 1 has p 11; the cells of one sweep share every setting but decay, frac, wd, rate, nsIters, alpha, lambda, muonLr, momentum, luonLambda, loss, seed/ },
];

// Class 3: merge and sweep never overwrite an input and never mix two setups.
const otherSweep = (to: string, edit: (c: Json) => void) => (dir: string) => { const c = cellLines(dir); c.forEach(edit); mkdirSync(join(dir, to), { recursive: true }); writeFileSync(join(dir, to, 'cells.jsonl'), c.map((x) => JSON.stringify(x)).join('\n') + '\n'); };
const NEVER_OVERWRITE: Case[] = [
  { name: 'merge A B --out A', setup: otherSweep('s2', (c) => { c.seed = 1; c.config.seed = 1; }), args: ['merge', 'sw', 's2', '--out', 'sw'], code: 2, says: /--out sw is the input sw; merge reads its inputs only/ },
  { name: 'merge A --out A with a torn line', setup: (d) => { appendFileSync(join(d, 'sw/cells.jsonl'), '{"arm":"lrd","fr'); }, args: ['merge', 'sw', '--out', './sw/'], code: 2, says: /--out \.\/sw\/ is the input sw/ },
  { name: 'merge --out another sweep', setup: (d) => cpSync(join(d, 'sw'), join(d, 'other'), { recursive: true }), args: ['merge', 'sw', '--out', 'other'], code: 2, says: /--out other already holds a sweep \(cells\.jsonl\); merge writes a new directory and never replaces cells/ },
  { name: 'merge --out a symbolic link to an input', setup: (d) => execFileSync('ln', ['-s', 'sw', join(d, 'link')]), args: ['merge', 'sw', '--out', 'link'], code: 2, says: /--out link is the input sw \(through a symbolic link\)/ },
  { name: 'merge --out whose cells.jsonl is a hard link to an input\'s', setup: (d) => { mkdirSync(join(d, 'o')); execFileSync('ln', [join(d, 'sw/cells.jsonl'), join(d, 'o/cells.jsonl')]); }, args: ['merge', 'sw', '--out', 'o'], code: 2, says: /--out o: its cells\.jsonl is the input sw\/cells\.jsonl \(a hard or symbolic link\)/ },
  { name: 'merge of a p=11 and a p=13 sweep', setup: otherSweep('s13', (c) => { c.seed = 1; c.config.seed = 1; c.config.p = 13; }), args: ['merge', 'sw', 's13', '--out', 'm'], code: 2, says: /the inputs are different sweeps: s13\/cells\.jsonl: p 13, but sw\/cells\.jsonl has p 11/ },
  { name: 'sweep --p 13 into a p=11 sweep', args: ['sweep', ...withFlag(SWEEP, '--p', '13'), '--out', 'sw'], code: 2, says: /sw holds another sweep: this sweep: p 13, but sw\/cells\.jsonl line 1 has p 11; .*use another --out/ },
  { name: 'sweep with another --steps into a sweep', args: ['sweep', ...withFlag(withFlag(SWEEP, '--steps', '80'), '--fracs', '0.6'), '--out', 'sw'], code: 2, says: /sw holds another sweep: this sweep: steps 80, but sw\/cells\.jsonl line 1 has steps 40/ },
  { name: 'sweep into a directory whose cells.jsonl links to another sweep\'s', setup: (d) => { mkdirSync(join(d, 'o')); execFileSync('ln', ['-s', '../sw/cells.jsonl', join(d, 'o/cells.jsonl')]); }, args: ['sweep', ...SWEEP, '--out', 'o'], code: 2, says: /o\/cells\.jsonl is a symbolic link; a sweep appends only to a cells\.jsonl of its own/ },
  { name: 'sweep into a directory whose cells.jsonl is a hard link', setup: (d) => { mkdirSync(join(d, 'o')); execFileSync('ln', [join(d, 'sw/cells.jsonl'), join(d, 'o/cells.jsonl')]); }, args: ['sweep', ...withFlag(SWEEP, '--fracs', '0.6'), '--out', 'o'], code: 2, says: /o\/cells\.jsonl has 2 hard links/ },
  { name: 'a lock path that is a regular file', setup: write('sw/.grokwasm.lock', 'mine'), args: ['sweep', ...SWEEP, '--out', 'sw'], code: 2, says: /sw\/\.grokwasm\.lock is not grokwasm's lock directory; move it away if it is yours/ },
];

// Class 5: numbers are decimal, a flag is given once, names cannot split an error line.
const FLAGS: Case[] = [
  ...[['--p', '0x0b'], ['--p', '0b1011'], ['--seed', '0o17'], ['--steps', '0x14'], ['--lr', '0x1p-3'], ['--frac', 'Infinity'], ['--evalEvery', '1e1']].map(([flag, value]): Case => (
    { name: `run ${flag} ${value}`, args: ['run', ...(TINY.includes(flag) ? withFlag(TINY, flag, value) : [...TINY, flag, value])], code: 2, says: new RegExp(`${flag} must be .* \\(got '${value.replace('.', '\\.')}'\\)`) })),
  { name: 'sweep --seeds 0x1,1', args: ['sweep', ...SWEEP.slice(0, -2), '--seeds', '0x1,1', '--out', 'n'], code: 2, says: /--seeds must be a comma-separated list of an integer in \[0, 4294967295\] \(got '0x1'\)/ },
  { name: 'sweep --rates 1e-2,0x1', args: ['sweep', ...TINY, '--fracs', '0.5', '--rates', '1e-2,0x1', '--out', 'n'], code: 2, says: /--rates must be a comma-separated list of .* \(got '0x1'\)/ },
  { name: 'verify --steps 0x14', args: ['verify', 'r.json', '--steps', '0x14'], code: 2, says: /--steps must be an integer in \[1, 10000000\] \(got '0x14'\)/ },
  { name: 'sweep --workers 0b10', args: ['sweep', ...SWEEP, '--workers', '0b10', '--out', 'n'], code: 2, says: /--workers must be an integer in \[1, 1024\] \(got '0b10'\)/ },
  { name: '--p 47 --p 13', args: ['run', ...TINY, '--p', '47', '--p', '13'], code: 2, says: /--p is given twice; give each flag once/ },
  { name: '--out=a --out b', args: ['run', ...TINY, '--out=a.json', '--out', 'b.json'], code: 2, says: /--out is given twice/ },
  { name: 'verify --steps twice', args: ['verify', 'r.json', '--steps', '10', '--steps', '40'], code: 2, says: /--steps is given twice/ },
  { name: '--checkpoint-every without --checkpoint', args: ['run', ...TINY, '--checkpoint-every', '5'], code: 2, says: /--checkpoint-every needs --checkpoint FILE/ },
  { name: '--out a loop of symbolic links', setup: (d) => { execFileSync('ln', ['-s', 'loop2', join(d, 'loop1')]); execFileSync('ln', ['-s', 'loop1', join(d, 'loop2')]); }, args: ['run', ...TINY, '--out', 'loop1'], code: 2, says: /loop1: a loop of symbolic links/ },
  { name: 'a newline in a file name', args: ['verify', 'a\nb.json'], code: 2, says: /result "a\\nb\.json": cannot read it \(ENOENT\)/ },
  { name: 'a newline in a flag value', args: ['run', ...withFlag(TINY, '--p', '1\n2')], code: 2, says: /--p must be an integer in \[2, 2000\] \(got '1\\n2'\)/ },
];

export const CORPUS = { VERIFY_FORGERIES, VERIFY_MISMATCHES, STRANGE_FILES, OUTPUTS, SWEEPS, DUPLICATE_KEYS, VERIFY_COVERAGE, NEVER_OVERWRITE, FLAGS };

describe.each(Object.entries(CORPUS))('hostile corpus: %s', (_, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const dir = mkdtempSync(join(tmpdir(), 'grokwasm-hostile-'));
    try {
      cpSync(base, dir, { recursive: true });
      c.setup?.(dir);
      const before = snapshot(dir);
      const r = cli(c.args, dir, c.env);
      expect(r.error, 'the command hung or could not start').toBeUndefined();
      const output = `${r.stdout}${r.stderr}`;
      expect(output, 'a stack trace').not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
      expect(r.status, output).toBe(c.code);
      if (c.code === 2) {
        expect(r.stderr.split('\n').filter((l) => l), 'one line').toHaveLength(1);
        expect(r.stderr).toMatch(/^grokwasm: /);
        expect(r.stderr).toMatch(c.says);
      } else {
        expect(r.stdout.trim().split('\n').at(-1)).toMatch(c.says);
      }
      expect(snapshot(dir), 'files were changed, added or removed').toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
