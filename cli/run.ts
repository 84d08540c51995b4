// grokwasm run: one training run of one arm, with a line per evaluation and the result as JSON,
// optional safetensors parameters in and out, and checkpoints to stop and resume.
import type { Command } from 'commander';
import {
  FIELDS, createTrainer, resumeTrainer, type Backend, readStateDict, saveStateDict, Trainer, type EvalInfo, type RunResult,
  useNodeBackend, FileError, checkOutputs, writeFileAtomic, explainGroups, optimizerGroups, parameterTable,
} from '../src/node/index.js';
import { addBackendFlag, addConfigFlags, addThreadsFlag, configFromFlags, threadsFlag } from './options.js';
import { UsageError, integerFlag, readInput } from './input.js';
import { createProgress } from './progress.js';

/** One evaluation as a terminal line. */
export function formatEval(r: EvalInfo): string {
  return `step ${String(r.step).padStart(6)}  train acc ${r.trainAcc.toFixed(3)} loss ${r.trainLoss.toFixed(4)}  ` +
    `val acc ${r.valAcc.toFixed(3)} loss ${r.valLoss.toFixed(4)}  QK stable rank ${r.stableRank.toFixed(2)} effective rank ${r.effectiveRank.toFixed(2)}`;
}

/** The closing line of a run. */
export function formatResult(result: RunResult): string {
  const grok = result.grokStep === null ? 'did not reach 0.99' : `reached 0.99 at step ${result.grokStep}`;
  const diverged = result.diverged ? `DIVERGED at step ${result.diverged.step} (${result.diverged.reason}), ` : '';
  return `${diverged}${result.steps} steps in ${(result.wallMs / 1000).toFixed(1)} s, best validation accuracy ${result.bestValAcc.toFixed(4)}, ${grok}, checksum ${result.checksum}`;
}

// Runs a step that reads a user's file, turning its failure into one line naming flag and file.
async function fileStep<T>(flag: string, path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof UsageError || e instanceof FileError) throw e;
    throw new UsageError(`--${flag} ${path}: ${(e as Error).message}`);
  }
}

export function registerRun(program: Command): void {
  addThreadsFlag(addBackendFlag(addConfigFlags(program.command('run').description('train one arm (defaults: the reference LRD arm) and report its evaluations'))),
    'threads the run computes on')
    .option('--out <file>', 'write the run result as JSON to this file')
    .option('--save <file>', 'write the final parameters as a PyTorch state_dict in safetensors')
    .option('--init <file>', 'start from the parameters in this safetensors state_dict')
    .option('--checkpoint <file>', 'write a checkpoint here (atomically) every --checkpoint-every steps')
    .option('--checkpoint-every <n>', 'steps between checkpoints (default: evalEvery)')
    .option('--resume <file>', 'continue the run saved in this checkpoint (its config is used)')
    .option('--quiet', 'print nothing but errors and the final line')
    .option('--json', 'print the run result as JSON on stdout')
    .option('--explain', 'print which parameters get which update (the arm\'s groups) and stop')
    .action(async (opts: Record<string, unknown>) => {
      if (opts.explain) {
        const config = configFromFlags(opts);
        const table = parameterTable({ vocab: config.p + 1, seqLen: 3, dim: config.dim, depth: config.depth, heads: config.heads, mlp: config.mlp });
        console.log(explainGroups(config, optimizerGroups(config, table)).join('\n'));
        return;
      }
      const text = (name: string) => (typeof opts[name] === 'string' ? (opts[name] as string) : undefined);
      const resume = text('resume');
      const named = (flags: string[]) => flags.filter((f) => text(f) !== undefined).map((f) => ({ what: `--${f}`, path: text(f)! }));
      // Every output is checked before training: a clash or an unwritable path found after an hour is an hour lost.
      const outputs = named(['out', 'save', 'checkpoint']);
      if (resume && text('checkpoint') === undefined) outputs.push({ what: '--checkpoint', path: resume }); // rewritten as the run goes
      checkOutputs(outputs, named(['init', 'resume']), [['--resume', '--checkpoint']]);
      // A checkpoint interval with nowhere to write would be ignored: refused instead.
      if (opts.checkpointEvery !== undefined && text('checkpoint') === undefined && !resume) {
        throw new UsageError('--checkpoint-every needs --checkpoint FILE (or --resume, whose file is rewritten)');
      }
      const threads = threadsFlag(opts);
      let trainer: Trainer;
      if (resume) {
        const given = Object.keys(FIELDS).find((f) => opts[f] !== undefined) ?? (opts.init !== undefined ? 'init' : undefined);
        if (given) throw new UsageError(`--resume continues the checkpoint's own run; drop --${given}`);
        trainer = await fileStep('resume', resume, () => resumeTrainer(readInput(resume, 'resume'), threads));
      } else {
        trainer = await createTrainer(configFromFlags(opts), threads);
        const init = text('init');
        if (init) {
          const params = await fileStep('init', init, async () => readStateDict(trainer, readInput(init, 'init')));
          trainer.setParams(params);
        }
      }
      const config = trainer.config;
      const checkpoint = text('checkpoint') ?? resume;
      const checkpointEvery = opts.checkpointEvery === undefined ? config.evalEvery : integerFlag('checkpoint-every', opts.checkpointEvery, 1, 1e7);
      const quiet = Boolean(opts.quiet) || Boolean(opts.json);
      // The backend line goes to stderr, even when quiet: a run that asked for WebGPU says where it ran.
      const backend = await useNodeBackend(trainer, opts.backend as Backend);
      if (backend.line) process.stderr.write(`backend: ${backend.line}\n`);
      if (trainer.threads < threads) process.stderr.write(`${trainer.threadsLine}\n`);
      // The first line says what the arm does to which parameters (run --explain lists every group).
      if (!quiet) process.stderr.write(`${trainer.explain()[0]}\n`);
      const progress = createProgress(config.steps, `${config.decay} p=${config.p} frac=${config.frac}${trainer.threads > 1 ? `, ${trainer.threads} threads` : ''}`, quiet);
      progress.update(trainer.stepCount);
      let result: RunResult;
      try {
        result = await trainer.run((row) => progress.log(formatEval(row)), {
          onStep: (s) => progress.update(s.step + 1, { status: `loss ${s.loss.toFixed(4)}` }),
          checkpointEvery: checkpoint ? checkpointEvery : 0,
          onCheckpoint: (bytes) => writeFileAtomic(checkpoint!, bytes),
        });
      } finally {
        progress.stop();
        backend.release();
        trainer.close();
      }
      if (trainer.threadsLine.includes('ended')) process.stderr.write(`${trainer.threadsLine}\n`);
      if (trainer.gpuFailure) process.stderr.write(`backend: ${trainer.backendLine}\n`);
      const out = text('out'), save = text('save');
      if (out) writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
      if (save) writeFileAtomic(save, saveStateDict(trainer));
      if (checkpoint) writeFileAtomic(checkpoint, trainer.saveCheckpoint());
      if (opts.json) console.log(JSON.stringify(result));
      else console.log(`done: ${formatResult(result)}${out ? `, result in ${out}` : ''}`);
    });
}
