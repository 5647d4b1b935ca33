/**
 * Two-stage runs: stage 1 is a run of its own, found by its recipe hash and reused by every
 * stage-2 variant (never retrained: `--force` retrains stage 2 only), then stage 2 runs on it.
 * `stage2.strategy: joint` is stage 1 alone.
 */
import path from 'node:path';
import { recipeSplit } from '../data/run-data.js';
import type { Recipe } from '../recipe/schema.js';
import { readRecord } from '../results/record.js';
import type { RunRecord } from '../results/types.js';
import { planRun, runRecipe, type RunOptions, type RunResult } from '../runner.js';
import { checkpointExists } from '../train/checkpoint.js';
import { isStagedRecipe, planStages } from './plan.js';
import { runStage2, stage2RunId } from './stage2.js';

export { isStagedRecipe, planStages };

export async function runStaged(recipe: Recipe, opts: RunOptions): Promise<RunResult> {
  const plan = planStages(recipe);
  // The stage-1 recipe is single-stage with reference 'none': runRecipe trains or reuses just it.
  if (!plan.stage2) return runRecipe(plan.stage1, opts);
  const stage1 = await runRecipe(plan.stage1, { ...opts, force: false, recipePath: null });
  return runStage2(plan, stage1, opts);
}

/**
 * What `run` would do with a two-stage recipe (for `sweep`'s plan): the stage-2 run's id and
 * whether it is reused, resumed or trained; `joint` plans its stage-1 run.
 */
export function planStagedRun(recipe: Recipe, opts: Pick<RunOptions, 'output' | 'dataRoot'> = {}): { runId: string; dir: string; action: 'reuse' | 'resume' | 'train'; record: RunRecord | null } {
  const plan = planStages(recipe);
  if (!plan.stage2) return planRun(plan.stage1, opts);
  const split = recipeSplit(plan.canonical, opts.dataRoot);
  const runId = stage2RunId(plan, split);
  const dir = path.join(path.resolve(opts.output ?? recipe.output), runId);
  const record = readRecord(dir);
  const action = record?.status === 'finished' ? 'reuse' : record && checkpointExists(path.join(dir, 'last')) ? 'resume' : 'train';
  return { runId, dir, action, record };
}
