// grokwasm verify: rerun results and check every field the rerun determines, to the bit. Takes a
// `run` result, a mechanism.json (both arms, spectra and attention) or a sweep's cells.jsonl
// (every cell). Files that contradict themselves are refused before anything reruns.
import type { Command } from 'commander';
import {
  IGNORED_NOTE, VERIFY_EXIT, createTrainer, formatVerifyRow, planVerify, verifyResult, verifyTargets, verifyVerdict, readTextFile,
} from '../src/node/index.js';
import { integerFlag } from './input.js';
import { threadsFlag } from './options.js';
import { createProgress } from './progress.js';

/** verify's exit codes (src/train/verify.ts); 2 (refused before any rerun) is every command's. */
const EXIT = VERIFY_EXIT;
const formatRow = formatVerifyRow;

export function registerVerify(program: Command): void {
  program.command('verify <result>')
    .description("rerun a result's config and compare every field the rerun determines (each evaluation, steps, checksum, " +
      'bestValAcc, grokStep, divergence, a mechanism file\'s spectra and attention); RESULT is a run result, a mechanism.json or a cells.jsonl')
    .option('--steps <n>', 'check only steps 0..n-1 of each run (n updates; a partial check, which says so and exits 3)')
    .option('--all', 'go on after a mismatch and list every one (default: stop at the first)')
    .option('--threads <n>', 'threads each rerun computes on (default: the cores; any count gives the same bits)')
    .option('--quiet', 'print only the verdict')
    .action(async (file: string, opts: Record<string, unknown>) => {
      const upTo = opts.steps === undefined ? undefined : integerFlag('steps', opts.steps, 1, 1e7);
      const threads = threadsFlag(opts);
      const targets = verifyTargets(readTextFile(file, 'result'), file);
      // Every run is checked for consistency before the first rerun starts.
      const plans = targets.map((t) => planVerify(t.result, t.label, upTo));
      const total = plans.reduce((n, p) => n + p.steps, 0);
      const quiet = Boolean(opts.quiet);
      const runs = targets.length > 1 ? ` in ${targets.length} runs` : '';
      const full = targets.reduce((n, t) => n + t.result.steps, 0);
      const partial = !plans.every((p) => p.full);
      // --steps n reruns n updates; the evaluation labelled step s follows update s + 1, so the
      // rows checked are those labelled 0 .. n-1, the unit every line below speaks in.
      const span = partial ? `partially verified: steps 0-${upTo! - 1}` : '';
      if (partial) console.log(`verify: a PARTIAL check of steps 0-${upTo! - 1}, rerunning ${total} steps${runs} (a full check would rerun ${full}); ` +
        `a pass prints "${span}" and exits ${EXIT.partial}`);
      else if (!quiet) console.log(`verify: rerunning ${total} steps${runs} (a full check)`);
      const progress = createProgress(total, 'verify', quiet);
      let before = 0, evaluations = 0, bad = 0, cutShort = false;
      let first = '';
      const notChecked: string[] = [];
      for (const [i, target] of targets.entries()) {
        const prefix = targets.length > 1 ? `${target.label}: ` : '';
        if (target.result.backend === 'webgpu') {
          progress.log(`${prefix}note: trained with the WebGPU matmul, which is tolerance-equal to Wasm, not bit-equal; ` +
            'this Wasm rerun may differ in the last bits even though nothing is wrong (docs/webgpu.md)');
        }
        const report = await verifyResult(target, (config) => createTrainer(config, threads), {
          upTo, all: Boolean(opts.all),
          onRow: (row) => {
            if (row.differences.length && !first) first = `${prefix}${formatRow(row)}`;
            if (!quiet) progress.log(`${prefix}${formatRow(row)}`);
          },
          onStep: (done) => progress.update(before + done),
        });
        before += plans[i].steps;
        evaluations += report.rows.filter((r) => r.step !== 'final').length;
        bad += report.rows.filter((r) => r.differences.length).length;
        if (report.notChecked.length) notChecked.push(`${prefix}${report.notChecked.join(', ')}`);
        if (report.cutShort) { cutShort = true; break; }
      }
      progress.stop();
      if (!quiet) console.log(IGNORED_NOTE);
      // A file of an older format lacks some row fields in every row: say which went unchecked.
      const absent = targets[0].absent ?? [];
      if (!quiet && absent.length) console.log(`not compared: ${absent.join(', ')} (the file was written before these fields existed)`);
      if (notChecked.length && !quiet) console.log(`partial check: NOT checked: ${notChecked.join('; ')}`);
      const verdict = verifyVerdict({ targets: targets.length, upTo, partial, evaluations, bad, cutShort, first, absent });
      console.log(verdict.line);
      process.exitCode = verdict.exit;
    });
}
