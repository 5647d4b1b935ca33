/**
 * BBN: Bilateral-Branch Network with cumulative learning (Zhou et al., "BBN: Bilateral-Branch
 * Network with Cumulative Learning for Long-Tailed Visual Recognition", CVPR 2020).
 * Code followed: Megvii-Nanjing/BBN — `lib/backbone/resnet.py` / `resnet_cifar.py` (BBN_ResNet:
 * the last residual block duplicated as `cb_block` and `rb_block`), `lib/net/network.py` (one
 * linear classifier with bias over the concatenated features), `lib/core/combiner.py` (`bbn_mix`),
 * `lib/dataset/imbalance_cifar.py` (the reversed dual sampler), `lib/core/function.py`
 * (`valid_model`).
 *
 * - Model: the recipe's backbone up to, not including, its last residual block is shared (the
 *   trunk, under the backbone's own parameter names); that block is built twice, `cb.` (the
 *   conventional branch) and `rb.` (the re-balancing branch), each followed by global average
 *   pooling; one linear head `fc` [2d → C] with bias over [f_c ; f_r].
 * - Two input streams per step: stream 0 the uniform instance sampler, stream 1 the reversed
 *   sampler (class c with probability ∝ n_max / n_c, an image uniformly within it; N draws per
 *   epoch), each through the trunk separately (two forward passes, as the official
 *   `model(image_a, feature_cb=True)`, `model(image_b, feature_rb=True)`: batch norm sees each
 *   stream's statistics alone).
 * - Cumulative learning: α = 1 − ((e − 1)/D)² at the 1-indexed epoch e of E; the official divisor
 *   D = 100·(⌊E/100⌋ + 1) when E ∈ {90, 180} (so a 90-epoch run ends at α = 1 − 0.89² ≈ 0.21 and a
 *   180-epoch one at 1 − 0.895² ≈ 0.20), else D = E (`divisor: official`); `divisor: epochs` is
 *   the paper's plain D = E for every E.
 * - Mixed feature 2·[α f_c ; (1 − α) f_r] into the shared classifier; loss
 *   α·CE(z, y_c) + (1 − α)·CE(z, y_r), plain cross-entropy.
 * - Test: both branches see the image and their features are concatenated with weight 1 each
 *   (α = 0.5 times the ×2 factor).
 *
 * Deviations: the official CIFAR model (`resnet_cifar.py`) builds layer3 with one block fewer and
 * adds two *stride-1* branch blocks; here the branch is the backbone's own last block, so on a
 * ResNet whose last stage has one block (ResNet-8) each branch is that stage's strided first
 * block. Training accuracy in the epoch lines is against stream 0's labels only (the official log
 * mixes α·acc(y_c) + (1 − α)·acc(y_r)). The official repo has no ImageNet-LT config; the survey's
 * port is not published.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { crossEntropyPerSample, oneHotFloat } from '../losses/common.js';
import { getBackbone } from '../models/backbones/registry.js';
import type { BackboneBranch, BackboneTrunk } from '../models/backbones/types.js';
import { LinearHead } from '../models/classifiers.js';
import { StoreModel } from '../models/model.js';
import { ParamStore } from '../models/params.js';
import { Rng } from '../rng.js';
import type { Method, MethodModel, ModelBuildContext, ModelOutput, StepContext, TrainBatch } from './types.js';
import { parseParams } from './setup.js';

export const bbnParams = z
  .object({
    divisor: z
      .enum(['official', 'epochs'])
      .default('official')
      .describe("α's divisor D in α = 1 − ((e−1)/D)²: 'official' (combiner.py) D = 100·(⌊E/100⌋+1) for E ∈ {90, 180}, else E; 'epochs' D = E always (the paper)"),
  })
  .strict();

export type BbnDivisorRule = z.infer<typeof bbnParams>['divisor'];

/** The divisor D of the cumulative-learning schedule for an E-epoch run. */
export function bbnDivisor(epochs: number, rule: BbnDivisorRule = 'official'): number {
  if (rule === 'official' && (epochs === 90 || epochs === 180)) return 100 * (Math.floor(epochs / 100) + 1);
  return epochs;
}

/** α at the 1-indexed epoch `epoch` of `epochs`: 1 − ((epoch − 1)/D)². */
export function bbnAlpha(epoch: number, epochs: number, rule: BbnDivisorRule = 'official'): number {
  const t = (epoch - 1) / bbnDivisor(epochs, rule);
  return 1 - t * t;
}

