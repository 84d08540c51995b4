// Seed checks: rerun a result's config and compare every field the rerun determines. A
// deterministic trainer reproduces each to the bit, so any difference is real. What a file
// claims is checked for consistency first (format/run_result.ts), so that no rerun starts on a
// result that contradicts itself, and a partial rerun still checks everything its steps decide.
import { cellKey, parseCells } from '../format/cells.js';
import { ATTENTION_HEAD, SPECTRUM_PARAMETER, mechanismArms, parseMechanism, type ArmAnalysis } from '../format/mechanism.js';
import { FormatError, parseJson, quote } from '../format/problem.js';
import { EVAL_FIELDS, LATER_EVAL_FIELDS, MACHINE_FIELDS, parseRunResult, resultProblem, summarizeHistory } from '../format/run_result.js';
import type { RunConfig } from './config.js';
import type { EvalInfo, RunResult, Trainer } from './trainer.js';



/** One run to check: a result, and for a mechanism arm the spectrum and attention it claims. */
export interface VerifyTarget {
  label: string;
  result: RunResult;
  analysis?: ArmAnalysis;
  /**
   * History-row fields of LATER_EVAL_FIELDS that this file lacks in every row: it was written
   * before they existed, and verify cannot compare them. Empty for a file of the current format.
   */
  absent?: string[];
}

export interface VerifyRow {
  /** The step of the evaluation, or 'final' for the fields of the whole run. */
  step: number | 'final';
  /** Fields that differ, each as `name claimed -> rerun`; empty when the row matches. */
  differences: string[];
}

export interface VerifyPlan {
  /** Steps the rerun takes at most. */
  steps: number;
  /** Whether the rerun reaches the result's end, so that every field is compared. */
  full: boolean;
}

export interface VerifyReport {
  ok: boolean;
  rows: VerifyRow[];
  plan: VerifyPlan;
  /** Whether the check ended at its first mismatch, leaving the rest unchecked. */
  cutShort: boolean;
  /** What a partial check left unchecked, in words; empty for a full check. */
  notChecked: string[];
}

/**
 * How far a check of `result` reruns: to its end, or to `upTo` steps. Throws a FormatError,
 * naming the field, when the result contradicts itself.
 */
export function planVerify(result: RunResult, where: string, upTo?: number): VerifyPlan {
  const partial = upTo !== undefined && upTo < result.steps;
  const problem = resultProblem(result, upTo !== undefined && upTo <= result.steps);
  if (problem) throw new FormatError(`${where}: ${problem}`);
  if (partial) return { steps: upTo, full: false };
  // One step past a claimed early stop: a rerun that does not stop there shows it.
  const ended = result.diverged !== undefined || result.steps === result.config.steps;
  return { steps: ended ? result.steps : result.steps + 1, full: true };
}

/** Fields a rerun cannot determine, said once in every report. */
export const IGNORED_NOTE = `not compared: ${MACHINE_FIELDS.join(' and ')} (they describe the machine that ran, not the result)`;

function compareRow(claimed: EvalInfo | undefined, rerun: EvalInfo | undefined): string[] {
  if (!claimed) return [`the rerun evaluated step ${rerun!.step}, which the result does not have`];
  if (!rerun) return [`the result has an evaluation at step ${claimed.step}, which the rerun did not make`];
  return EVAL_FIELDS.filter((f) => !(LATER_EVAL_FIELDS.includes(f) && claimed[f] === undefined))
    .filter((f) => JSON.stringify(claimed[f]) !== JSON.stringify(rerun[f]))
    .map((f) => (Array.isArray(claimed[f]) || Array.isArray(rerun[f]) ? `${f} differs` : `${f} ${claimed[f]} -> ${rerun[f]}`));
}

function compareArrays(name: string, claimed: number[] | null, rerun: number[] | null): string[] {
  if (claimed === null || rerun === null) return claimed === rerun ? [] : [`${name} ${claimed === null ? 'null' : 'values'} -> ${rerun === null ? 'null (the run diverged)' : 'values'}`];
  if (claimed.length !== rerun.length) return [`${name} has ${claimed.length} values -> ${rerun.length}`];
  const i = claimed.findIndex((v, j) => v !== rerun[j]);
  return i < 0 ? [] : [`${name}[${i}] ${claimed[i]} -> ${rerun[i]}`];
}

