/**
 * PaCo (Cui et al., "Parametric Contrastive Learning", ICCV 2021); official code
 * dvlab-research/Parametric-Contrastive-Learning `PaCo/LT/moco/builder.py` (MoCo with a linear
 * classifier on the pooled query features) and `PaCo/LT/losses.py` (`PaCoLoss`).
 *
 * Model: the backbone with a plain linear classifier `fc` on its pooled features — the parametric
 * class centres, with bias, not normalised — plus MoCo's projection MLP (d → d → BN → ReLU → 128,
 * L2-normalised), a momentum key encoder (m = 0.999) and a label queue of K keys
 * (src/models/momentum-contrast.ts). Two views per image: the query view is the source's basic
 * augmentation, the key view MoCo v2's (the survey's run: basic query, MoCo v2 key, no RandAugment).
 *
 * Loss, per query q_i: logits over (a) the C centres z + log π (not divided by T) and (b) the
 * contrast set [q; k; queue]/T without q_i itself; positives: the true centre with weight β = 1
 * and every same-label sample with α; the denominator every centre and every sample (γ = 1);
 * −Σ pos·log p / Σ pos, the row max subtracted first; mean over the batch.
 * Inference: the linear logits of the query encoder (no prior correction; the +log π during
 * training makes them balanced, as Balanced Softmax).
 *
 * Queue size K must be a multiple of `train.batchSize` (the official assert); 8192 at ImageNet
 * scale, the CIFAR recipe uses the official 1024 and the Fashion mini-study 1024 (≈ 7% of the
 * 15k images, the ImageNet-LT ratio 8192 / 116k). Deviations: one device (no shuffle-BN, no
 * all-gather), a last partial batch is enqueued too, the unused momentum copy of the classifier
 * is not kept.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { logPrior, stopGradient } from '../losses/common.js';
import { LinearHead } from '../models/classifiers.js';
import { KeyQueue, MomentumEncoder } from '../models/momentum-contrast.js';
import { ParamStore } from '../models/params.js';
import { StoreModel } from '../models/model.js';
import { Rng } from '../rng.js';
import type { Method, ModelBuildContext, ModelOutput, StepContext } from './types.js';
import { parseParams } from './setup.js';

export const pacoParams = z
  .object({
    alpha: z.number().nonnegative().default(0.05).describe('weight of same-label samples among the positives (α)'),
    beta: z.number().nonnegative().default(1).describe('weight of the true class centre among the positives (β)'),
    gamma: z.number().nonnegative().default(1).describe('weight of the samples in the denominator (γ)'),
    temperature: z.number().positive().default(0.07).describe('temperature T of the contrast set'),
    queueSize: z.number().int().positive().default(8192).describe('queue size K (a multiple of train.batchSize)'),
    momentum: z.number().min(0).max(1).default(0.999).describe('momentum m of the key encoder'),
    dim: z.number().int().positive().default(128).describe('output dimension of the projection MLP'),
  })
  .strict();
export type PacoParams = z.output<typeof pacoParams>;

/** Backbone + linear classifier (`fc`) + MoCo projection, key encoder and label queue (`paco.*`). */
export class PacoModel extends StoreModel {
  readonly store: ParamStore;
  readonly encoder: MomentumEncoder;
  readonly head: LinearHead;
  readonly queue: KeyQueue;

  constructor(ctx: ModelBuildContext, queueSize: number, dim: number) {
    super();
    this.store = new ParamStore(new Rng(ctx.seed).fork('init'));
    let head!: LinearHead;
    this.encoder = new MomentumEncoder(this.store, { backbone: ctx.backbone, inChannels: ctx.inChannels, dim, scope: 'paco' }, (d) => (head = new LinearHead(this.store, d, ctx.numClasses)));
    this.head = head;
    this.queue = new KeyQueue(this.store, 'paco', queueSize, dim, ctx.numClasses);
  }

  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.encoder.backbone.apply(x, training);
  }

  forwardHead(features: tf.Tensor2D): ModelOutput {
    return { features, logits: this.head.apply(features) };
  }

  /** The query projection feeds only the contrastive loss: the test-time model is backbone + `fc`. */
  override trainingOnly(name: string): boolean {
    return name.startsWith('paco.proj.');
  }
}

export interface PacoLossInput {
  /** Classifier logits z [B, C] of the query view. */
  logits: tf.Tensor2D;
  /** Normalised query projections [B, D] and keys [B, D]. */
  q: tf.Tensor2D;
  k: tf.Tensor2D;
  /** The queue [K, D] and its labels [K] (float or int). */
  queue: tf.Tensor2D;
  queueLabels: tf.Tensor1D;
  labels: tf.Tensor1D;
  /** log π [C]. */
  logPrior: tf.Tensor1D;
}

