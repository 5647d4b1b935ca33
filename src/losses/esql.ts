/**
 * Softmax equalization loss, ESQL (Tan et al., CVPR 2020, "Equalization Loss").
 * Follows the survey codebase Vanint/Awesome-LongTailed-Learning Main-codebase/loss/SEQLLoss.py
 * (γ = 0.9, λ = 0.00043): for every sample and every negative class j whose train frequency
 * π_j ≤ λ ("tail"), the logit is replaced by −1e7 with probability γ; then plain mean CE.
 * Equivalently p̃_y = e^{z_y} / Σ_j w̃_j e^{z_j}, w̃_j = 1 − β T_λ(π_j)(1 − y_j), β ~ Bernoulli(γ).
 *
 * λ off ImageNet-LT: λ = 0.00043 marks 374 of ImageNet-LT's 1,000 classes as tail. For other
 * class counts the default λ is the frequency that marks the same share of classes as tail:
 * k = round(0.374·C) classes, λ = π of the k-th rarest class (so exactly the k rarest are tail,
 * ties included). With ImageNet-LT's own counts (C = 1000, Σn = 115,846) λ stays 0.00043. An
 * explicit `lambda` always wins. `esqlThreshold` reports which rule gave λ, for the run record.
 *
 * Randomness: the Bernoulli draws come from `ctx.rng` (lt-bench passes a seeded Rng per step),
 * row-major over [N, C], one draw per entry. Without a ctx.rng the loss uses its own Rng seeded
 * with 0, so a standalone loss is still deterministic.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Rng } from '../rng.js';
import type { LossFn } from './types.js';
import { checkBatch, checkClassCounts, classPrior, crossEntropyPerSample, oneHotFloat, rowConstant } from './common.js';

/** The survey's ImageNet-LT threshold and the share of ImageNet-LT classes it marks as tail. */
export const ESQL_IMAGENET_LT_LAMBDA = 0.00043;
export const ESQL_IMAGENET_LT_TAIL_SHARE = 374 / 1000;
const IMAGENET_LT_TRAIN_SIZE = 115846;
const MASKED_LOGIT = -1e7;

export const esqlParams = z
  .object({
    gamma: z.number().min(0).max(1).default(0.9),
    /** Frequency threshold; when omitted, derived from the class counts (see esqlThreshold). */
    lambda: z.number().min(0).max(1).optional(),
  })
  .strict();
export type EsqlParams = z.input<typeof esqlParams>;

export interface EsqlThreshold {
  lambda: number;
  /** Class ids with π ≤ λ. */
  tailClasses: number[];
  rule: 'explicit' | 'imagenet-lt' | 'tail-share';
}

/** λ and the tail classes it marks, for the given counts and optional explicit λ. */
export function esqlThreshold(classCounts: number[], lambda?: number): EsqlThreshold {
  const prior = classPrior(classCounts);
  const C = classCounts.length;
  const total = classCounts.reduce((a, b) => a + b, 0);
  let value: number;
  let rule: EsqlThreshold['rule'];
  if (lambda !== undefined) {
    value = lambda;
    rule = 'explicit';
  } else if (C === 1000 && total === IMAGENET_LT_TRAIN_SIZE) {
    value = ESQL_IMAGENET_LT_LAMBDA;
    rule = 'imagenet-lt';
  } else {
    const k = Math.round(ESQL_IMAGENET_LT_TAIL_SHARE * C);
    const ascending = [...prior].sort((a, b) => a - b);
    value = k === 0 ? -1 : ascending[k - 1];
    rule = 'tail-share';
  }
  const tailClasses: number[] = [];
  prior.forEach((p, j) => {
    if (p <= value) tailClasses.push(j);
  });
  return { lambda: Math.max(value, 0), tailClasses, rule };
}

export function esqlLoss(classCounts: number[], params: EsqlParams = {}): LossFn {
  checkClassCounts(classCounts, 'esql');
  const { gamma, lambda } = esqlParams.parse(params);
  const C = classCounts.length;
  const { tailClasses } = esqlThreshold(classCounts, lambda);
  const isTail = new Array<number>(C).fill(0);
  for (const j of tailClasses) isTail[j] = 1;
  const fallbackRng = new Rng(0);
  return (logits, labels, ctx) => {
    checkBatch(logits, labels, C, 'esql');
    const rng = ctx?.rng ?? fallbackRng;
    const N = logits.shape[0];
    // drawn[i, j] = 1 when the Bernoulli(γ) draw says "mask" (official: keep when rand > γ).
    const drawn = new Float32Array(N * C);
    for (let i = 0; i < N * C; i++) drawn[i] = rng.next() > gamma ? 0 : 1;
    return tf.tidy(() => {
      const oneHot = oneHotFloat(labels, C);
      // masked = tail_j · drawn_ij · (1 − y_ij): built only from constants and labels.
      const masked = tf.mul(tf.mul(rowConstant(isTail), tf.tensor2d(drawn, [N, C])), tf.sub(1, oneHot));
      const keep = tf.sub(1, masked);
      const z = tf.add(tf.mul(logits, keep), tf.mul(masked, MASKED_LOGIT)) as tf.Tensor2D;
      return tf.mean(crossEntropyPerSample(z, oneHot)) as tf.Scalar;
    });
  };
}
