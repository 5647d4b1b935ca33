/** Runs a model over an evaluation set in batches and computes its metrics. */
import * as tf from '@tensorflow/tfjs';
import type { InMemoryBatches } from '../data/batches.js';
import type { Group } from '../data/types.js';
import type { MethodInstance } from '../methods/types.js';
import type { LtModel } from '../models/model.js';
import type { EvalMetrics } from '../results/types.js';
import { classificationMetrics } from './metrics.js';

/** Logits the method predicts with (post-hoc adjustments applied), for all `indices`. */
export function predictLogits(model: LtModel, method: MethodInstance, batches: InMemoryBatches, indices: Int32Array, batchSize: number): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  for (let s = 0; s < indices.length; s += batchSize) {
    const b = batches.make(indices.subarray(s, s + batchSize), null, null);
    parts.push(
      tf.tidy(() => {
        const out = model.forward(tf.tensor4d(b.x, b.shape), false);
        return method.predict ? method.predict(out) : out.logits;
      }),
    );
  }
  const all = tf.concat(parts, 0) as tf.Tensor2D;
  for (const p of parts) p.dispose();
  return all;
}

export function labelsOf(batches: InMemoryBatches, indices: Int32Array): Int32Array {
  return Int32Array.from(indices, (i) => batches.images.labels[i]);
}

export function evaluate(model: LtModel, method: MethodInstance, batches: InMemoryBatches, indices: Int32Array, batchSize: number, numClasses: number, groups: Group[]): EvalMetrics {
  const logits = predictLogits(model, method, batches, indices, batchSize);
  const argmax = tf.argMax(logits, 1);
  const pred = Int32Array.from(argmax.dataSync());
  argmax.dispose();
  logits.dispose();
  return classificationMetrics(pred, labelsOf(batches, indices), numClasses, groups);
}
