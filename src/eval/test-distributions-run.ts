/**
 * Test distributions of a run (src/eval/test-distributions.ts): scored from the stored per-sample
 * predictions, except for a method with a `reads: 'test-unlabelled'` post-hoc step (SADE's
 * test-time aggregation). Its step must see the subset's images only, so for each distribution
 * the post-hoc steps run again on the subset's unlabelled images and the subset is predicted
 * again. The PostHocStep contract makes this sound: run() restarts from the trained state, so
 * no subset's choice leaks into another's (the model is left with the last subset's choice;
 * callers re-run the steps before predicting anything else).
 *
 * `lt-bench eval <run-dir> --test-distributions …` (evaluateTestDistributions) adds the metrics
 * to an existing record, writing the predictions file first when the run has none.
 */
import path from 'node:path';
import type { BatchSource } from '../data/batch-source.js';
import type { Group } from '../data/types.js';
import { openRunData, type RunData } from '../data/run-data.js';
import { selectBackend } from '../backend.js';
import { DataError, LtBenchError, UsageError } from '../errors.js';
import { getMethod } from '../methods/registry.js';
import type { MethodInstance, MethodModel } from '../methods/types.js';
import type { Recipe } from '../recipe/schema.js';
import { readRecord, writeRecord } from '../results/record.js';
import { withRunLock } from '../results/lock.js';
import type { RunRecord } from '../results/types.js';
import { checkpointExists } from '../train/checkpoint.js';
import { calibrateOnVal } from './calibrate.js';
import { evaluate } from './evaluate.js';
import { restoreModel, runFiles } from './run-eval.js';
import { evaluateWithPredictions, predictionsFile, readPredictions, writePredictions, type TestPredictions } from './predictions.js';
import { parseTestDistribution, selectSubset, sortDistributionNames, subsetMetrics, TEST_DISTRIBUTION_NAMES, type TestDistributionMetrics } from './test-distributions.js';

export type TestDistributionResults = Record<string, TestDistributionMetrics>;

/** True when the method has a post-hoc step that reads the unlabelled test images. */
export function readsTestImages(method: MethodInstance): boolean {
  return (method.postHoc ?? []).some((s) => s.reads === 'test-unlabelled');
}

/** What scoring needs: the run's classes and the seed; the model and data only for a forward pass. */
export interface DistributionInputs {
  names: string[];
  classCounts: number[];
  groups: Group[];
  /** Seed of the per-class image choice (the run's split seed). */
  seed: number;
  /** Labels of the whole test set in evaluation order (the subsets are positions into it). */
  testLabels: Int32Array;
  /** Per-sample predictions of the whole test set, in the same order (null: forward passes only). */
  predictions: TestPredictions | null;
  /** For methods that read the test images: the model, its method and the data. */
  forward?: { model: MethodModel; method: MethodInstance; val: { source: BatchSource; indices: Int32Array }; test: { source: BatchSource; indices: Int32Array }; batchSize: number };
  /** Names the run in errors. */
  where: string;
}

