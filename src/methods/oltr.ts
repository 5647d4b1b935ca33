/**
 * OLTR (Liu et al., "Large-Scale Long-Tailed Recognition in an Open World", CVPR 2019), closed-set,
 * following zhmiao/OpenLongTailRecognition-OLTR (config/ImageNet_LT/stage_1.py, stage_2_meta_embedding.py,
 * layers/ModulatedAttLayer.py, models/MetaEmbeddingClassifier.py, models/CosNormClassifier.py,
 * loss/DiscCentroidsLoss.py, run_networks.py). Two stages, each a run of its own:
 *
 *  1. plain softmax cross-entropy, instance sampling, the recipe's backbone + a linear head;
 *  2. starting from stage 1's trunk (`initFrom`): a modulated attention block on the last
 *     feature map, global pooling, `fc_add` + ReLU, and the meta-embedding classifier with a
 *     CosNorm head; loss CE + 0.01 · DiscCentroidsLoss; class-aware sampler (4 per class) with
 *     epochs cut to the long-tailed train set's length (⌈N/B⌉ steps, as run_networks.py);
 *     feature lr × 0.1 (0.01 at the recipe's lr 0.1), classifier lr × 1 (0.1), centroids lr × 0.1.
 *
 * Deviations and assumptions:
 *  - `fc_add` maps to D = min(512, backbone feature width) (official: 512 on a 512-d ResNet-10;
 *    ResNet-8's 64-d features stay 64-d); `embedDim` overrides it.
 *  - The spatial-attention FC reads the last map at the training images' size (official
 *    hard-codes 7×7: ImageNet ResNets at 224 px; ResNet-8 on 28-px Fashion-MNIST also gives 7×7,
 *    CIFAR 8×8); `attentionSize` fixes it instead.
 *    The FC reads the map flattened in NHWC order (official NCHW): a permutation of its weights.
 *  - Centroids get autograd gradients and the plain SGD of their group (official: a custom
 *    backward and their own optimiser, same lr and weight decay), and are stored under `oltr.`.
 *  - The repelling term divides the sum of squared distances to non-target centroids by B·C, as the
 *    official code does (not B·(C − 1)).
 *  - Both stages use the recipe's epoch budget (official 30 + 60 epochs).
 *  - Closed-set prediction only (argmax of the CosNorm logits); the open-set threshold is not used.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { stopGradient } from '../losses/common.js';
import { getBackbone } from '../models/backbones/registry.js';
import type { BackboneTrunk } from '../models/backbones/types.js';
import { Conv2d } from '../models/layers.js';
import { StoreModel } from '../models/model.js';
import { ParamStore } from '../models/params.js';
import { Rng } from '../rng.js';
import type { Method, MethodInstance, ModelBuildContext, ModelOutput } from './types.js';
import { parseParams } from './setup.js';

export const oltrParams = z
  .object({
    embedDim: z.number().int().positive().nullable().default(null).describe('fc_add width (null: min(512, backbone features))'),
    attentionSize: z.number().int().positive().nullable().default(null).describe('side of the last feature map the spatial attention reads (null: the map of the training images)'),
    reduction: z.number().int().positive().default(2).describe('non-local channel reduction'),
    reachScale: z.number().positive().default(10),
    cosScale: z.number().positive().default(16),
    centroidWeight: z.number().nonnegative().default(0.01).describe('weight of DiscCentroidsLoss'),
    repelWeight: z.number().nonnegative().default(0.01).describe('weight of its repelling term'),
    repelMargin: z.number().nonnegative().default(10),
    featureLrFactor: z.number().positive().default(0.1).describe('stage-2 trunk / attention / fc_add lr factor'),
    centroidLrFactor: z.number().positive().default(0.1).describe('stage-2 centroid lr factor'),
  })
  .strict();
export type OltrParams = z.output<typeof oltrParams>;

/** A 1×1 / k×k convolution with a bias (torch.nn.Conv2d's default). */
class BiasedConv {
  readonly conv: Conv2d;
  readonly bias: tf.Variable;
  constructor(store: ParamStore, name: string, inC: number, outC: number, kernel: number) {
    this.conv = new Conv2d(store, name, inC, outC, kernel);
    this.bias = store.addTrainable(`${name}.bias`, [outC], new Float32Array(outC));
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.add(this.conv.apply(x), this.bias);
  }
}

