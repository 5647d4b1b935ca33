/**
 * ResLT: Residual Learning for Long-tailed Recognition (Cui et al., TPAMI 2022).
 * Code followed: jiequancui/ResLT — `ImageNetLT/networks/reslt_imagenet.py` (ResNet_ResLT:
 * `finalBlock`, the shared `fc`, the test-time τ-norm), `ImageNetLT/ImageNetTrain_reslt.py` (the
 * loss and the branch class sets), `ImageNetLT/datasets/imagenet.py` (labels re-indexed by
 * ascending training count).
 *
 * - Model: the recipe's backbone up to its last feature map (d channels), then `finalBlock` =
 *   1×1 conv d → 3d (no bias) + batch norm + ReLU, split into 3 chunks of d (the H, M, T
 *   branches), each through one shared linear classifier `fc` [d → C].
 *   Training applies finalBlock to the feature map and then pools; evaluation pools first and
 *   applies finalBlock to the pooled vector (official `after_1x1conv`: with the ReLU the two are
 *   not the same function; the official ImageNet-LT scripts set the flag).
 * - Branch class sets (official `[:, :825]`, `[:, :220]` on labels sorted by ascending count): H
 *   all classes, M the k_M rarest, T the k_T rarest, k = round(fraction · C) clamped to 1 … C
 *   (`middleFraction` 0.825, `tailFraction` 0.22 give 825 / 220 of 1000; the official CIFAR
 *   scripts use 8 / 6 of 10 and 65 / 30 of 100, which the recipes set as 0.8 / 0.6 and
 *   0.65 / 0.3). Rarest by training count; ties (the official np.argsort leaves them in
 *   implementation order) are broken by the class index, the higher index counting as rarer
 *   (long-tailed datasets number classes from frequent to rare); on a balanced split (the UA
 *   reference run) every count ties, so M and T are the highest class indices.
 * - Loss: L = (1 − β)·F + β·I with F = CE(z_H + z_M + z_T) averaged over the batch, and
 *   I = Σ_b Σ_i [y_i ∈ S_b]·CE(z_b,i, y_i) / Σ_b Σ_i [y_i ∈ S_b] (every (sample, branch)
 *   membership counts once). β = 0.99 (ImageNet-LT X50.sh).
 * - Test: the branch logits are summed, each with the τ-normalised classifier
 *   W̃_c = W_c / ‖W_c‖^γ and no bias (official eval branch: `torch.mm(out, weight.t())`), γ = 0.7.
 *
 * Deviations: cross-entropy uses logSoftmax (the official code takes log(softmax + 1e-7), which
 * caps each term at −log 1e-7); label smoothing (`--lsm`, default 0 in the scripts) and dropout
 * (off) are not implemented. The official CIFAR model (`CIFAR/networks/resnet_cifar.py`) is a
 * different variant — three branch batch norms on the last map, no τ-norm — here every backbone
 * gets the ImageNet variant above.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { crossEntropyPerSample, oneHotFloat } from '../losses/common.js';
import { getBackbone } from '../models/backbones/registry.js';
import type { BackboneTrunk } from '../models/backbones/types.js';
import { LinearHead } from '../models/classifiers.js';
import { tauNormalizedWeight } from '../models/heads/tau-norm.js';
import { BatchNorm, Conv2d } from '../models/layers.js';
import { StoreModel } from '../models/model.js';
import { ParamStore } from '../models/params.js';
import { Rng } from '../rng.js';
import type { Method, ModelBuildContext, ModelOutput } from './types.js';
import { parseParams } from './setup.js';

export const resltParams = z
  .object({
    beta: z.number().min(0).max(1).default(0.99).describe('weight of the branch loss I against the fused loss F (ImageNet-LT 0.99; CIFAR-100 IR100 0.995; CIFAR-10 IR100 0.998)'),
    middleFraction: z.number().gt(0).max(1).default(0.825).describe('branch M: the round(f·C) rarest classes (ImageNet-LT 825 of 1000)'),
    tailFraction: z.number().gt(0).max(1).default(0.22).describe('branch T: the round(f·C) rarest classes (ImageNet-LT 220 of 1000)'),
    gamma: z.number().min(0).default(0.7).describe('test-time τ-norm exponent of the shared classifier: W_c / ‖W_c‖^γ (official --gamma 0.7)'),
  })
  .strict();

/** Classes ordered from rarest to most frequent: count ascending, ties by the higher index first. */
export function rarestFirst(classCounts: number[]): number[] {
  return classCounts.map((_, c) => c).sort((a, b) => classCounts[a] - classCounts[b] || b - a);
}

export interface ResltBranches {
  /** Class indices of each branch, H, M, T (each ascending). */
  classes: [number[], number[], number[]];
  /** Membership masks [3][C]: 1 where the class is in the branch's set. */
  masks: number[][];
}

/** H = all classes, M = the round(fM·C) rarest, T = the round(fT·C) rarest (each clamped to 1 … C). */
export function resltBranches(classCounts: number[], middleFraction: number, tailFraction: number): ResltBranches {
  const c = classCounts.length;
  const order = rarestFirst(classCounts);
  const take = (f: number) => order.slice(0, Math.min(c, Math.max(1, Math.round(f * c)))).sort((a, b) => a - b);
  const classes: [number[], number[], number[]] = [order.slice().sort((a, b) => a - b), take(middleFraction), take(tailFraction)];
  const masks = classes.map((set) => {
    const m = new Array<number>(c).fill(0);
    for (const k of set) m[k] = 1;
    return m;
  });
  return { classes, masks };
}