/** The whole-run fields of a full check: steps, checksum, summaries, divergence, analysis. */
function compareFinal(target: VerifyTarget, rerun: RunResult, trainer: Trainer): string[] {
  const claimed = target.result;
  const out: string[] = [];
  const same = (name: string, a: unknown, b: unknown) => { if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${name} ${JSON.stringify(a)} -> ${JSON.stringify(b)}`); };
  same('steps', claimed.steps, rerun.steps);
  same('checksum', claimed.checksum, rerun.checksum);
  same('bestValAcc', claimed.bestValAcc, rerun.bestValAcc);
  same('grokStep', claimed.grokStep, rerun.grokStep);
  same('diverged', claimed.diverged ?? null, rerun.diverged ?? null);
  if (target.analysis) {
    const fresh = analyse(trainer);
    out.push(...compareArrays('spectrum', target.analysis.spectrum, fresh.spectrum));
    out.push(...compareArrays('attention', target.analysis.attention?.flat() ?? null, fresh.attention?.flat() ?? null));
    // A file written before the key-frequency measures lacks them: said as not compared.
    if (target.analysis.progress !== undefined) {
      const claimedP = target.analysis.progress, freshP = fresh.progress ?? null;
      out.push(...compareArrays('progress.frequencies', claimedP?.frequencies ?? null, freshP?.frequencies ?? null));
      out.push(...compareArrays('progress.restrictedLoss', claimedP?.restrictedLoss ?? null, freshP?.restrictedLoss ?? null));
      out.push(...compareArrays('progress.excludedLoss', claimedP?.excludedLoss ?? null, freshP?.excludedLoss ?? null));
    }
  }
  return out;
}

/**
 * The spectrum, attention and key-frequency progress measures a mechanism arm reports (the
 * last needs trainer.keepSnapshots() before the run); nulls for a run that diverged.
 */
export function analyse(trainer: Trainer): ArmAnalysis {
  if (trainer.divergence) return { spectrum: null, attention: null, progress: null };
  return { spectrum: Array.from(trainer.spectrum(SPECTRUM_PARAMETER)), attention: trainer.attentionPattern(ATTENTION_HEAD), progress: trainer.keyFrequencyProgress() };
}

export interface VerifyOptions {
  /** Check only the first upTo steps. */
  upTo?: number;
  /** Go on after a mismatch (default: stop at the first). */
  all?: boolean;
  onRow?: (row: VerifyRow) => void;
  onStep?: (stepsDone: number) => void;
  /** A pause: awaited between steps (RunOptions.hold). */
  hold?: () => Promise<void> | undefined;
}

/** Reruns target.result.config and compares every field the rerun determines. */
export async function verifyResult(target: VerifyTarget, createTrainer: (config: RunConfig) => Promise<Trainer>,
  options: VerifyOptions = {}): Promise<VerifyReport> {
  const claimed = target.result;
  const plan = planVerify(claimed, target.label, options.upTo);
  const expected = claimed.history.filter((r) => plan.full || r.step < plan.steps);
  const rows: VerifyRow[] = [];
  const abort = new AbortController();
  const report = (row: VerifyRow) => {
    rows.push(row);
    options.onRow?.(row);
    if (row.differences.length && !options.all) abort.abort();
  };
  const trainer = await createTrainer(claimed.config);
  if (target.analysis?.progress !== undefined) trainer.keepSnapshots();
  let seen = 0;
  const rerun = await trainer.run((actual) => {
    report({ step: actual.step, differences: compareRow(expected[seen++], actual) });
  }, { stopAt: plan.steps, signal: abort.signal, hold: options.hold, onStep: (s) => options.onStep?.(s.step + 1) })
    .finally(() => trainer.close());
  const cutShort = abort.signal.aborted;
  if (!cutShort) {
    for (; seen < expected.length; seen++) report({ step: expected[seen].step, differences: compareRow(expected[seen], undefined) });
  }
  if (!abort.signal.aborted) {
    if (plan.full) {
      report({ step: 'final', differences: compareFinal(target, rerun, trainer) });
    } else {
      // A partial rerun decides whether the run diverged or first reached 0.99 before its end.
      const differences: string[] = [];
      const grokBefore = (g: number | null) => (g !== null && g < plan.steps ? g : null);
      const rerunGrok = summarizeHistory(rerun.history).grokStep;
      if (grokBefore(claimed.grokStep) !== grokBefore(rerunGrok)) differences.push(`grokStep ${claimed.grokStep} -> ${rerunGrok ?? 'none'} within the first ${plan.steps} steps`);
      if (rerun.diverged) differences.push(`diverged ${JSON.stringify(claimed.diverged ?? null)} -> ${JSON.stringify(rerun.diverged)}`);
      report({ step: 'final', differences });
    }
  }
  const notChecked = plan.full ? [] : [
    `${claimed.history.length - expected.length} evaluations after step ${plan.steps - 1}`,
    'steps', 'checksum', 'bestValAcc', `grokStep and diverged after step ${plan.steps - 1}`,
    ...(target.analysis ? ['spectrum', 'attention', ...(target.analysis.progress !== undefined ? ['progress'] : [])] : []),
  ];
  return { ok: !cutShort && rows.every((r) => r.differences.length === 0), rows, plan, cutShort, notChecked };
}

/**
 * The runs a file holds: a run result, a mechanism.json (both arms, with their analysis) or a
 * cells.jsonl (every cell). Throws a FormatError naming the file, line and field.
 */
export function verifyTargets(text: string, file: string): VerifyTarget[] {
  return withFormatVersion(readTargets(text, file));
}

function readTargets(text: string, name: string): Omit<VerifyTarget, 'absent'>[] {
  const file = quote(name);
  if (name.endsWith('.jsonl')) {
    const { records, torn } = parseCells(text, file);
    if (torn) throw new FormatError(`${file}: line ${records.length + 1}: torn (a cell cut off when its sweep was killed); rerun that sweep to finish it`);
    if (records.length === 0) throw new FormatError(`${file}: no cells to verify`);
    const lineOf = new Map<string, number>();
    return records.map((r, i) => {
      const { arm, frac, rate, seed, ...result } = r;
      const first = lineOf.get(cellKey(r));
      // Two lines of one cell would let a forged copy ride beside an honest one.
      if (first !== undefined) throw new FormatError(`${file}: line ${i + 1}: the cell ${arm} frac ${frac} rate ${rate} seed ${seed} again (first on line ${first}); a sweep holds each cell once`);
      lineOf.set(cellKey(r), i + 1);
      return { label: `${file}: line ${i + 1} (${arm} frac ${frac} rate ${rate} seed ${seed})`, result };
    });
  }
  const value = parseJson(text, file);
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'arms' in value) {
    const m = parseMechanism(value, file);
    return mechanismArms(m).map((arm) => ({
      label: `${file}: arm ${arm}`, result: m.arms[arm],
      analysis: { spectrum: m.spectra[arm], attention: m.attention[arm], ...(m.progress ? { progress: m.progress[arm] } : {}) },
    }));
  }
  return [{ label: file, result: parseRunResult(value, file) }];
}

/**
 * The format version of a file, read from its rows: the current trainer writes every field of
 * LATER_EVAL_FIELDS in every row (null where it does not apply); a file written before a field
 * existed has it in no row. A field in some rows and not others is neither: it was deleted, and
 * the file is refused, naming the first row that breaks the pattern. A field absent everywhere is
 * returned in each target's `absent`, so that the verdict names it as not compared.
 */
function withFormatVersion(targets: Omit<VerifyTarget, 'absent'>[]): VerifyTarget[] {
  const rows = targets.flatMap((t) => t.result.history.map((row, i) => ({ label: t.label, row, i })));
  const absent: string[] = [];
  for (const field of LATER_EVAL_FIELDS) {
    const having = rows.find((r) => field in r.row);
    const lacking = rows.find((r) => !(field in r.row));
    if (having && lacking) {
      throw new FormatError(`${lacking.label}: history[${lacking.i}]: ${field} is missing, but ${having.label === lacking.label ? '' : `${having.label}: `}` +
        `history[${having.i}] has it; the current format carries it in every row, an older one in none`);
    }
    if (lacking) absent.push(field);
  }
  if (targets.some((t) => t.analysis && t.analysis.progress === undefined)) absent.push('progress (the measures at the final key frequencies)');
  return targets.map((t) => ({ ...t, absent }));
}

/** One row of a check as `grokwasm verify` prints it: `step    400  ok` or `final   DIFFERS: ...`. */
export function formatVerifyRow(row: VerifyRow): string {
  const where = row.step === 'final' ? 'final ' : `step ${String(row.step).padStart(6)}`;
  return `${where}  ${row.differences.length ? `DIFFERS: ${row.differences.join('; ')}` : 'ok'}`;
}

/** What a whole check found, gathered over its targets, for the verdict line. */
export interface VerifyTally {
  /** Runs in the file (a mechanism's arms, a sweep's cells). */
  targets: number;
  /** The --steps bound of a partial check; undefined for a full one. */
  upTo?: number;
  /** Whether some run was checked only in part. */
  partial: boolean;
  /** Evaluations compared, over every run. */
  evaluations: number;
  /** Rows with a difference. */
  bad: number;
  /** Whether the check stopped at its first mismatch. */
  cutShort: boolean;
  /** The first differing row, as formatVerifyRow prints it with its run's prefix. */
  first: string;
  /** Row fields that an older-format file lacks in every row. */
  absent: string[];
}

/** verify's exit codes: verified, a mismatch, a partial check that passed. */
export const VERIFY_EXIT = { verified: 0, mismatch: 1, partial: 3 } as const;

/** The verdict line `grokwasm verify` ends on (and the page shows), with its exit code. */
export function verifyVerdict(t: VerifyTally): { line: string; exit: number } {
  const runs = t.targets > 1 ? ` in ${t.targets} runs` : '';
  const older = t.absent.length ? `; NOT compared, absent from every row of this older-format file: ${t.absent.join(', ')}` : '';
  if (t.bad) {
    return { line: `NOT verified: ${t.bad} mismatch${t.bad > 1 ? 'es' : ''}${runs}${t.cutShort ? '; stopped at the first (--all lists every one)' : ''}; first: ${t.first}`, exit: VERIFY_EXIT.mismatch };
  }
  if (t.partial) {
    // The evaluation labelled step s follows update s + 1: a check of n updates covers rows 0 .. n-1.
    return { line: `partially verified: steps 0-${t.upTo! - 1}: ${t.evaluations} evaluations${runs} match; steps from ${t.upTo} on and the final fields were NOT checked${older}`, exit: VERIFY_EXIT.partial };
  }
  return { line: `verified: ${t.evaluations} evaluations and the final fields match${runs}${older}`, exit: VERIFY_EXIT.verified };
}
