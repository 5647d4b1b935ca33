/**
 * The one place that decides whether a recipe's run is long-tailed and whether it needs the
 * balanced reference runs UA/RA are computed from. `run`, `sweep`, stage 2 and the table's
 * expected cells all ask here, so the answer cannot differ between them.
 *
 * A run is long-tailed when its split is: an exponential profile over an in-memory dataset, or
 * any image-list dataset (ImageNet-LT, Places-LT, iNaturalist, a user's lists), whose lists are
 * the split and which therefore never carries a profile. The balanced twin itself is not.
 */
import { isImageListDataset, type Recipe } from '../recipe/schema.js';

type DatasetPart = Pick<Recipe['dataset'], 'name' | 'profile' | 'balanced'>;

/** True when the recipe trains on a long-tailed split (the rows of Tables 5–7). */
export function isLongTailed(recipe: { dataset: DatasetPart }): boolean {
  const ds = recipe.dataset;
  if (ds.balanced) return false;
  return isImageListDataset(ds.name) || ds.profile === 'exponential';
}

/** True when running the recipe also trains (or reuses) its balanced reference runs for UA/RA. */
export function needsReferences(recipe: Pick<Recipe, 'reference'> & { dataset: DatasetPart }): boolean {
  return recipe.reference === 'auto' && isLongTailed(recipe);
}
