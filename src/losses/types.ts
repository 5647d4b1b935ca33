import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';

/** Where training is when a loss is evaluated: losses like LDAM-DRW change with the epoch. */
export interface LossContext {
  /** 0-based epoch index. */
  epoch: number;
  /** Total epochs of the stage. */
  epochs: number;
  /** Seeded generator for stochastic losses (ESQL); lt-bench passes one per step. */
  rng?: Rng;
}

/**
 * A loss: mean over the batch (or the official code's weighted mean Σw·ℓ/Σw).
 * Labels are int32 class ids.
 */
export type LossFn = (logits: tf.Tensor2D, labels: tf.Tensor1D, ctx?: LossContext) => tf.Scalar;

export interface LossOptions {
  /** Training images per class, index = class id. */
  classCounts: number[];
  [param: string]: unknown;
}
