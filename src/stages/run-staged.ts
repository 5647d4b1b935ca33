/**
 * Two-stage runs: stage 1 is a run of its own, found by its recipe hash and reused by every
 * stage-2 variant (never retrained: `--force` retrains stage 2 only), then stage 2 runs on it.
 * `stage2.strategy: joint` is stage 1 alone.
 */
import type { Recipe } from '../recipe/schema.js';
import { runRecipe, type RunOptions, type RunResult } from '../runner.js';
import { isStagedRecipe, planStages } from './plan.js';
import { runStage2 } from './stage2.js';

export { isStagedRecipe, planStages };

export async function runStaged(recipe: Recipe, opts: RunOptions): Promise<RunResult> {
  const plan = planStages(recipe);
  // The stage-1 recipe is single-stage with reference 'none': runRecipe trains or reuses just it.
  if (!plan.stage2) return runRecipe(plan.stage1, opts);
  const stage1 = await runRecipe(plan.stage1, { ...opts, force: false, recipePath: null });
  return runStage2(plan, stage1, opts);
}
