/**
 * Stage 2 of a decoupled run (Kang et al., ICLR 2020; facebookresearch/classifier-balancing):
 * the stage-1 backbone is loaded from the stage-1 run's checkpoint and frozen, and the classifier
 * is re-learned by one strategy:
 *  - crt: a re-initialised linear classifier trained with the class-aware sampler (10 epochs);
 *  - lws: the stage-1 W, b frozen, per-class scales learned (5 epochs);
 *  - tau-norm: w_k/‖w_k‖^τ, no bias, τ chosen on the val split;
 *  - ncm: nearest class mean on cl2n features.
 * Stage 2 is a run of its own in `results/<run-id>/` (own `epochs.jsonl`, `last/`, `best/`,
 * resumable); its record names the stage-1 run and counts stage-2 epochs separately.
 *
 * As the official code (`model.train()` on every network, `fix` only stops gradients), the frozen
 * backbone's batch norm keeps normalising with batch statistics and updating its running
 * statistics during crt/lws (`backboneMode: train`); `backboneMode: eval` freezes those too.
 * Stage-2 loss: plain softmax CE (the official SoftmaxLoss). Deviation: stage 2 starts from the
 * stage-1 `last` checkpoint by default (lt-bench's tables report last; the official code loads
 * best-on-val) — `stage2.from: best` follows the official code.
 */
import { evaluateWithPredictions } from '../eval/predictions.js';
import { storeTestEvaluation } from '../eval/test-distributions-run.js';
import { runEnvironment } from '../results/environment.js';
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { selectBackend } from '../backend.js';
import { applyPrecision, checkPrecision } from '../train/precision.js';
import { openRunData, recipeSplit, type RunData } from '../data/run-data.js';
import type { LongTailSplit } from '../data/types.js';
import { DataError, RecipeError } from '../errors.js';
import { evaluate } from '../eval/evaluate.js';
import { softmaxLoss } from '../losses/softmax.js';
import { getMethod } from '../methods/registry.js';
import { logitsLoss } from '../methods/setup.js';
import type { HeadName, MethodInstance } from '../methods/types.js';
import type { NcmHead } from '../models/heads/ncm.js';
import type { TauNormHead } from '../models/heads/tau-norm.js';
import { buildMethodModel, LtModel } from '../models/model.js';
import type { Recipe } from '../recipe/schema.js';
import { appendEpochLine, readRecord, trimEpochLines, writePerClassCsv, writeRecord, writeResolvedRecipe, writeStoppedRecord } from '../results/record.js';
import type { EvalMetrics, RunRecord, Stage2Info, Stage2Strategy } from '../results/types.js';
import { Rng } from '../rng.js';
import type { RunOptions, RunResult } from '../runner.js';
import { attachPipelineStats, evalProgress, imageShapeOf, lockOptions, runCost } from '../runner.js';
import { stage2RunId } from '../lifecycle/ids.js';
import { withRunLock } from '../results/lock.js';
import { loggingReporter } from '../results/run-log.js';
import { describeActivationEstimate, estimateActivationMemory } from '../train/memory.js';
import { checkpointExists, loadCheckpoint, restoreVariables, saveCheckpoint } from '../train/checkpoint.js';
import { stepsPerEpoch, train } from '../train/trainer.js';
import { extractFeatures } from './features.js';
import { samplerEpochOrder } from '../data/epoch-order.js';
import type { StagePlan, Stage2Spec } from './plan.js';
import { stage2MethodName } from './presets.js';
import { chooseTau } from './tau-norm.js';

const HEAD_OF: Record<Stage2Strategy, HeadName> = { crt: 'linear', lws: 'lws', 'tau-norm': 'tau-norm', ncm: 'ncm' };
/** Head parameters stage 2 trains; everything else is frozen. */
const TRAINED: Record<Stage2Strategy, string[]> = { crt: ['fc.weight', 'fc.bias'], lws: ['fc.scales'], 'tau-norm': [], ncm: [] };
/** Stage-1 head tensors each strategy starts from (crt re-initialises, ncm has no weights). */
const LOADED_HEAD: Record<Stage2Strategy, string[]> = { crt: [], lws: ['fc.weight', 'fc.bias'], 'tau-norm': ['fc.weight'], ncm: [] };

