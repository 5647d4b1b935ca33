/**
 * Learnable weight scaling (LWS; Kang et al., ICLR 2020), as facebookresearch/classifier-balancing
 * `models/TauNormClassifier.py` (`DotProduct_Classifier` with `scales`): the stage-1 linear
 * classifier W, b is kept frozen and one scale per class is learned, logits = (x W + b) ⊙ s,
 * with s initialised to 1. W and b use LinearHead's names (`fc.weight`, `fc.bias`) so the stage-1
 * classifier loads into them; `fc.scales` is the only parameter stage 2 trains.
 */
import * as tf from '@tensorflow/tfjs';
import type { Head } from '../classifiers.js';
import type { ParamStore } from '../params.js';

export class LwsHead implements Head {
  readonly name = 'lws' as const;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly scales: tf.Variable;

  constructor(store: ParamStore, inDim: number, numClasses: number) {
    this.weight = store.addTrainable('fc.weight', [inDim, numClasses], store.kaimingNormal(inDim * numClasses, inDim));
    this.bias = store.addTrainable('fc.bias', [numClasses], store.uniform(numClasses, 1 / Math.sqrt(inDim)));
    this.scales = store.addTrainable('fc.scales', [numClasses], new Float32Array(numClasses).fill(1));
  }

  apply(features: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.add(tf.matMul(features, this.weight as tf.Tensor2D), this.bias), this.scales) as tf.Tensor2D);
  }
}

/** Names of the LWS head's parameters that stage 2 trains. */
export const LWS_TRAINED = ['fc.scales'] as const;
