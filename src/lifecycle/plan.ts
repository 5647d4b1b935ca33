/**
 * Planning: what running a recipe means, as a list of runs of their own with dependencies, before
 * anything trains. `run`, `sweep` (and its `--dry-run`), the table's expected cells and a future
 * scheduler (one job per planned run) all read this plan, so which runs a recipe needs is decided
 * in one place:
 *
 *  - a single-stage recipe is one run;
 *  - a two-stage recipe (`stage2:` or a `decouple-*` method) is a stage-1 run (shared by every
 *    stage-2 variant) and a stage-2 run that depends on it; `joint` is the stage-1 run alone;
 *  - a long-tailed recipe with `reference: auto` (see long-tailed.ts) also needs the balanced
 *    references: plain softmax (single-stage) and the method's whole pipeline on the balanced twin
 *    (both stages for a two-stage method). UA/RA go into the LT record once all are finished.
 *
 * Each planned run says whether a finished record is reused, an unfinished one resumed, or a run
 * trained, and carries a size (image passes) for time estimates. Run ids and recipe hashes are the
 * ones `run` produces (src/lifecycle/ids.ts).
 */
import path from 'node:path';
import { recipeSplit } from '../data/run-data.js';
import type { LongTailSplit } from '../data/types.js';
import { getMethod } from '../methods/registry.js';
import { canonicalJson, recipeHash } from '../recipe/hash.js';
import type { Recipe } from '../recipe/schema.js';
import { readRecord } from '../results/record.js';
import type { RunRecord } from '../results/types.js';
import { isStagedRecipe, planStages, type StagePlan } from '../stages/plan.js';
import { checkpointExists } from '../train/checkpoint.js';
import { runIdFor, stage2RunId } from './ids.js';
import { needsReferences } from './long-tailed.js';
import { hasStageKinds, planStageRuns, type StageRun } from './stages.js';

export type RunAction = 'reuse' | 'resume' | 'train';

/** Why a run is in a plan. */
export type RunRole = 'main' | 'stage1' | 'reference-vanilla' | 'reference-method' | 'reference-stage1';

export interface PlannedRun {
  runId: string;
  /** Where its record lives (or will). */
  dir: string;
  action: RunAction;
  /** The record found there (finished or not), if any. */
  record: RunRecord | null;
  role: RunRole;
  /**
   * `train`: a single-stage run of `recipe`; `stage2`: stage 2 of `stages` on its stage-1 run;
   * `pretrain` / `distill` (and `train` with a `stage`): a stage of the method's own pipeline.
   */
  kind: 'train' | 'stage2' | 'pretrain' | 'distill';
  /** The recipe the run trains (for a stage-2 run: the canonical recipe of the whole run). */
  recipe: Recipe;
  /** Recipe hash recorded in run.json. */
  hash: string;
  /** Stage 2 only: the stage plan. */
  stages?: StagePlan;
  /** A stage of a method's pipeline of pretrain / subset / distill stages (src/lifecycle/stages.ts). */
  stage?: StageRun;
  /** Run ids that must be finished before this run starts (stage 2 → its stage 1). */
  dependsOn: string[];
  /** Size of the run for time estimates (see workOf). */
  work: RunWork;
}

/**
 * A run's size in image passes: training images × epochs, plus evaluation forward passes counted
 * at a third of a training pass (forward only, no backward): val after every epoch, test twice
 * (last and best checkpoints). A rough rule for ETAs, not a measurement.
 */
export interface RunWork {
  trainImages: number;
  epochs: number;
  evalImages: number;
  /** trainImages·epochs + evalImages/3. */
  imagePasses: number;
}

export interface RecipePlan {
  /** The run the recipe names (the stage-2 run of a two-stage recipe). */
  main: PlannedRun;
  /** Every run, dependencies first, each once. */
  runs: PlannedRun[];
  /** The balanced runs whose accuracies give the main run's UA/RA; null when it needs none. */
  references: { vanilla: string; method: string } | null;
}

