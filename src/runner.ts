/**
 * One single-stage run: recipe → data → split → model → training → evaluation → run record.
 * A finished record is reused, an unfinished one resumed from `last`, and `force` trains again
 * into a new run id: nothing is overwritten. Which runs a recipe needs (stages, balanced
 * references) is planned in src/lifecycle/, which calls trainOne for each single-stage run.
 */
import { runEnvironment } from './results/environment.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { selectBackend } from './backend.js';
import { autogradChoice, type AutogradChoice } from './backends/torch/autograd.js';
import { applyPrecision, checkPrecision } from './train/precision.js';
import { checkDataDir, checkOutputDir } from './paths.js';
import { samplerEpochOrder } from './data/epoch-order.js';
import { resolveSamplerName } from './data/samplers.js';
import { recipeRandAugment } from './data/rand-augment.js';
import { Rng } from './rng.js';
import { groupSizes } from './data/longtail.js';
import { emptyGroupWarnings } from './data/group-check.js';
import type { LongTailSplit } from './data/types.js';
import type { BatchSource } from './data/batch-source.js';
import { openRunData, recipeSplit, type RunData } from './data/run-data.js';
import { calibrateOnVal } from './eval/calibrate.js';
import { evaluate, predictWithLabels, type EvalProgress } from './eval/evaluate.js';
import { evaluateWithPredictions, type TestPredictions } from './eval/predictions.js';
import { storeTestEvaluation } from './eval/test-distributions-run.js';
import { upperAndRelative } from './eval/metrics.js';
import { measureCost, type RunCost } from './eval/cost.js';
import { getMethod } from './methods/registry.js';
import type { MethodInstance, MethodModel, SamplerName } from './methods/types.js';
import { buildMethodModel } from './models/model.js';
import { methodStreams } from './train/streams.js';
import { extractFeatures } from './stages/features.js';
import { recipeHash, sha256 } from './recipe/hash.js';
import { isImageListDataset, type Recipe } from './recipe/schema.js';
import type { ScheduleSpec } from './train/schedule.js';
import { appendEpochLine, readRecord, trimEpochLines, writePerClassCsv, writeRecord, writeResolvedRecipe, writeStoppedRecord } from './results/record.js';
import type { EvalMetrics, RunRecord } from './results/types.js';
import { withRunLock, RunHeldError } from './results/lock.js';
import { appendRunLog, loggingReporter } from './results/run-log.js';
import { checkpointExists, loadCheckpoint, restoreVariables } from './train/checkpoint.js';
import type { Reporter } from './train/reporter.js';
import { stepsPerEpoch, train, type TrainInputs } from './train/trainer.js';
import { describeActivationEstimate, estimateActivationMemory } from './train/memory.js';
import { datasetTag, runIdFor, slug } from './lifecycle/ids.js';

export interface RunOptions {
  /** Where the dataset files are (overrides the recipe's dataset.root). */
  dataRoot?: string;
  /** Results directory (overrides the recipe's output). */
  output?: string;
  /** Train again into a new run id even if a record exists. */
  force?: boolean;
  /** Forced backend name. */
  backend?: string;
  reporter?: Reporter;
  signal?: { interrupted: boolean };
  /** Path of the recipe file, recorded for tables. */
  recipePath?: string | null;
  /** Wait for another trainer of the same run to finish (then reuse or resume it) instead of failing. */
  wait?: boolean;
}

export interface RunResult {
  record: RunRecord;
  dir: string;
  /** True when an existing finished record was returned without training. */
  reused: boolean;
  /** The paired balanced runs, when the recipe asked for them. */
  references?: { vanilla: RunResult; method: RunResult };
  /** Two-stage runs (src/stages/): the reused or trained stage-1 run stage 2 started from. */
  stage1?: RunResult;
  /** Reference runs another trainer held, so that UA/RA are missing from the record for now. */
  heldReferences?: RunHeldError[];
}

/** Options of the run lock (src/results/lock.ts) from the run options. */
export function lockOptions(opts: RunOptions): { wait?: boolean; signal?: { interrupted: boolean }; log?: (m: string) => void } {
  return { wait: opts.wait, signal: opts.signal, log: opts.reporter?.log };
}

export { datasetTag, runIdFor, slug };

