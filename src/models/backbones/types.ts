import type * as tf from '@tensorflow/tfjs';
import type { ParamStore } from '../params.js';

/** A feature extractor: NHWC images → [batch, featureDim] features. */
export interface Backbone {
  readonly featureDim: number;
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

export interface BackboneSpec {
  name: string;
  summary: string;
  /** Paper and reference code this implementation follows. */
  citation: string;
  create(store: ParamStore, inChannels: number): Backbone;
}
