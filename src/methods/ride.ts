/**
 * RIDE (Wang et al., "Long-tailed Recognition by Routing Diverse Distribution-Aware Experts",
 * ICLR 2021), following frank-xwang/RIDE-LongTailRecognition (`model/loss.py` RIDELoss,
 * `model/fb_resnets/RIDEResNeXt.py`, `model/ldam_drw_resnets/ride_resnet_cifar.py`) and the
 * survey's run of it (Vanint/Awesome-LongTailed-Learning Ensemble-codebase, no router, no distillation).
 *
 * Model (src/models/expert-ensemble.ts): shared stem and early stages, 3 experts owning the last
 * two stages at 3/4 width, cosine classifiers scaled by s = 30; the prediction is the mean of the
 * expert logits.
 *
 * Loss, summed over experts i:
 *   LDAM(z_i) (margins ∝ n^−1/4, max 0.5, subtracted as s·m_y from the true-class logit; from the
 *   DRW epoch weighted by the effective-number weights, β = 0.9999, Σw = C: the `survey` variant of
 *   src/losses/ldam.ts on the already-scaled logits, as `get_final_output` does)
 *   + factor · T̄² · KL_batchmean(softmax(z̄/T) ‖ softmax(z_i/T)), z̄ the detached ensemble mean.
 * The KL direction is the official `F.kl_div(log_softmax(z_i/T), softmax(z̄/T))`, i.e. Σ p̄ (log p̄ − log p_i).
 * T = `diversityTemperature` before the DRW epoch; from it on T_c = base · (C·π_c·λ + 1 − λ) / max_c(…),
 * λ = `reweightFactor`, and T̄ its mean over classes. A negative factor maximises the divergence.
 * As the official code does, factor 0 switches every expert's LDAM term to the ensemble mean's
 * logits (a collaborative loss).
 *
 * Deviations: the expert router (RIDE-EA, `EAResNeXt.py`) and the distillation variant are not
 * implemented (the survey ran neither). DRW switches at 0-based epoch floor(drwStart · epochs),
 * the official `epoch > reweight_epoch` on 1-based epochs.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { classBalancedWeights, classPrior, stopGradient } from '../losses/common.js';
import { drwStartEpoch, ldamLoss, ldamMargins } from '../losses/ldam.js';
import type { LossContext } from '../losses/types.js';
import { buildExpertEnsemble } from '../models/expert-ensemble.js';
import type { Method } from './types.js';
import { parseParams } from './setup.js';

export const rideParams = z
  .object({
    experts: z.number().int().min(1).default(3).describe('number of experts'),
    widthFactor: z.number().positive().default(0.75).describe("width of the experts' stages (RIDE's reduce_dimension: 3/4)"),
    splitStage: z.number().int().min(1).nullable().default(null).describe('first stage the experts own; null: the last two stages'),
    scale: z.number().positive().default(30).describe('scale s of the cosine logits'),
    maxMargin: z.number().positive().default(0.5).describe('largest LDAM margin'),
    drw: z.boolean().default(true).describe('deferred re-weighting (and the per-class diversity temperature)'),
    drwStart: z.number().min(0).max(1).default(0.8).describe('fraction of the epochs after which DRW starts (160/200)'),
    beta: z.number().min(0).lt(1).default(0.9999).describe('β of the DRW effective-number weights'),
    diversityFactor: z.number().default(-0.2).describe('factor of the diversity KL (ImageNet −0.2, CIFAR −0.45)'),
    diversityTemperature: z.number().positive().default(1).describe('base temperature of the diversity KL'),
    reweightFactor: z.number().min(0).max(1).default(0.05).describe('λ of the per-class temperature after DRW (ImageNet-LT 0.02)'),
  })
  .strict();
export type RideParams = z.input<typeof rideParams>;

/** Per-class diversity temperature after DRW: (C·π_c·λ + 1 − λ) / max_c(C·π_c·λ + 1 − λ). */
export function rideClassTemperatures(classCounts: number[], reweightFactor: number): number[] {
  const C = classCounts.length;
  const raw = classPrior(classCounts).map((p) => C * p * reweightFactor + 1 - reweightFactor);
  const top = Math.max(...raw);
  return raw.map((t) => t / top);
}