export { splitFor, valImages } from './data/run-data.js';

/**
 * Where a recipe's run lives and what is there. With --force earlier runs live at `<id>-rN`;
 * the newest finished one counts.
 */
export function locateRun(recipe: Recipe, split: LongTailSplit, opts: Pick<RunOptions, 'output'> = {}): { runId: string; dir: string; existing: RunRecord | null } {
  const runId = runIdFor(recipe, split);
  const dir = path.join(path.resolve(opts.output ?? recipe.output), runId);
  return { runId, dir, existing: readRecord(dir) };
}

async function metricsOf(model: MethodModel, method: MethodInstance, recipe: Recipe, data: RunData, reporter: Reporter = {}, what = 'test'): Promise<{ test: EvalMetrics; calibration?: Record<string, unknown>; predictions: TestPredictions }> {
  const { split, sources } = data;
  const calibration = await calibrateOnVal(model, method, sources.val, split.indices.val, recipe.eval.batchSize, { source: sources.test, indices: split.indices.test });
  const { metrics: test, predictions } = await evaluateWithPredictions(model, method, sources.test, split.indices.test, recipe.eval.batchSize, data.numClasses, split.groups, evalProgress(reporter, what));
  return { test, calibration, predictions };
}

/** The evaluation-progress callback that reports to `reporter` (none when it does not listen). */
export function evalProgress(reporter: Reporter, what: string): EvalProgress | undefined {
  const r = reporter.evaluation;
  return r ? (done, total) => r.call(reporter, { what, done, total }) : undefined;
}

/** Puts the image-list pipeline's counters (the record's `data` block) into a record about to be written. */
export function attachPipelineStats(record: RunRecord, data: RunData): void {
  const s = data.pipelineStats();
  if (s) record.data = { pipelineImagesPerSec: s.imagesPerSecond, workers: s.workers, libuvPool: s.libuvPool, images: s.images, skipped: s.skipped, skippedFiles: s.skippedFiles };
}

/** Height, width and channels of the images a run trains on. */
export function imageShapeOf(recipe: Recipe, data: RunData): [number, number, number] {
  if (isImageListDataset(recipe.dataset.name)) {
    const size = recipe.dataset.transform?.size ?? 224;
    return [size, size, 3];
  }
  const b = (data.sources.train as { batches?: { images: { height: number; width: number; channels: number } } }).batches!.images;
  return [b.height, b.width, b.channels];
}

/**
 * Parameters and MACs per image of a run's model (src/eval/cost.ts), for its record; a failure
 * to measure is a warning, never a failed run.
 */
export async function runCost(model: MethodModel, method: MethodInstance, shape: [number, number, number], epochs: number, reporter: Reporter): Promise<RunCost | undefined> {
  try {
    return await measureCost(model, method, shape, epochs);
  } catch (e) {
    reporter.warn?.(`could not count parameters and MACs: ${(e as Error).message}`);
    return undefined;
  }
}

/** Trains (or reuses, or resumes) one single-stage run of `recipe`. */
/**
 * A stage of a method's pipeline (src/lifecycle/run-stage.ts) trained by trainOne: its planned id
 * and hash, and what it changes in a plain run. Absent for every other run.
 */
export interface StageTraining {
  runId: string;
  hash: string;
  /** Replaces the method's instance (a pretext task). */
  method?: MethodInstance;
  /** Sets initial weights of a fresh run (not on resume: `last` has them). */
  init?: (model: MethodModel) => void;
  /** The method name the record carries (an intermediate stage's `<method>@stage<k>`, which tables skip). */
  recordMethod?: string;
  /** Trains on these classes' images only. */
  trainClasses?: number[];
  /** Index of the stage in the method's `stages` (the method's `setup.stage`). */
  stageIndex?: number;
  /** Epochs the stage trains (default the recipe's; the record keeps the recipe's budget). */
  epochs?: number;
  /** The stage's own lr schedule (default the recipe's). */
  schedule?: ScheduleSpec;
  /** Builds what every step's context gets (a distill stage's teachers), once the data is open; disposed after training. */
  stepContext?: (data: { inChannels: number; classCounts: number[] }) => { context: TrainInputs['stepContext']; dispose(): void };
}