function isHeadTensor(name: string): boolean {
  return name.startsWith('fc.') || name.startsWith('ncm.');
}

/** A model whose backbone always runs in evaluation mode (`backboneMode: eval`). */
class FrozenBnModel extends LtModel {
  override forwardFeatures(x: tf.Tensor4D): tf.Tensor2D {
    return this.backbone.apply(x, false);
  }
}

export { stage2RunId };

/** The stage-1 method's classifier head (lws and tau-norm need a linear one). */
function stage1Head(stage1: Recipe, split: LongTailSplit, numClasses: number): HeadName {
  const m = getMethod(stage1.method.name).create({ classCounts: split.classCounts, numClasses, params: stage1.method.params, epochs: stage1.train.epochs });
  return m.head ?? 'linear';
}

/**
 * Stage 2 as a method on the contract: the strategy's head, softmax CE, and a model whose
 * backbone batch norm is frozen too when `backboneMode: eval`.
 */
function stage2Method(strategy: Stage2Strategy, classCounts: number[], backboneMode: 'train' | 'eval' = 'train'): MethodInstance {
  const head = HEAD_OF[strategy];
  return {
    head,
    loss: logitsLoss(softmaxLoss(classCounts)),
    // `this`: `lt-bench eval` passes a copy carrying the chosen τ as headOptions.
    buildModel(ctx) {
      const spec = { ...ctx, head, headOptions: this.headOptions };
      return backboneMode === 'eval' ? new FrozenBnModel(spec) : new LtModel(spec);
    },
  };
}

/** A finished stage-2 run's head and prediction, to evaluate its checkpoints again (`lt-bench eval`). */
export function stage2Evaluation(info: Stage2Info, classCounts: number[]): { method: MethodInstance; headOptions: Record<string, unknown> } {
  return { method: stage2Method(info.strategy, classCounts), headOptions: info.tau ? { tau: info.tau.chosen } : {} };
}

/** Loads the backbone (and the head tensors the strategy keeps) from the stage-1 checkpoint. */
function loadStage1(model: LtModel, strategy: Stage2Strategy, ckDir: string): void {
  if (!checkpointExists(ckDir)) throw new DataError(`${ckDir}: the stage-1 run has no such checkpoint; use stage2.from: last, or rerun stage 1 with --force`);
  const ck = loadCheckpoint(ckDir);
  const wanted = new Map([...model.store.all()].filter(([name]) => !isHeadTensor(name) || LOADED_HEAD[strategy].includes(name)));
  restoreVariables(wanted, ck.tensors, ckDir);
}

function freeze(model: LtModel, strategy: Stage2Strategy): void {
  for (const name of model.store.trainable.keys()) if (!TRAINED[strategy].includes(name)) model.store.frozen.add(name);
}

/**
 * `recordMethod`: the run is a method's own classifier stage (SSP's cRT after pre-training), so
 * its record carries that method (name, family, tags, params) and no Table 7 cell; `runId` is the
 * id its plan gave it (src/lifecycle/stages.ts).
 */
