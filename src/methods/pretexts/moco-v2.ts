/**
 * MoCo v2 (Chen et al., "Improved Baselines with Momentum Contrastive Learning", 2020), the pretext
 * SSP pre-trains ImageNet-size images with (YyzHarry/imbalanced-semi-self `pretrain_moco.py`,
 * facebookresearch/moco `moco/builder.py`): two MoCo v2 views of each image (`aug-plus`), a query
 * encoder (backbone + MLP head d → d → BN → ReLU → dim, L2-normalised), a momentum key encoder
 * (m = 0.999), a queue of K negatives, InfoNCE with T = 0.2. The class labels are discarded.
 * The pieces are PaCo's (src/models/momentum-contrast.ts); everything but the backbone lives under
 * `pretext.`, so the next stage starts from the query backbone alone.
 *
 * Deviations: one device (no shuffle-BN); the pre-training uses the recipe's optimiser and schedule
 * (the official MoCo run: lr 0.015, batch 128, wd 1e-4, cosine); K must be a multiple of the batch size.
 */
import * as tf from '@tensorflow/tfjs';
import { infoNceLoss, KeyQueue, MomentumEncoder } from '../../models/momentum-contrast.js';
import { StoreModel } from '../../models/model.js';
import { ParamStore } from '../../models/params.js';
import { Rng } from '../../rng.js';
import type { MethodInstance, ModelBuildContext, ModelOutput, Pretext } from '../types.js';

export interface MocoV2Options {
  /** Queue size K (65,536 in pretrain_moco.py). */
  queueSize: number;
  momentum: number;
  temperature: number;
  dim: number;
}

export const MOCO_V2_DEFAULTS: MocoV2Options = { queueSize: 65536, momentum: 0.999, temperature: 0.2, dim: 128 };

/** Backbone (plain names) + `pretext.proj`, `pretext.key`, `pretext.queue`. */
export class MocoV2Model extends StoreModel {
  readonly store: ParamStore;
  readonly encoder: MomentumEncoder;
  readonly queue: KeyQueue;
  readonly numClasses: number;

  constructor(ctx: ModelBuildContext, readonly opts: MocoV2Options) {
    super();
    this.numClasses = ctx.numClasses;
    this.store = new ParamStore(new Rng(ctx.seed).fork('init'));
    this.encoder = new MomentumEncoder(this.store, { backbone: ctx.backbone, inChannels: ctx.inChannels, dim: opts.dim, scope: 'pretext' });
    this.queue = new KeyQueue(this.store, 'pretext', opts.queueSize, opts.dim, null);
  }

  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.encoder.backbone.apply(x, training);
  }

  /**
   * The pre-training run's evaluation reads `logits` as class scores, which a contrastive pretext
   * has not: zeros (its accuracies mean nothing, as any pretext's; the run's product is its trunk).
   */
  forwardHead(features: tf.Tensor2D): ModelOutput {
    return { features, logits: tf.zeros([features.shape[0], this.numClasses]) as tf.Tensor2D };
  }
}

export function mocoV2Pretext(options: Partial<MocoV2Options> = {}): Pretext {
  const o = { ...MOCO_V2_DEFAULTS, ...options };
  return {
    name: 'moco-v2',
    classes: o.dim,
    params: { queueSize: o.queueSize, momentum: o.momentum, temperature: o.temperature, dim: o.dim },
    instance(): MethodInstance {
      return {
        buildModel: (ctx) => new MocoV2Model(ctx, o),
        streams: [{ views: [{ preset: 'mocov2' }, { preset: 'mocov2' }] }],
        forward(model, batch) {
          const m = model as MocoV2Model;
          const [xq, xk] = batch.streams[0].views;
          const { features, z: q } = m.encoder.query(xq, true);
          const k = m.encoder.key(xk);
          const out: ModelOutput = { features, logits: tf.zeros([xq.shape[0], m.numClasses]) as tf.Tensor2D, aux: { q, k, queue: m.queue.keys } };
          m.queue.enqueue(m.store, k);
          return out;
        },
        loss: (out) => infoNceLoss(out.aux!.q as tf.Tensor2D, out.aux!.k as tf.Tensor2D, out.aux!.queue as tf.Tensor2D, o.temperature),
        afterStep: ({ model }) => (model as MocoV2Model).encoder.momentumUpdate(o.momentum),
      };
    },
  };
}
