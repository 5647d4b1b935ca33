/**
 * Two-stage runs: stage 1 is a run of its own, found by its recipe hash and reused by every
 * stage-2 variant (never retrained: `--force` retrains stage 2 only), then stage 2 runs on it.
 * `stage2.strategy: joint` is stage 1 alone.
 */
import type { RunHooks, RunOptions, RunResult, trainOne as TrainOneFn } from '../runner.js';
import { isStagedRecipe, planStages, type StagePlan } from './plan.js';
import { samplerEpochOrder } from './order.js';
import { runStage2 } from './stage2.js';
import type { Recipe } from '../recipe/schema.js';

export { isStagedRecipe, planStages };

/** Hooks that make the single-stage trainer sample stage 1 with a non-instance sampler. */
function stage1Hooks(plan: StagePlan): RunHooks | undefined {
  if (plan.stage1Sampler === 'instance') return undefined;
  return {
    epochOrder: (split, source) => samplerEpochOrder(plan.stage1Sampler, split.indices.train, source.train.labels, source.numClasses, plan.stage1.train.epochs, plan.stage1EpochLength),
    decorate: (record) => {
      record.table7 = { stage1Loss: plan.stage1.method.name, stage1Sampler: plan.stage1Sampler, classifier: 'joint' };
    },
  };
}

export async function runStaged(recipe: Recipe, opts: RunOptions, trainOne: typeof TrainOneFn): Promise<RunResult> {
  const plan = planStages(recipe);
  if (!plan.stage2) return trainOne(plan.stage1, opts, stage1Hooks(plan));
  const stage1 = await trainOne(plan.stage1, { ...opts, force: false, recipePath: null }, stage1Hooks(plan));
  return runStage2(plan, stage1, opts);
}