export async function runStage2(plan: StagePlan, stage1: RunResult, opts: RunOptions, extra: { recordMethod?: string; runId?: string } = {}): Promise<RunResult> {
  const spec = plan.stage2 as Stage2Spec;
  const recipe = plan.canonical;
  const reporter = opts.reporter ?? {};
  const backend = await selectBackend(opts.backend);
  checkPrecision(recipe, backend, opts.recipePath);
  const split = recipeSplit(recipe, opts.dataRoot);
  const numClasses = stage1.record.dataset.classCounts.length;
  const s1 = stage1.record;
  if (s1.dataset.splitChecksum !== split.checksum) {
    throw new DataError(`stage-1 run ${s1.runId} was trained on split ${s1.dataset.splitChecksum.slice(0, 12)}, stage 2 sees ${split.checksum.slice(0, 12)}`);
  }
  if ((spec.strategy === 'lws' || spec.strategy === 'tau-norm') && stage1Head(plan.stage1, split, numClasses) !== 'linear') {
    throw new RecipeError(`stage2.strategy: ${spec.strategy} needs a stage-1 linear classifier; ${plan.stage1.method.name} trains a '${stage1Head(plan.stage1, split, numClasses)}' head (use crt or ncm)`, undefined, 'stage2.strategy');
  }

  const baseId = extra.runId ?? stage2RunId(plan, split);
  const outDir = path.resolve(opts.output ?? recipe.output);
  let runId = baseId;
  let dir = path.join(outDir, runId);
  let existing = readRecord(dir);
  if (opts.force) {
    for (let k = 2; existing; k++) {
      runId = `${baseId}-r${k}`;
      dir = path.join(outDir, runId);
      existing = readRecord(dir);
    }
  }
  if (existing?.status === 'finished') return { record: existing, dir, reused: true, stage1 };
  return withRunLock(outDir, runId, lockOptions(opts), async () => {
    existing = readRecord(dir);
    if (existing?.status === 'finished') return { record: existing, dir, reused: true, stage1 };
    const data = await openRunData(recipe, { dataRoot: opts.dataRoot });
    try {
      return await runStage2Opened(plan, stage1, opts, data, runId, dir, existing, backend, extra.recordMethod);
    } finally {
      await data.close();
    }
  });
}

