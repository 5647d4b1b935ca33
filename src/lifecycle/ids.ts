/**
 * Run ids. A run id is the method, the dataset and a hash of the resolved recipe and of the
 * split's content: not the output directory, the data location, the backend or the display
 * name. These rules are frozen by test/golden/run-ids.test.ts (old records must stay reusable).
 */
import type { LongTailSplit } from '../data/types.js';
import { recipeHash, sha256 } from '../recipe/hash.js';
import { isImageListDataset, type Recipe } from '../recipe/schema.js';
import type { StagePlan } from '../stages/plan.js';
import { stage2MethodName } from '../stages/presets.js';

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** The dataset part of a run id: `<name>-lt<ratio>`, `<name>-full`, or the image-list dataset's name. */
export function datasetTag(recipe: Recipe): string {
  const ds = recipe.dataset;
  const shape = isImageListDataset(ds.name) ? '' : ds.profile === 'none' ? '-full' : `-lt${ds.imbalanceRatio}`;
  return `${ds.name}${shape}${ds.balanced ? '-bal' : ''}`;
}

/** The run id of a single-stage run: method, dataset and a hash of the resolved recipe and the split's content. */
export function runIdFor(recipe: Recipe, split: LongTailSplit): string {
  const h = sha256(`${recipeHash(recipe)}:${split.checksum}`).slice(0, 12);
  return `${slug(recipe.method.name)}-${datasetTag(recipe)}-${h}`;
}

/** The stage-2 run id: strategy, stage-1 method, dataset and the hash of the canonical recipe and split. */
export function stage2RunId(plan: StagePlan, split: LongTailSplit): string {
  const r = plan.canonical;
  const h = sha256(`${plan.hash}:${split.checksum}`).slice(0, 12);
  const ds = datasetTag(r);
  const sampler = plan.stage1Sampler === 'instance' ? '' : `-${slug(plan.stage1Sampler)}`;
  return `${stage2MethodName(plan.stage2!.strategy)}-${slug(r.method.name)}${sampler}-${ds}-${h}`;
}
