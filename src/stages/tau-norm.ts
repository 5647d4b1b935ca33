/**
 * Choosing τ for the τ-normalised classifier on the **val** split (never test): every τ of the
 * grid is scored by the mean per-class accuracy of argmax_k x·w_k/‖w_k‖^τ on the val features;
 * the best wins, ties going to the smaller τ. (The official tau_norm.py prints the sweep for the
 * split it is given; the survey and the paper pick τ on val.)
 */
import * as tf from '@tensorflow/tfjs';
import { tauNormalizedWeight } from '../models/heads/tau-norm.js';
import { meanPerClassAccuracy } from '../methods/uno-ic.js';

export interface TauChoice {
  chosen: number;
  grid: number[];
  /** Mean per-class val accuracy (0–100) of each τ of the grid. */
  valAccuracy: number[];
}

export function chooseTau(valFeatures: tf.Tensor2D, valLabels: Int32Array, weight: tf.Tensor2D, grid: number[], numClasses: number): TauChoice {
  const sorted = [...grid].sort((a, b) => a - b);
  const valAccuracy: number[] = [];
  let chosen = sorted[0];
  let best = -1;
  for (const tau of sorted) {
    const pred = tf.tidy(() => tf.argMax(tf.matMul(valFeatures, tauNormalizedWeight(weight, tau)), 1).dataSync());
    const acc = 100 * meanPerClassAccuracy(pred, valLabels, numClasses);
    valAccuracy.push(acc);
    if (acc > best) {
      best = acc;
      chosen = tau;
    }
  }
  return { chosen, grid: sorted, valAccuracy };
}