async function runStage2Opened(plan: StagePlan, stage1: RunResult, runOpts: RunOptions, data: RunData, runId: string, dir: string, existing: RunRecord | null, backend: Awaited<ReturnType<typeof selectBackend>>, recordMethod?: string): Promise<RunResult> {
  const spec = plan.stage2 as Stage2Spec;
  const recipe = plan.canonical;
  const { split } = data;
  const s1 = stage1.record;
  mkdirSync(dir, { recursive: true });
  const reporter = loggingReporter(dir, runOpts.reporter);
  const opts: RunOptions = { ...runOpts, reporter };
  const startedAt = existing?.timing.startedAt ?? new Date().toISOString();
  const wallStart = performance.now() - 1000 * (existing?.timing.wallSeconds ?? 0);
  const method = stage2Method(spec.strategy, split.classCounts, spec.backboneMode);
  const model = buildMethodModel(method, { backbone: recipe.backbone.name, inChannels: data.channels, numClasses: data.numClasses, seed: recipe.train.seed }) as LtModel;
  // Stage 2's own model (its head); never stage 1's cost, which the spread below would copy.
  const cost = existing?.cost ?? (await runCost(model, method, imageShapeOf(recipe, data), Math.max(1, spec.epochs), reporter));
  const record: RunRecord = {
    ...s1,
    runId,
    status: 'running',
    recipeHash: plan.hash,
    recipePath: opts.recipePath ?? existing?.recipePath ?? null,
    name: recipe.name ?? runId,
    method: recordMethod ? ownMethodRecord(recordMethod, recipe) : {
      name: stage2MethodName(spec.strategy),
      family: getMethod(stage2MethodName(spec.strategy)).family,
      tag: getMethod(stage2MethodName(spec.strategy)).tags[0],
      tags: getMethod(stage2MethodName(spec.strategy)).tags,
      // The keys src/results/tables.ts reads to place the row (Decouple-IB-CRT, …) and the Table 7 cell.
      params: { stage1Loss: plan.stage1.method.name, stage1Sampler: plan.stage1Sampler, stage1Params: plan.stage1.method.params },
    },
    // `sampler` stays stage 1's; stage 2's is `stage2.sampler`.
    sampler: plan.stage1Sampler,
    bestEpoch: null,
    metrics: { last: null, best: null, valLast: null },
    reference: null,
    environment: runEnvironment(backend),
    parameterCount: model.parameterCount(),
    cost,
    timing: { wallSeconds: 0, trainImagesPerSec: 0, startedAt, finishedAt: null },
    stage2: {
      strategy: spec.strategy,
      stage1RunId: s1.runId,
      stage1Checkpoint: spec.from,
      stage1Loss: plan.stage1.method.name,
      stage1Sampler: plan.stage1Sampler,
      stage1Epochs: s1.epochs,
      stage1WallSeconds: s1.timing.wallSeconds,
      epochs: spec.epochs,
      sampler: spec.epochs > 0 ? spec.sampler : null,
      bestEpoch: null,
      trainedParameters: TRAINED[spec.strategy],
      wallSeconds: 0,
    },
    // Table 7 is the survey's instance-sampled stage 1 only.
    ...(plan.stage1Sampler === 'instance' && !recordMethod ? { table7: { stage1Loss: plan.stage1.method.name, classifier: spec.strategy } } : {}),
  };
  writeResolvedRecipe(dir, recipe, `run ${runId}: stage 2 (${spec.strategy}) on stage-1 run ${s1.runId}; canonical recipe hash ${plan.hash}`);
  writeRecord(dir, record);

  const restorePrecision = applyPrecision(recipe.train.precision, backend, runOpts.recipePath ?? recipe.name ?? 'recipe');
  try {
    loadStage1(model, spec.strategy, path.join(stage1.dir, spec.from));
    freeze(model, spec.strategy);
    let trainImagesPerSec = 0;
    let valLast: EvalMetrics | null = null;
    let bestDir: string | null = null;
    if (spec.epochs > 0) {
      const r = await trainClassifier(model, method, spec, recipe, data, dir, opts, record);
      trainImagesPerSec = r.trainImagesPerSec;
      valLast = r.valLast;
      record.bestEpoch = r.bestEpoch;
      record.stage2!.bestEpoch = r.bestEpoch;
      bestDir = path.join(dir, 'best');
    } else {
      await fitWithoutTraining(model, spec, recipe, data, record);
      valLast = await evaluate(model, method, data.sources.val, split.indices.val, recipe.eval.batchSize, data.numClasses, split.groups);
      saveCheckpoint(path.join(dir, 'last'), model.store.all(), { epoch: 0, tau: record.stage2!.tau?.chosen ?? null });
    }
    const lastEval = await evaluateWithPredictions(model, method, data.sources.test, split.indices.test, recipe.eval.batchSize, data.numClasses, split.groups, evalProgress(opts.reporter ?? {}, 'test (last)'));
    const last = lastEval.metrics;
    await storeTestEvaluation(dir, 'last', lastEval.predictions, recipe, data, model, method, record);
    let best: EvalMetrics | null = null;
    if (bestDir && checkpointExists(bestDir)) {
      restoreVariables(model.store.all(), loadCheckpoint(bestDir).tensors, bestDir);
      const bestEval = await evaluateWithPredictions(model, method, data.sources.test, split.indices.test, recipe.eval.batchSize, data.numClasses, split.groups, evalProgress(opts.reporter ?? {}, 'test (best)'));
      best = bestEval.metrics;
      await storeTestEvaluation(dir, 'best', bestEval.predictions, recipe, data, model, method, record);
    }
    record.metrics = { last, best, valLast };
    record.status = 'finished';
    const wallSeconds = (performance.now() - wallStart) / 1000;
    record.timing = { wallSeconds, trainImagesPerSec, startedAt, finishedAt: new Date().toISOString() };
    record.stage2!.wallSeconds = wallSeconds;
    attachPipelineStats(record, data);
    writeRecord(dir, record);
    writePerClassCsv(dir, record, data.classNames);
    reporter.runEnd?.();
    return { record, dir, reused: false, stage1 };
  } catch (e) {
    attachPipelineStats(record, data);
    writeStoppedRecord(dir, record, e, (performance.now() - wallStart) / 1000);
    throw e;
  } finally {
    restorePrecision();
    model.dispose();
  }
}

