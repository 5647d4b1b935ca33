/**
 * Nearest class mean with cl2n features (Kang et al., ICLR 2020), as facebookresearch/
 * classifier-balancing `models/KNNClassifier.py` (defaults feat_type 'cl2n', dist_type 'l2') and
 * `run_networks.py get_knncentroids`:
 *   μ = mean of the train features;  c_k = mean over class k of normalize(f_i − μ);
 *   logit_k = −‖normalize(f − μ) − c_k‖²   (the centroids themselves are not re-normalised).
 * μ and the centroids are buffers (`ncm.mean` [d], `ncm.centroids` [d, C]) so they are saved with
 * the checkpoint; `fit` computes them from the train features of the frozen backbone.
 */
import * as tf from '@tensorflow/tfjs';
import type { Head } from '../classifiers.js';
import type { ParamStore } from '../params.js';
import { unitNormalize } from './norm.js';

/** cl2n statistics of train features [N, d] with labels: the mean [d] and centroids [d, C]. */
export function cl2nCentroids(features: tf.Tensor2D, labels: Int32Array, numClasses: number): { mean: tf.Tensor1D; centroids: tf.Tensor2D } {
  return tf.tidy(() => {
    const mean = tf.mean(features, 0) as tf.Tensor1D;
    const normed = unitNormalize(tf.sub(features, mean) as tf.Tensor2D, 1);
    const counts = new Float32Array(numClasses);
    for (const y of labels) counts[y]++;
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses).toFloat(); // [N, C]
    // A class with no train image gets a zero centroid (the official code would fail).
    const sums = tf.matMul(normed, oneHot, true, false); // [d, C]
    const centroids = tf.div(sums, tf.tensor2d(Array.from(counts, (n) => Math.max(n, 1)), [1, numClasses])) as tf.Tensor2D;
    return { mean, centroids };
  });
}

/** −‖normalize(f − μ) − c_k‖² for features [B, d], μ [d], centroids [d, C]. */
export function ncmLogits(features: tf.Tensor2D, mean: tf.Tensor1D, centroids: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const x = unitNormalize(tf.sub(features, mean) as tf.Tensor2D, 1);
    const xx = tf.sum(tf.square(x), 1, true); // [B, 1]
    const cc = tf.sum(tf.square(centroids), 0, true); // [1, C]
    const xc = tf.matMul(x, centroids); // [B, C]
    return tf.neg(tf.sub(tf.add(xx, cc), tf.mul(xc, 2))) as tf.Tensor2D;
  });
}

export class NcmHead implements Head {
  readonly name = 'ncm' as const;
  readonly mean: tf.Variable;
  readonly centroids: tf.Variable;

  constructor(store: ParamStore, inDim: number, readonly numClasses: number) {
    this.mean = store.addBuffer('ncm.mean', [inDim], 0);
    this.centroids = store.addBuffer('ncm.centroids', [inDim, numClasses], 0);
  }

  /** Sets μ and the cl2n centroids from the train features. */
  fit(features: tf.Tensor2D, labels: Int32Array): void {
    const { mean, centroids } = cl2nCentroids(features, labels, this.numClasses);
    this.mean.assign(mean);
    this.centroids.assign(centroids);
    mean.dispose();
    centroids.dispose();
  }

  apply(features: tf.Tensor2D): tf.Tensor2D {
    return ncmLogits(features, this.mean as tf.Tensor1D, this.centroids as tf.Tensor2D);
  }
}