/** Stream 0's epoch order, handed to a second sampler from `to.epoch` on (a method's `samplerSwitch`). */
export function switchedEpochOrder(from: (epoch: number) => Int32Array, to?: { epoch: number; order: (epoch: number) => Int32Array }): (epoch: number) => Int32Array {
  return to ? (epoch) => (epoch >= to.epoch ? to.order(epoch) : from(epoch)) : from;
}

const engineOf = (c: AutogradChoice): NonNullable<RunRecord['engine']> => ({ autograd: c.engine, autogradReason: c.reason });

export async function trainOne(recipe: Recipe, opts: RunOptions, stage?: StageTraining): Promise<RunResult> {
  const reporter = opts.reporter ?? {};
  const backend = await selectBackend(opts.backend);
  // Refused before anything is created: a precision this backend cannot do never runs as fp32.
  checkPrecision(recipe, backend, opts.recipePath);
  autogradChoice(); // a bad LT_TORCH_AUTOGRAD is refused (exit 2) before anything is created
  let { runId, dir, existing } = locateRun(recipe, recipeSplit(recipe, opts.dataRoot), opts);
  if (stage) {
    runId = stage.runId;
    dir = path.join(path.dirname(dir), runId);
    existing = readRecord(dir);
  }
  if (opts.force) {
    const baseId = runId;
    const outDir = path.dirname(dir);
    for (let k = 2; existing; k++) {
      runId = `${baseId}-r${k}`;
      dir = path.join(outDir, runId);
      existing = readRecord(dir);
    }
  }
  if (existing?.status === 'finished') return { record: existing, dir, reused: true };
  return withRunLock(path.dirname(dir), runId, lockOptions(opts), async () => {
    // Another trainer may have finished (or advanced) the run while this one waited.
    existing = readRecord(dir);
    if (existing?.status === 'finished') return { record: existing, dir, reused: true };
    const data = await openRunData(recipe, { dataRoot: opts.dataRoot });
    try {
      return await trainOpened(recipe, opts, data, runId, dir, existing, backend, stage);
    } finally {
      await data.close();
    }
  });
}

