/**
 * Softmax: plain cross-entropy, the survey's baseline.
 * Code followed: Vanint/Awesome-LongTailed-Learning Main-codebase/config/ImageNet_LT/ce.yaml
 * (torch.nn.CrossEntropyLoss, mean over the batch).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Method } from './types.js';

/** Mean cross-entropy from logits and int32 labels (numerically stable log-softmax). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(labels, logits.shape[1]).toFloat();
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
  });
}

export const softmax: Method = {
  name: 'softmax',
  family: 'baseline',
  tag: 'Baseline',
  summary: 'cross-entropy on the raw logits',
  citation: { paper: 'Zhang et al., Deep Long-Tailed Learning: A Survey, TPAMI 2023 (baseline)', code: 'Vanint/Awesome-LongTailed-Learning Main-codebase/config/ImageNet_LT/ce.yaml' },
  params: z.object({}).strict(),
  create: () => ({ loss: (out, labels) => crossEntropy(out.logits, labels) }),
};
