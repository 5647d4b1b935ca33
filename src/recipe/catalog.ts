/**
 * The recipes under a directory (the shipped ones by default), each loaded as `run` would, with
 * method, dataset, backbone and epoch budget; one that does not load carries its error instead.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { LtBenchError } from '../errors.js';
import { loadRecipe } from './load.js';
import type { Recipe } from './schema.js';
import { datasetTag } from '../runner.js';
import { isStagedRecipe, planStages } from '../stages/plan.js';
import { packageRoot } from '../version.js';
import { isSweepFile } from '../slurm/sweep-file.js';

/** The recipes shipped with lt-bench. */
export const SHIPPED_RECIPES_DIR = path.join(packageRoot, 'recipes');

export interface RecipeEntry {
  /** Path relative to the listed directory. */
  file: string;
  name: string | null;
  method: string | null;
  /** `<dataset>-lt<ratio>`, `<dataset>-full`, `<dataset>-bal` or the image-list dataset's name. */
  dataset: string | null;
  backbone: string | null;
  /** Training epochs (stage 1 for two-stage recipes). */
  epochs: number | null;
  /** Stage-2 strategy and epochs of two-stage recipes. */
  stage2: { strategy: string; epochs: number } | null;
  reference: 'auto' | 'none' | null;
  error: string | null;
}

function describe(recipe: Recipe): Omit<RecipeEntry, 'file' | 'error'> {
  const stages = isStagedRecipe(recipe) ? planStages(recipe) : null;
  return {
    name: recipe.name ?? null,
    method: recipe.method.name,
    dataset: datasetTag(recipe),
    backbone: recipe.backbone.name,
    epochs: recipe.train.epochs,
    stage2: stages?.stage2 ? { strategy: stages.stage2.strategy, epochs: stages.stage2.epochs } : null,
    reference: recipe.reference,
  };
}

/** Every recipe under `dir` (YAML files outside `_base/` folders, which hold partial pieces; sweep files left out), loaded. */
export function listRecipes(dir: string = SHIPPED_RECIPES_DIR): RecipeEntry[] {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f) && !f.split(path.sep).includes('_base') && !isSweepFile(path.join(dir, f)))
    .sort();
  return files.map((f) => {
    try {
      return { file: f, ...describe(loadRecipe(path.join(dir, f)).recipe), error: null };
    } catch (e) {
      if (!(e instanceof LtBenchError)) throw e;
      return { file: f, name: null, method: null, dataset: null, backbone: null, epochs: null, stage2: null, reference: null, error: e.message.split('\n')[0] };
    }
  });
}
