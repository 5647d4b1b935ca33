/** Backbone features of a split, in evaluation mode (batch norm on its running statistics). */
import * as tf from '@tensorflow/tfjs';
import type { InMemoryBatches } from '../data/batches.js';
import type { LtModel } from '../models/model.js';

export function extractFeatures(model: LtModel, batches: InMemoryBatches, indices: Int32Array, batchSize: number): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  for (let s = 0; s < indices.length; s += batchSize) {
    const b = batches.make(indices.subarray(s, s + batchSize), null, null);
    parts.push(tf.tidy(() => model.backbone.apply(tf.tensor4d(b.x, b.shape), false)));
  }
  const all = tf.concat(parts, 0) as tf.Tensor2D;
  for (const p of parts) p.dispose();
  return all;
}
