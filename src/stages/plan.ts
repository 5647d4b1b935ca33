/**
 * Planning a two-stage run: a recipe with a `stage2` key or a `decouple-*` method becomes
 *  - the **stage-1 recipe**: the recipe's own `method` + `train` (a preset: softmax, with
 *    `train.sampler` from `method.params.stage1Sampler`) as a single-stage run of its own — the plain
 *    recipe, so the Table 7 "joint" run and every stage-2 variant share it — and
 *  - the resolved **stage-2 spec** (null for `joint`), and
 *  - the **canonical recipe** of the whole run, whose hash names the stage-2 run: a preset and its
 *    spelled-out form (`method: softmax` + `stage2.strategy: crt`) are the same run.
 */
import { RecipeError } from '../errors.js';
import { resolveSamplerName } from '../data/samplers.js';
import { findMethod, getMethod } from '../methods/registry.js';
import type { SamplerName } from '../methods/types.js';
import { recipeHash } from '../recipe/hash.js';
import type { Recipe } from '../recipe/schema.js';
import type { Stage2Strategy, Table7Descriptor } from '../results/types.js';
import { DEFAULT_STAGE2_EPOCHS, DEFAULT_TAU_GRID, presetStrategy, stage2MethodName } from './presets.js';

type OptimizerSpec = Recipe['train']['optimizer'];
type ScheduleSpec = Recipe['train']['schedule'];

export interface Stage2Spec {
  strategy: Stage2Strategy;
  /** 0 for tau-norm and ncm. */
  epochs: number;
  sampler: SamplerName;
  epochLength: 'dataset' | 'sampler';
  batchSize: number;
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  from: 'last' | 'best';
  backboneMode: 'train' | 'eval';
  tauGrid: number[];
}

export interface StagePlan {
  stage1: Recipe;
  stage1Sampler: SamplerName;
  /** Null: `joint`, the stage-1 run is the whole run. */
  stage2: Stage2Spec | null;
  /** The whole two-stage run, defaults resolved (written as its recipe.resolved.yaml). */
  canonical: Recipe;
  /** Hash of `canonical`. */
  hash: string;
}

/**
 * True for recipes src/stages/ runs: a `stage2` key or a decouple-* method. A method whose own
 * stages pre-train or distill (SSP) plans its classifier stage in src/lifecycle/stages.ts instead.
 */
export function isStagedRecipe(recipe: Recipe): boolean {
  if ((findMethod(recipe.method.name)?.stages ?? []).some((s) => s.kind === 'pretrain' || s.kind === 'distill')) return false;
  return recipe.stage2 !== undefined || presetStrategy(recipe.method.name) !== null;
}

function stripStages(recipe: Recipe): Omit<Recipe, 'stage2'> {
  const { stage2: _s2, ...rest } = recipe;
  return rest;
}

