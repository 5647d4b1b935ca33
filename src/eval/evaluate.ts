/** Runs a model over an evaluation set in batches and computes its metrics. */
import * as tf from '@tensorflow/tfjs';
import type { BatchSource } from '../data/batch-source.js';
import type { Group } from '../data/types.js';
import type { MethodInstance } from '../methods/types.js';
import type { MethodModel } from '../methods/types.js';
import type { EvalMetrics } from '../results/types.js';
import { classificationMetrics } from './metrics.js';
import { calibrationMetrics } from './calibration-metrics.js';

/** Called after each evaluation batch with the images done so far and the total. */
export type EvalProgress = (done: number, total: number) => void;

/**
 * Logits the method predicts with (post-hoc adjustments applied) and the labels of the images
 * they belong to: all of `indices`, less any image a source with badImages: skip left out.
 */
export async function predictWithLabels(model: MethodModel, method: MethodInstance, source: BatchSource, indices: Int32Array, batchSize: number, onProgress?: EvalProgress): Promise<{ logits: tf.Tensor2D; labels: Int32Array }> {
  const parts: tf.Tensor2D[] = [];
  const labels: Int32Array[] = [];
  let done = 0;
  try {
    for await (const b of source.epoch(indices, batchSize, { mode: 'test' })) {
      // Skipped images (badImages: skip) count as done: progress is over the images asked for.
      done = Math.min(indices.length, done + Math.max(b.y.length, batchSize));
      if (b.y.length === 0) {
        onProgress?.(done, indices.length);
        continue;
      }
      labels.push(b.y);
      parts.push(
        tf.tidy(() => {
          const out = model.forward(tf.tensor4d(b.x, b.shape), false);
          return method.predict ? method.predict(out) : out.logits;
        }),
      );
      onProgress?.(done, indices.length);
    }
    const all = parts.length === 1 ? tf.clone(parts[0]) : (tf.concat(parts, 0) as tf.Tensor2D);
    const y = new Int32Array(labels.reduce((a, l) => a + l.length, 0));
    let at = 0;
    for (const l of labels) {
      y.set(l, at);
      at += l.length;
    }
    return { logits: all, labels: y };
  } finally {
    for (const p of parts) p.dispose();
  }
}

/** Logits the method predicts with (post-hoc adjustments applied), for all `indices`. */
export async function predictLogits(model: MethodModel, method: MethodInstance, source: BatchSource, indices: Int32Array, batchSize: number): Promise<tf.Tensor2D> {
  return (await predictWithLabels(model, method, source, indices, batchSize)).logits;
}

export function labelsOf(source: BatchSource, indices: Int32Array): Int32Array {
  return Int32Array.from(indices, (i) => source.labels[i]);
}

export async function evaluate(model: MethodModel, method: MethodInstance, source: BatchSource, indices: Int32Array, batchSize: number, numClasses: number, groups: Group[], onProgress?: EvalProgress): Promise<EvalMetrics> {
  const { logits, labels } = await predictWithLabels(model, method, source, indices, batchSize, onProgress);
  const argmax = tf.argMax(logits, 1);
  const pred = Int32Array.from(argmax.dataSync());
  argmax.dispose();
  try {
    return { ...classificationMetrics(pred, labels, numClasses, groups), ...calibrationMetrics(logits, labels) };
  } finally {
    logits.dispose();
  }
}
