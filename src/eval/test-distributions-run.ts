/**
 * Test distributions of a run (src/eval/test-distributions.ts): scored from the stored per-sample
 * predictions, except for a method with a `reads: 'test-unlabelled'` post-hoc step (SADE's
 * test-time aggregation). Its step must see the subset's images only, so for each distribution
 * the post-hoc steps run again on the subset's unlabelled images and the subset is predicted
 * again. The PostHocStep contract makes this sound: run() restarts from the trained state, so
 * no subset's choice leaks into another's (the model is left with the last subset's choice;
 * callers re-run the steps before predicting anything else). `lt-bench eval` scores existing
 * records: src/eval/test-distributions-eval.ts.
 */
import type { BatchSource } from '../data/batch-source.js';
import type { Group } from '../data/types.js';
import type { RunData } from '../data/run-data.js';
import { DataError } from '../errors.js';
import type { MethodInstance, MethodModel } from '../methods/types.js';
import type { Recipe } from '../recipe/schema.js';
import type { RunRecord } from '../results/types.js';
import { calibrateOnVal } from './calibrate.js';
import { evaluate } from './evaluate.js';
import { predictionsFile, writePredictions, type TestPredictions } from './predictions.js';
import { parseTestDistribution, selectSubset, sortDistributionNames, subsetMetrics, type TestDistributionMetrics } from './test-distributions.js';

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