export function planStages(recipe: Recipe): StagePlan {
  const preset = presetStrategy(recipe.method.name);
  let method = recipe.method;
  const trainSampler: SamplerName = recipe.train.sampler ? resolveSamplerName(recipe.train.sampler) : 'instance';
  let sampler = trainSampler;
  if (preset) {
    const presetSampler = (recipe.method.params.stage1Sampler as SamplerName | undefined) ?? 'instance';
    if (recipe.train.sampler !== undefined && presetSampler !== 'instance' && trainSampler !== presetSampler) {
      throw new RecipeError(`train.sampler: '${recipe.train.sampler}' contradicts method.params.stage1Sampler '${presetSampler}' of ${recipe.method.name}; give it once`, undefined, 'train.sampler');
    }
    if (presetSampler !== 'instance') sampler = presetSampler;
    // Kang et al. learn the representation with plain softmax CE.
    method = { name: 'softmax', params: getMethod('softmax').params.parse({}) };
  }
  const strategy = recipe.stage2?.strategy ?? preset ?? 'joint';
  if (preset && recipe.stage2?.strategy && recipe.stage2.strategy !== preset) {
    throw new RecipeError(`stage2.strategy: '${recipe.stage2.strategy}' contradicts method ${recipe.method.name} (strategy '${preset}'); drop one`, undefined, 'stage2.strategy');
  }
  if (recipe.stage2 && !recipe.stage2.strategy && !preset) {
    throw new RecipeError(`stage2.strategy: required (joint, crt, lws, tau-norm, ncm), or use a decouple-* method`, undefined, 'stage2.strategy');
  }

  const plain = stripStages(recipe);
  // Stage 1 samples with train.sampler: its canonical name, or none for instance (the plain recipe).
  const { sampler: _given, ...trainRest } = recipe.train;
  const train = sampler === 'instance' && recipe.train.sampler === undefined ? trainRest : { ...trainRest, sampler };
  const stage1: Recipe = {
    ...plain,
    method,
    train: train as Recipe['train'],
    reference: 'none',
    name: strategy === 'joint' ? recipe.name : `${recipe.name}@stage1`,
  };

  let stage2: Stage2Spec | null = null;
  if (strategy !== 'joint') {
    const s = recipe.stage2;
    const trains = strategy === 'crt' || strategy === 'lws';
    if (!trains && s?.epochs !== undefined) {
      throw new RecipeError(`stage2.epochs: ${strategy} does not train (drop the key)`, undefined, 'stage2.epochs');
    }
    if (strategy !== 'tau-norm' && s?.tauGrid !== undefined) {
      throw new RecipeError(`stage2.tauGrid: only for strategy tau-norm`, undefined, 'stage2.tauGrid');
    }
    stage2 = {
      strategy,
      epochs: s?.epochs ?? DEFAULT_STAGE2_EPOCHS[strategy],
      sampler: s?.sampler ?? 'class-balanced',
      epochLength: s?.epochLength ?? 'dataset',
      batchSize: s?.batchSize ?? recipe.train.batchSize,
      optimizer: s?.optimizer ?? recipe.train.optimizer,
      schedule: s?.schedule ?? { name: 'cosine', warmupEpochs: 0, milestones: [0.6, 0.8], gamma: 0.1, minLr: 0 },
      from: s?.from ?? 'last',
      backboneMode: s?.backboneMode ?? 'train',
      tauGrid: [...(s?.tauGrid ?? DEFAULT_TAU_GRID)].sort((a, b) => a - b),
    };
  }

  // The canonical recipe keeps only what changes the result of each strategy.
  const canonicalStage2 = stage2
    ? stage2.strategy === 'tau-norm'
      ? { strategy: stage2.strategy, from: stage2.from, tauGrid: stage2.tauGrid }
      : stage2.strategy === 'ncm'
        ? { strategy: stage2.strategy, from: stage2.from }
        : { ...stage2, tauGrid: undefined }
    : undefined;
  const canonical = {
    ...plain,
    method,
    train: { ...trainRest, sampler },
    ...(canonicalStage2 ? { stage2: canonicalStage2 } : {}),
  } as Recipe;
  return { stage1, stage1Sampler: sampler, stage2, canonical, hash: recipeHash(canonical) };
}

/**
 * How a two-stage recipe's run is recorded — the method name, the params and the Table 7 cell a
 * stage-2 record carries — so recipe listings (expected table cells) can place it without
 * running it. Null for single-stage recipes and for `joint` (recorded as the stage-1 method).
 */
export function stagedRunDescriptor(recipe: Recipe): { method: string; params: Record<string, unknown>; table7?: Table7Descriptor } | null {
  if (!isStagedRecipe(recipe)) return null;
  const plan = planStages(recipe);
  if (!plan.stage2) return null;
  const stage1Loss = plan.stage1.method.name;
  return {
    method: stage2MethodName(plan.stage2.strategy),
    params: { stage1Loss, stage1Sampler: plan.stage1Sampler, stage1Params: plan.stage1.method.params },
    ...(plan.stage1Sampler === 'instance' ? { table7: { stage1Loss, classifier: plan.stage2.strategy } } : {}),
  };
}
