/**
 * Weighted Softmax: class-weighted cross-entropy with PyTorch's weighted-mean
 * reduction Σ w_{y_i} ℓ_i / Σ w_{y_i} (CrossEntropyLoss(weight=w)).
 *
 * Weights:
 * - `log` (default, the survey code: Main-codebase/loss/WeightedSoftmaxLoss.py, inherited from
 *   KaihuaTang/Long-Tailed-Recognition.pytorch): w_k = 1 + ln(n_max / n_k).
 * - `inverse` (the survey's Table 3 formula): w_k = 1 / π_k. Under the weighted mean only the
 *   ratios matter, so 1/π and 1/n give the same loss.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { LossFn } from './types.js';
import {
  checkBatch,
  checkClassCounts,
  classPrior,
  crossEntropyPerSample,
  oneHotFloat,
  sampleWeights,
  weightedMean,
} from './common.js';

export const weightedSoftmaxParams = z
  .object({
    weighting: z.enum(['log', 'inverse']).default('log'),
  })
  .strict();
export type WeightedSoftmaxParams = z.input<typeof weightedSoftmaxParams>;

/** Per-class weights of the chosen rule. A class with n_k = 0 gets weight 0 (it cannot be a label). */
export function weightedSoftmaxWeights(classCounts: number[], weighting: 'log' | 'inverse'): number[] {
  const nMax = Math.max(...classCounts);
  const prior = classPrior(classCounts);
  return classCounts.map((n, k) => {
    if (n <= 0) return 0;
    return weighting === 'log' ? 1 + Math.log(nMax / n) : 1 / prior[k];
  });
}

export function weightedSoftmaxLoss(classCounts: number[], params: WeightedSoftmaxParams = {}): LossFn {
  checkClassCounts(classCounts, 'weighted-softmax');
  const { weighting } = weightedSoftmaxParams.parse(params);
  const C = classCounts.length;
  const weights = weightedSoftmaxWeights(classCounts, weighting);
  return (logits, labels) =>
    tf.tidy(() => {
      checkBatch(logits, labels, C, 'weighted-softmax');
      const oneHot = oneHotFloat(labels, C);
      return weightedMean(crossEntropyPerSample(logits, oneHot), sampleWeights(weights, oneHot));
    });
}