export async function scoreTestDistributions(inp: DistributionInputs): Promise<TestDistributionResults> {
  const out: TestDistributionResults = {};
  const numClasses = inp.classCounts.length;
  const forward = inp.forward && readsTestImages(inp.forward.method) ? inp.forward : null;
  if (!forward) {
    const p = inp.predictions;
    if (!p) throw new Error(`${inp.where}: no per-sample test predictions to score test distributions from`);
    if (p.label.length !== inp.testLabels.length || p.index[0] === -1) throw new DataError(`${inp.where}: predictions cover ${p.label.length} of ${inp.testLabels.length} test images (bad images skipped?); test distributions need all of them`);
    for (let i = 0; i < p.label.length; i++) if (p.label[i] !== inp.testLabels[i]) throw new DataError(`${inp.where}: the stored predictions do not match the test split (line ${i + 2}: label ${p.label[i]}, split ${inp.testLabels[i]})`);
  }
  for (const name of sortDistributionNames(inp.names)) {
    const d = parseTestDistribution(name);
    const positions = selectSubset(inp.testLabels, inp.classCounts, d, inp.seed, inp.where);
    const base = { order: d.order, ratio: d.ratio, seed: inp.seed };
    if (!forward) {
      out[name] = { ...subsetMetrics(inp.predictions!.pred, inp.predictions!.label, positions, numClasses, inp.groups), ...base, from: 'predictions' };
      continue;
    }
    const indices = Int32Array.from(positions, (i) => forward.test.indices[i]);
    const subset = { source: forward.test.source, indices };
    const calibration = await calibrateOnVal(forward.model, forward.method, forward.val.source, forward.val.indices, forward.batchSize, subset);
    const metrics = await evaluate(forward.model, forward.method, subset.source, indices, forward.batchSize, numClasses, inp.groups);
    const steps = (calibration?.postHoc ?? {}) as Record<string, { reads?: string }>;
    const postHoc = Object.fromEntries(Object.entries(steps).filter(([, v]) => v.reads === 'test-unlabelled'));
    out[name] = { ...metrics, ...base, from: 'forward-pass', postHoc };
  }
  return out;
}

/** Inside a run, after the test evaluation of one checkpoint (the model holds that checkpoint). */
export async function runTestDistributions(recipe: Recipe, data: RunData, model: MethodModel, method: MethodInstance, predictions: TestPredictions, where: string): Promise<TestDistributionResults | undefined> {
  const names = recipe.eval.testDistributions;
  const { split, sources } = data;
  // A balanced run's counts cannot rank classes (its LT split's would; a reference run is scored on the balanced test set only).
  if (!names?.length || split.balanced) return undefined;
  return scoreTestDistributions({
    names,
    classCounts: split.classCounts,
    groups: split.groups,
    seed: recipe.dataset.splitSeed,
    testLabels: Int32Array.from(split.indices.test, (i) => sources.test.labels[i]),
    predictions,
    forward: { model, method, val: { source: sources.val, indices: split.indices.val }, test: { source: sources.test, indices: split.indices.test }, batchSize: recipe.eval.batchSize },
    where,
  });
}

/**
 * After a run's test evaluation of one checkpoint: stores the per-sample predictions beside
 * run.json and puts eval.testDistributions' metrics into the record about to be written.
 */
export async function storeTestEvaluation(dir: string, checkpoint: 'last' | 'best', predictions: TestPredictions, recipe: Recipe, data: RunData, model: MethodModel, method: MethodInstance, record: RunRecord): Promise<void> {
  writePredictions(predictionsFile(dir, checkpoint), predictions);
  const td = await runTestDistributions(recipe, data, model, method, predictions, `run ${record.runId}`);
  if (td) record.testDistributions = { ...(record.testDistributions ?? {}), [checkpoint]: td };
}

/** `all`, or a comma list of names; checked. */
export function parseDistributionList(text: string): string[] {
  const names = text === 'all' ? [...TEST_DISTRIBUTION_NAMES] : text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!TEST_DISTRIBUTION_NAMES.includes(n)) throw new UsageError(`--test-distributions: unknown distribution '${n}' (expected all, or a comma list of ${TEST_DISTRIBUTION_NAMES.join(', ')})`);
  if (names.length === 0) throw new UsageError('--test-distributions: expected all, or a comma list of distribution names');
  return names;
}

export interface TestDistributionEvalOptions {
  /** Distribution names (default: the recipe's eval.testDistributions). */
  names?: string[];
  checkpoint?: 'last' | 'best';
  root?: string;
  backend?: string;
}

export interface TestDistributionEvalResult {
  runId: string;
  checkpoint: 'last' | 'best';
  distributions: TestDistributionResults;
  /** The predictions file, and whether this call wrote it. */
  predictionsFile: string;
  wrotePredictions: boolean;
}

/**
 * Adds test-distribution metrics of one checkpoint to an existing finished record. Reads the
 * predictions file; without one (records made before it existed) evaluates the checkpoint on
 * the test split and writes it. Methods that read the test images always evaluate (per subset).
 */
