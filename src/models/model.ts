/** A backbone plus a classifier head, with its parameters in one store. */
import * as tf from '@tensorflow/tfjs';
import type { HeadName, ModelOutput } from '../methods/types.js';
import { Rng } from '../rng.js';
import { getBackbone } from './backbones/registry.js';
import type { Backbone } from './backbones/types.js';
import { createHead, type Head } from './classifiers.js';
import { ParamStore } from './params.js';

export interface ModelSpec {
  backbone: string;
  head: HeadName;
  inChannels: number;
  numClasses: number;
  /** Seed of the initialisation. */
  seed: number;
}

export class LtModel {
  readonly store: ParamStore;
  readonly backbone: Backbone;
  readonly head: Head;

  constructor(readonly spec: ModelSpec) {
    this.store = new ParamStore(new Rng(spec.seed).fork('init'));
    this.backbone = getBackbone(spec.backbone).create(this.store, spec.inChannels);
    this.head = createHead(spec.head, this.store, this.backbone.featureDim, spec.numClasses);
  }

  forward(x: tf.Tensor4D, training: boolean): ModelOutput {
    const features = this.backbone.apply(x, training);
    return { features, logits: this.head.apply(features) };
  }

  parameterCount(): number {
    return this.store.parameterCount();
  }

  dispose(): void {
    this.store.dispose();
  }
}
