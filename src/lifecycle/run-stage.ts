/**
 * Training one planned stage of a method's pipeline (src/lifecycle/stages.ts) through trainOne:
 *  - `pretrain`: the backbone with the pretext's own head (under `pretext.`) on the pretext's
 *    batch and targets, softmax cross-entropy; its accuracies are the pretext's, on class labels
 *    they mean nothing (the run's product is its trunk); a pretext with its own instance (MoCo v2)
 *    trains that instead;
 *  - a stage after a pretrain run starts from its `last/` trunk: every tensor of the checkpoint
 *    outside `pretext.` that the new model has under the same name and shape; the head starts fresh;
 *    a train stage with `initFrom` starts the same way from that earlier stage's run;
 *  - `train` with classes trains on those classes' images; `train` with `from` starts from that
 *    stage run's `last/` tensors (every one the new model has under the same name and shape:
 *    backbone, batch-norm statistics, a head it keeps) and trains the stage's own epochs;
 *  - `distill` loads its teachers from their `last/` checkpoints, frozen (eval mode, outside the
 *    optimiser), and gives the step context `teachers`, `teacherLogits(x)`, the classes each
 *    teacher trained on and each teacher run's last per-class val accuracy;
 *  - a `classifier` stage (after pretrain → train) is a stage-2 run (src/stages/stage2.ts) on the
 *    train stage's run.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { softmaxLoss } from '../losses/softmax.js';
import { getMethod } from '../methods/registry.js';
import type { MethodInstance, MethodModel, ModelBuildContext, Pretext } from '../methods/types.js';
import { runStage2 } from '../stages/stage2.js';
import { buildMethodModel, LtModel } from '../models/model.js';
import type { Recipe } from '../recipe/schema.js';
import { trainOne, type RunOptions, type RunResult } from '../runner.js';
import { loadCheckpoint, restoreVariables } from '../train/checkpoint.js';
import type { PlannedRun } from './plan.js';

/** The pretext as a method instance: its model, its batch and targets, softmax cross-entropy. */
export function pretextInstance(pretext: Pretext): MethodInstance {
  if (pretext.instance) return pretext.instance();
  if (!pretext.transform) throw new Error(`internal: pretext ${pretext.name} has neither transform nor instance`);
  const transform = pretext.transform;
  const ce = softmaxLoss(Array.from({ length: pretext.classes }, () => 1));
  return {
    // The backbone and a pretext head scoped `pretext.` (so a later stage knows what not to copy).
    buildModel: (ctx: ModelBuildContext) => new LtModel({ backbone: ctx.backbone, head: 'linear', inChannels: ctx.inChannels, numClasses: pretext.classes, seed: ctx.seed, headScope: 'pretext' }),
    transformBatch: (batch, ctx) => {
      if (!ctx.rng) throw new Error(`internal: pretext ${pretext.name} needs the step's generator`);
      const t = transform(batch.x, ctx.rng);
      return { x: t.x, y: t.y, streams: [{ views: [t.x], y: t.y }] };
    },
    loss: (out, labels) => ce(out.logits, labels),
  };
}

/** Copies a pretrain run's trunk (its `last/` tensors outside `pretext.`) into `model` by name. */
export function loadPretrainedTrunk(model: MethodModel, pretrainDir: string): void {
  const where = path.join(pretrainDir, 'last');
  const saved = loadCheckpoint(where).tensors;
  const vars = model.store.all();
  const trunk = new Map([...saved].filter(([name]) => !name.startsWith('pretext.') && vars.has(name)));
  if (trunk.size === 0) throw new Error(`${where}: no trunk tensor of the pre-trained run matches the model's names`);
  restoreVariables(new Map([...trunk.keys()].map((n) => [n, vars.get(n)!])), trunk, where);
}