/** torch.nn.Linear: weight [in, out] and bias, U(−1/√in, 1/√in). */
export class Dense {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(store: ParamStore, name: string, inDim: number, outDim: number, init?: (n: number) => Float32Array) {
    const bound = 1 / Math.sqrt(inDim);
    this.weight = store.addTrainable(`${name}.weight`, [inDim, outDim], init ? init(inDim * outDim) : store.uniform(inDim * outDim, bound));
    this.bias = store.addTrainable(`${name}.bias`, [outDim], init ? new Float32Array(outDim) : store.uniform(outDim, bound));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.weight as tf.Tensor2D), this.bias) as tf.Tensor2D;
  }
}

/**
 * ModulatedAttLayer: non-local embedded-Gaussian attention (θ, φ, g 1×1 convs to C/reduction,
 * softmax over positions, zero-initialised output conv) times a softmax over the positions from
 * an FC on the flattened map, plus the input.
 */
class ModulatedAttention {
  private readonly theta: BiasedConv;
  private readonly phi: BiasedConv;
  private readonly g: BiasedConv;
  private readonly mask: tf.Variable;
  private readonly spatial: Dense;
  private readonly inter: number;
  constructor(store: ParamStore, private readonly channels: number, private readonly side: number, reduction: number) {
    this.inter = Math.max(1, Math.floor(channels / reduction));
    this.g = new BiasedConv(store, 'g', channels, this.inter, 1);
    this.theta = new BiasedConv(store, 'theta', channels, this.inter, 1);
    this.phi = new BiasedConv(store, 'phi', channels, this.inter, 1);
    // conv_mask starts at zero: stage 2 begins as stage 1's features.
    this.mask = store.addTrainable('convMask.weight', [1, 1, this.inter, channels], new Float32Array(this.inter * channels));
    this.spatial = new Dense(store, 'fcSpatial', side * side * channels, side * side);
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [b, h, w, c] = x.shape;
    if (h !== this.side || w !== this.side) throw new Error(`oltr: the last feature map is ${h}×${w}, but method.params.attentionSize is ${this.side}`);
    const p = h * w;
    const theta = tf.reshape(this.theta.apply(x), [b, p, this.inter]) as tf.Tensor3D;
    const phi = tf.reshape(this.phi.apply(x), [b, p, this.inter]) as tf.Tensor3D;
    const g = tf.reshape(this.g.apply(x), [b, p, this.inter]) as tf.Tensor3D;
    const affinity = tf.softmax(tf.matMul(theta, phi, false, true)); // [B, P, P]
    const y = tf.reshape(tf.matMul(affinity, g), [b, h, w, this.inter]) as tf.Tensor4D;
    const mask = tf.conv2d(y, this.mask as tf.Tensor4D, 1, 'valid');
    const att = tf.reshape(tf.softmax(this.spatial.apply(tf.reshape(x, [b, p * c]) as tf.Tensor2D)), [b, h, w, 1]);
    return tf.add(tf.mul(att, mask), x);
  }
}

/** reach = scale / min_c ‖f − c‖, one per row: [B, 1]. */
export function reachability(f: tf.Tensor2D, centroids: tf.Tensor2D, scale: number): tf.Tensor2D {
  return tf.tidy(() => {
    const d2 = squaredDistances(f, centroids);
    const nearest = tf.sqrt(tf.maximum(tf.min(d2, 1, true), 1e-24));
    return tf.div(scale, nearest) as tf.Tensor2D;
  });
}

/** ‖f_i − c_k‖² for every row and centroid: [B, C]. */
export function squaredDistances(f: tf.Tensor2D, c: tf.Tensor2D): tf.Tensor2D {
  const ff = tf.sum(tf.square(f), 1, true);
  const cc = tf.reshape(tf.sum(tf.square(c), 1), [1, -1]);
  return tf.relu(tf.sub(tf.add(ff, cc), tf.mul(2, tf.matMul(f, c, false, true)))) as tf.Tensor2D;
}

