/**
 * τ-normalised classifier (Kang et al., "Decoupling Representation and Classifier for Long-Tailed
 * Recognition", ICLR 2020), as facebookresearch/classifier-balancing `tau_norm.py` (`pnorm`,
 * `dotproduct_similarity`): each class vector is rescaled, w̃_k = w_k / ‖w_k‖^τ, and the logits
 * are x · w̃_k with **no bias**. τ = 0 keeps W (still without the bias), τ = 1 is L2
 * normalisation. τ is chosen on the val split by src/stages/tau-norm.ts, never on test.
 *
 * Weights are stored as `fc.weight` [d, C] (columns are the class vectors, as LinearHead), so the
 * stage-1 linear classifier loads into it unchanged; the stage-1 bias is not used.
 */
import * as tf from '@tensorflow/tfjs';
import type { Head } from '../classifiers.js';
import type { ParamStore } from '../params.js';

/** W / ‖w_k‖^τ column-wise, for W [d, C]. A zero column stays zero. */
export function tauNormalizedWeight(weight: tf.Tensor2D, tau: number): tf.Tensor2D {
  return tf.tidy(() => {
    const norms = tf.maximum(tf.norm(weight, 'euclidean', 0, true), 1e-12);
    return tf.div(weight, tf.pow(norms, tau)) as tf.Tensor2D;
  });
}

export class TauNormHead implements Head {
  readonly name = 'tau-norm' as const;
  readonly weight: tf.Variable;
  /** The exponent used by `apply`; set by the val search. */
  tau: number;

  constructor(store: ParamStore, inDim: number, numClasses: number, options: Record<string, unknown> = {}) {
    this.weight = store.addTrainable('fc.weight', [inDim, numClasses], store.kaimingNormal(inDim * numClasses, inDim));
    this.tau = typeof options.tau === 'number' ? options.tau : 1;
  }

  apply(features: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.matMul(features, tauNormalizedWeight(this.weight as tf.Tensor2D, this.tau)));
  }
}
