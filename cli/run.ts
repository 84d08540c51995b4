// grokwasm run: one training run of one arm, with a line per evaluation and the result as JSON.
import type { Command } from 'commander';
import { createTrainer, type EvalInfo } from '../src/index.js';
import { addConfigFlags, configFromFlags } from './options.js';
import { writeFileAtomic } from './output.js';
import { createProgress } from './progress.js';

/** One evaluation as a terminal line. */
export function formatEval(r: EvalInfo): string {
  return `step ${String(r.step).padStart(6)}  train acc ${r.trainAcc.toFixed(3)} loss ${r.trainLoss.toFixed(4)}  ` +
    `val acc ${r.valAcc.toFixed(3)} loss ${r.valLoss.toFixed(4)}  QK stable rank ${r.stableRank.toFixed(2)} effective rank ${r.effectiveRank.toFixed(2)}`;
}

export function registerRun(program: Command): void {
  addConfigFlags(program.command('run').description('train one arm (defaults: the reference LRD arm) and report its evaluations'))
    .option('--out <file>', 'write the run result as JSON to this file')
    .option('--quiet', 'print nothing but errors and the final line')
    .option('--json', 'print the run result as JSON on stdout')
    .action(async (opts: Record<string, unknown>) => {
      const config = configFromFlags(opts);
      const quiet = Boolean(opts.quiet) || Boolean(opts.json);
      const trainer = await createTrainer(config);
      const progress = createProgress(config.steps, `${config.decay} p=${config.p} frac=${config.frac}`, quiet);
      const result = await trainer.run((row) => progress.log(formatEval(row)), {
        onStep: (s) => progress.update(s.step + 1, { status: `loss ${s.loss.toFixed(4)}` }),
      });
      progress.stop();
      if (typeof opts.out === 'string') writeFileAtomic(opts.out, `${JSON.stringify(result, null, 2)}\n`);
      if (opts.json) {
        console.log(JSON.stringify(result));
      } else {
        const grok = result.grokStep === null ? 'did not reach 0.99' : `reached 0.99 at step ${result.grokStep}`;
        console.log(`done: ${result.steps} steps in ${(result.wallMs / 1000).toFixed(1)} s, best validation accuracy ${result.bestValAcc.toFixed(4)}, ${grok}, checksum ${result.checksum}` +
          (typeof opts.out === 'string' ? `, result in ${opts.out}` : ''));
      }
    });
}