/** CosNorm_Classifier: scale · (‖x‖/(1+‖x‖) · x/‖x‖) · (w_k/‖w_k‖); weight [C, D]. */
export function cosNormLogits(x: tf.Tensor2D, weight: tf.Tensor2D, scale: number): tf.Tensor2D {
  return tf.tidy(() => {
    const n = tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12);
    const squashed = tf.mul(tf.div(n, tf.add(1, n)), tf.div(x, n));
    const w = tf.div(weight, tf.maximum(tf.norm(weight, 'euclidean', 1, true), 1e-12));
    return tf.mul(scale, tf.matMul(squashed, w, false, true)) as tf.Tensor2D;
  });
}

/**
 * DiscCentroidsLoss: ½ Σ_i ‖f_i − c_{y_i}‖² / B + repelWeight · max(0, margin − Σ_{i, k≠y_i} ‖f_i − c_k‖² / (B·C)).
 */
export function discCentroidsLoss(f: tf.Tensor2D, labels: tf.Tensor1D, centroids: tf.Tensor2D, repelWeight = 0.01, margin = 10): tf.Scalar {
  return tf.tidy(() => {
    const [b] = f.shape;
    const c = centroids.shape[0];
    const attract = tf.div(tf.sum(tf.square(tf.sub(f, tf.gather(centroids, labels)))), 2 * b);
    const d2 = squaredDistances(f, centroids);
    const notTarget = tf.sub(1, tf.oneHot(labels, c).toFloat());
    const repel = tf.relu(tf.sub(margin, tf.div(tf.sum(tf.mul(d2, notTarget)), b * c)));
    return tf.add(attract, tf.mul(repelWeight, repel)) as tf.Scalar;
  });
}

/** Side of the trunk's last map for the training images (a shape probe in eval mode: no state changes). */
function mapSide(trunk: BackboneTrunk, ctx: ModelBuildContext): number {
  if (!ctx.imageShape) throw new Error('oltr: the image size is unknown here; set method.params.attentionSize (the side of the last feature map)');
  const [h, w, c] = ctx.imageShape;
  const [, mh, mw] = tf.tidy(() => trunk.apply(tf.zeros([1, h, w, c]) as tf.Tensor4D, false).shape);
  if (mh !== mw) throw new Error(`oltr: the last feature map is ${mh}×${mw}; the spatial attention needs a square map`);
  return mh;
}

/** Stage 2's model: trunk (every stage), modulated attention, pooling, fc_add, meta-embedding + CosNorm. */
export class OltrModel extends StoreModel {
  readonly store: ParamStore;
  readonly trunk: BackboneTrunk;
  private readonly attention: ModulatedAttention;
  private readonly fcAdd: Dense;
  private readonly hallucinator: Dense;
  private readonly selector: Dense;
  readonly cosWeight: tf.Variable;
  readonly centroids: tf.Variable;
  readonly embedDim: number;

