/**
 * Balanced Softmax (Ren et al., NeurIPS 2020): L = CE(z + log π, y) at training,
 * raw z at test. Official: jiawei-ren/BalancedMetaSoftmax-Classification
 * loss/BalancedSoftmaxLoss.py adds log n_k; the survey's PriorCELoss adds log(π + 1e-9). The two
 * differ by a per-row constant, which softmax ignores; we use log(π + 1e-9).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { LossFn } from './types.js';
import { checkBatch, checkClassCounts, crossEntropyPerSample, logPrior, oneHotFloat, rowConstant } from './common.js';

export const balancedSoftmaxParams = z.object({}).strict();
export type BalancedSoftmaxParams = z.input<typeof balancedSoftmaxParams>;

/** Mean CE of z + offset, the shared core of Balanced Softmax, PriorCE and logit adjustment. */
export function offsetCrossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D, offset: number[]): tf.Scalar {
  return tf.mean(crossEntropyPerSample(tf.add(logits, rowConstant(offset)) as tf.Tensor2D, oneHot)) as tf.Scalar;
}

export function balancedSoftmaxLoss(classCounts: number[], _params: BalancedSoftmaxParams = {}): LossFn {
  checkClassCounts(classCounts, 'balanced-softmax');
  const C = classCounts.length;
  const offset = logPrior(classCounts);
  return (logits, labels) =>
    tf.tidy(() => {
      checkBatch(logits, labels, C, 'balanced-softmax');
      return offsetCrossEntropy(logits, oneHotFloat(labels, C), offset);
    });
}
