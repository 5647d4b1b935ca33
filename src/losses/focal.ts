/**
 * Focal loss (Lin et al., ICCV 2017): L = −(1 − p_y)^γ log p_y, no α, mean over the
 * batch.
 *
 * - γ defaults to 2 (the paper and KaihuaTang's repo). The survey codebase's
 *   Main-codebase/loss/FocalLoss.py `create_loss` uses γ = 3.0; pass `gamma: 3` for it.
 * - By default the gradient flows through the modulating factor (1 − p_y)^γ, as in the paper and
 *   kaidic/LDAM-DRW losses.py. `detach: true` reproduces the survey code, which computes p_t
 *   from `logpt.detach()`: same value, different gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { LossFn } from './types.js';
import { checkBatch, checkClassCounts, oneHotFloat, stopGradient } from './common.js';

export const focalParams = z
  .object({
    gamma: z.number().min(0).default(2),
    detach: z.boolean().default(false),
  })
  .strict();
export type FocalParams = z.input<typeof focalParams>;

/** Per-sample focal loss [N] from logits and a float one-hot. */
export function focalPerSample(logits: tf.Tensor2D, oneHot: tf.Tensor2D, gamma: number, detach: boolean): tf.Tensor1D {
  const logPy = tf.sum(tf.mul(tf.logSoftmax(logits), oneHot), 1);
  if (gamma === 0) return tf.neg(logPy) as tf.Tensor1D;
  const py = tf.exp(detach ? stopGradient(logPy) : logPy);
  // (1 − p)^γ. For γ < 1 its derivative is infinite at p = 1 (which float32 reaches once the
  // label's logit leads by ~17), so the base is floored; for γ ≥ 1 it is finite as it stands.
  const base = tf.sub(1, py);
  const modulator = tf.pow(gamma < 1 ? tf.maximum(base, 1e-12) : base, gamma);
  return tf.neg(tf.mul(modulator, logPy)) as tf.Tensor1D;
}

export function focalLoss(classCounts: number[], params: FocalParams = {}): LossFn {
  checkClassCounts(classCounts, 'focal');
  const { gamma, detach } = focalParams.parse(params);
  const C = classCounts.length;
  return (logits, labels) =>
    tf.tidy(() => {
      checkBatch(logits, labels, C, 'focal');
      return tf.mean(focalPerSample(logits, oneHotFloat(labels, C), gamma, detach)) as tf.Scalar;
    });
}