export interface PlanOptions {
  output?: string;
  dataRoot?: string;
  /** The main run trains again into a new id (`…-rN`); stage 1 and references are still reused. */
  force?: boolean;
  /**
   * Splits already read, shared across the recipes of one plan (a sweep's): ImageNet-LT's lists
   * hold 300k lines, and every recipe of a study reads the same ones. See splitCache().
   */
  splits?: SplitCache;
}

/** Splits by what determines them: the dataset block, the group thresholds and the data location. */
export type SplitCache = Map<string, LongTailSplit>;

export function splitCache(): SplitCache {
  return new Map();
}

function splitOf(recipe: Recipe, opts: PlanOptions): LongTailSplit {
  if (!opts.splits) return recipeSplit(recipe, opts.dataRoot);
  const key = canonicalJson({ dataset: recipe.dataset, thresholds: recipe.eval.thresholds, dataRoot: opts.dataRoot ?? null, env: process.env.LT_BENCH_DATA ?? null });
  let split = opts.splits.get(key);
  if (!split) {
    split = recipeSplit(recipe, opts.dataRoot);
    opts.splits.set(key, split);
  }
  return split;
}

function actionOf(dir: string, record: RunRecord | null): RunAction {
  return record?.status === 'finished' ? 'reuse' : record && checkpointExists(path.join(dir, 'last')) ? 'resume' : 'train';
}

export function workOf(split: LongTailSplit, epochs: number, evalOnly: { trainPass?: boolean } = {}): RunWork {
  const trainImages = split.indices.train.length;
  const evalImages = split.indices.val.length * Math.max(epochs, 1) + 2 * split.indices.test.length + (evalOnly.trainPass ? trainImages : 0);
  return { trainImages, epochs, evalImages, imagePasses: trainImages * epochs + evalImages / 3 };
}

/**
 * The recipes of the paired balanced runs UA needs: plain softmax and the same method, on the
 * balanced twin. `ltResolved` (the LT run's derived values) supplies what the method pins for its
 * reference (ESQL's λ), unless the recipe sets it. A two-stage method's reference keeps its stages,
 * so A_b is the method's whole pipeline on balanced data.
 */
export function referenceRecipes(recipe: Recipe, ltResolved: Record<string, unknown> = {}): { vanilla: Recipe; method: Recipe } {
  const pinned: Record<string, unknown> = {};
  const def = getMethod(recipe.method.name);
  for (const key of def.pinnedForReference ?? []) {
    if (recipe.method.params[key] === undefined && ltResolved[key] !== undefined) pinned[key] = ltResolved[key];
  }
  const method = Object.keys(pinned).length > 0 ? { ...recipe.method, params: { ...recipe.method.params, ...pinned } } : recipe.method;
  const base: Recipe = { ...recipe, method, reference: 'none', dataset: { ...recipe.dataset, balanced: true } };
  const { stage2: _stage2, ...singleStage } = base; // plain softmax is single-stage
  return {
    // A_v is plain softmax: one stage, instance sampling, whatever the method's recipe does.
    // Labelled "vanilla", not "softmax": "@balanced-softmax" read as the Balanced Softmax method.
    vanilla: { ...singleStage, name: `${recipe.name}@balanced-vanilla`, method: { name: 'softmax', params: {} }, train: { ...base.train, sampler: undefined } },
    method: { ...base, name: `${recipe.name}@balanced` },
  };
}

/** True when the method's own balanced run is the plain-softmax one (a softmax recipe): one run, not two. */
export function methodReferenceIsVanilla(recipe: Recipe): boolean {
  return recipe.method.name === 'softmax' && JSON.stringify(recipe.method.params) === '{}' && !isStagedRecipe(recipe);
}

/** The LT run's derived values its reference pins (ESQL's λ): from its record, else computed from the split. */
export function ltResolvedParams(recipe: Recipe, record: RunRecord | null, split: () => LongTailSplit): Record<string, unknown> {
  const def = getMethod(recipe.method.name);
  if (!def.pinnedForReference?.length) return {};
  if (record?.method.resolved) return record.method.resolved;
  const s = split();
  return def.create({ classCounts: s.classCounts, numClasses: s.classCounts.length, params: recipe.method.params, epochs: recipe.train.epochs }).resolvedParams ?? {};
}

