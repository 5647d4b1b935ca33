/** The ids a recipe produces (recipe hash; run id where its data is at hand), shared by the golden script and test. */
import { loadRecipe } from '../../src/recipe/load.js';
import type { Recipe } from '../../src/recipe/schema.js';
import { recipeHash } from '../../src/recipe/hash.js';
import { planRun, referenceRecipes } from '../../src/lifecycle/index.js';
import { isStagedRecipe, planStages } from '../../src/stages/plan.js';

export interface GoldenIds {
  hash: string;
  runId: string | null;
  stage1?: { hash: string; runId: string | null };
  references?: { vanilla: { hash: string; runId: string | null }; method: { hash: string; runId: string | null } };
}

function idOf(recipe: Recipe): string | null {
  if (!['fashion-mnist', 'synthetic'].includes(recipe.dataset.name)) return null;
  return planRun(recipe, { output: '/nonexistent-golden-results' }).runId;
}

function pair(recipe: Recipe): { hash: string; runId: string | null } {
  return { hash: isStagedRecipe(recipe) ? planStages(recipe).hash : recipeHash(recipe), runId: idOf(recipe) };
}

export function goldenIds(file: string): GoldenIds {
  const { recipe } = loadRecipe(file);
  const out: GoldenIds = pair(recipe);
  if (isStagedRecipe(recipe)) {
    const plan = planStages(recipe);
    if (plan.stage2) out.stage1 = pair(plan.stage1);
  }
  if (recipe.reference === 'auto' && !recipe.dataset.balanced) {
    // ESQL's λ is pinned from the LT run's record; the golden ids use the recipe's own params.
    const refs = referenceRecipes(recipe, {});
    out.references = { vanilla: pair(refs.vanilla), method: pair(refs.method) };
  }
  return out;
}
