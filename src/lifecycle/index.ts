/** A run from plan to record: which runs a recipe needs (plan.ts), running them (run.ts), ids, and the long-tailed decision. */
export { isLongTailed, needsReferences } from './long-tailed.js';
export { datasetTag, runIdFor, slug, stage2RunId } from './ids.js';
export {
  ltResolvedParams,
  methodReferenceIsVanilla,
  planRecipe,
  planRun,
  splitCache,
  referenceRecipes,
  workOf,
  type PlanOptions,
  type PlannedRun,
  type RecipePlan,
  type RunAction,
  type RunRole,
  type RunWork,
  type SplitCache,
} from './plan.js';
export { recordReferences, runPlan, runRecipe } from './run.js';