  constructor(ctx: ModelBuildContext, private readonly p: OltrParams) {
    super();
    const spec = getBackbone(ctx.backbone);
    if (!spec.split) throw new Error(`oltr: backbone '${ctx.backbone}' does not expose its last feature map (no split support)`);
    this.store = new ParamStore(new Rng(ctx.seed).fork('init'));
    // Every stage, under the plain backbone's names: stage 1's weights load by name.
    this.trunk = spec.split.createTrunk(this.store, ctx.inChannels, spec.split.stages + 1);
    const ch = this.trunk.outChannels;
    const s = this.store.scoped('oltr');
    this.attention = new ModulatedAttention(s.scoped('att'), ch, p.attentionSize ?? mapSide(this.trunk, ctx), p.reduction);
    this.embedDim = p.embedDim ?? Math.min(512, ch);
    this.fcAdd = new Dense(s, 'fcAdd', ch, this.embedDim);
    const meta = s.scoped('meta');
    this.hallucinator = new Dense(meta, 'hallucinator', this.embedDim, ctx.numClasses);
    this.selector = new Dense(meta, 'selector', this.embedDim, this.embedDim);
    this.cosWeight = meta.addTrainable('cosnorm.weight', [ctx.numClasses, this.embedDim], meta.uniform(ctx.numClasses * this.embedDim, 1 / Math.sqrt(this.embedDim)));
    // Filled with stage-1 class means by `prepare` before the first epoch.
    this.centroids = s.addTrainable('centroids', [ctx.numClasses, this.embedDim], new Float32Array(ctx.numClasses * this.embedDim));
  }

  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    const map = this.attention.apply(this.trunk.apply(x, training));
    return tf.relu(this.fcAdd.apply(tf.mean(map, [1, 2]) as tf.Tensor2D));
  }

  forwardHead(f: tf.Tensor2D): ModelOutput {
    // The classifier reads the centroids detached (official: `centroids.data`).
    const memory = stopGradient(this.centroids) as tf.Tensor2D;
    const reach = reachability(f, memory, this.p.reachScale);
    const hallucinated = tf.matMul(tf.softmax(this.hallucinator.apply(f)), memory);
    const select = tf.tanh(this.selector.apply(f));
    const x = tf.mul(reach, tf.add(f, tf.mul(select, hallucinated))) as tf.Tensor2D;
    return { features: f, logits: cosNormLogits(x, this.cosWeight as tf.Tensor2D, this.p.cosScale) };
  }
}

function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
}

export const oltrMethod: Method = {
  name: 'oltr',
  family: 'MI',
  tags: ['RL'],
  // Stage 2's class-aware sampler is the method's own, not a row of its own.
  table: { rows: [{ paper: 'OLTR' }], samplerSplits: false },
  summary: 'Plain CE stage 1, then modulated attention + meta-embedding (centroid memory, CosNorm s = 16), class-aware sampling.',
  citation: {
    paper: 'Liu et al., "Large-Scale Long-Tailed Recognition in an Open World", CVPR 2019',
    code: 'zhmiao/OpenLongTailRecognition-OLTR (config/ImageNet_LT, layers/ModulatedAttLayer.py, models/MetaEmbeddingClassifier.py, loss/DiscCentroidsLoss.py)',
  },
  params: oltrParams,
  stages: [{ kind: 'train' }, { kind: 'train', initFrom: 0 }],
  create(setup): MethodInstance {
    const p = parseParams('oltr', oltrParams, setup);
    // Stage 1 (index 0): plain softmax CE on the default model. Without a stage (evaluation of a finished run), the final stage.
    if (setup.stage === 0) return { sampler: 'instance', loss: (out, labels) => crossEntropy(out.logits, labels) };
    return {
      sampler: 'class-balanced',
      buildModel: (ctx) => new OltrModel(ctx, p),
      loss: (out, labels, ctx) =>
        tf.tidy(() => {
          const model = ctx.model as OltrModel | undefined;
          const ce = crossEntropy(out.logits, labels);
          if (!model) return ce;
          return tf.add(ce, tf.mul(p.centroidWeight, discCentroidsLoss(out.features, labels, model.centroids as tf.Tensor2D, p.repelWeight, p.repelMargin))) as tf.Scalar;
        }),
      paramGroups: () => [
        { names: (n) => n.startsWith('oltr.meta.'), lrFactor: 1 },
        { names: (n) => n === 'oltr.centroids', lrFactor: p.centroidLrFactor },
        { names: () => true, lrFactor: p.featureLrFactor },
      ],
      async prepare({ model, trainFeatures }) {
        const m = model as OltrModel;
        const { features, labels } = await trainFeatures();
        try {
          const means = tf.tidy(() => {
            const y = tf.tensor1d(labels, 'int32');
            const k = m.centroids.shape[0];
            const sums = tf.unsortedSegmentSum(features, y, k);
            const counts = tf.unsortedSegmentSum(tf.ones([labels.length, 1]), y, k);
            return tf.div(sums, tf.maximum(counts, 1));
          });
          m.centroids.assign(means);
          means.dispose();
        } finally {
          features.dispose();
        }
      },
      resolvedParams: { stage: setup.stage ?? 1, sampler: 'class-balanced', lrFactors: { features: p.featureLrFactor, classifier: 1, centroids: p.centroidLrFactor } },
    };
  },
};
