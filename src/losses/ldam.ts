/**
 * LDAM loss with deferred re-weighting (Cao et al., NeurIPS 2019).
 * Official code: kaidic/LDAM-DRW losses.py (LDAMLoss) and cifar_train.py (DRW schedule).
 *
 * Margins m_k = n_k^{−1/4}, rescaled so max_k m_k = maxMargin (0.5). Two variants:
 * - `ldam-drw` (default, kaidic/LDAM-DRW): the model has a cosine (NormedLinear) head, logits z
 *   are cosines; the margin is subtracted from the label's cosine and the result scaled:
 *   L = CE(s·(z − m_y e_y), y).
 * - `survey` (Vanint/Awesome-LongTailed-Learning Ensemble-codebase/model/loss.py, used by the
 *   survey's ImageNet-LT LDAM config): plain linear head, the scaled margin is subtracted from
 *   the unscaled logits: L = CE(z − s·m_y e_y, y).
 *
 * DRW: before the switch epoch, plain mean CE; from it on, class-balanced weights (β = 0.9999,
 * Σw = C) with the weighted mean Σ w_{y_i} ℓ_i / Σ w_{y_i} (CrossEntropyLoss(weight=w)). The
 * switch is at 0-based epoch floor(drwStart · epochs): 160 of 200 by default, which is both the
 * official `epoch // 160` (0-based) and the survey's `epoch > 160` (1-based). `drw: false` is
 * plain LDAM.
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
  rowConstant,
  sampleWeights,
  weightedMean,
} from './common.js';

export const ldamParams = z
  .object({
    variant: z.enum(['ldam-drw', 'survey']).default('ldam-drw'),
    maxMargin: z.number().positive().default(0.5),
    scale: z.number().positive().default(30),
    drw: z.boolean().default(true),
    /** Fraction of the epoch budget after which DRW switches on (160/200). */
    drwStart: z.number().min(0).max(1).default(0.8),
    /** β of the DRW class-balanced weights. */
    beta: z.number().min(0).lt(1).default(0.9999),
  })
  .strict();
export type LdamParams = z.input<typeof ldamParams>;

/** m_k = n_k^{−1/4} · maxMargin / max_j n_j^{−1/4}. A class with n_k = 0 gets the largest margin. */
export function ldamMargins(classCounts: number[], maxMargin: number): number[] {
  const raw = classCounts.map((n) => (n > 0 ? 1 / Math.sqrt(Math.sqrt(n)) : Number.NaN));
  const finite = raw.filter((m) => Number.isFinite(m));
  const top = Math.max(...finite);
  return raw.map((m) => (Number.isFinite(m) ? (m * maxMargin) / top : maxMargin));
}

/** 0-based epoch from which DRW weights apply: floor(drwStart · epochs) (tolerant of float error). */
export function drwStartEpoch(epochs: number, drwStart: number): number {
  return Math.floor(drwStart * epochs + 1e-9);
}

export function ldamLoss(classCounts: number[], params: LdamParams = {}): LossFn {
  checkClassCounts(classCounts, 'ldam-drw');
  const p = ldamParams.parse(params);
  const C = classCounts.length;
  const margins = ldamMargins(classCounts, p.maxMargin);
  const drwWeights = classBalancedWeights(classCounts, p.beta);
  return (logits, labels, ctx) =>
    tf.tidy(() => {
      checkBatch(logits, labels, C, 'ldam-drw');
      const oneHot = oneHotFloat(labels, C);
      // m_y on the label's entry only: one-hot ⊙ margins (a constant, no gradient needed).
      const marginMatrix = tf.mul(oneHot, rowConstant(margins));
      const adjusted =
        p.variant === 'ldam-drw'
          ? tf.mul(tf.sub(logits, marginMatrix), p.scale)
          : tf.sub(logits, tf.mul(marginMatrix, p.scale));
      const perSample = crossEntropyPerSample(adjusted as tf.Tensor2D, oneHot);
      // Without a context (no epoch known) the loss is the pre-switch plain LDAM.
      if (p.drw && ctx !== undefined && ctx.epoch >= drwStartEpoch(ctx.epochs, p.drwStart)) {
        return weightedMean(perSample, sampleWeights(drwWeights, oneHot));
      }
      return tf.mean(perSample) as tf.Scalar;
    });
}
