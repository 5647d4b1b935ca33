/**
 * RIDE / SADE's expert model (frank-xwang/RIDE-LongTailRecognition `model/fb_resnets/RIDEResNeXt.py`,
 * `ldam_drw_resnets/ride_resnet_cifar.py`; Vanint/SADE-AgnosticLT `model/fb_resnets/Expert_ResNeXt.py`):
 * a shared trunk, K experts owning the last two stages at reduced width, each with a cosine
 * (NormedLinear) classifier whose cosines the model multiplies by s = 30 (`use_norm` → `* self.s`).
 *
 * The prediction (`output.logits`) is Σ_k w_k z_k: the plain mean (w_k = 1/K) unless aggregation
 * weights were set (SADE's test-time self-supervised aggregation, src/methods/sade.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelBuildContext, ModelOutput } from '../methods/types.js';
import { getBackbone } from './backbones/registry.js';
import { SharedTrunkExperts } from './shared-trunk-experts.js';

export interface ExpertEnsembleOptions {
  experts: number;
  widthFactor: number;
  /** First stage the experts own; null: the last two stages (ResNeXt-50: 3, CIFAR ResNets: 2). */
  splitStage: number | null;
  /** Scale s of the cosine logits. */
  scale: number;
}

/** The official split: the experts own the last two stages (layer3/4 of ResNeXt-50, layer2/3 of ResNet-32). */
export function defaultSplitStage(backbone: string): number {
  const split = getBackbone(backbone).split;
  if (!split) throw new Error(`backbone '${backbone}' cannot be split into a shared trunk and experts`);
  return Math.max(1, split.stages - 1);
}

export class ExpertEnsemble extends SharedTrunkExperts {
  /** Aggregation weights of the prediction (one per expert); null: the mean. Not a parameter: set after training. */
  aggregationWeights: number[] | null = null;

  constructor(ctx: ModelBuildContext, readonly options: ExpertEnsembleOptions) {
    super({
      ...ctx,
      splitStage: options.splitStage ?? defaultSplitStage(ctx.backbone),
      experts: options.experts,
      widthFactor: options.widthFactor,
      head: 'cosine',
    });
  }

  override forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput {
    const parts = this.heads.length === 1 ? [features] : (tf.split(features, this.heads.length, 1) as tf.Tensor2D[]);
    const experts = this.heads.map((head, i) => tf.mul(head.apply(parts[i], training), this.options.scale) as tf.Tensor2D);
    return { features, experts, logits: aggregateLogits(experts, this.aggregationWeights) };
  }

  /** Sets (or with null clears) the prediction's aggregation weights; returns the previous ones. */
  setAggregationWeights(weights: number[] | null): number[] | null {
    if (weights !== null && weights.length !== this.heads.length) throw new Error(`aggregation weights: expected ${this.heads.length}, got ${weights.length}`);
    const previous = this.aggregationWeights;
    this.aggregationWeights = weights === null ? null : [...weights];
    return previous;
  }
}

/** Σ_k w_k z_k, or the mean of the z_k when `weights` is null. */
export function aggregateLogits(experts: tf.Tensor2D[], weights: number[] | null): tf.Tensor2D {
  if (weights === null) return tf.div(tf.addN(experts), experts.length) as tf.Tensor2D;
  return tf.addN(experts.map((z, k) => tf.mul(z, weights[k]))) as tf.Tensor2D;
}

export function buildExpertEnsemble(ctx: ModelBuildContext, options: ExpertEnsembleOptions): ExpertEnsemble {
  return new ExpertEnsemble(ctx, options);
}
