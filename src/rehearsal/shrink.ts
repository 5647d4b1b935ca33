/**
 * `--rehearse`: the whole ImageNet-LT study, shrunk so that every recipe runs in seconds on a CPU,
 * through the same commands (`sweep`, `table`, `plot`) and the same code paths as the real study.
 * The numbers it produces test the pipeline, not the methods.
 *
 * THE RULE (one rule for every recipe; README "Rehearsing the ImageNet-LT study" says the same):
 *   - dataset     → the synthetic ImageNet-LT of src/rehearsal/dataset.ts (same formats: image
 *                   folders, ImageNet_LT_{train,val,test,balanced_train}.txt; 20 classes, counts
 *                   and thresholds × 1/10), read as an `image-list` dataset with its class count;
 *                   dataset.transform.size 16 (test: resize 18, centre crop 16), 1 decoding worker;
 *                   split seed, validation source and `balanced` stay the recipe's.
 *   - backbone    → resnet8.
 *   - every epoch count (train.epochs, stage2.epochs, the default stage-2 epochs of a
 *     decouple-* preset, a pre-training stage's epochs param such as SSP's pretrainEpochs)
 *     → max(1, round(epochs / 100)): 90 → 1, 200 → 2, 10 → 1, 5 → 1;
 *     warm-up epochs scale with their budget (round(w · new / old)); schedules are given in
 *     fractions of the budget, so they shrink with it.
 *   - batch sizes (train, stage 2) → min(batch, 32); gradient accumulation off; eval.batchSize 64.
 *   - eval.thresholds → the rehearsal dataset's scaled thresholds (head > 10, tail < 2).
 *   - everything else (method and params, optimiser, schedule, samplers, reference) unchanged.
 *   - the recipe gets `rehearsal: {dataset, backbone, epochs, dataVersion}` — the real cell it
 *     stands for, and the generator version of the images (the run id covers the lists' content,
 *     not the pixels) — which is part of its hash (its run ids differ from any real run's) and
 *     makes every record it writes say `rehearsal: true`; results go to results/rehearsal/
 *     unless told otherwise.
 *   - `--set` overrides apply to the real recipe, before the rule.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { validateRecipe } from '../recipe/load.js';
import type { Recipe } from '../recipe/schema.js';
import { findMethod } from '../methods/registry.js';
import { isStagedRecipe, planStages } from '../stages/plan.js';
import type { RehearsalDatasetInfo } from './dataset.js';

/** The constants of the rule above. */
export const REHEARSAL_RULE = {
  /** The dataset every rehearsed recipe must be on (the study being rehearsed). */
  studyDataset: 'imagenet-lt',
  backbone: 'resnet8',
  size: 16,
  workers: 1,
  batchSize: 32,
  evalBatchSize: 64,
  /** Real epochs per rehearsal epoch. */
  epochsPerEpoch: 100,
} as const;

/** Where `--rehearse` keeps its records when no results directory is given. */
export const DEFAULT_REHEARSAL_RESULTS = path.join('results', 'rehearsal');

/** Where `--rehearse` generates (or finds) the synthetic dataset when no data root is given. */
export function defaultRehearsalDataDir(resultsDir: string): string {
  return path.join(resultsDir, 'dataset');
}

/** 90 → 1, 200 → 2, 10 → 1. */
export function rehearsalEpochs(epochs: number): number {
  return Math.max(1, Math.round(epochs / REHEARSAL_RULE.epochsPerEpoch));
}

/**
 * A recipe shrunk by the rule onto the rehearsal dataset at `root`. `file` names the recipe in
 * errors. A recipe that is already a rehearsal is returned as is.
 */
export function rehearseRecipe(recipe: Recipe, data: { root: string; info: RehearsalDatasetInfo }, opts: { file?: string; output?: string } = {}): Recipe {
  if (recipe.rehearsal) return recipe;
  const where = opts.file ?? recipe.name ?? '(recipe)';
  if (recipe.dataset.name !== REHEARSAL_RULE.studyDataset) {
    throw new UsageError(`${where}: dataset.name is '${recipe.dataset.name}'; --rehearse rehearses the ImageNet-LT study (dataset.name: imagenet-lt), e.g. recipes/imagenet-lt/`);
  }
  const { info, root } = data;
  const lists = Object.fromEntries(Object.entries(info.lists).map(([k, f]) => [k, path.join(root, f)])) as Recipe['dataset']['lists'];
  const t = recipe.train;
  const epochs = rehearsalEpochs(t.epochs);
  const { accumulate: _a, ...train } = t;
  const shrunk: Recipe = {
    ...recipe,
    name: `rehearsal/${recipe.name ?? path.basename(where)}`,
    dataset: {
      ...recipe.dataset,
      name: 'image-list',
      numClasses: info.manifest.numClasses,
      root,
      lists,
      transform: { ...recipe.dataset.transform, size: REHEARSAL_RULE.size, resize: undefined },
      workers: REHEARSAL_RULE.workers,
      // The real recipe's mean/std default to the ImageNet-LT manifest's; the generic image-list's to ImageNet's: the same.
    },
    backbone: { name: REHEARSAL_RULE.backbone },
    train: {
      ...train,
      epochs,
      batchSize: Math.min(t.batchSize, REHEARSAL_RULE.batchSize),
      schedule: { ...t.schedule, warmupEpochs: Math.round((t.schedule.warmupEpochs * epochs) / t.epochs) },
    },
    eval: { thresholds: { ...info.manifest.groupThresholds }, batchSize: REHEARSAL_RULE.evalBatchSize },
    ...(opts.output ? { output: opts.output } : {}),
    rehearsal: { dataset: recipe.dataset.name, backbone: recipe.backbone.name, epochs: t.epochs, dataVersion: info.version },
  };
  if (isStagedRecipe(recipe)) {
    const spec = planStages(recipe).stage2;
    if (spec && spec.epochs > 0) {
      shrunk.stage2 = {
        ...(recipe.stage2 ?? { sampler: spec.sampler, epochLength: spec.epochLength, schedule: spec.schedule, from: spec.from, backboneMode: spec.backboneMode }),
        epochs: rehearsalEpochs(spec.epochs),
        batchSize: Math.min(spec.batchSize, REHEARSAL_RULE.batchSize),
      };
    }
  } else if (recipe.stage2) {
    // A method's own classifier stage (SSP's cRT) reads the same keys.
    shrunk.stage2 = { ...recipe.stage2, epochs: rehearsalEpochs(recipe.stage2.epochs ?? 10), batchSize: Math.min(recipe.stage2.batchSize ?? t.batchSize, REHEARSAL_RULE.batchSize) };
  }
  // A stage's own epoch count (SSP's pretrainEpochs, MiSLAS's stage2Epochs, RIDE-EA's routerEpochs)
  // is an epoch count too, also where the recipe leaves it at the method's default.
  const method = findMethod(recipe.method.name);
  for (const s of method?.stages ?? []) {
    const key = s.kind === 'pretrain' || s.kind === 'train' ? s.epochsParam : undefined;
    if (!key) continue;
    const value = recipe.method.params[key] ?? (method!.params.shape[key]?.safeParse(undefined).data as unknown);
    if (typeof value === 'number') shrunk.method = { ...shrunk.method, params: { ...shrunk.method.params, [key]: rehearsalEpochs(value) } };
  }
  // Drop undefined keys (the schema is strict about presence, not about undefined), then check it all.
  return validateRecipe(JSON.parse(JSON.stringify(shrunk)) as Record<string, unknown>, `${where} (rehearsal)`);
}
