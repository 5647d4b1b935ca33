/**
 * RIDE with its expert-assignment router (RIDE-EA; Wang et al., "Long-tailed Recognition by Routing
 * Diverse Distribution-Aware Experts", ICLR 2021, §3.3), following frank-xwang/RIDE-LongTailRecognition
 * (`model/fb_resnets/EAResNeXt.py`, `model/ldam_drw_resnets/ea_resnet_cifar.py`,
 * `configs/config_imagenet_lt_resnext50_ride_ea.json`). The survey ran RIDE without it (`ride`).
 *
 * Two stages, each a run of its own:
 *  1. RIDE exactly as `ride` (src/methods/ride.ts) with the same params.
 *  2. From stage 1's weights, everything frozen (batch norm in eval mode) except the router, trained
 *     for `routerEpochs` (official 5) with the class-balanced sampler on a cosine schedule without
 *     warm-up, at `routerLrFactor` × the recipe's lr (official 0.01 against RIDE's 0.1).
 *
 * Router: for each expert i < K − 1 a predictor of "expert i + 1 is worth calling":
 *   r_i = fc([top-k of z̄_i ; ReLU(W_i · f_i / ‖f_i‖ + b_i)]),
 * with f_i expert i's pooled feature, W_i: d → 16 per expert, fc: k + 16 → 1 shared by the
 * experts (`share_expert_help_pred_fc`), z̄_i = mean of the logits of experts 0..i, k =
 * `topChoices` (ImageNet-LT 50, CIFAR-100 30). Trained with BCE with logits, positive weight
 * `posWeight` (100), averaged over the K − 1 routers; target_i = "experts 0..i together are wrong
 * and some expert after i is right", each "together" judged by the argmax of the sum of logits.
 * At test, expert 0 always runs; expert i joins while σ(r_{i−1}) > 0.5 for every earlier router,
 * and the prediction is the mean of the experts that ran.
 *
 * Deviations: all experts are computed for every image and the cascade is applied as a mask (the
 * same predictions; the compute saving is not realised, and `cost.macs.test` counts all K
 * experts; how many the router calls per image is not recorded yet); stage 2 uses the recipe's
 * batch size (official 512); `topChoices` above the class count is cut to it (recorded in
 * `resolvedParams`; torch.topk would fail); the frozen experts stay out of the optimiser's
 * updates as MiSLAS's frozen backbone does.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { l2Normalize } from '../models/classifiers.js';
import { ExpertEnsemble, type ExpertEnsembleOptions } from '../models/expert-ensemble.js';
import type { ParamStore } from '../models/params.js';
import type { Method, MethodInstance, ModelBuildContext, ModelOutput } from './types.js';
import { parseParams } from './setup.js';
import { rideMethod, rideParams } from './ride.js';

const ROUTER_KEYS = { topChoices: true, posWeight: true, routerEpochs: true, routerLrFactor: true, routerHidden: true } as const;

export const rideEaParams = rideParams.extend({
  topChoices: z.number().int().min(1).default(50).describe("k: the top-k ensemble logits the router reads (ImageNet-LT 50, CIFAR-100 30); at most the class count"),
  posWeight: z.number().positive().default(100).describe('positive-class weight of the router BCE'),
  routerEpochs: z.number().int().min(1).default(5).describe('epochs of the router stage'),
  routerLrFactor: z.number().positive().default(0.1).describe("the router stage's lr as a fraction of the recipe's (official 0.01 / 0.1)"),
  routerHidden: z.number().int().min(1).default(16).describe("width of each expert's hidden router layer"),
});
export type RideEaParams = z.input<typeof rideEaParams>;

/** One expert's router input layer and the shared output layer. */
class ExpertRouter {
  readonly hidden: Array<{ weight: tf.Variable; bias: tf.Variable }> = [];
  readonly outWeight: tf.Variable;
  readonly outBias: tf.Variable;

  constructor(store: ParamStore, featureDims: number[], hidden: number, readonly topChoices: number) {
    featureDims.forEach((d, i) => {
      this.hidden.push({
        weight: store.addTrainable(`hidden${i}.weight`, [d, hidden], store.kaimingNormal(d * hidden, d)),
        bias: store.addTrainable(`hidden${i}.bias`, [hidden], store.uniform(hidden, 1 / Math.sqrt(d))),
      });
    });
    const inDim = topChoices + hidden;
    this.outWeight = store.addTrainable('out.weight', [inDim, 1], store.kaimingNormal(inDim, inDim));
    this.outBias = store.addTrainable('out.bias', [1], store.uniform(1, 1 / Math.sqrt(inDim)));
  }