/**
 * (1 − β)·mean_i CE(Σ_b z_b,i, y_i) + β·Σ_b Σ_i m_b(y_i)·CE(z_b,i, y_i) / Σ_b Σ_i m_b(y_i), for
 * the three branches' logits and their class masks.
 */
export function resltLoss(branchLogits: tf.Tensor2D[], labels: tf.Tensor1D, masks: number[][], beta: number): tf.Scalar {
  return tf.tidy(() => {
    const c = branchLogits[0].shape[1];
    const oneHot = oneHotFloat(labels, c);
    let num: tf.Tensor = tf.scalar(0);
    let den: tf.Tensor = tf.scalar(0);
    branchLogits.forEach((z, b) => {
      const member = tf.sum(tf.mul(oneHot, tf.tensor2d(masks[b], [1, c])), 1);
      num = tf.add(num, tf.sum(tf.mul(member, crossEntropyPerSample(z, oneHot))));
      den = tf.add(den, tf.sum(member));
    });
    const fused = tf.mean(crossEntropyPerSample(tf.addN(branchLogits) as tf.Tensor2D, oneHot));
    return tf.add(tf.mul(fused, 1 - beta), tf.mul(tf.div(num, den), beta)) as tf.Scalar;
  });
}

/** The backbone's feature map, finalBlock (1×1 conv d → 3d, BN, ReLU) and the shared classifier. */
export class ResltModel extends StoreModel {
  readonly store: ParamStore;
  readonly trunk: BackboneTrunk;
  readonly expand: Conv2d;
  readonly expandBn: BatchNorm;
  readonly head: LinearHead;
  readonly branchDim: number;

  constructor(ctx: ModelBuildContext, readonly gamma: number) {
    super();
    const split = getBackbone(ctx.backbone).split;
    if (!split) throw new Error(`reslt: backbone '${ctx.backbone}' cannot give its last feature map (no split support)`);
    this.store = new ParamStore(new Rng(ctx.seed).fork('init'));
    // The whole backbone as the trunk (the cut after the last stage's last block): its feature map.
    this.trunk = split.createTrunk(this.store, ctx.inChannels, split.stages, split.blocks[split.stages - 1]);
    const d = this.trunk.outChannels;
    this.branchDim = d;
    // Official init: kaiming-normal fan_out for every conv, BN γ = 1, β = 0.
    this.expand = new Conv2d(this.store, 'finalBlock.0', d, 3 * d, 1, 1, { fanMode: 'fan_out' });
    this.expandBn = new BatchNorm(this.store, 'finalBlock.1', 3 * d);
    this.head = new LinearHead(this.store, d, ctx.numClasses);
  }

  private finalBlock(h: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.relu(this.expandBn.apply(this.expand.apply(h), training));
  }

  /** [B, 3d]: the three branches' features, H first (training: block then pool; eval: pool then block). */
  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    const h = this.trunk.apply(x, training);
    if (training) return tf.mean(this.finalBlock(h, true), [1, 2]) as tf.Tensor2D;
    const pooled = tf.mean(h, [1, 2], true) as tf.Tensor4D;
    return tf.reshape(this.finalBlock(pooled, false), [h.shape[0], 3 * this.branchDim]) as tf.Tensor2D;
  }

  /** Branch logits z_H, z_M, z_T through the shared classifier (τ-normalised, no bias, at eval); logits = their sum. */
  forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput {
    const parts = tf.split(features, 3, 1) as tf.Tensor2D[];
    const weight = training ? null : tauNormalizedWeight(this.head.weight as tf.Tensor2D, this.gamma);
    const experts = parts.map((f) => (weight ? (tf.matMul(f, weight) as tf.Tensor2D) : this.head.apply(f)));
    return { features, experts, logits: tf.addN(experts) as tf.Tensor2D };
  }
}

export const resltMethod: Method = {
  name: 'reslt',
  family: 'MI',
  tags: ['Ensemble'],
  table: { rows: [{ paper: 'ResLT' }] },
  summary: 'Residual branches for all / rarest 82.5% / rarest 22% classes over one shared classifier; (1−β)·CE(sum) + β·branch CE, τ-norm γ = 0.7 at test.',
  citation: {
    paper: 'Cui et al., "ResLT: Residual Learning for Long-tailed Recognition", TPAMI 2022',
    code: 'jiequancui/ResLT ImageNetLT/networks/reslt_imagenet.py, ImageNetLT/ImageNetTrain_reslt.py',
  },
  params: resltParams,
  create(setup) {
    const p = parseParams('reslt', resltParams, setup);
    const branches = resltBranches(setup.classCounts, p.middleFraction, p.tailFraction);
    return {
      buildModel: (ctx) => new ResltModel(ctx, p.gamma),
      loss: (output, labels) => {
        if (!output.experts || output.experts.length !== 3) throw new Error('reslt: the model output has no three branch logits');
        return resltLoss(output.experts, labels, branches.masks, p.beta);
      },
      resolvedParams: {
        middleClasses: branches.classes[1],
        tailClasses: branches.classes[2],
      },
    };
  },
};
