/**
 * A method's own pipeline of stage kinds beyond train → classifier: `pretrain` (a pretext task on
 * the backbone), `train` on a class subset (an expert), and `distill` (a student reading frozen
 * teachers). Each stage is a run of its own, named by a hash of only what changes it, so a later
 * recipe (or method) that shares a stage reuses its run:
 *  - a pretrain run hashes the recipe with the method replaced by the pretext and the epochs by
 *    the pretrain budget: not the method, nor the stages after it;
 *  - every other stage hashes the whole recipe, its stage index, its classes and the runs it
 *    starts from or reads.
 * Methods whose stages are only `train` (no subset) and `classifier` never come here: their
 * plan and ids are src/stages/plan.ts's, unchanged.
 */
import { RecipeError } from '../errors.js';
import type { LongTailSplit } from '../data/types.js';
import { getMethod } from '../methods/registry.js';
import type { ClassSubset, Pretext, StageSpec } from '../methods/types.js';
import { planStages, type StagePlan } from '../stages/plan.js';
import { canonicalJson, recipeHash, sha256 } from '../recipe/hash.js';
import { scheduleSchema, type Recipe } from '../recipe/schema.js';
import type { ScheduleSpec } from '../train/schedule.js';
import { datasetTag, slug } from './ids.js';

/** One planned stage of a method's pipeline. */
export interface StageRun {
  /** Index in the method's `stages`. */
  index: number;
  spec: StageSpec;
  kind: 'pretrain' | 'train' | 'distill' | 'stage2';
  runId: string;
  /** Hash recorded for the run (the pretrain recipe's hash, or the stage's hash). */
  hash: string;
  /** The recipe the stage trains: a pretrain stage's has the pretext as its method and its own epochs. */
  recipe: Recipe;
  epochs: number;
  /** Classes a `train` stage with a subset trains on (sorted). */
  classes?: number[];
  /** The pretrain run whose trunk a stage starts from. */
  initFrom?: string;
  /** The teacher runs of a `distill` stage, in its order. */
  teachers?: string[];
  /** A `pretrain` stage's pretext (chosen for this recipe). */
  pretext?: Pretext;
  /** A `classifier` stage's stage-2 plan: its stage 1 is the train stage before it. */
  stagePlan?: StagePlan;
  /** The classes each teacher trained on (all classes when its stage had no subset), in `teachers`' order. */
  teacherClasses?: number[][];
  /** A `train` stage with `from`: the earlier stage run whose `last/` weights it starts from. */
  startFrom?: string;
  /** A `train` stage with its own lr schedule (absent: the recipe's). */
  schedule?: ScheduleSpec;
  dependsOn: string[];
}

/** True when the recipe's method has a stage kind src/stages/ does not plan: pretrain, distill, or train on a subset. */
export function hasStageKinds(recipe: Recipe): boolean {
  const stages = getMethod(recipe.method.name).stages ?? [];
  return stages.some((s) => s.kind === 'pretrain' || s.kind === 'distill' || (s.kind === 'train' && (s.classSubset !== undefined || s.initFrom !== undefined || s.from !== undefined)));
}

function subsetTag(subset: ClassSubset): string {
  return Array.isArray(subset) ? `c${subset.join('.')}` : typeof subset === 'string' ? subset : slug(subset.name);
}

/**
 * The classes of a subset: a group's classes on this split, the given indices, or a rule's choice
 * (from the LT counts, the method's params and the recipe's thresholds); empty is an error naming it.
 */
export function subsetClasses(subset: ClassSubset, split: LongTailSplit, where: string, recipe?: Recipe): number[] {
  const numClasses = split.classCounts.length;
  const chosen = (): number[] => {
    if (Array.isArray(subset)) return subset;
    if (typeof subset === 'string') return split.groups.flatMap((g, c) => (g === subset ? [c] : []));
    if (!recipe) throw new Error(`internal: ${where}: class subset '${subset.name}' needs the recipe`);
    return subset.select({ classCounts: split.ltClassCounts ?? split.classCounts, params: recipe.method.params, thresholds: recipe.eval.thresholds, recipeName: recipe.name ?? recipe.method.name });
  };
  const classes = [...new Set(chosen())].sort((a, b) => a - b);
  const bad = classes.find((c) => !Number.isInteger(c) || c < 0 || c >= numClasses);
  if (bad !== undefined) throw new RecipeError(`${where}: classSubset: class ${bad} is not one of the ${numClasses} classes`, undefined, 'method.name');
  if (classes.length === 0) throw new RecipeError(`${where}: classSubset '${subsetTag(subset)}' is empty on this split (no class in it)`, undefined, 'method.name');
  return classes;
}

