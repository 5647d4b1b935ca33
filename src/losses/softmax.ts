/**
 * Softmax cross-entropy, the survey's baseline: L = −log softmax(z)_y, mean over the batch.
 * Survey config: Vanint/Awesome-LongTailed-Learning Main-codebase/config/ImageNet_LT/ce.yaml.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { LossFn } from './types.js';
import { checkBatch, checkClassCounts, crossEntropyPerSample, oneHotFloat } from './common.js';

export const softmaxParams = z.object({}).strict();
export type SoftmaxParams = z.infer<typeof softmaxParams>;

export function softmaxLoss(classCounts: number[], _params: SoftmaxParams = {}): LossFn {
  checkClassCounts(classCounts, 'softmax');
  const C = classCounts.length;
  return (logits, labels) =>
    tf.tidy(() => {
      checkBatch(logits, labels, C, 'softmax');
      return tf.mean(crossEntropyPerSample(logits, oneHotFloat(labels, C))) as tf.Scalar;
    });
}