  /** r_i [B]: router i on expert i's pooled feature and the running mean of the logits of experts 0..i. */
  apply(i: number, feature: tf.Tensor2D, meanLogits: tf.Tensor2D): tf.Tensor1D {
    const h = this.hidden[i];
    const f = tf.relu(tf.add(tf.matMul(l2Normalize(feature, 1) as tf.Tensor2D, h.weight as tf.Tensor2D), h.bias)) as tf.Tensor2D;
    const top = tf.topk(meanLogits, this.topChoices).values as tf.Tensor2D;
    return tf.reshape(tf.add(tf.matMul(tf.concat([top, f], 1), this.outWeight as tf.Tensor2D), this.outBias), [-1]) as tf.Tensor1D;
  }
}

/** RIDE's expert ensemble plus the router; at test the prediction is the routed mean. */
export class RideEaModel extends ExpertEnsemble {
  readonly router: ExpertRouter;

  constructor(ctx: ModelBuildContext, options: ExpertEnsembleOptions, hidden: number, topChoices: number) {
    super(ctx, options);
    const dims = this.expertFeatureDims().slice(0, -1);
    this.router = new ExpertRouter(this.store.scoped('router'), dims, hidden, Math.min(topChoices, ctx.numClasses));
  }

  /** Feature widths of the experts, in order (the pooled features are their concatenation). */
  expertFeatureDims(): number[] {
    return this.branches.map((b) => b.featureDim);
  }

  /** Expert logits, their mean, and every router's logit [B, K − 1] (routers read the running means). */
  routed(features: tf.Tensor2D, training: boolean): { experts: tf.Tensor2D[]; router: tf.Tensor2D; parts: tf.Tensor2D[] } {
    const out = super.forwardHead(features, training);
    const experts = out.experts!;
    const parts = tf.split(features, this.expertFeatureDims(), 1) as tf.Tensor2D[];
    const r: tf.Tensor1D[] = [];
    let sum = experts[0];
    for (let i = 0; i < experts.length - 1; i++) {
      r.push(this.router.apply(i, parts[i], tf.div(sum, i + 1) as tf.Tensor2D));
      sum = tf.add(sum, experts[i + 1]) as tf.Tensor2D;
    }
    return { experts, parts, router: tf.stack(r, 1) as tf.Tensor2D };
  }

  /** At test: the mean over the experts the cascade calls; `aux.expertsUsed` [B] says how many. */
  override forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput {
    const { experts, router } = this.routed(features, training);
    const { logits, count } = routedMean(experts, router);
    return { features, experts, logits, aux: { router, expertsUsed: count } };
  }
}

/**
 * The cascade: expert 0 always; expert i joins when every router before it said yes (σ(r) > 0.5,
 * i.e. r > 0). Returns Σ_{called} z_k / #called and #called per row.
 */
export function routedMean(experts: tf.Tensor2D[], router: tf.Tensor2D): { logits: tf.Tensor2D; count: tf.Tensor1D } {
  return tf.tidy(() => {
    const yes = tf.cast(tf.greater(router, 0), 'float32') as tf.Tensor2D;
    let active = tf.onesLike(tf.gather(yes, [0], 1)) as tf.Tensor2D; // [B, 1]
    let sum = experts[0];
    let count = active;
    for (let i = 1; i < experts.length; i++) {
      active = tf.mul(active, tf.slice(yes, [0, i - 1], [-1, 1])) as tf.Tensor2D;
      sum = tf.add(sum, tf.mul(experts[i], active)) as tf.Tensor2D;
      count = tf.add(count, active) as tf.Tensor2D;
    }
    return { logits: tf.div(sum, count) as tf.Tensor2D, count: tf.reshape(count, [-1]) as tf.Tensor1D };
  });
}

/**
 * Router targets [B, K − 1]: target_i = 1 when the argmax of z_0 + … + z_i is wrong and that of
 * z_0 + … + z_j is right for some j > i.
 */