async function trainOpened(recipe: Recipe, opts: RunOptions, data: RunData, runId: string, dir: string, existing: RunRecord | null, backend: Awaited<ReturnType<typeof selectBackend>>, stage?: StageTraining): Promise<RunResult> {
  const { split } = data;
  const methodDef = getMethod(recipe.method.name.startsWith('pretext:') ? 'softmax' : recipe.method.name);
  const epochs = stage?.epochs ?? recipe.train.epochs;
  const method = stage?.method ?? methodDef.create({ classCounts: split.classCounts, numClasses: data.numClasses, params: recipe.method.params, epochs, ...(stage?.stageIndex !== undefined ? { stage: stage.stageIndex } : {}) });
  mkdirSync(dir, { recursive: true });
  const reporter = loggingReporter(dir, opts.reporter);
  // On the LT split only: its balanced reference runs share its groups and would repeat it.
  if (!split.balanced) for (const w of emptyGroupWarnings(split.groups, split.classCounts, recipe.eval.thresholds, recipe.dataset.maxPerClass)) reporter.warn?.(`${recipe.name ?? runId}: ${w}`);
  const startedAt = existing?.timing.startedAt ?? new Date().toISOString();
  const wallStart = performance.now() - 1000 * (existing?.timing.wallSeconds ?? 0);
  const model = buildMethodModel(method, { backbone: recipe.backbone.name, inChannels: data.channels, numClasses: data.numClasses, seed: recipe.train.seed, imageShape: imageShapeOf(recipe, data) });
  const cost = existing?.cost ?? (await runCost(model, method, imageShapeOf(recipe, data), recipe.train.epochs, reporter));
  const record: RunRecord = {
    schemaVersion: 1,
    runId,
    status: 'running',
    recipeHash: stage?.hash ?? recipeHash(recipe),
    recipePath: opts.recipePath ?? existing?.recipePath ?? null,
    name: recipe.name ?? runId,
    method: { name: stage?.recordMethod ?? recipe.method.name, family: methodDef.family, tag: methodDef.tags[0], tags: methodDef.tags, params: recipe.method.params, ...(method.resolvedParams ? { resolved: method.resolvedParams } : {}) },
    backbone: recipe.backbone.name,
    dataset: {
      name: data.name,
      profile: recipe.dataset.profile,
      imbalanceRatio: recipe.dataset.profile === 'none' ? Math.max(...split.classCounts) / Math.min(...split.classCounts) : recipe.dataset.imbalanceRatio,
      balanced: recipe.dataset.balanced,
      valSource: recipe.dataset.valSource,
      maxPerClass: recipe.dataset.maxPerClass,
      ...(recipeRandAugment(recipe) ? { randAugment: recipeRandAugment(recipe)! } : {}),
      splitSeed: recipe.dataset.splitSeed,
      classCounts: split.classCounts,
      groups: split.groups,
      groupSizes: groupSizes(split.groups),
      thresholds: recipe.eval.thresholds,
      splitChecksum: split.checksum,
      sizes: { train: split.indices.train.length, val: split.indices.val.length, test: split.indices.test.length },
      files: data.files,
    },
    seeds: { train: recipe.train.seed, split: recipe.dataset.splitSeed },
    epochs: recipe.train.epochs,
    bestEpoch: null,
    metrics: { last: null, best: null, valLast: null },
    reference: null,
    environment: runEnvironment(backend),
    ...(recipe.train.precision !== 'fp32' ? { precision: recipe.train.precision } : {}),
    engine: engineOf(autogradChoice()),
    parameterCount: model.parameterCount(),
    ...(cost ? { cost } : {}),
    timing: { wallSeconds: 0, trainImagesPerSec: 0, startedAt, finishedAt: null },
    // --rehearse (src/rehearsal/shrink.ts); stage-2 records inherit it from their stage-1 record.
    ...(recipe.rehearsal ? { rehearsal: true as const, rehearsalOf: recipe.rehearsal } : {}),
  };
  writeResolvedRecipe(dir, recipe, `run ${runId}: resolved recipe (all defaults filled in); hash ${record.recipeHash}`);
  writeRecord(dir, record);

  const lastDir = path.join(dir, 'last');
  let resumedFrom: { epoch: number; step: number } | undefined;
  if (checkpointExists(lastDir)) resumedFrom = loadCheckpoint<{ epoch: number; step: number }>(lastDir).meta;
  // Lines written after the checkpoint the run restarts from (or all, when it restarts from scratch).
  trimEpochLines(dir, resumedFrom?.epoch ?? 0);
  if (!resumedFrom) stage?.init?.(model);
  const trainIndicesOf = () => (stage?.trainClasses ? split.indices.train.filter((i) => stage.trainClasses!.includes(data.sources.train.labels[i])) : split.indices.train);
  if (!resumedFrom && method.prepare) await method.prepare({ model, trainFeatures: () => extractFeatures(model, data.sources.train, trainIndicesOf(), recipe.eval.batchSize) });
  let extra: ReturnType<NonNullable<StageTraining['stepContext']>> | undefined;
  const trainIndices = trainIndicesOf();
  const t = recipe.train;
  const samplerName = resolveSamplerName(t.sampler ?? method.streams?.[0]?.sampler ?? method.sampler ?? 'instance');
  record.sampler = samplerName;
  if (method.samplerSwitch) record.method.resolved = { ...record.method.resolved, samplerSwitch: method.samplerSwitch };
  reporter.runStart?.({ runId, name: record.name, epochs, stepsPerEpoch: stepsPerEpoch(trainIndices.length, t.batchSize), resumedFrom });
  const accumulate = t.accumulate ?? 1;
  const mem = estimateActivationMemory(model, imageShapeOf(recipe, data), t.batchSize / accumulate, accumulate);
  record.memory = { activationBytesEstimate: mem.bytesPerStep, activationBytesPerImage: mem.bytesPerImage, microBatch: mem.microBatch, accumulate, backend: mem.backend, estimate: true };
  reporter.log?.(describeActivationEstimate(mem));
  const pipeline = data.pipelineStats();
  if (pipeline) {
    const capped = pipeline.workers > pipeline.libuvPool ? `: at most ${pipeline.libuvPool} decode at once (set UV_THREADPOOL_SIZE ≥ ${pipeline.workers}, or run the lt-bench CLI, which sizes it)` : '';
    reporter.log?.(`image decoding: ${pipeline.workers} worker thread(s), libuv pool ${pipeline.libuvPool}${capped}`);
  }
  const restorePrecision = applyPrecision(recipe.train.precision, backend, opts.recipePath ?? recipe.name ?? 'recipe');
  try {
    extra = stage?.stepContext?.({ inChannels: data.channels, classCounts: split.classCounts });
    const result = await train(
      {
        model,
        method,
        train: { source: data.sources.train, indices: trainIndices },
        val: { source: data.sources.val, indices: split.indices.val },
        numClasses: data.numClasses,
        groups: split.groups,
        checkpointDir: dir,
        reporter,
        signal: opts.signal,
        // The sampler's epoch order (seeded by the training seed), N per epoch unless train.epochLength says 'sampler'.
        epochOrder: switchedEpochOrder(
          samplerEpochOrder(samplerName, trainIndices, data.sources.train.labels, data.numClasses, epochs, t.epochLength ?? 'dataset', new Rng(t.seed).fork('sampler')),
          method.samplerSwitch && { epoch: method.samplerSwitch.epoch, order: samplerEpochOrder(resolveSamplerName(method.samplerSwitch.sampler), trainIndices, data.sources.train.labels, data.numClasses, epochs, t.epochLength ?? 'dataset', new Rng(t.seed).fork('sampler:switch')) },
        ),
        onEpoch: (line) => appendEpochLine(dir, line),
        ...methodStreams(method, trainIndices, data.sources.train.labels, data.numClasses, epochs, t.epochLength ?? 'dataset', t.seed),
        stepContext: extra?.context,
      },
      {
        epochs,
        batchSize: t.batchSize,
        seed: t.seed,
        lr: t.optimizer.lr,
        schedule: stage?.schedule ?? t.schedule,
        sgd: { momentum: t.optimizer.momentum, nesterov: t.optimizer.nesterov, weightDecay: t.optimizer.weightDecay },
        evalBatchSize: recipe.eval.batchSize,
        accumulate,
        lossScaling: recipe.train.precision === 'fp16',
      },
    );
    if (result.lossScale) record.lossScale = result.lossScale;
    record.engine = engineOf(result.autograd);
    const last = await metricsOf(model, method, recipe, data, reporter, 'test (last)');
    await storeTestEvaluation(dir, 'last', last.predictions, recipe, data, model, method, record);
    let best: EvalMetrics | null = null;
    let bestCalibration: Record<string, unknown> | undefined;
    if (checkpointExists(path.join(dir, 'best'))) {
      const ck = loadCheckpoint(path.join(dir, 'best'));
      restoreVariables(model.store.all(), ck.tensors, path.join(dir, 'best'));
      const m = await metricsOf(model, method, recipe, data, reporter, 'test (best)');
      best = m.test;
      bestCalibration = m.calibration;
      await storeTestEvaluation(dir, 'best', m.predictions, recipe, data, model, method, record);
    }
    record.bestEpoch = result.bestEpoch;
    record.metrics = { last: last.test, best, valLast: result.valLast };
    if (last.calibration) record.method.calibration = { last: last.calibration, best: bestCalibration ?? null };
    record.status = 'finished';
    record.timing = {
      wallSeconds: (performance.now() - wallStart) / 1000,
      trainImagesPerSec: result.trainImagesPerSec,
      startedAt,
      finishedAt: new Date().toISOString(),
    };
    attachPipelineStats(record, data);
    writeRecord(dir, record);
    writePerClassCsv(dir, record, data.classNames);
    reporter.runEnd?.();
    return { record, dir, reused: false };
  } catch (e) {
    attachPipelineStats(record, data);
    writeStoppedRecord(dir, record, e, (performance.now() - wallStart) / 1000);
    throw e;
  } finally {
    restorePrecision();
    model.dispose();
    extra?.dispose();
  }
}

/**
 * The output directory (a writable directory or creatable, not under /proc: exit 2) and an
 * explicit data root (an existing directory: exit 3), checked before anything is created.
 */
export function checkRunPaths(recipe: Recipe, opts: Pick<RunOptions, 'output' | 'dataRoot'> = {}): void {
  checkOutputDir(opts.output ?? recipe.output, opts.output !== undefined ? '--output' : 'output');
  if (opts.dataRoot !== undefined) checkDataDir(opts.dataRoot, '--data-root');
}
