/**
 * LADE (Hong et al., CVPR 2021, "Disentangling Label Distribution for Long-tailed Visual
 * Recognition"). Official: hyperconnect/LADE; the survey codebase copies it as
 * Vanint/Awesome-LongTailed-Learning Main-codebase/loss/LADELoss.py and combines
 * L = PriorCE(z, y) + α · LADE(z, y) (lade.yaml: α = 0.1, remine_lambda = 0.1).
 *
 * PriorCE = CE(z + log π, y) (mean over the batch). The LADE regulariser, summed over ALL
 * classes c (also those absent from the batch, as the official code does):
 *   first_c  = Σ_{i: y_i=c} z_ic / (n_c^batch + 1e-8)                (0 when c is absent)
 *   second_c = logsumexp_i (z_ic − log π_c + log(1/C)) − log N       (over the whole batch)
 *   est_c    = first_c − second_c − λ_remine · second_c²
 *   LADE     = −Σ_c π_c est_c
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { LossFn } from './types.js';
import { checkBatch, checkClassCounts, classPrior, logPrior, oneHotFloat, PRIOR_EPS, rowConstant } from './common.js';
import { offsetCrossEntropy } from './balanced-softmax.js';

export const ladeParams = z
  .object({
    alpha: z.number().min(0).default(0.1),
    remineLambda: z.number().min(0).default(0.1),
  })
  .strict();
export type LadeParams = z.input<typeof ladeParams>;

/** The LADE regulariser alone (without PriorCE and α). */
export function ladeRegulariser(
  logits: tf.Tensor2D,
  oneHot: tf.Tensor2D,
  classCounts: number[],
  remineLambda: number,
): tf.Scalar {
  return tf.tidy(() => {
    const C = classCounts.length;
    const N = logits.shape[0];
    const prior = classPrior(classCounts);
    const perClassCount = tf.sum(oneHot, 0);
    const first = tf.div(tf.sum(tf.mul(logits, oneHot), 0), tf.add(perClassCount, 1e-8));
    const shift = logPrior(classCounts).map((l) => -l + Math.log(1 / C + PRIOR_EPS));
    const second = tf.sub(tf.logSumExp(tf.add(logits, rowConstant(shift)), 0), Math.log(N));
    const est = tf.sub(tf.sub(first, second), tf.mul(remineLambda, tf.square(second)));
    return tf.neg(tf.sum(tf.mul(est, tf.tensor1d(prior)))) as tf.Scalar;
  });
}

export function ladeLoss(classCounts: number[], params: LadeParams = {}): LossFn {
  checkClassCounts(classCounts, 'lade');
  const { alpha, remineLambda } = ladeParams.parse(params);
  const C = classCounts.length;
  const offset = logPrior(classCounts);
  return (logits, labels) =>
    tf.tidy(() => {
      checkBatch(logits, labels, C, 'lade');
      const oneHot = oneHotFloat(labels, C);
      const priorCE = offsetCrossEntropy(logits, oneHot, offset);
      if (alpha === 0) return priorCE;
      return tf.add(priorCE, tf.mul(alpha, ladeRegulariser(logits, oneHot, classCounts, remineLambda))) as tf.Scalar;
    });
}