/**
 * factor · T̄² · KL_batchmean(softmax(z̄/T) ‖ softmax(z_i/T)) with z̄ detached; `temperature` a
 * scalar or one value per class (T̄ its mean).
 */
export function rideDiversityTerm(expertLogits: tf.Tensor2D, meanLogits: tf.Tensor2D, temperature: number | number[], factor: number): tf.Scalar {
  return tf.tidy(() => {
    const T = typeof temperature === 'number' ? tf.scalar(temperature) : tf.tensor2d([temperature]);
    const tMean = typeof temperature === 'number' ? temperature : temperature.reduce((a, b) => a + b, 0) / temperature.length;
    const logP = tf.logSoftmax(tf.div(expertLogits, T), 1);
    const meanLogP = tf.logSoftmax(tf.div(stopGradient(meanLogits), T), 1);
    const kl = tf.sum(tf.mul(tf.exp(meanLogP), tf.sub(meanLogP, logP)), 1);
    return tf.mul(tf.mean(kl), factor * tMean * tMean) as tf.Scalar;
  });
}

/** RIDE's loss over the experts' logits (mean = their ensemble mean). */
export function rideLoss(classCounts: number[], params: RideParams = {}) {
  const p = rideParams.parse(params);
  const ldam = ldamLoss(classCounts, { variant: 'survey', maxMargin: p.maxMargin, scale: p.scale, drw: p.drw, drwStart: p.drwStart, beta: p.beta });
  const classT = rideClassTemperatures(classCounts, p.reweightFactor).map((t) => t * p.diversityTemperature);
  return (experts: tf.Tensor2D[], mean: tf.Tensor2D, labels: tf.Tensor1D, ctx?: LossContext): tf.Scalar =>
    tf.tidy(() => {
      const afterDrw = p.drw && ctx !== undefined && ctx.epoch >= drwStartEpoch(ctx.epochs, p.drwStart);
      const T = afterDrw ? classT : p.diversityTemperature;
      const terms = experts.map((z) => {
        const base = ldam(p.diversityFactor === 0 ? mean : z, labels, ctx);
        return p.diversityFactor === 0 ? base : tf.add(base, rideDiversityTerm(z, mean, T, p.diversityFactor));
      });
      return tf.addN(terms) as tf.Scalar;
    });
}

export const rideMethod: Method = {
  name: 'ride',
  family: 'MI',
  tags: ['Ensemble'],
  table: { rows: [{ paper: 'RIDE' }] },
  summary: 'Shared trunk + 3 reduced-width experts (cosine, s = 30), per-expert LDAM-DRW and a diversity KL; mean of the experts.',
  citation: {
    paper: 'Wang et al., "Long-tailed Recognition by Routing Diverse Distribution-Aware Experts", ICLR 2021',
    code: 'frank-xwang/RIDE-LongTailRecognition model/loss.py (RIDELoss), model/fb_resnets/RIDEResNeXt.py; survey: Vanint/Awesome-LongTailed-Learning Ensemble-codebase',
  },
  params: rideParams,
  create(setup) {
    const p = parseParams('ride', rideParams, setup);
    const loss = rideLoss(setup.classCounts, p);
    return {
      buildModel: (ctx) => buildExpertEnsemble(ctx, { experts: p.experts, widthFactor: p.widthFactor, splitStage: p.splitStage, scale: p.scale }),
      loss: (output, labels, ctx) => {
        if (!output.experts) throw new Error('ride: the model gave no expert logits');
        return loss(output.experts, output.logits, labels, ctx);
      },
      resolvedParams: {
        margins: ldamMargins(setup.classCounts, p.maxMargin),
        drwStartEpoch: p.drw ? drwStartEpoch(setup.epochs, p.drwStart) : null,
        drwWeights: p.drw ? classBalancedWeights(setup.classCounts, p.beta) : null,
        diversityTemperatures: p.drw ? rideClassTemperatures(setup.classCounts, p.reweightFactor).map((t) => t * p.diversityTemperature) : null,
      },
    };
  },
};