/** The record's method block of a method's own classifier stage (`ssp`, or `ssp@stage3` for an intermediate run). */
function ownMethodRecord(name: string, recipe: Recipe): RunRecord['method'] {
  const def = getMethod(name.split('@')[0]);
  return { name, family: def.family, tag: def.tags[0], tags: def.tags, params: recipe.method.params };
}

/** crt / lws: train the unfrozen head parameters with the stage-2 sampler. */
async function trainClassifier(model: LtModel, method: MethodInstance, spec: Stage2Spec, recipe: Recipe, data: RunData, dir: string, opts: RunOptions, record: RunRecord) {
  const { split, sources } = data;
  const reporter = opts.reporter ?? {};
  let resumedFrom: { epoch: number; step: number } | undefined;
  if (checkpointExists(path.join(dir, 'last'))) {
    resumedFrom = loadCheckpoint<{ epoch: number; step: number }>(path.join(dir, 'last')).meta;
    trimEpochLines(dir, resumedFrom.epoch);
  }
  const epochOrder = samplerEpochOrder(spec.sampler, split.indices.train, sources.train.labels, data.numClasses, spec.epochs, spec.epochLength, new Rng(recipe.train.seed).fork('stage2-sampler'));
  const perEpoch = epochOrder(0).length;
  reporter.runStart?.({ runId: path.basename(dir), name: `${recipe.name ?? ''} (stage 2: ${spec.strategy})`, epochs: spec.epochs, stepsPerEpoch: stepsPerEpoch(perEpoch, spec.batchSize), resumedFrom });
  const o = spec.optimizer;
  // Stage 2 accumulates as stage 1 when train.accumulate divides its batch size (the recipe check ensures it).
  const accumulate = spec.batchSize % (recipe.train.accumulate ?? 1) === 0 ? (recipe.train.accumulate ?? 1) : 1;
  const mem = estimateActivationMemory(model, imageShapeOf(recipe, data), spec.batchSize / accumulate, accumulate);
  record.memory = { activationBytesEstimate: mem.bytesPerStep, activationBytesPerImage: mem.bytesPerImage, microBatch: mem.microBatch, accumulate, backend: mem.backend, estimate: true };
  reporter.log?.(describeActivationEstimate(mem));
  return train(
    {
      model,
      method,
      train: { source: sources.train, indices: split.indices.train },
      val: { source: sources.val, indices: split.indices.val },
      numClasses: data.numClasses,
      groups: split.groups,
      epochOrder,
      checkpointDir: dir,
      reporter,
      signal: opts.signal,
      onEpoch: (line) => appendEpochLine(dir, line),
    },
    {
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      seed: recipe.train.seed,
      lr: o.lr,
      schedule: spec.schedule,
      sgd: { momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay },
      evalBatchSize: recipe.eval.batchSize,
      accumulate,
    },
  );
}

/** tau-norm: choose τ on val; ncm: fit the cl2n centroids on the train features. */
async function fitWithoutTraining(model: LtModel, spec: Stage2Spec, recipe: Recipe, data: RunData, record: RunRecord): Promise<void> {
  const { split, sources } = data;
  const bs = recipe.eval.batchSize;
  if (spec.strategy === 'tau-norm') {
    const head = model.head as TauNormHead;
    const feats = await extractFeatures(model, sources.val, split.indices.val, bs);
    try {
      const choice = chooseTau(feats.features, feats.labels, head.weight as tf.Tensor2D, spec.tauGrid, data.numClasses);
      head.tau = choice.chosen;
      record.stage2!.tau = choice;
      record.method.calibration = { last: { tau: choice.chosen, searched: true, split: 'val' }, best: null };
    } finally {
      feats.features.dispose();
    }
  } else if (spec.strategy === 'ncm') {
    const feats = await extractFeatures(model, sources.train, split.indices.train, bs);
    try {
      (model.head as NcmHead).fit(feats.features, feats.labels);
    } finally {
      feats.features.dispose();
    }
  }
}
