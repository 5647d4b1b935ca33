/**
 * UNO-IC posterior re-calibration (Tian et al., NeurIPS 2020, "Posterior Re-calibration for
 * Imbalanced Datasets"). Follows GT-RIPL/UNO-IC classification/rebalancing.py:
 *   p = softmax(z); p_r ∝ p / π_s; out ∝ p^{1−β} p_r^β  ==  softmax(z − β log π_s)
 * (classes with π_s = 0 get probability 0 for β > 0, as the official inv_prior = 0).
 *
 * Training is plain softmax CE. After training, `calibrate` picks β from `betaGrid` (0, 0.1, …, 2)
 * by the mean per-class accuracy on the balanced **val** split (never test); ties go to the
 * smaller β. `beta: <number>` fixes β and skips the search. The official config default is
 * β = 0 (`test.beta`); the survey does not state its β.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { softmaxLoss } from '../losses/softmax.js';
import { classPrior } from '../losses/common.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

/** 0, 0.1, …, 2.0 (rounded so the grid values print cleanly). */
export const UNO_IC_DEFAULT_GRID: number[] = Array.from({ length: 21 }, (_, i) => Math.round(i * 10) / 100);

export const unoIcParams = z
  .object({
    /** Fixed β; when set, no search on val. */
    beta: z.number().min(0).optional(),
    betaGrid: z.array(z.number().min(0)).min(1).default(UNO_IC_DEFAULT_GRID),
  })
  .strict();

const ABSENT_CLASS_LOGIT = -1e9;

/** Re-calibrated logits z − β log π_s (argmax- and softmax-equivalent to the official output). */
export function unoIcAdjust(logits: tf.Tensor2D, classCounts: number[], beta: number): tf.Tensor2D {
  const prior = classPrior(classCounts);
  const offset = prior.map((p) => (p > 0 ? -beta * Math.log(p) : beta > 0 ? ABSENT_CLASS_LOGIT : 0));
  return tf.tidy(() => tf.add(logits, tf.tensor2d(offset, [1, offset.length])) as tf.Tensor2D);
}

/** Mean over classes present in `labels` of the per-class top-1 accuracy of `predicted`. */
export function meanPerClassAccuracy(predicted: ArrayLike<number>, labels: Int32Array, numClasses: number): number {
  const hits = new Array<number>(numClasses).fill(0);
  const totals = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    totals[labels[i]]++;
    if (predicted[i] === labels[i]) hits[labels[i]]++;
  }
  let sum = 0;
  let present = 0;
  for (let c = 0; c < numClasses; c++) {
    if (totals[c] > 0) {
      sum += hits[c] / totals[c];
      present++;
    }
  }
  return present === 0 ? 0 : sum / present;
}

export const unoIcMethod: Method = {
  name: 'uno-ic',
  family: 'CR',
  tags: ['LA'],
  table: { rows: [{ paper: 'UNO-IC' }] },
  summary: 'Post-hoc re-calibration softmax(z − β log π_s), β chosen on the balanced val split (grid 0…2).',
  citation: {
    paper: 'Tian et al., "Posterior Re-calibration for Imbalanced Datasets", NeurIPS 2020',
    code: 'GT-RIPL/UNO-IC classification/rebalancing.py',
  },
  params: unoIcParams,
  create(setup) {
    const params = parseParams('uno-ic', unoIcParams, setup);
    const { classCounts, numClasses } = setup;
    // β before calibration: the fixed one, or 0 (plain softmax) until val has been seen.
    let beta = params.beta ?? 0;
    return {
      loss: logitsLoss(softmaxLoss(classCounts)),
      predict: (output) => unoIcAdjust(output.logits, classCounts, beta),
      calibrate(valLogits, valLabels) {
        if (params.beta !== undefined) return { beta, searched: false };
        const grid = [...params.betaGrid].sort((a, b) => a - b);
        const accuracyByBeta: number[] = [];
        let best = -1;
        for (const candidate of grid) {
          const predicted = tf.tidy(() => tf.argMax(unoIcAdjust(valLogits, classCounts, candidate), 1).dataSync());
          const acc = meanPerClassAccuracy(predicted, valLabels, numClasses);
          accuracyByBeta.push(acc);
          // Strictly greater: ties keep the smaller β (the grid is ascending).
          if (acc > best) {
            best = acc;
            beta = candidate;
          }
        }
        return { beta, searched: true, valMeanClassAccuracy: best, betaGrid: grid, accuracyByBeta };
      },
    };
  },
};
