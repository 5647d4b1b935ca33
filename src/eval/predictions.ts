/**
 * Per-sample test predictions, stored beside run.json so that metrics over any subset of the
 * test set (test distributions, calibration) can be recomputed later without a forward pass.
 *
 * `predictions-test-<checkpoint>.csv` (checkpoint last | best), one line per evaluated test image
 * in evaluation order, after a header line:
 *
 *   index,label,pred,max_prob,log_prob_true
 *
 * - index: the image's item id in the test source (image lists: its 0-based line in the test list;
 *   in-memory datasets: its position in the dataset's test set);
 * - label: true class; pred: predicted class (argmax of the logits the method predicts with,
 *   post-hoc adjustments applied; ties: lowest class);
 * - max_prob: the largest softmax probability of those logits; log_prob_true: the natural-log
 *   softmax probability of the true class (7 significant digits; −log_prob_true is the NLL).
 * With dataset.badImages: skip an unreadable image has no line and `index` is −1 on every line
 * (the batches do not say which image was left out).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BatchSource } from '../data/batch-source.js';
import type { Group } from '../data/types.js';
import type { MethodInstance, MethodModel } from '../methods/types.js';
import { writeFileAtomic } from '../results/atomic.js';
import type { EvalMetrics } from '../results/types.js';
import { predictWithLabels, type EvalProgress } from './evaluate.js';
import { calibrationMetrics } from './calibration-metrics.js';
import { classificationMetrics } from './metrics.js';

export interface TestPredictions {
  index: Int32Array;
  label: Int32Array;
  pred: Int32Array;
  maxProb: Float32Array;
  logProbTrue: Float32Array;
}

export const PREDICTIONS_HEADER = 'index,label,pred,max_prob,log_prob_true';

export function predictionsFile(runDir: string, checkpoint: 'last' | 'best'): string {
  return path.join(runDir, `predictions-test-${checkpoint}.csv`);
}

/** Predictions from logits [N, C] and labels; `index` the item ids (or null when unknown). */
export function predictionsFromLogits(logits: tf.Tensor2D, labels: Int32Array, index: Int32Array | null): TestPredictions {
  const [pred, maxLog, trueLog] = tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const y = tf.tensor1d(labels, 'int32');
    const picked = tf.sum(tf.mul(logp, tf.oneHot(y, logits.shape[1])), 1);
    return [tf.argMax(logits, 1), tf.max(logp, 1), picked];
  });
  try {
    return {
      index: index ?? new Int32Array(labels.length).fill(-1),
      label: labels,
      pred: Int32Array.from(pred.dataSync()),
      maxProb: Float32Array.from(maxLog.dataSync(), Math.exp),
      logProbTrue: Float32Array.from(trueLog.dataSync()),
    };
  } finally {
    tf.dispose([pred, maxLog, trueLog]);
  }
}

/**
 * Evaluates `indices` and keeps the per-sample predictions: the metrics equal `evaluate`'s (same
 * logits, same argmax, the same calibration metrics).
 */
export async function evaluateWithPredictions(
  model: MethodModel,
  method: MethodInstance,
  source: BatchSource,
  indices: Int32Array,
  batchSize: number,
  numClasses: number,
  groups: Group[],
  onProgress?: EvalProgress,
): Promise<{ metrics: EvalMetrics; predictions: TestPredictions }> {
  const { logits, labels } = await predictWithLabels(model, method, source, indices, batchSize, onProgress);
  try {
    const predictions = predictionsFromLogits(logits, labels, labels.length === indices.length ? indices : null);
    return { metrics: { ...classificationMetrics(predictions.pred, labels, numClasses, groups), ...calibrationMetrics(logits, labels) }, predictions };
  } finally {
    logits.dispose();
  }
}

const g7 = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(7))) : String(v));

export function formatPredictions(p: TestPredictions): string {
  const lines = [PREDICTIONS_HEADER];
  for (let i = 0; i < p.label.length; i++) lines.push(`${p.index[i]},${p.label[i]},${p.pred[i]},${g7(p.maxProb[i])},${g7(p.logProbTrue[i])}`);
  return `${lines.join('\n')}\n`;
}

export function writePredictions(file: string, p: TestPredictions): void {
  writeFileAtomic(file, formatPredictions(p));
}

/** Reads a predictions file; null when it does not exist, an Error naming the file and line when it is malformed. */
export function readPredictions(file: string): TestPredictions | null {
  if (!existsSync(file)) return null;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  if (lines[0] !== PREDICTIONS_HEADER) throw new Error(`${file}: expected the header '${PREDICTIONS_HEADER}'`);
  const n = lines.length - 1;
  const p: TestPredictions = { index: new Int32Array(n), label: new Int32Array(n), pred: new Int32Array(n), maxProb: new Float32Array(n), logProbTrue: new Float32Array(n) };
  for (let i = 0; i < n; i++) {
    const f = lines[i + 1].split(',');
    const v = f.map(Number);
    if (f.length !== 5 || v.some((x) => Number.isNaN(x))) throw new Error(`${file}:${i + 2}: expected 5 numbers (${PREDICTIONS_HEADER})`);
    [p.index[i], p.label[i], p.pred[i], p.maxProb[i], p.logProbTrue[i]] = v;
  }
  return p;
}
