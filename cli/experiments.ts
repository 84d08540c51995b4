// grokwasm mechanism | sweep | merge | plot: the reference's two studies from the command line.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import {
  CLASSIC_SETTINGS, MECHANISM_FILE, mechanismArms, settingTag, settingTitle, parseArmSettings, type ArmSetting, PRESET, PRESETS, historyCsv, mechanismConfigs, mechanismData, mechanismFile, mechanismSpec,
  parseArms, parseList, parseJson, parseMechanism, shardCells, summarize, sweepBase, sweepCells, type Arm, type Backend,
  type MechanismFile, type PhaseCell, type PresetName, type RunConfig, runPool, checkOutputDir, exists, readTextFile,
  writeFileAtomic, CELLS_FILE, settingOfConfig, isComparison, writeCompareOutputs, compareTable, summarizeComparison, armOf, parseArmSetting, mergeSweeps, readCells, runSweep, writeSweepOutputs, renderSvg, svgToPng, seedBandsSpec, threadsPerRun,
} from '../src/node/index.js';
import { UsageError } from './input.js';
import { addBackendFlag, addConfigFlags, overridesFromFlags, shardFlag, threadsFlag, workersFlag } from './options.js';
import { createProgress } from './progress.js';
import { formatResult } from './run.js';

function presetFlag(cmd: Command, fallback: PresetName): Command {
  return cmd.addOption(new Option('--preset <name>', 'base setup; run flags override it').choices(PRESETS as string[]).default(fallback));
}

function existsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const MECHANISM_OUTPUTS = [MECHANISM_FILE, 'history.csv', 'mechanism.svg', 'mechanism.png'];
const SEEDS_OUTPUTS = ['history.csv', 'seeds.svg', 'seeds.png'];

/** "L2 (wd 0.1) versus LRD (rate 0.003)": the arms of a mechanism file with the values they ran. */
function armsTitle(m: MechanismFile): string {
  return mechanismArms(m).map((a) => settingTitle(settingOfConfig(m.arms[a].config))).join(' versus ');
}

function firstConfig(m: MechanismFile): RunConfig {
  return m.arms[mechanismArms(m)[0]].config;
}

/** The seeds figure of a `mechanism --seeds` directory from its seeds' mechanism files. */
async function drawSeeds(dir: string, files: MechanismFile[]): Promise<void> {
  const runs = files.flatMap((f) => mechanismArms(f).map((a) => ({ arm: a, seed: f.arms[a].config.seed, history: f.arms[a].history, spectrum: f.spectra[a] })));
  const c = firstConfig(files[0]);
  await writeFigure(dir, 'seeds', seedBandsSpec(runs, `${armsTitle(files[0])}: p ${c.p}, fraction ${c.frac}; ` +
    `mean and min-max over seeds ${files.map((f) => firstConfig(f).seed).join(', ')}`));
}

async function writeFigure(dir: string, name: string, spec: Parameters<typeof renderSvg>[0]): Promise<void> {
  const svg = await renderSvg(spec);
  writeFileAtomic(join(dir, `${name}.svg`), svg);
  writeFileAtomic(join(dir, `${name}.png`), svgToPng(svg));
}

async function drawMechanism(dir: string, m: MechanismFile): Promise<void> {
  const arms = Object.fromEntries(mechanismArms(m).map((a) => [a, { result: m.arms[a], spectrum: m.spectra[a], attention: m.attention[a], progress: m.progress?.[a] }]));
  const c = firstConfig(m);
  await writeFigure(dir, 'mechanism', mechanismSpec(mechanismData(arms, `${armsTitle(m)}: p ${c.p}, fraction ${c.frac}, seed ${c.seed}`)));
}

/** The phase diagram as a terminal table: best validation accuracy per arm, fraction and rate. */
/** How an arm's strength follows the sweep's rate, for the table's headings. */
function strengthNote(label: string): string {
  const { field, perRate } = armOf(parseArmSetting(label).decay).strength;
  return field === 'rate' ? '' : `, ${field} = ${perRate} x rate`;
}

