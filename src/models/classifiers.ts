/**
 * Classifier heads: features [batch, d] → logits [batch, C].
 * - linear: W x + b, initialised as LDAM-DRW's CIFAR ResNet (kaiming-normal W) with PyTorch's
 *   default bias init U(−1/√d, 1/√d).
 * - cosine: cos(x, w_k) without scale, as LDAM-DRW's NormedLinear (`models/resnet_cifar.py`):
 *   W ~ U(−1, 1) column-normalised; the loss applies the scale s.
 */
import * as tf from '@tensorflow/tfjs';
import type { HeadName } from '../methods/types.js';
import type { ParamStore } from './params.js';

export interface Head {
  readonly name: HeadName;
  apply(features: tf.Tensor2D): tf.Tensor2D;
}

export class LinearHead implements Head {
  readonly name = 'linear' as const;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(store: ParamStore, inDim: number, numClasses: number) {
    this.weight = store.addTrainable('fc.weight', [inDim, numClasses], store.kaimingNormal(inDim * numClasses, inDim));
    this.bias = store.addTrainable('fc.bias', [numClasses], store.uniform(numClasses, 1 / Math.sqrt(inDim)));
  }

  apply(features: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(features, this.weight as tf.Tensor2D), this.bias) as tf.Tensor2D;
  }
}

/** x / max(‖x‖, 1e-12) along `axis`, as torch.nn.functional.normalize. */
export function l2Normalize(x: tf.Tensor, axis: number): tf.Tensor {
  return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', axis, true), 1e-12));
}

export class CosineHead implements Head {
  readonly name = 'cosine' as const;
  readonly weight: tf.Variable;

  constructor(store: ParamStore, inDim: number, numClasses: number) {
    this.weight = store.addTrainable('fc.weight', [inDim, numClasses], store.uniform(inDim * numClasses, 1));
  }

  apply(features: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(l2Normalize(features, 1) as tf.Tensor2D, l2Normalize(this.weight, 0) as tf.Tensor2D);
  }
}

export function createHead(name: HeadName, store: ParamStore, inDim: number, numClasses: number): Head {
  switch (name) {
    case 'linear':
      return new LinearHead(store, inDim, numClasses);
    case 'cosine':
      return new CosineHead(store, inDim, numClasses);
  }
}
