/**
 * The cells a study expects, read from its recipes: every long-tailed leaf recipe fills one cell,
 * so `lt-bench table` can name the recipe that would fill an empty one.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expandRecipeArgs } from '../sweep.js';
import { loadRecipe } from '../recipe/load.js';
import type { ExpectedCell } from './tables.js';
import { stagedRunDescriptor } from '../stages/plan.js';
import { withTrainSampler } from './table-layout.js';
import { recipeRandAugment } from '../data/rand-augment.js';
import { isLongTailed } from '../lifecycle/long-tailed.js';

export async function expectedCellsFromRecipes(recipesDir: string): Promise<ExpectedCell[]> {
  if (!existsSync(recipesDir)) return [];
  const files = await expandRecipeArgs([path.join(recipesDir, '**/*.yaml')]).catch(() => []);
  const cells: ExpectedCell[] = [];
  for (const file of files) {
    let recipe;
    try {
      recipe = loadRecipe(file).recipe;
    } catch {
      continue; // `lt-bench validate` reports broken recipes; a table still builds without them
    }
    if (!isLongTailed(recipe)) continue; // the one long-tailed decision (lifecycle/long-tailed.ts): image lists are, balanced twins are not
    // A two-stage recipe fills the cell of its stage-2 method (decouple-crt, …), not of its loss.
    const staged = stagedRunDescriptor(recipe);
    cells.push({
      dataset: recipe.dataset.name,
      backbone: recipe.backbone.name,
      method: staged?.method ?? recipe.method.name,
      params: staged?.params ?? withTrainSampler(recipe.method.params, recipe.train.sampler, recipeRandAugment(recipe)),
      ...(staged?.table7 ? { table7: staged.table7 } : {}),
      epochs: recipe.train.epochs,
      maxPerClass: recipe.dataset.maxPerClass,
      recipePath: path.relative(process.cwd(), file),
    });
  }
  return cells;
}