export function phaseTable(cells: PhaseCell[]): string {
  const lines: string[] = [];
  for (const arm of [...new Set(cells.map((c) => c.arm))].sort()) {
    const mine = cells.filter((c) => c.arm === arm);
    const rates = [...new Set(mine.map((c) => c.rate))].sort((a, b) => a - b);
    const fracs = [...new Set(mine.map((c) => c.frac))].sort((a, b) => a - b);
    lines.push(`${settingTitle(arm)}: best validation accuracy (mean over seeds)${strengthNote(arm)}`);
    lines.push(`  frac \\ rate ${rates.map((r) => `${r.toExponential(0)} `.padStart(8)).join('')}`);
    for (const f of fracs) {
      const row = rates.map((r) => {
        const c = mine.find((x) => x.frac === f && x.rate === r);
        return (c ? `${c.accMean.toFixed(3)}${c.diverged ? '*' : ' '}` : '- ').padStart(8);
      });
      lines.push(`  ${f.toFixed(2).padStart(11)} ${row.join('')}`);
    }
    // Beyond the swap symmetry the model starts with: the pairs whose mirror it never trained on.
    if (mine.some((c) => c.unmirroredMean != null)) {
      lines.push(`${settingTitle(arm)}: final accuracy on pairs whose mirror was not trained (mean over seeds)`);
      for (const f of fracs) {
        const row = rates.map((r) => {
          const u = mine.find((x) => x.frac === f && x.rate === r)?.unmirroredMean;
          return (u == null ? '- ' : `${u.toFixed(3)} `).padStart(8);
        });
        lines.push(`  ${f.toFixed(2).padStart(11)} ${row.join('')}`);
      }
    }
  }
  if (cells.some((c) => c.diverged)) lines.push('  * at least one seed diverged (a loss or weight stopped being finite); its best accuracy is from before');
  return lines.join('\n');
}

