// A finished (or stopped) run in one plain sentence for a student: did the arm generalise, and
// when; or did it only memorise the training pairs, and what it scores on the held-out ones.
import { GROK_ACCURACY, type EvalInfo, type RunResult } from '../format/run_result.js';
import { settingTag } from './arm_setting.js';

/** 0.5939 -> "59%"; near the ends one decimal, so that 0.9966 reads 99.7%, not 100%. */
const percent = (x: number) => (x > 0.99 && x < 1) || (x > 0 && x < 0.01) ? `${(x * 100).toFixed(1)}%` : `${Math.round(x * 100)}%`;

/** Training accuracy at or above which a run has memorised its training pairs. */
export const MEMORISED = 0.99;

/**
 * One sentence on what `result` did, named by its arm setting's label ("l2", "lrd:rate=0.003"):
 * "LRD generalised at step 2800 (validation accuracy 99.7% at best)", or "L2 memorised the
 * training pairs and stayed at 59% on the held-out ones (100% of those whose mirror it saw, 1%
 * of the others)", a divergence, or a run that ended before memorising.
 */
export function armVerdict(label: string, result: RunResult): string {
  const name = settingTag(label);
  const last: EvalInfo | undefined = result.history.at(-1);
  const stopped = result.steps < result.config.steps && result.grokStep === null && !result.diverged;
  const ended = stopped ? ` (stopped at step ${result.steps} of ${result.config.steps})` : '';
  if (result.diverged) return `${name} diverged at step ${result.diverged.step}: a loss or weight stopped being finite.`;
  if (!last) return `${name} made no evaluation${ended}.`;
  if (result.grokStep !== null) {
    return `${name} generalised at step ${result.grokStep}: validation accuracy reached ${percent(GROK_ACCURACY)} ` +
      `(best ${percent(result.bestValAcc)})${ended}.`;
  }
  const mirror = last.valAccMirrored != null && last.valAccUnmirrored != null
    ? ` (${percent(last.valAccMirrored)} of the pairs whose mirror it saw, ${percent(last.valAccUnmirrored)} of the others)` : '';
  if (last.trainAcc >= MEMORISED) {
    return `${name} memorised the training pairs and stayed at ${percent(last.valAcc)} on the held-out ones through step ${last.step}${mirror}${ended}.`;
  }
  return `${name} had not yet memorised the training pairs after ${result.steps} steps: ` +
    `training accuracy ${percent(last.trainAcc)}, validation ${percent(last.valAcc)}${mirror}${ended ? ' (stopped)' : ''}.`;
}
