/**
 * Class-balanced loss (Cui et al., CVPR 2019). Official code:
 * richardaecn/class-balanced-loss src/cifar_main.py (TensorFlow).
 *
 * Weights w_k = (1 − β)/(1 − β^{n_k}) normalised to Σ_k w_k = C, applied per sample as w_{y_i} to
 * one of three base losses (`lossType`):
 * - `softmax`: cross-entropy −log softmax(z)_y.
 * - `sigmoid`: Σ_c BCE(z_c, y_c) over all classes (one-vs-all sigmoids).
 * - `focal`: the official *sigmoid* focal loss Σ_c (1 − p_t,c)^γ BCE(z_c, y_c), computed through its
 *   stable modulator exp(−γ y z − γ log(1 + e^{−z})) as the official code does.
 *
 * Reduction (`reduction`):
 * - `weighted-mean` (default): Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i}, as the PyTorch ports (a weighted
 *   CrossEntropyLoss) do.
 * - `n`: Σ_i w_{y_i} ℓ_i / N, as the official TensorFlow code (softmax_cross_entropy with
 *   SUM_BY_NONZERO_WEIGHTS; sigmoid and focal divide by Σ one-hot = N).
 *
 * Deviation: the survey codebase's Main-codebase/loss/CBLoss.py applies binary cross-entropy to
 * softmax probabilities for `softmax` and defaults to β = 0.9; we follow the official code (β =
 * 0.9999 of cifar_im_trainval_cb.sh, γ = 1.0 for focal) and plain weighted cross-entropy.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { LossFn } from './types.js';
import {
  checkBatch,
  checkClassCounts,
  classBalancedWeights,
  crossEntropyPerSample,
  oneHotFloat,
  sampleWeights,
  weightedMean,
} from './common.js';

export const classBalancedParams = z
  .object({
    beta: z.number().min(0).lt(1).default(0.9999),
    lossType: z.enum(['softmax', 'focal', 'sigmoid']).default('softmax'),
    /** Focal γ (only with lossType focal); the official script uses 1.0. */
    gamma: z.number().min(0).default(1),
    reduction: z.enum(['weighted-mean', 'n']).default('weighted-mean'),
  })
  .strict();
export type ClassBalancedParams = z.input<typeof classBalancedParams>;

/** Σ_c BCE(z_c, y_c) per sample, with BCE = softplus(z) − z·y (stable for any z). */
function sigmoidPerSample(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.sub(tf.softplus(logits), tf.mul(logits, oneHot)), 1) as tf.Tensor1D;
}

/** Σ_c (1 − p_t,c)^γ BCE(z_c, y_c) per sample, modulator = exp(−γ(y z + softplus(−z))). */
function sigmoidFocalPerSample(logits: tf.Tensor2D, oneHot: tf.Tensor2D, gamma: number): tf.Tensor1D {
  const bce = tf.sub(tf.softplus(logits), tf.mul(logits, oneHot));
  if (gamma === 0) return tf.sum(bce, 1) as tf.Tensor1D;
  const modulator = tf.exp(tf.mul(-gamma, tf.add(tf.mul(oneHot, logits), tf.softplus(tf.neg(logits)))));
  return tf.sum(tf.mul(modulator, bce), 1) as tf.Tensor1D;
}

export function classBalancedLoss(classCounts: number[], params: ClassBalancedParams = {}): LossFn {
  checkClassCounts(classCounts, 'class-balanced');
  const { beta, lossType, gamma, reduction } = classBalancedParams.parse(params);
  const C = classCounts.length;
  const weights = classBalancedWeights(classCounts, beta);
  return (logits, labels) =>
    tf.tidy(() => {
      checkBatch(logits, labels, C, 'class-balanced');
      const oneHot = oneHotFloat(labels, C);
      const perSample =
        lossType === 'softmax'
          ? crossEntropyPerSample(logits, oneHot)
          : lossType === 'sigmoid'
            ? sigmoidPerSample(logits, oneHot)
            : sigmoidFocalPerSample(logits, oneHot, gamma);
      const w = sampleWeights(weights, oneHot);
      return reduction === 'weighted-mean'
        ? weightedMean(perSample, w)
        : (tf.div(tf.sum(tf.mul(perSample, w)), perSample.shape[0]) as tf.Scalar);
    });
}
