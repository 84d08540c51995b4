// grokwasm verify: rerun a result's config and check every evaluation, to the bit.
import type { Command } from 'commander';
import { createTrainer, parseResult, verifyResult } from '../src/index.js';
import { UsageError, integerFlag, readInput } from './input.js';

export function registerVerify(program: Command): void {
  program.command('verify <result>')
    .description("rerun a result's config (all of it, or up to --steps) and check every evaluation's metrics and checksum")
    .option('--steps <n>', 'stop the rerun after this many steps')
    .option('--quiet', 'print only the verdict')
    .action(async (file: string, opts: Record<string, unknown>) => {
      let result;
      try {
        result = parseResult(JSON.parse(new TextDecoder().decode(readInput(file, 'result'))));
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError(`${file}: ${(e as Error).message}`);
      }
      const upTo = opts.steps === undefined ? undefined : integerFlag('steps', opts.steps, 1, 1e7);
      const report = await verifyResult(result, (config) => createTrainer(config), upTo, (row) => {
        if (!opts.quiet) console.log(`step ${String(row.step).padStart(6)}  ${row.differences.length ? `DIFFERS: ${row.differences.join('; ')}` : 'ok'}`);
      });
      if (report.finalChecked && !opts.quiet) {
        console.log(`final  ${report.finalDifferences.length ? `DIFFERS: ${report.finalDifferences.join('; ')}` : `ok (${result.steps} steps, checksum ${result.checksum})`}`);
      }
      const bad = report.rows.filter((r) => r.differences.length).length + (report.finalDifferences.length ? 1 : 0);
      console.log(report.ok ? `verified: ${report.rows.length} evaluations match` : `NOT verified: ${bad} mismatches`);
      process.exitCode = report.ok ? 0 : 1;
    });
}