/** The method's stages as runs, in order, each depending on the runs it starts from or reads. */
export function planStageRuns(recipe: Recipe, split: LongTailSplit): StageRun[] {
  const def = getMethod(recipe.method.name);
  const stages = def.stages ?? [{ kind: 'train' as const }];
  const ds = datasetTag(recipe);
  const name = slug(recipe.method.name);
  const whole = recipeHash(recipe);
  const runs: StageRun[] = [];
  let pretrained: string | undefined;
  stages.forEach((spec, index) => {
    const where = `method ${recipe.method.name}, stage ${index + 1} (${spec.kind})`;
    const idOf = (hash: string, tag: string) => `${name}-${tag}${ds}-${sha256(`${hash}:${split.checksum}`).slice(0, 12)}`;
    if (spec.kind === 'classifier') {
      // Only as the last stage, on a train stage's run (SSP: pre-train → train → cRT).
      const prev = runs[runs.length - 1];
      if (index !== stages.length - 1 || !prev || prev.kind !== 'train' || prev.classes !== undefined) {
        throw new RecipeError(`${where}: a classifier stage after pretrain / distill / subset stages must be the last stage and follow a train stage on every class`, undefined, 'method.name');
      }
      // The stage-2 settings resolved as for any recipe with `stage2.strategy` (the recipe's stage2 keys, else the defaults).
      const base = planStages({ ...recipe, method: { name: 'softmax', params: {} }, stage2: { ...(recipe.stage2 ?? {}), strategy: spec.strategy } } as Recipe);
      const canonical = { ...base.canonical, name: recipe.name, method: recipe.method } as Recipe;
      const hash = sha256(canonicalJson({ recipe: recipeHash(canonical), stage: index, from: prev.runId }));
      const stagePlan: StagePlan = { ...base, stage1: prev.recipe, canonical, hash };
      runs.push({ index, spec, kind: 'stage2', runId: idOf(hash, `s${index + 1}-${spec.strategy}-`), hash, recipe: canonical, epochs: base.stage2!.epochs, stagePlan, dependsOn: [prev.runId] });
      return;
    }
    if (spec.kind === 'pretrain') {
      const param = spec.epochsParam ? recipe.method.params[spec.epochsParam] : undefined;
      const epochs = typeof param === 'number' ? param : recipe.train.epochs;
      const pretext = typeof spec.pretext === 'function' ? spec.pretext(recipe) : spec.pretext;
      // Nothing after the pre-training changes it: the stage-2 keys are not its own.
      const { stage2: _stage2, ...rest } = recipe;
      const pretrain: Recipe = {
        ...rest,
        name: `${recipe.name}@pretrain-${pretext.name}`,
        reference: 'none',
        method: { name: `pretext:${pretext.name}`, params: { classes: pretext.classes, ...(pretext.params ?? {}) } },
        train: { ...recipe.train, epochs },
      };
      const hash = recipeHash(pretrain);
      // Shared by every method with this pretext: named by the pretext, not the method.
      const runId = `pretrain-${slug(pretext.name)}-${ds}-${sha256(`${hash}:${split.checksum}`).slice(0, 12)}`;
      runs.push({ index, spec, kind: 'pretrain', runId, hash, recipe: pretrain, epochs, pretext, dependsOn: [] });
      pretrained = runId;
      return;
    }
    if (spec.kind === 'train') {
      const classes = spec.classSubset === undefined ? undefined : subsetClasses(spec.classSubset, split, where, recipe);
      if (spec.initFrom !== undefined) {
        const from = runs.find((r) => r.index === spec.initFrom);
        if (!from || from.kind !== 'train') throw new RecipeError(`${where}: initFrom ${spec.initFrom} is not an earlier train stage`, undefined, 'method.name');
        if (pretrained) throw new RecipeError(`${where}: a stage cannot start from both a pretrain run and initFrom`, undefined, 'method.name');
        pretrained = from.runId;
      }
      let startFrom: string | undefined;
      if (spec.from !== undefined) {
        const from = runs.find((r) => r.index === spec.from);
        if (!from || from.kind === 'pretrain') throw new RecipeError(`${where}: 'from' ${spec.from} is not an earlier train or distill stage`, undefined, 'method.name');
        startFrom = from.runId;
      }
      const param = spec.epochsParam ? recipe.method.params[spec.epochsParam] : undefined;
      const epochs = typeof param === 'number' ? param : recipe.train.epochs;
      // A stage schedule equal to the recipe's is no schedule of its own (and changes no id).
      const own = spec.schedule ? (scheduleSchema.parse(spec.schedule) as ScheduleSpec) : undefined;
      const schedule = own && canonicalJson(own) !== canonicalJson(recipe.train.schedule) ? own : undefined;
      // Keys absent unless used: the ids of the stages that existed before `from` / `epochsParam` / `schedule` stay.
      const extra = { ...(startFrom ? { startFrom } : {}), ...(spec.epochsParam ? { epochs } : {}), ...(schedule ? { schedule } : {}) };
      const hash = sha256(canonicalJson({ recipe: whole, stage: index, classes, initFrom: pretrained, ...extra }));
      const tag = spec.classSubset === undefined ? '' : `${subsetTag(spec.classSubset)}-`;
      const dependsOn = [...(pretrained ? [pretrained] : []), ...(startFrom ? [startFrom] : [])];
      runs.push({ index, spec, kind: 'train', runId: idOf(hash, `s${index + 1}-${tag}`), hash, recipe, epochs, classes, initFrom: pretrained, startFrom, schedule, dependsOn });
      pretrained = undefined;
      return;
    }
    const teacherRuns = spec.teachers.map((t) => {
      const run = runs.find((r) => r.index === t);
      if (!run || run.kind === 'pretrain') throw new RecipeError(`${where}: teacher ${t} is not an earlier train or distill stage`, undefined, 'method.name');
      return run;
    });
    const teachers = teacherRuns.map((r) => r.runId);
    const all = split.classCounts.map((_, c) => c);
    const teacherClasses = teacherRuns.map((r) => r.classes ?? all);
    if (teachers.length === 0) throw new RecipeError(`${where}: a distill stage needs at least one teacher`, undefined, 'method.name');
    const hash = sha256(canonicalJson({ recipe: whole, stage: index, teachers, initFrom: pretrained }));
    runs.push({ index, spec, kind: 'distill', runId: idOf(hash, `s${index + 1}-distill-`), hash, recipe, epochs: recipe.train.epochs, teachers, teacherClasses, initFrom: pretrained, dependsOn: [...(pretrained ? [pretrained] : []), ...teachers] });
    pretrained = undefined;
  });
  return runs;
}