/** Copies an earlier stage run's `last/` tensors into `model`: every one under the same name and shape. */
export function loadStartWeights(model: MethodModel, fromDir: string): void {
  const where = path.join(fromDir, 'last');
  const saved = loadCheckpoint(where).tensors;
  const vars = model.store.all();
  const same = new Map([...saved].filter(([name, t]) => vars.get(name)?.shape.join(',') === t.shape.join(',')));
  if (same.size === 0) throw new Error(`${where}: no tensor of the earlier stage's run matches the model's names`);
  restoreVariables(new Map([...same.keys()].map((n) => [n, vars.get(n)!])), same, where);
}

/** A finished run's model, restored from its `last/` checkpoint (a teacher trained as `stage`). */
function loadModel(recipe: Recipe, dir: string, classCounts: number[], inChannels: number, stage: number): MethodModel {
  const method = getMethod(recipe.method.name).create({ classCounts, numClasses: classCounts.length, params: recipe.method.params, epochs: recipe.train.epochs, stage });
  const model = buildMethodModel(method, { backbone: recipe.backbone.name, inChannels, numClasses: classCounts.length, seed: recipe.train.seed });
  restoreVariables(model.store.all(), loadCheckpoint(path.join(dir, 'last')).tensors, path.join(dir, 'last'));
  return model;
}

/** Trains (or reuses, or resumes) one planned stage run; `done` holds the runs it depends on. */
export async function runStage(run: PlannedRun, done: Map<string, RunResult>, opts: RunOptions): Promise<RunResult> {
  const st = run.stage!;
  const dep = (id: string) => {
    const r = done.get(id);
    if (!r) throw new Error(`internal: stage run ${run.runId} planned before ${id}`);
    return r;
  };
  const init = st.initFrom
    ? (model: MethodModel) => loadPretrainedTrunk(model, dep(st.initFrom!).dir)
    : st.startFrom
      ? (model: MethodModel) => loadStartWeights(model, dep(st.startFrom!).dir)
      : undefined;
  if (st.kind === 'pretrain') return trainOne(run.recipe, opts, { runId: run.runId, hash: run.hash, method: pretextInstance(st.pretext!) });
  // A classifier stage after pre-training (SSP's cRT): stage 2 on the train stage's run, recorded under the method's name.
  if (st.kind === 'stage2') return runStage2(st.stagePlan!, dep(st.dependsOn[0]), opts, { runId: run.runId, recordMethod: run.role === 'main' || run.role === 'reference-method' ? run.recipe.method.name : `${run.recipe.method.name}@stage${st.index + 1}` });
  // A stage before the last (an expert) is not the method's result: its record says which stage it is.
  const recordMethod = run.role === 'main' || run.role === 'reference-method' ? undefined : `${run.recipe.method.name}@stage${st.index + 1}`;
  const own = { stageIndex: st.index, epochs: st.epochs, ...(st.schedule ? { schedule: st.schedule } : {}) };
  if (st.kind === 'train') return trainOne(run.recipe, opts, { runId: run.runId, hash: run.hash, init, trainClasses: st.classes, recordMethod, ...own });
  const teacherRuns = st.teachers!.map(dep);
  return trainOne(run.recipe, opts, {
    runId: run.runId,
    hash: run.hash,
    init,
    recordMethod,
    ...own,
    stepContext: ({ inChannels, classCounts }) => {
      const spec = st.spec as Extract<typeof st.spec, { kind: 'distill' }>;
      const teachers = teacherRuns.map((t, i) => loadModel(run.recipe, t.dir, classCounts, inChannels, spec.teachers[i]));
      // Eval mode (no batch-norm update) and outside the optimiser's variables (no gradient reaches them): the teachers stay as their runs left them.
      const teacherLogits = (x: tf.Tensor4D) => teachers.map((m) => m.forward(x, false).logits);
      const teacherValPerClass = teacherRuns.map((t) => t.record.metrics.valLast?.perClass ?? []);
      return { context: { teachers, teacherLogits, teacherClasses: st.teacherClasses, teacherValPerClass }, dispose: () => teachers.forEach((m) => m.dispose()) };
    },
  });
}
