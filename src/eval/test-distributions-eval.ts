/**
 * `lt-bench eval <run-dir> --test-distributions …`: adds test-distribution metrics
 * (src/eval/test-distributions.ts) to an existing record, writing the per-sample predictions
 * file first when the run has none (records made before it existed).
 */
import { imageShapeOf } from '../runner.js';
import path from 'node:path';
import { selectBackend } from '../backend.js';
import { openRunData, type RunData } from '../data/run-data.js';
import { DataError, LtBenchError, UsageError } from '../errors.js';
import { getMethod } from '../methods/registry.js';
import type { MethodInstance, MethodModel } from '../methods/types.js';
import type { Recipe } from '../recipe/schema.js';
import { withRunLock } from '../results/lock.js';
import { readRecord, writeRecord } from '../results/record.js';
import type { RunRecord } from '../results/types.js';
import { checkpointExists } from '../train/checkpoint.js';
import { calibrateOnVal } from './calibrate.js';
import { evaluateWithPredictions, predictionsFile, readPredictions, writePredictions, type TestPredictions } from './predictions.js';
import { restoreModel, runFiles } from './run-eval.js';
import { readsTestImages, scoreTestDistributions, type TestDistributionResults } from './test-distributions-run.js';
import { TEST_DISTRIBUTION_NAMES } from './test-distributions.js';

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
      restored = restoreModel(record, recipe, data.channels, ckDir, imageShapeOf(recipe, data));
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
