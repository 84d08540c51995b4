// grokwasm compare: arm settings x seeds at one setup, on the sweep's machinery (a pool of
// workers, one line per finished run in cells.jsonl, resumable, shardable, merge and verify),
// summarised with intervals (src/study/compare.ts).
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import {
  CELLS_FILE, COMPARE_OUTPUTS, PRESET, PRESETS, compareCells, compareTable, parseArmSettings, parseList, readCells,
  runSweep, settingConfigs, bestPerArm, settingTag, shardCells, summarizeComparison, threadsPerRun, writeCompareOutputs,
  type Backend, type PresetName,
} from '../src/node/index.js';
import { UsageError } from './input.js';
import { addBackendFlag, addConfigFlags, overridesFromFlags, shardFlag, threadsFlag, workersFlag } from './options.js';
import { createProgress } from './progress.js';

export function registerCompare(program: Command): void {
  addBackendFlag(addConfigFlags(program.command('compare')
    .description('arm settings over seeds at one setup: steps to grok (Kaplan-Meier, median with 95% interval), grok share (Wilson 95%), final ranks and norms')
    .addOption(new Option('--preset <name>', 'base setup; run flags override it').choices(PRESETS as string[]).default('quick'))))
    .requiredOption('--arms <list>', 'arm settings, comma-separated, each name[:field=value...] (e.g. l2:wd=0.1,l2:wd=0.5,lrd:rate=0.003,radial:rate=0.02)')
    .option('--seeds <list>', 'seeds, comma-separated', '0,1,2')
    .option('--workers <n>', 'worker threads (default: one per core)')
    .option('--threads <n>', 'threads in all (default: the cores)')
    .option('--shard <i/n>', 'run every n-th run starting at i (default: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)')
    .option('--shard-count <n>', 'number of shards when JOB_COMPLETION_INDEX gives the index')
    .option('--out <dir>', 'output directory (rerun the same command to resume)', 'results/compare')
    .option('--quiet', 'print only the final table')
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (opts: Record<string, unknown>) => {
      const preset = PRESET[opts.preset as PresetName];
      const overrides = overridesFromFlags(opts);
      if (overrides.decay !== undefined) throw new UsageError('--decay: compare runs the arms of --arms; give the arm there');
      if (overrides.seed !== undefined) throw new UsageError('--seed: compare runs the seeds of --seeds');
      const settings = parseArmSettings(String(opts.arms));
      const seeds = parseList('seeds', String(opts.seeds), 'seed');
      const configs = settingConfigs(preset, settings, overrides);
      const shard = shardFlag(opts);
      const all = compareCells(configs, settings, seeds);
      const cells = shardCells(all, shard.index, shard.count);
      const dir = String(opts.out);
      const quiet = Boolean(opts.quiet) || Boolean(opts.json);
      let progress = createProgress(1, '', true);
      let stepsDone = 0;
      const live = new Map<number, number>();
      const show = () => progress.update(stepsDone + [...live.values()].reduce((a, b) => a + b, 0));
      const c = configs[0];
      const title = `${settings.length} arm settings x ${seeds.length} seeds: ${opts.preset} preset (p ${c.p}, fraction ${c.frac}, split ${c.split}, ${c.steps} steps)`;
      const workers = workersFlag(opts, cells.length, cells[0]?.config ?? c);
      const threads = threadsPerRun(threadsFlag(opts), Math.min(workers, cells.length));
      const backendLines = new Set<string>();
      const run = await runSweep(dir, cells, workers, {
        onStart: (todo) => {
          progress = createProgress(Math.max(1, todo.reduce((n, x) => n + x.config.steps, 0)),
            `compare ${shard.count > 1 ? `shard ${shard.index}/${shard.count} ` : ''}(${todo.length} of ${cells.length} runs to go)`, quiet);
        },
        onStep: (i, step) => { live.set(i, step); show(); },
        onRecord: (r) => progress.log(`${settingTag(r.arm)} seed ${r.seed}: best ${r.bestValAcc.toFixed(3)}, ${r.grokStep === null ? 'no grok' : `grok at ${r.grokStep}`}, ${r.steps} steps`),
        onDone: (i, outcome) => { live.delete(i); stepsDone += outcome.result.config.steps; show(); },
        onBackend: (_, line) => { if (!backendLines.has(line)) { backendLines.add(line); process.stderr.write(`backend: ${line}\n`); } },
      }, { backend: opts.backend as Backend, threads, outputs: [CELLS_FILE, ...COMPARE_OUTPUTS], writeOutputs: (records) => writeCompareOutputs(dir, records, title) });
      progress.stop();
      const summaries = summarizeComparison(readCells(dir).records);
      if (opts.json) console.log(JSON.stringify({ ran: run.ran, skipped: run.skipped, shard, summaries: summaries.map(({ curve: _c, ...s }) => s) }));
      else {
        console.log(compareTable(summaries));
        if (summaries.length > new Set(summaries.map((x) => x.arm.split(':')[0])).size) {
          console.log(`best setting per arm (fewest median steps to grok): ${bestPerArm(summaries, readCells(dir).records).map((x) => x.arm).join(',')}`);
        }
        console.log(`compare: ran ${run.ran} runs, skipped ${run.skipped} already in ${join(dir, CELLS_FILE)}; figure ${join(dir, 'compare.png')}, table ${join(dir, 'summary.csv')}`);
      }
    });
}
