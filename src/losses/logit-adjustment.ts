/**
 * Logit adjustment (Menon et al., ICLR 2021). Official:
 * google-research/google-research logit_adjustment/main.py, utils.py (τ = 1.0).
 * - Loss version: L = CE(z + τ log π, y) (code: logits + log(π^τ + 1e-12)).
 * - Post-hoc version: predict argmax_y z_y − τ log π_y (`posthocAdjust`), trained with plain CE.
 * We use τ·log(π + 1e-9) in both; the floor only matters for classes with no training images.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { LossFn } from './types.js';
import { checkBatch, checkClassCounts, logPrior, oneHotFloat, rowConstant } from './common.js';
import { offsetCrossEntropy } from './balanced-softmax.js';

export const logitAdjustmentParams = z
  .object({
    tau: z.number().min(0).default(1),
  })
  .strict();
export type LogitAdjustmentParams = z.input<typeof logitAdjustmentParams>;

export function logitAdjustedLoss(classCounts: number[], params: LogitAdjustmentParams = {}): LossFn {
  checkClassCounts(classCounts, 'logit-adjustment');
  const { tau } = logitAdjustmentParams.parse(params);
  const C = classCounts.length;
  const offset = logPrior(classCounts).map((l) => tau * l);
  return (logits, labels) =>
    tf.tidy(() => {
      checkBatch(logits, labels, C, 'logit-adjustment');
      return offsetCrossEntropy(logits, oneHotFloat(labels, C), offset);
    });
}

/** Post-hoc adjusted logits z − τ log π (same argmax as the official posthoc path). */
export function posthocAdjust(logits: tf.Tensor2D, classCounts: number[], tau: number): tf.Tensor2D {
  return tf.tidy(() => tf.sub(logits, rowConstant(logPrior(classCounts).map((l) => tau * l))) as tf.Tensor2D);
}
