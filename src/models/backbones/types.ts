import type * as tf from '@tensorflow/tfjs';
import type { ParamStore } from '../params.js';

/** A feature extractor: NHWC images → [batch, featureDim] features. */
export interface Backbone {
  readonly featureDim: number;
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

/** The shared early part of a split backbone: images → feature map [B, H, W, outChannels]. */
export interface BackboneTrunk {
  readonly outChannels: number;
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
}

/** One branch of a split backbone: the trunk's feature map → its own later stages → pooled [B, featureDim]. */
export interface BackboneBranch {
  readonly featureDim: number;
  apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

/**
 * A backbone cut before stage `splitStage` (1-based; the stem is never split): the trunk holds the
 * stem and stages 1 … splitStage−1 under the full model's parameter names; each branch holds
 * stages splitStage … last under its own (scoped) store, with channel widths scaled by
 * `widthFactor` (multi-expert models: RIDE, SADE).
 *
 * `fromBlock` (0-based, default 0) moves the cut inside stage `splitStage`: the trunk also holds
 * that stage's blocks 0 … fromBlock−1 and the branch starts at block `fromBlock` (BBN duplicates
 * only the last block: fromBlock = blocks[last] − 1). fromBlock = blocks[splitStage − 1] puts the
 * whole backbone in the trunk (its last feature map, before pooling; ResLT) and leaves the branch
 * only the pooling.
 */
export interface SplitBackbone {
  /** Number of stages (CIFAR ResNets 3, ImageNet ResNets 4). */
  readonly stages: number;
  /** Blocks per stage (ResNet-32: [5, 5, 5]; ResNeXt-50: [3, 4, 6, 3]). */
  readonly blocks: readonly number[];
  createTrunk(store: ParamStore, inChannels: number, splitStage: number, fromBlock?: number): BackboneTrunk;
  /** Reads its input width from the unsplit trunk; create it with a scoped store (`experts.0`). */
  createBranch(store: ParamStore, splitStage: number, widthFactor: number, fromBlock?: number): BackboneBranch;
}

export interface BackboneSpec {
  name: string;
  summary: string;
  /** Paper and reference code this implementation follows. */
  citation: string;
  create(store: ParamStore, inChannels: number): Backbone;
  /** Present when the backbone can be split into a shared trunk and branches. */
  split?: SplitBackbone;
}