/** α·CE(z, y_c) + (1 − α)·CE(z, y_r), each a mean over the batch. */
export function bbnMixedLoss(logits: tf.Tensor2D, yConventional: tf.Tensor1D, yReversed: tf.Tensor1D, alpha: number): tf.Scalar {
  return tf.tidy(() => {
    const c = logits.shape[1];
    const ceC = tf.mean(crossEntropyPerSample(logits, oneHotFloat(yConventional, c)));
    const ceR = tf.mean(crossEntropyPerSample(logits, oneHotFloat(yReversed, c)));
    return tf.add(tf.mul(ceC, alpha), tf.mul(ceR, 1 - alpha)) as tf.Scalar;
  });
}

/** The shared trunk, the two branches (the duplicated last block) and the classifier over both. */
export class BbnModel extends StoreModel {
  readonly store: ParamStore;
  readonly trunk: BackboneTrunk;
  readonly conventional: BackboneBranch;
  readonly rebalancing: BackboneBranch;
  readonly head: LinearHead;

  constructor(ctx: ModelBuildContext) {
    super();
    const split = getBackbone(ctx.backbone).split;
    if (!split) throw new Error(`bbn: backbone '${ctx.backbone}' cannot be split (BBN duplicates its last residual block)`);
    const lastStage = split.stages;
    const lastBlock = split.blocks[lastStage - 1] - 1;
    this.store = new ParamStore(new Rng(ctx.seed).fork('init'));
    // Creation order fixes the seeded initial values: trunk, cb, rb, then the classifier.
    this.trunk = split.createTrunk(this.store, ctx.inChannels, lastStage, lastBlock);
    this.conventional = split.createBranch(this.store.scoped('cb'), lastStage, 1, lastBlock);
    this.rebalancing = split.createBranch(this.store.scoped('rb'), lastStage, 1, lastBlock);
    this.head = new LinearHead(this.store, this.conventional.featureDim + this.rebalancing.featureDim, ctx.numClasses);
  }

  /** Test path: both branches on the same image, concatenated [f_c ; f_r] (weight 1 each). */
  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    const h = this.trunk.apply(x, training);
    return tf.concat([this.conventional.apply(h, training), this.rebalancing.apply(h, training)], 1) as tf.Tensor2D;
  }

  forwardHead(features: tf.Tensor2D): ModelOutput {
    return { features, logits: this.head.apply(features) };
  }

  /** Training path: stream 0 through cb, stream 1 through rb, mixed 2·[α f_c ; (1 − α) f_r]. */
  forwardMixed(xConventional: tf.Tensor4D, xReversed: tf.Tensor4D, alpha: number): ModelOutput {
    const fc = this.conventional.apply(this.trunk.apply(xConventional, true), true);
    const fr = this.rebalancing.apply(this.trunk.apply(xReversed, true), true);
    const mixed = tf.mul(tf.concat([tf.mul(fc, alpha), tf.mul(fr, 1 - alpha)], 1), 2) as tf.Tensor2D;
    return this.forwardHead(mixed);
  }
}

function reversedStream(batch: TrainBatch | undefined): TrainBatch['streams'][number] {
  const s = batch?.streams?.[1];
  if (!s) throw new Error('bbn: the step has no reversed-sampler stream (streams[1])');
  return s;
}

export const bbnMethod: Method = {
  name: 'bbn',
  family: 'MI',
  tags: ['Ensemble'],
  table: { rows: [{ paper: 'BBN' }] },
  summary: 'Bilateral-branch network: duplicated last block fed by instance and reversed samplers, cumulative α = 1 − ((e−1)/D)² mixing.',
  citation: {
    paper: 'Zhou et al., "BBN: Bilateral-Branch Network with Cumulative Learning for Long-Tailed Visual Recognition", CVPR 2020',
    code: 'Megvii-Nanjing/BBN lib/backbone/resnet.py, lib/net/network.py, lib/core/combiner.py (bbn_mix), lib/dataset/imbalance_cifar.py',
  },
  params: bbnParams,
  create(setup) {
    const { divisor } = parseParams('bbn', bbnParams, setup);
    const alphaOf = (ctx: StepContext) => bbnAlpha(ctx.epoch + 1, ctx.epochs, divisor);
    return {
      buildModel: (ctx) => new BbnModel(ctx),
      streams: [{ sampler: 'instance' }, { sampler: 'reversed' }],
      forward(model: MethodModel, batch: TrainBatch, ctx: StepContext) {
        if (!(model instanceof BbnModel)) throw new Error('bbn: the model is not a BBN model');
        return model.forwardMixed(batch.streams[0].views[0], reversedStream(batch).views[0], alphaOf(ctx));
      },
      loss: (output, labels, ctx) => bbnMixedLoss(output.logits, labels, reversedStream(ctx.batch).y, alphaOf(ctx)),
      resolvedParams: {
        divisor: bbnDivisor(setup.epochs, divisor),
        alphaFirst: bbnAlpha(1, setup.epochs, divisor),
        alphaLast: bbnAlpha(setup.epochs, setup.epochs, divisor),
      },
    };
  },
};