export async function evaluateTestDistributions(runDir: string, opts: TestDistributionEvalOptions): Promise<TestDistributionEvalResult> {
  const dir = path.resolve(runDir);
  const { record, recipe } = runFiles(dir);
  if (record.status !== 'finished') throw new UsageError(`${dir}: run ${record.runId} is ${record.status}, not finished`);
  if (record.dataset.balanced) throw new UsageError(`${dir}: run ${record.runId} trained on a balanced split; test distributions rank classes by long-tailed training counts`);
  const checkpoint = opts.checkpoint ?? 'last';
  const names = opts.names ?? recipe.eval.testDistributions;
  if (!names?.length) throw new UsageError(`eval: run ${record.runId}'s recipe sets no eval.testDistributions; give --test-distributions all|<names>`);
  const file = predictionsFile(dir, checkpoint);
  let predictions: TestPredictions | null;
  try {
    predictions = readPredictions(file);
  } catch (e) {
    throw new DataError((e as Error).message, file);
  }
  const where = `run ${record.runId}`;
  const base = { names, classCounts: record.dataset.classCounts, groups: record.dataset.groups, seed: record.seeds.split, where };
  let wrote = false;
  let distributions: TestDistributionResults;
  const method0 = restoreMethodOnly(record, recipe);
  if (predictions && !readsTestImages(method0)) {
    distributions = await scoreTestDistributions({ ...base, testLabels: predictions.label, predictions });
  } else {
    const ckDir = path.join(dir, checkpoint);
    if (!checkpointExists(ckDir)) throw new UsageError(`${ckDir}: the run has no '${checkpoint}' checkpoint${predictions ? '' : ` and no ${path.basename(file)}`}`);
    await selectBackend(opts.backend);
    let data: RunData | null = null;
    let restored: { model: MethodModel; method: MethodInstance } | null = null;
    try {
      data = await openRunData(recipe, { dataRoot: opts.root });
      restored = restoreModel(record, recipe, data.channels, ckDir);
      const { model, method } = restored;
      const { split, sources } = data;
      const testLabels = Int32Array.from(split.indices.test, (i) => sources.test.labels[i]);
      if (!predictions) {
        await calibrateOnVal(model, method, sources.val, split.indices.val, recipe.eval.batchSize, { source: sources.test, indices: split.indices.test });
        predictions = (await evaluateWithPredictions(model, method, sources.test, split.indices.test, recipe.eval.batchSize, record.dataset.classCounts.length, record.dataset.groups)).predictions;
        writePredictions(file, predictions);
        wrote = true;
      }
      distributions = await scoreTestDistributions({
        ...base,
        testLabels,
        predictions,
        forward: { model, method, val: { source: sources.val, indices: split.indices.val }, test: { source: sources.test, indices: split.indices.test }, batchSize: recipe.eval.batchSize },
      });
    } catch (e) {
      if (e instanceof LtBenchError) throw e;
      throw new DataError((e as Error).message);
    } finally {
      restored?.model.dispose();
      await data?.close();
    }
  }
  // Under the run's lock, re-read: never lose what another writer added meanwhile.
  await withRunLock(path.dirname(dir), record.runId, {}, async () => {
    const now = readRecord(dir) ?? record;
    const td = { ...(now.testDistributions ?? {}) };
    td[checkpoint] = { ...(td[checkpoint] ?? {}), ...distributions };
    writeRecord(dir, { ...now, testDistributions: td });
  });
  return { runId: record.runId, checkpoint, distributions, predictionsFile: file, wrotePredictions: wrote };
}

/** The method instance a record's evaluation predicts with, without building a model. */
function restoreMethodOnly(record: RunRecord, recipe: Recipe): MethodInstance {
  // Stage-2 records predict with their classifier's plain instance: no test-image steps.
  if (record.stage2) return { loss: () => { throw new Error('not for training'); } };
  return getMethod(recipe.method.name).create({ classCounts: record.dataset.classCounts, numClasses: record.dataset.classCounts.length, params: recipe.method.params, epochs: recipe.train.epochs });
}
