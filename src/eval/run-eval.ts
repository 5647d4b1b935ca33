/**
 * `lt-bench eval <run-dir>`: evaluates a finished run's checkpoint again — on another image list
 * (another test distribution, a user's own images) or on the recipe's own test/val split — with
 * the run's resolved recipe (same model, same test transform, same post-hoc prediction) and the
 * run's groups (from its LT train counts). The metrics go to `eval-<list basename>.json` beside
 * run.json, written atomically.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { selectBackend } from '../backend.js';
import { applyPrecision } from '../train/precision.js';
import type { BatchSource } from '../data/batch-source.js';
import { ImageListBatchSource } from '../data/batch-source.js';
import { loadManifest } from '../data/manifests.js';
import { listLocations, openListSource, openRunData, readListStrict, type RunData } from '../data/run-data.js';
import { DataError, LtBenchError, UsageError } from '../errors.js';
import { getMethod } from '../methods/registry.js';
import type { MethodInstance, MethodModel } from '../methods/types.js';
import { buildMethodModel } from '../models/model.js';
import { loadRecipe } from '../recipe/load.js';
import { isImageListDataset, type Recipe } from '../recipe/schema.js';
import { writeJsonAtomic } from '../results/atomic.js';
import { readRecord } from '../results/record.js';
import type { EvalMetrics, RunRecord } from '../results/types.js';
import { stage2Evaluation } from '../stages/stage2.js';
import { checkpointExists, loadCheckpoint, restoreVariables } from '../train/checkpoint.js';
import { calibrateOnVal } from './calibrate.js';
import type { Reporter } from '../train/reporter.js';
import { evaluateWithPredictions, predictionsFile, writePredictions } from './predictions.js';
import { evalProgress, imageShapeOf } from '../runner.js';
import { measureCost } from './cost.js';
import { backfillRecord } from './record-backfill.js';

export interface EvalRunOptions {
  /** An image list (`<relative path> <label>` lines) to evaluate on. */
  list?: string;
  /** The recipe's own split instead of a list. */
  split?: 'test' | 'val';
  /** Folder the list paths are relative to (default: the recipe's dataset.root, LT_BENCH_DATA). */
  root?: string;
  checkpoint?: 'last' | 'best';
  backend?: string;
  /** Evaluation progress (Reporter.evaluation), e.g. the CLI's bar. */
  reporter?: Reporter;
}

export interface EvalRunResult {
  runId: string;
  checkpoint: 'last' | 'best';
  /** What was evaluated: a list file (with its SHA-256) or the recipe's split. */
  on: { list: string; sha256: string; root: string } | { split: 'test' | 'val' };
  metrics: EvalMetrics;
  /** Groups of the run (its LT train counts and thresholds). */
  thresholds: { head: number; tail: number };
  /** Images left out as unreadable (dataset.badImages: skip). */
  skipped: number;
  skippedFiles: string[];
  backend: string;
  evaluatedAt: string;
  /** The file the result was written to. */
  file: string;
  /** Fields added to the run's run.json because it lacked them (src/eval/record-backfill.ts): `cost`, the checkpoint's calibration metrics. */
  recordAdded: string[];
}

export function runFiles(runDir: string): { record: RunRecord; recipe: Recipe } {
  const record = readRecord(runDir);
  const recipeFile = path.join(runDir, 'recipe.resolved.yaml');
  if (!record || !existsSync(recipeFile)) throw new UsageError(`${runDir}: not a run directory (needs run.json and recipe.resolved.yaml)`);
  let recipe: Recipe;
  try {
    recipe = loadRecipe(recipeFile).recipe;
  } catch (e) {
    throw new UsageError(`${recipeFile}: ${(e as Error).message}`);
  }
  return { record, recipe };
}

