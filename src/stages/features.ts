/** Backbone features of a split, in evaluation mode (batch norm on its running statistics). */
import * as tf from '@tensorflow/tfjs';
import type { BatchSource } from '../data/batch-source.js';
import type { MethodModel } from '../methods/types.js';

/** Features of `indices` and the labels of the images they belong to (a skipped bad image has neither). */
export async function extractFeatures(model: MethodModel, source: BatchSource, indices: Int32Array, batchSize: number): Promise<{ features: tf.Tensor2D; labels: Int32Array }> {
  const parts: tf.Tensor2D[] = [];
  const labels: number[] = [];
  try {
    for await (const b of source.epoch(indices, batchSize, { mode: 'test' })) {
      if (b.y.length === 0) continue;
      for (const l of b.y) labels.push(l);
      parts.push(tf.tidy(() => model.forwardFeatures(tf.tensor4d(b.x, b.shape), false)));
    }
    const features = parts.length === 1 ? tf.clone(parts[0]) : (tf.concat(parts, 0) as tf.Tensor2D);
    return { features, labels: Int32Array.from(labels) };
  } finally {
    for (const p of parts) p.dispose();
  }
}
