/** A backbone plus a classifier head, with its parameters in one store. */
import * as tf from '@tensorflow/tfjs';
import type { HeadName, MethodInstance, MethodModel, ModelBuildContext, ModelOutput } from '../methods/types.js';
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
  /** Options of the head (the causal head's K, τ, γ, α), from the method's `headOptions`. */
  headOptions?: Record<string, unknown>;
  /** Name scope of the head's parameters (a pretext head lives under `pretext.`); default none. */
  headScope?: string;
}

/** What every store-backed model shares: forward = head ∘ trunk, its parameters and their disposal in one store. */
export abstract class StoreModel implements MethodModel {
  abstract readonly store: ParamStore;
  abstract forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  abstract forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput;

  forward(x: tf.Tensor4D, training: boolean): ModelOutput {
    return this.forwardHead(this.forwardFeatures(x, training), training);
  }

  /** The inference model's parameters: trainable ones, less any the model declares training-only. */
  parameterCount(): number {
    let n = 0;
    for (const [name, v] of this.store.trainable) if (!this.trainingOnly?.(name)) n += v.size;
    return n;
  }

  trainingOnly?(name: string): boolean;

  dispose(): void {
    this.store.dispose();
  }
}

/** The default model of the method contract: the recipe's backbone and one head. */
export class LtModel extends StoreModel {
  readonly store: ParamStore;
  readonly backbone: Backbone;
  readonly head: Head;

  constructor(readonly spec: ModelSpec) {
    super();
    this.store = new ParamStore(new Rng(spec.seed).fork('init'));
    this.backbone = getBackbone(spec.backbone).create(this.store, spec.inChannels);
    this.head = createHead(spec.head, spec.headScope ? this.store.scoped(spec.headScope) : this.store, this.backbone.featureDim, spec.numClasses, spec.headOptions);
  }

  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.backbone.apply(x, training);
  }

  forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput {
    return { features, logits: this.head.apply(features, training) };
  }

  configure(options: Record<string, unknown>): Record<string, unknown> {
    if (!this.head.configure) throw new Error(`the ${this.head.name} head has no test-time options`);
    return this.head.configure(options);
  }
}

/** The model a method instance trains: its own `buildModel`, else the backbone + its head (the default). */
export function buildMethodModel(method: MethodInstance, ctx: ModelBuildContext): MethodModel {
  if (method.buildModel) return method.buildModel(ctx);
  return new LtModel({ ...ctx, head: method.head ?? 'linear', headOptions: method.headOptions });
}
