// grokwasm verify: rerun results and check every evaluation, to the bit. Takes a `run` result,
// a mechanism.json (both arms) or a sweep's cells.jsonl (every cell).
import type { Command } from 'commander';
import { createTrainer, parseResult, verifyResult, type RunResult } from '../src/index.js';
import { UsageError, integerFlag, readInput } from './input.js';

/** The run results a file holds, labelled. */
function resultsIn(file: string, text: string): [string, RunResult][] {
  try {
    if (file.endsWith('.jsonl')) {
      return text.split('\n').filter((l) => l.trim()).map((line, i) => {
        const r = JSON.parse(line);
        return [`line ${i + 1} (${r.arm} frac ${r.frac} rate ${r.rate} seed ${r.seed})`, parseResult(r)];
      });
    }
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && 'arms' in value) {
      return Object.entries(value.arms as Record<string, unknown>).map(([arm, r]) => [`arm ${arm}`, parseResult(r)]);
    }
    return [['result', parseResult(value)]];
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
}

export function registerVerify(program: Command): void {
  program.command('verify <result>')
    .description("rerun a result's config (all of it, or up to --steps) and check every evaluation's metrics and checksum; " +
      'RESULT is a run result, a mechanism.json or a cells.jsonl')
    .option('--steps <n>', 'stop each rerun after this many steps')
    .option('--quiet', 'print only the verdict')
    .action(async (file: string, opts: Record<string, unknown>) => {
      const results = resultsIn(file, new TextDecoder().decode(readInput(file, 'result')));
      const upTo = opts.steps === undefined ? undefined : integerFlag('steps', opts.steps, 1, 1e7);
      let rows = 0, bad = 0;
      for (const [label, result] of results) {
        const prefix = results.length > 1 ? `${label}: ` : '';
        if (result.backend === 'webgpu') {
          console.log(`${prefix}note: trained with the WebGPU matmul, which is tolerance-equal to Wasm, not bit-equal; ` +
            'this Wasm rerun may differ in the last bits even though nothing is wrong (docs/webgpu.md)');
        }
        const report = await verifyResult(result, (config) => createTrainer(config), upTo, (row) => {
          if (!opts.quiet) console.log(`${prefix}step ${String(row.step).padStart(6)}  ${row.differences.length ? `DIFFERS: ${row.differences.join('; ')}` : 'ok'}`);
        });
        if (report.finalChecked && !opts.quiet) {
          console.log(`${prefix}final  ${report.finalDifferences.length ? `DIFFERS: ${report.finalDifferences.join('; ')}` : `ok (${result.steps} steps, checksum ${result.checksum})`}`);
        }
        rows += report.rows.length;
        bad += report.rows.filter((r) => r.differences.length).length + (report.finalDifferences.length ? 1 : 0);
      }
      const what = results.length > 1 ? ` in ${results.length} runs` : '';
      console.log(bad === 0 ? `verified: ${rows} evaluations match${what}` : `NOT verified: ${bad} mismatches${what}`);
      process.exitCode = bad === 0 ? 0 : 1;
    });
}