/** PaCoLoss of losses.py (supt = 1, base temperature = T). */
export function pacoLoss(input: PacoLossInput, p: Pick<PacoParams, 'alpha' | 'beta' | 'gamma' | 'temperature'>): tf.Scalar {
  return tf.tidy(() => {
    const b = input.q.shape[0];
    const c = input.logits.shape[1];
    const feats = tf.concat([input.q, input.k, input.queue], 0) as tf.Tensor2D; // [N, D], N = 2B + K
    const n = feats.shape[0];
    const y = tf.cast(input.labels, 'int32');
    const targets = tf.concat([y, y, tf.cast(input.queueLabels, 'int32')]);
    const sim = tf.div(tf.matMul(input.q, feats, false, true), p.temperature); // [B, N]
    const scores = tf.concat([tf.add(input.logits, input.logPrior), sim], 1); // [B, C + N]
    const logits = tf.sub(scores, stopGradient(tf.max(scores, 1, true)));
    const notSelf = tf.sub(1, tf.oneHot(tf.range(0, b, 1, 'int32'), n)); // [B, N]: q_i is not its own contrast
    const same = tf.cast(tf.equal(tf.expandDims(y, 1), tf.expandDims(targets, 0)), 'float32');
    const pos = tf.concat([tf.mul(tf.oneHot(y, c), p.beta), tf.mul(tf.mul(same, notSelf), p.alpha)], 1);
    const denomMask = tf.concat([tf.ones([b, c]), tf.mul(notSelf, p.gamma)], 1);
    const logProb = tf.sub(logits, tf.log(tf.add(tf.sum(tf.mul(tf.exp(logits), denomMask), 1, true), 1e-12)));
    const meanLogProbPos = tf.div(tf.sum(tf.mul(pos, logProb), 1), tf.sum(pos, 1));
    return tf.neg(tf.mean(meanLogProbPos)) as tf.Scalar;
  });
}

export const pacoMethod: Method = {
  name: 'paco',
  family: 'MI',
  tags: ['RL'],
  table: { rows: [{ paper: 'PaCo' }] },
  summary: 'PaCo: supervised MoCo (label queue, α-weighted same-label positives) plus parametric class centres with +log π.',
  citation: {
    paper: 'Cui et al., "Parametric Contrastive Learning", ICCV 2021',
    code: 'dvlab-research/Parametric-Contrastive-Learning PaCo/LT/moco/builder.py, PaCo/LT/losses.py, PaCo/LT/paco_lt.py',
  },
  params: pacoParams,
  checkRecipe(recipe) {
    const k = (recipe.method.params as PacoParams).queueSize;
    const b = recipe.train.batchSize;
    return k % b === 0 ? null : { key: 'method.params.queueSize', message: `${k} is not a multiple of train.batchSize ${b} (MoCo's queue takes whole batches)` };
  },
  create(setup) {
    const p = parseParams('paco', pacoParams, setup);
    const prior = logPrior(setup.classCounts, 1e-9);
    return {
      buildModel: (ctx) => new PacoModel(ctx, p.queueSize, p.dim),
      // Query: the source's basic augmentation; key: MoCo v2's.
      streams: [{ views: [{ preset: 'basic' }, { preset: 'mocov2' }] }],
      forward(model, batch) {
        const m = model as PacoModel;
        const [xq, xk] = batch.streams[0].views;
        const { features, z: q } = m.encoder.query(xq, true);
        const k = m.encoder.key(xk);
        const out: ModelOutput = { features, logits: m.head.apply(features), aux: { q, k, queue: m.queue.keys, queueLabels: m.queue.labels! } };
        m.queue.enqueue(m.store, k, batch.streams[0].y);
        return out;
      },
      loss(output, labels, _ctx: StepContext) {
        const a = output.aux;
        // On the logits alone (no contrast set: a loss called outside PaCo's forward) only the centre term is left, Balanced Softmax.
        if (!a) return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, setup.numClasses), tf.logSoftmax(tf.add(output.logits, tf.tensor1d(prior)))), 1))) as tf.Scalar);
        return tf.tidy(() =>
          pacoLoss(
            { logits: output.logits, q: a.q as tf.Tensor2D, k: a.k as tf.Tensor2D, queue: a.queue as tf.Tensor2D, queueLabels: a.queueLabels as tf.Tensor1D, labels, logPrior: tf.tensor1d(prior) },
            p,
          ),
        );
      },
      afterStep: ({ model }) => (model as PacoModel).encoder.momentumUpdate(p.momentum),
      resolvedParams: { logPrior: prior },
    };
  },
};