/** The run's model and prediction, with the checkpoint's weights. */
export function restoreModel(record: RunRecord, recipe: Recipe, channels: number, ckDir: string, imageShape: [number, number, number]): { model: MethodModel; method: MethodInstance } {
  const numClasses = record.dataset.classCounts.length;
  let method: MethodInstance;
  let headOptions: Record<string, unknown> | undefined;
  if (record.stage2) {
    ({ method, headOptions } = stage2Evaluation(record.stage2, record.dataset.classCounts));
  } else {
    // A run of a method's own pipeline: its stage ('<method>@stage<k>', else the last), whose instance builds its model.
    const stages = getMethod(recipe.method.name).stages ?? [];
    const k = /@stage(\d+)$/.exec(record.method.name);
    const stage = k ? Number(k[1]) - 1 : stages.length > 1 ? stages.length - 1 : undefined;
    method = getMethod(recipe.method.name).create({ classCounts: record.dataset.classCounts, numClasses, params: recipe.method.params, epochs: recipe.train.epochs, ...(stage !== undefined ? { stage } : {}) });
    headOptions = method.headOptions;
  }
  const model = buildMethodModel({ ...method, headOptions }, { backbone: recipe.backbone.name, inChannels: channels, numClasses, seed: recipe.train.seed, imageShape });
  try {
    restoreVariables(model.store.all(), loadCheckpoint(ckDir).tensors, ckDir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, method };
}

export async function evaluateRun(runDir: string, opts: EvalRunOptions): Promise<EvalRunResult> {
  if (!!opts.list === !!opts.split) throw new UsageError('eval: give exactly one of --list FILE or --split test|val');
  const dir = path.resolve(runDir);
  const { record, recipe } = runFiles(dir);
  const checkpoint = opts.checkpoint ?? 'last';
  const ckDir = path.join(dir, checkpoint);
  if (!checkpointExists(ckDir)) throw new UsageError(`${ckDir}: the run has no '${checkpoint}' checkpoint`);
  const isList = isImageListDataset(recipe.dataset.name);
  if (opts.list && !isList) throw new UsageError(`eval --list: run ${record.runId} trained on ${recipe.dataset.name}, not an image-list dataset; use --split test|val`);
  const backend = await selectBackend(opts.backend);

  // The recipe's data: the split to evaluate, and the val split a calibrating method (UNO-IC) needs.
  let runData: RunData | null = null;
  const openData = async () => (runData ??= await openRunData(recipe, { dataRoot: opts.root }));
  let listSource: Awaited<ReturnType<typeof openListSource>> | null = null;
  // An image list's shape is the recipe's transform size; in-memory data know theirs.
  const imageShape = isList ? imageShapeOf(recipe, null as never) : imageShapeOf(recipe, await openData());
  const { model, method } = restoreModel(record, recipe, isList ? 3 : (await openData()).channels, ckDir, imageShape);
  // The run's own arithmetic: a bf16 run is evaluated again in bf16 (refused where it cannot be).
  let restorePrecision = () => {};
  try {
    restorePrecision = applyPrecision(recipe.train.precision, backend, path.join(dir, 'recipe.resolved.yaml'));
    let source: BatchSource;
    let indices: Int32Array;
    let on: EvalRunResult['on'];
    if (opts.list) {
      const listFile = path.resolve(opts.list);
      const numClasses = record.dataset.classCounts.length;
      let list;
      try {
        list = readListStrict(listFile, numClasses);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const root = path.resolve(opts.root ?? recipe.dataset.root ?? process.env.LT_BENCH_DATA ?? path.dirname(listFile));
      const manifest = recipe.dataset.name === 'image-list' ? null : loadManifest(recipe.dataset.name);
      listSource = await openListSource(recipe, root, numClasses, { test: list }, manifest); // refuses paths leaving root
      source = new ImageListBatchSource(listSource, 'test');
      indices = Int32Array.from({ length: list.entries.length }, (_, i) => i);
      on = { list: listFile, sha256: list.sha256, root };
    } else {
      if (isList) listLocations(recipe, opts.root); // names a missing root or list before any work
      const data = await openData();
      source = data.sources[opts.split!];
      indices = data.split.indices[opts.split!];
      on = { split: opts.split! };
    }
    if (method.calibrate || method.postHoc?.length) {
      // Post-hoc choices (UNO-IC's β, De-confound's α) are made on the val split again, as the run
      // made them; a transductive step reads the images evaluated here, without their labels.
      const data = await openData();
      await calibrateOnVal(model, method, data.sources.val, data.split.indices.val, recipe.eval.batchSize, { source, indices });
    }
    const what = 'list' in on ? path.basename(on.list) : `${on.split} split`;
    const { metrics, predictions } = await evaluateWithPredictions(model, method, source, indices, recipe.eval.batchSize, record.dataset.classCounts.length, record.dataset.groups, evalProgress(opts.reporter ?? {}, what));
    // A record made before per-sample predictions existed gets them (never overwritten).
    if (opts.split === 'test' && !existsSync(predictionsFile(dir, checkpoint))) writePredictions(predictionsFile(dir, checkpoint), predictions);
    const stats = listSource?.stats() ?? (runData as RunData | null)?.pipelineStats() ?? null;
    const base = 'list' in on ? path.basename(on.list).replace(/\.[^.]*$/, '') : `split-${on.split}`;
    const file = path.join(dir, `eval-${base}${checkpoint === 'best' ? '-best' : ''}.json`);
    // Records from before cost and calibration metrics existed get them (never replacing a value).
    const cost = record.cost ? undefined : await measureCost(model, method, isList ? [recipe.dataset.transform?.size ?? 224, recipe.dataset.transform?.size ?? 224, 3] : imageShapeOf(recipe, await openData()), record.stage2 ? Math.max(1, record.stage2.epochs) : recipe.train.epochs).catch(() => undefined);
    const recordAdded = await backfillRecord(dir, { cost, ...('split' in on && on.split === 'test' ? { test: { checkpoint, metrics } } : {}) });
    const result: EvalRunResult = {
      runId: record.runId,
      checkpoint,
      on,
      metrics,
      thresholds: record.dataset.thresholds,
      skipped: stats?.skipped ?? 0,
      skippedFiles: stats?.skippedFiles ?? [],
      backend: backend.name,
      evaluatedAt: new Date().toISOString(),
      file,
      recordAdded,
    };
    writeJsonAtomic(file, result);
    return result;
  } catch (e) {
    if (e instanceof LtBenchError) throw e;
    throw new DataError((e as Error).message);
  } finally {
    restorePrecision();
    model.dispose();
    await listSource?.close();
    await (runData as RunData | null)?.close();
  }
}