export function registerExperiments(program: Command): void {
  addBackendFlag(addConfigFlags(presetFlag(program.command('mechanism'), 'quick')
    .description('the mechanism experiment: arms (default L2 and LRD) on the same split and seed, with figures')))
    .option('--arms <list>', 'arm settings, comma-separated, each name[:field=value...] (e.g. l2:wd=0.5,lrd,radial:rate=0.02)', 'l2,lrd')
    .option('--seeds <list>', 'several seeds, comma-separated: each seed\'s experiment in DIR/seed-S/, and DIR/seeds.png with the mean and min-max over seeds')
    .option('--out <dir>', 'output directory', 'results/mechanism')
    .option('--workers <n>', 'worker threads (the two arms run in parallel)')
    .option('--threads <n>', 'threads in all, shared between the arms running at once (default: the cores)')
    .option('--quiet', 'print only where the results are')
    .option('--json', 'print mechanism.json on stdout (with --seeds, one line per seed)')
    .action(async (opts: Record<string, unknown>) => {
      const preset = PRESET[opts.preset as PresetName];
      const overrides = overridesFromFlags(opts);
      if (overrides.decay !== undefined) throw new UsageError('--decay: mechanism runs the arms of --arms (e.g. --arms l2,lrd:rate=0.003); give the arm there');
      if (opts.seeds !== undefined && opts.seed !== undefined) throw new UsageError('give --seed or --seeds, not both');
      const settings = parseArmSettings(String(opts.arms));
      const seeds = opts.seeds === undefined ? null : parseList('seeds', String(opts.seeds), 'seed');
      const setups = (seeds ?? [overrides.seed]).map((seed) => mechanismConfigs(preset, seed === undefined ? overrides : { ...overrides, seed }, settings));
      const dir = String(opts.out);
      const dirs = seeds ? seeds.map((seed) => join(dir, `seed-${seed}`)) : [dir];
      if (seeds) checkOutputDir('--out', dir, SEEDS_OUTPUTS);
      for (const d of dirs) checkOutputDir('--out', d, MECHANISM_OUTPUTS);
      const configs = setups.flat();
      const A = settings.length;
      const label = (i: number) => `${seeds ? `seed ${configs[i].seed} ` : ''}${settingTag(settings[i % A])}`;
      const workers = workersFlag(opts, configs.length, configs[0]);
      const threads = threadsPerRun(threadsFlag(opts), Math.min(workers, configs.length));
      const quiet = Boolean(opts.quiet) || Boolean(opts.json);
      const progress = createProgress(configs.reduce((n, c) => n + c.steps, 0), `mechanism (${opts.preset}${seeds ? `, ${seeds.length} seeds` : ''})`, quiet);
      const done = configs.map(() => 0);
      const show = () => progress.update(done.reduce((a, b) => a + b, 0));
      const outcomes = await runPool(configs, workers, {
        onStep: (i, step) => { done[i] = step; show(); },
        onEval: (i, row) => progress.log(`${label(i).padEnd(seeds ? 10 : 3)} step ${String(row.step).padStart(5)}  val acc ${row.valAcc.toFixed(3)}  train acc ${row.trainAcc.toFixed(3)}  QK stable rank ${row.stableRank.toFixed(2)}`),
        onDone: (i, o) => { done[i] = configs[i].steps; show(); progress.log(`${label(i)} done: ${formatResult(o.result)}`); },
        onBackend: (i, line) => process.stderr.write(`${label(i)} backend: ${line}\n`),
      }, { analysis: true, backend: opts.backend as Backend, threads });
      progress.stop();
      const analysed = (i: number) => ({ result: outcomes[i].result, spectrum: outcomes[i].spectrum ?? null, attention: outcomes[i].attention ?? null, progress: outcomes[i].progress ?? null });
      const files = setups.map((_, s) => mechanismFile(settings.map((setting, a) => ({ label: setting.label, ...analysed(s * A + a) }))));
      for (const [s, file] of files.entries()) {
        writeFileAtomic(join(dirs[s], MECHANISM_FILE), JSON.stringify(file));
        writeFileAtomic(join(dirs[s], 'history.csv'), historyCsv(mechanismArms(file).map((a) => ({ label: { arm: a }, history: file.arms[a].history }))));
        await drawMechanism(dirs[s], file);
        if (opts.json) console.log(JSON.stringify(file));
        else console.log(`mechanism${seeds ? ` seed ${firstConfig(file).seed}` : ''}: ${mechanismArms(file).map((a) => `${settingTag(a)} best ${file.arms[a].bestValAcc.toFixed(4)}` +
          ` (grok step ${file.arms[a].grokStep ?? 'none'})`).join(', ')}; figure in ${join(dirs[s], 'mechanism.png')} and .svg, data in ${join(dirs[s], MECHANISM_FILE)}, ${join(dirs[s], 'history.csv')}`);
      }
      if (seeds) {
        await drawSeeds(dir, files);
        writeFileAtomic(join(dir, 'history.csv'), historyCsv(files.flatMap((f) => mechanismArms(f).map((a) => ({ label: { seed: f.arms[a].config.seed, arm: a }, history: f.arms[a].history })))));
        if (!opts.json) console.log(`mechanism: ${seeds.length} seeds; mean and min-max bands in ${join(dir, 'seeds.png')} and .svg, every run in ${join(dir, 'history.csv')}`);
      }
    });

  addBackendFlag(addConfigFlags(presetFlag(program.command('sweep'), 'reference')
    .description('the phase diagram: arms over training fractions and rates (the arms tuned by weight decay use wd = 10 x rate)')))
    .option('--fracs <list>', 'training fractions, comma-separated (default: the preset grid)')
    .option('--rates <list>', 'decay rates, comma-separated (default: the preset grid)')
    .option('--arms <list>', 'arm settings, comma-separated, each name[:field=value...]; the rates set each arm\'s strength', 'l2,lrd')
    .option('--seeds <list>', 'seeds, comma-separated', '0')
    .option('--workers <n>', 'worker threads (default: one per core)')
    .option('--threads <n>', 'threads in all: one per cell, or shared by the cells when there are fewer cells than --threads (default: the cores)')
    .option('--shard <i/n>', 'run every n-th cell starting at i (default: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)')
    .option('--shard-count <n>', 'number of shards when JOB_COMPLETION_INDEX gives the index')
    .option('--out <dir>', 'output directory (rerun the same command to resume)', 'results/sweep')
    .option('--quiet', 'print only the final table')
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (opts: Record<string, unknown>) => {
      const preset = PRESET[opts.preset as PresetName];
      const overrides = overridesFromFlags(opts);
      if (overrides.decay !== undefined) throw new UsageError('--decay: a sweep runs the arms of --arms (e.g. --arms l2,lrd); give the arm there');
      const base = sweepBase(preset, overrides);
      const grid = {
        arms: parseArms(String(opts.arms)),
        fracs: opts.fracs === undefined ? preset.sweep.fracs : parseList('fracs', String(opts.fracs), 'frac'),
        rates: opts.rates === undefined ? preset.sweep.rates : parseList('rates', String(opts.rates), 'rate'),
        seeds: parseList('seeds', String(opts.seeds), 'seed'),
      };
      const shard = shardFlag(opts);
      const all = sweepCells(base, grid);
      const cells = shardCells(all, shard.index, shard.count);
      const dir = String(opts.out);
      const quiet = Boolean(opts.quiet) || Boolean(opts.json);
      let progress = createProgress(1, '', true);
      // Progress counts step budgets: a cell that stops early on grokking completes its share.
      let stepsDone = 0;
      const live = new Map<number, number>();
      const backendLines = new Set<string>();
      const show = () => progress.update(stepsDone + [...live.values()].reduce((a, b) => a + b, 0));
      const title = `Phase diagram (${opts.preset} preset, ${grid.seeds.length} seed${grid.seeds.length > 1 ? 's' : ''})`;
      const workers = workersFlag(opts, cells.length, cells[0]?.config ?? base);
      const threads = threadsPerRun(threadsFlag(opts), Math.min(workers, cells.length));
      const run = await runSweep(dir, cells, workers, {
        onStart: (todo) => {
          const label = `sweep ${shard.count > 1 ? `shard ${shard.index}/${shard.count} ` : ''}(${todo.length} of ${cells.length} cells to run)`;
          progress = createProgress(Math.max(1, todo.reduce((n, c) => n + c.config.steps, 0)), label, quiet);
        },
        onStep: (i, step) => { live.set(i, step); show(); },
        onRecord: (r) => {
          progress.log(`${settingTag(r.arm)} frac ${r.frac} rate ${r.rate} seed ${r.seed}: best ${r.bestValAcc.toFixed(3)}, ${r.grokStep === null ? 'no grok' : `grok at ${r.grokStep}`}, ${r.steps} steps`);
        },
        onDone: (i, outcome) => { live.delete(i); stepsDone += outcome.result.config.steps; show(); },
        // Every cell asks for its own device; say each different answer once.
        onBackend: (_, line) => { if (!backendLines.has(line)) { backendLines.add(line); process.stderr.write(`backend: ${line}\n`); } },
      }, { backend: opts.backend as Backend, threads, writeOutputs: (records) => writeSweepOutputs(dir, records, title) });
      progress.stop();
      const summary = summarize(readCells(dir).records);
      if (opts.json) console.log(JSON.stringify({ ran: run.ran, skipped: run.skipped, shard, summary }));
      else {
        console.log(phaseTable(summary));
        console.log(`sweep: ran ${run.ran} cells, skipped ${run.skipped} already in ${join(dir, CELLS_FILE)}` +
          `${run.repaired ? ' (a torn last line, cut off by a kill, was dropped)' : ''}; figure ${join(dir, 'phase.png')}, table ${join(dir, 'summary.csv')}`);
      }
    });

  program.command('merge <dirs...>')
    .description('combine the cells.jsonl of sweep shards into one sweep directory, with its table and figures')
    .requiredOption('--out <dir>', 'output directory')
    .action(async (dirs: string[], opts: Record<string, unknown>) => {
      const out = String(opts.out);
      const { records, notes } = await mergeSweeps(dirs, out, (r) => (isComparison(r) ? writeCompareOutputs(out, r, 'Comparison (merged)') : writeSweepOutputs(out, r, 'Phase diagram (merged)')));
      for (const note of notes) process.stderr.write(`grokwasm: ${note}\n`);
      console.log(isComparison(records) ? compareTable(summarizeComparison(records)) : phaseTable(summarize(records)));
      console.log(`merge: ${records.length} cells from ${dirs.length} directories into ${join(String(opts.out), CELLS_FILE)}`);
    });

  program.command('plot <dir>')
    .description('redraw the figures of a mechanism or sweep directory from its results')
    .action(async (dir: string) => {
      let drew = 0;
      const mechanism = join(dir, MECHANISM_FILE);
      if (exists(mechanism)) {
        await drawMechanism(dir, parseMechanism(parseJson(readTextFile(mechanism, 'mechanism'), mechanism), mechanism));
        console.log(`plot: ${join(dir, 'mechanism.svg')}, ${join(dir, 'mechanism.png')}`);
        drew++;
      }
      if (exists(join(dir, CELLS_FILE))) {
        const { records, torn } = readCells(dir);
        if (torn) process.stderr.write(`grokwasm: ${join(dir, CELLS_FILE)}: its torn last line (a cell cut off by a kill) is left out\n`);
        const kind = isComparison(records) ? 'compare' : 'phase';
        await (kind === 'compare' ? writeCompareOutputs(dir, records, 'Comparison') : writeSweepOutputs(dir, records, 'Phase diagram'));
        console.log(`plot: ${join(dir, `${kind}.svg`)}, ${join(dir, `${kind}.png`)}, ${join(dir, 'summary.csv')}`);
        drew++;
      }
      const seedDirs = existsDir(dir) ? readdirSync(dir).filter((d) => /^seed-\d+$/.test(d) && exists(join(dir, d, MECHANISM_FILE))).sort() : [];
      if (seedDirs.length) {
        const files = seedDirs.map((d) => {
          const path = join(dir, d, MECHANISM_FILE);
          return parseMechanism(parseJson(readTextFile(path, 'mechanism'), path), path);
        });
        await drawSeeds(dir, files);
        console.log(`plot: ${join(dir, 'seeds.svg')}, ${join(dir, 'seeds.png')} from ${seedDirs.length} seeds`);
        drew++;
      }
      if (!drew) throw new UsageError(`${dir} has neither ${MECHANISM_FILE}, ${CELLS_FILE} nor seed-*/${MECHANISM_FILE}`);
    });
}