/** The runs one recipe is, without references: [run] or [stage-1 run, stage-2 run]. */
function planPipeline(recipe: Recipe, opts: PlanOptions, roles: { main: RunRole; stage1: RunRole }): PlannedRun[] {
  const outDir = path.resolve(opts.output ?? recipe.output);
  const single = (r: Recipe, role: RunRole, force: boolean): PlannedRun => {
    const split = splitOf(r, opts);
    const runId = runIdFor(r, split);
    const dir = path.join(outDir, runId);
    const record = readRecord(dir);
    return { runId, dir, action: force ? 'train' : actionOf(dir, record), record, role, kind: 'train', recipe: r, hash: recipeHash(r), dependsOn: [], work: workOf(split, r.train.epochs) };
  };
  if (hasStageKinds(recipe)) {
    const split = splitOf(recipe, opts);
    const stages = planStageRuns(recipe, split);
    return stages.map((st, i): PlannedRun => {
      const last = i === stages.length - 1;
      const dir = path.join(outDir, st.runId);
      const record = readRecord(dir);
      const action = last && opts.force ? 'train' : actionOf(dir, record);
      return { runId: st.runId, dir, action, record, role: last ? roles.main : roles.stage1, kind: st.kind, recipe: st.recipe, hash: st.hash, stage: st, dependsOn: st.dependsOn, work: workOf(split, st.epochs) };
    });
  }
  if (!isStagedRecipe(recipe)) return [single(recipe, roles.main, !!opts.force)];
  const stages = planStages(recipe);
  if (!stages.stage2) return [single(stages.stage1, roles.main, !!opts.force)];
  const stage1 = single(stages.stage1, roles.stage1, false);
  const split = splitOf(stages.canonical, opts);
  const runId = stage2RunId(stages, split);
  const dir = path.join(outDir, runId);
  const record = readRecord(dir);
  const spec = stages.stage2;
  const work = workOf(split, spec.epochs, { trainPass: spec.strategy === 'ncm' });
  const stage2: PlannedRun = { runId, dir, action: opts.force ? 'train' : actionOf(dir, record), record, role: roles.main, kind: 'stage2', recipe: stages.canonical, hash: stages.hash, stages, dependsOn: [stage1.runId], work };
  return [stage1, stage2];
}

/** Plans a recipe: its runs (stages included), and its balanced references when it needs them. */
export function planRecipe(recipe: Recipe, opts: PlanOptions = {}): RecipePlan {
  opts = { ...opts, splits: opts.splits ?? splitCache() };
  const pipeline = planPipeline(recipe, opts, { main: 'main', stage1: 'stage1' });
  const main = pipeline[pipeline.length - 1];
  const runs = [...pipeline];
  if (!needsReferences(recipe)) return { main, runs, references: null };
  const refOpts = { ...opts, force: false };
  // A stage-2 record carries no derived values of the stage-1 loss, so a two-stage recipe's
  // reference pins nothing (as runs have always been recorded: their ids must not change).
  const pinned = main.kind === 'stage2' ? {} : ltResolvedParams(main.recipe, main.record, () => splitOf(main.recipe, opts));
  const refs = referenceRecipes(recipe, pinned);
  const [vanilla] = planPipeline(refs.vanilla, refOpts, { main: 'reference-vanilla', stage1: 'reference-vanilla' });
  const methodRuns = methodReferenceIsVanilla(recipe) ? [vanilla] : planPipeline(refs.method, refOpts, { main: 'reference-method', stage1: 'reference-stage1' });
  for (const r of [vanilla, ...methodRuns]) if (!runs.some((x) => x.runId === r.runId)) runs.push(r);
  return { main, runs, references: { vanilla: vanilla.runId, method: methodRuns[methodRuns.length - 1].runId } };
}

/** What `run` would do with a recipe's own run: reuse a finished record, resume an unfinished one, or train anew. */
export function planRun(recipe: Recipe, opts: Omit<PlanOptions, 'force'> = {}): { runId: string; dir: string; action: RunAction; record: RunRecord | null } {
  const pipeline = planPipeline(recipe, opts, { main: 'main', stage1: 'stage1' });
  const main = pipeline[pipeline.length - 1];
  return { runId: main.runId, dir: main.dir, action: main.action, record: main.record };
}
