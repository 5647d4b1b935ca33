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
import { CausalHead } from './heads/causal.js';
import { LwsHead } from './heads/lws.js';
import { NcmHead } from './heads/ncm.js';
import { TauNormHead } from './heads/tau-norm.js';

export interface Head {
  readonly name: HeadName;
  /** `training` is false at evaluation; heads that behave differently at test (causal TDE) read it. */
  apply(features: tf.Tensor2D, training?: boolean): tf.Tensor2D;
  /**
   * Changes test-time options (the causal head's α) and returns their previous values; heads
   * without any do not implement it.
   */
  configure?(options: Record<string, unknown>): Record<string, unknown>;
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

/** Builds a head into `store`: features of `inDim` → `numClasses` logits. */
export type HeadFactory = (store: ParamStore, inDim: number, numClasses: number, options: Record<string, unknown>) => Head;

/** The open head registry: the built-in heads, plus any a method file registers. */
const HEADS = new Map<string, HeadFactory>([
  ['linear', (store, d, c) => new LinearHead(store, d, c)],
  ['cosine', (store, d, c) => new CosineHead(store, d, c)],
  // Decoupling and De-confound heads (src/models/heads/).
  ['tau-norm', (store, d, c, o) => new TauNormHead(store, d, c, o)],
  ['lws', (store, d, c) => new LwsHead(store, d, c)],
  ['ncm', (store, d, c) => new NcmHead(store, d, c)],
  ['causal', (store, d, c, o) => new CausalHead(store, d, c, o)],
]);

/** Adds a head under `name` (a method file calls it at import time); a taken name is an error. */
export function registerHead(name: string, factory: HeadFactory): void {
  if (HEADS.has(name)) throw new Error(`head '${name}' is already registered`);
  HEADS.set(name, factory);
}

export function listHeads(): string[] {
  return [...HEADS.keys()];
}

export function createHead(name: HeadName, store: ParamStore, inDim: number, numClasses: number, options: Record<string, unknown> = {}): Head {
  const factory = HEADS.get(name);
  if (!factory) throw new Error(`unknown head '${name}'; known: ${listHeads().join(', ')}`);
  return factory(store, inDim, numClasses, options);
}