export function routerTargets(experts: tf.Tensor2D[], labels: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const y = tf.cast(labels, 'int32');
    const correct: tf.Tensor1D[] = [];
    let sum = experts[0];
    correct.push(tf.cast(tf.equal(tf.argMax(sum, 1), y), 'float32') as tf.Tensor1D);
    for (let i = 1; i < experts.length; i++) {
      sum = tf.add(sum, experts[i]) as tf.Tensor2D;
      correct.push(tf.cast(tf.equal(tf.argMax(sum, 1), y), 'float32') as tf.Tensor1D);
    }
    const targets = [];
    for (let i = 0; i < experts.length - 1; i++) {
      const later = tf.max(tf.stack(correct.slice(i + 1), 1), 1);
      targets.push(tf.mul(tf.sub(1, correct[i]), later));
    }
    return tf.stack(targets, 1) as tf.Tensor2D;
  });
}

/** Mean over rows and routers of BCE-with-logits with positive weight w: −[w·t·log σ(r) + (1 − t)·log(1 − σ(r))]. */
export function routerLoss(router: tf.Tensor2D, targets: tf.Tensor2D, posWeight: number): tf.Scalar {
  return tf.tidy(() => {
    // log σ(r) = −softplus(−r), log(1 − σ(r)) = −softplus(r)
    const pos = tf.mul(tf.mul(targets, posWeight), tf.softplus(tf.neg(router)));
    const neg = tf.mul(tf.sub(1, targets), tf.softplus(router));
    return tf.mean(tf.add(pos, neg)) as tf.Scalar;
  });
}

function rideOnly(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => !(k in ROUTER_KEYS)));
}

export const rideEaMethod: Method = {
  name: 'ride-ea',
  family: 'MI',
  tags: ['Ensemble'],
  summary: 'RIDE, then its expert-assignment router trained on the frozen experts (5 epochs, class-balanced): each image calls only the experts the router asks for.',
  citation: {
    paper: 'Wang et al., "Long-tailed Recognition by Routing Diverse Distribution-Aware Experts", ICLR 2021',
    code: 'frank-xwang/RIDE-LongTailRecognition model/fb_resnets/EAResNeXt.py, model/ldam_drw_resnets/ea_resnet_cifar.py, configs/*_ride_ea.json',
  },
  params: rideEaParams,
  // The router stage samples class-balanced: that is the method, not a row of its own.
  table: { samplerSplits: false },
  stages: [{ kind: 'train' }, { kind: 'train', from: 0, epochsParam: 'routerEpochs', schedule: { name: 'cosine', warmupEpochs: 0, minLr: 0 } }],
  create(setup): MethodInstance {
    const p = parseParams('ride-ea', rideEaParams, setup);
    if (setup.stage !== 1) return rideMethod.create({ ...setup, params: rideOnly(p) });
    const options: ExpertEnsembleOptions = { experts: p.experts, widthFactor: p.widthFactor, splitStage: p.splitStage, scale: p.scale };
    const isRouter = (name: string) => name.startsWith('router.');
    return {
      sampler: 'class-balanced',
      buildModel(ctx) {
        if (p.experts < 2) throw new Error('ride-ea: the router needs at least 2 experts');
        const model = new RideEaModel(ctx, options, p.routerHidden, p.topChoices);
        for (const name of model.store.trainable.keys()) if (!isRouter(name)) model.store.frozen.add(name);
        return model;
      },
      // The experts in eval mode (frozen batch norm, as the official _hook_before_iter), the router trained.
      forward: (model, batch) => {
        const m = model as RideEaModel;
        const features = m.forwardFeatures(batch.x, false);
        const { experts, router } = m.routed(features, false);
        return { features, experts, logits: tf.div(tf.addN(experts), experts.length) as tf.Tensor2D, aux: { router } };
      },
      loss: (output, labels) =>
        tf.tidy(() => {
          if (!output.experts || !output.aux?.router) throw new Error('ride-ea: the router stage needs the expert and router logits');
          return routerLoss(output.aux.router as tf.Tensor2D, routerTargets(output.experts, labels), p.posWeight);
        }),
      paramGroups: () => [{ names: isRouter, lrFactor: p.routerLrFactor }],
      resolvedParams: { stage: 2, routerEpochs: p.routerEpochs, topChoices: Math.min(p.topChoices, setup.numClasses), posWeight: p.posWeight, routerLrFactor: p.routerLrFactor },
    };
  },
};
