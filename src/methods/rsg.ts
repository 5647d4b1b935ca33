/**
 * RSG, the Rare-class Sample Generator (Wang et al., "RSG: A Simple but Effective Module for
 * Learning Imbalanced Datasets", CVPR 2021), following Jianf-Wang/RSG
 * (Imbalanced_Classification/models/RSG.py, models/resnet.py, models/resnet_cifar.py,
 * imagenet_lt_train.py, cifar_train.py).
 *
 * The module sits on the feature map before the backbone's last stage (ResNeXt-50: after layer3,
 * 1024×14×14; CIFAR ResNet-32: after layer2, 32×16×16; any other split backbone: the stage before
 * the last). On the *detached* maps it keeps, per class, 15 centres (C-vectors, broadcast over
 * the positions) and a soft assignment (a per-class linear map C→15 + bias of the pooled map,
 * softmax):
 *  - L_cesc = Σ_b Σ_k γ_bk ‖F_b − c_{y_b,k}‖² / B, plus, up to the generation epoch, the CE of a
 *    pair module ("same class?") on first-half vs second-half batch pairs;
 *  - from the generation epoch on, for the head classes (the 20% most frequent), the variation
 *    v = head map − its head centre (argmax of γ) goes through a 3×3 conv T; tail map + T(v) is
 *    appended to the batch with the tail label and runs through the last stage and the head;
 *    L_mv = CE(pair(head map, T(v)), "different", pair module frozen)
 *          + [Σ_pixels |‖T(v)‖ − ‖v‖| + Σ |t̂ ⊙ T̂(v) − 1|] / n_tail (t = tail map − its centre).
 * Total: LDAM (cosine head) + 0.1·L_cesc + 0.01·L_mv. At test the module is absent: the model is
 * backbone + head, and `parameterCount` leaves the module's (training-only) parameters out.
 *
 * Schedules: generation starts at 0-based epoch floor(threshold · epochs) (official `epoch >
 * epoch_thresh`, 79 of 100 / 159 of 200: 80 / 160); with `resample: true` (ImageNet-LT) stream 0
 * switches to the class-balanced sampler there (DRS), with `drw: true` (CIFAR) LDAM's DRW weights
 * start at floor(drwStart · epochs).
 *
 * Deviations: head classes are the 20% most frequent (official ImageNet-LT code appends the single
 * most frequent class 200 times; CIFAR takes the first 20% of the class indices, the most frequent
 * there); the per-pixel vectors of the norm / alignment terms are channel vectors (official
 * `.view(-1, C)` of an NCHW map mixes positions); DRS uses lt-bench's class-aware sampler (4 per
 * class) instead of the official weighted random sampler; once frozen, the pair module receives no
 * gradient but momentum and weight decay of its group still apply (none: it is read as a constant).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { drwStartEpoch, ldamLoss, ldamMargins, ldamParams } from '../losses/ldam.js';
import { stopGradient } from '../losses/common.js';
import { getBackbone } from '../models/backbones/registry.js';
import type { BackboneBranch, BackboneTrunk } from '../models/backbones/types.js';
import { createHead, type Head } from '../models/classifiers.js';
import { Conv2d } from '../models/layers.js';
import { StoreModel } from '../models/model.js';
import { ParamStore } from '../models/params.js';
import { Rng } from '../rng.js';
import type { Method, MethodInstance, ModelBuildContext, ModelOutput, StepContext, TrainBatch } from './types.js';
import { parseParams } from './setup.js';

export const rsgParams = z
  .object({
    centres: z.number().int().positive().default(15),
    contrastiveDim: z.number().int().positive().default(256),
    headRatio: z.number().gt(0).lt(1).default(0.2).describe('share of most frequent classes that are head'),
    transferStrength: z.number().positive().default(1),
    threshold: z.number().min(0).max(1).default(0.8).describe('generation (and DRS) from floor(threshold · epochs)'),
    cescWeight: z.number().nonnegative().default(0.1),
    mvWeight: z.number().nonnegative().default(0.01),
    resample: z.boolean().default(true).describe('switch to class-balanced sampling at the generation epoch (DRS)'),
  })
  // LDAM's own keys (not its variant: RSG's head is the cosine one), at RSG's defaults.
  .merge(ldamParams.omit({ variant: true }))
  .extend({ maxMargin: z.number().positive().default(0.3), drw: z.boolean().default(false) })
  .strict();
export type RsgParams = z.output<typeof rsgParams>;

/** The head classes: the round(ratio · C) (at least 1) most frequent, ties by index. */
export function headClasses(classCounts: number[], ratio: number): number[] {
  const k = Math.max(1, Math.floor(classCounts.length * ratio + 1e-9));
  return classCounts
    .map((n, c) => [n, c] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, c]) => c)
    .sort((a, b) => a - b);
}

/** Training-only parameters of the module at C channels, K classes, n centres, d contrastive width. */
export function rsgParameterCount(channels: number, classes: number, centres: number, d: number): number {
  const assign = classes * channels * centres + classes * centres;
  const centresP = classes * centres * channels;
  const transform = 9 * channels * channels + channels;
  const pair = 2 * channels * d + d + 9 * d * d + d + 2 * d + 2;
  return assign + centresP + transform + pair;
}

/** A conv with a bias, kaiming-normal weight and zero bias (the module's init). */
class BiasedConv {
  readonly conv: Conv2d;
  readonly bias: tf.Variable;
  constructor(store: ParamStore, name: string, inC: number, outC: number, kernel: number) {
    this.conv = new Conv2d(store, name, inC, outC, kernel);
    this.bias = store.addTrainable(`${name}.bias`, [outC], new Float32Array(outC));
  }
  apply(x: tf.Tensor4D, frozen = false): tf.Tensor4D {
    if (!frozen) return tf.add(this.conv.apply(x), this.bias);
    const pad = Math.floor(this.conv.kernel / 2);
    return tf.add(tf.conv2d(x, constant(this.conv.weight) as tf.Tensor4D, 1, [[0, 0], [pad, pad], [pad, pad], [0, 0]]), constant(this.bias));
  }
}

/** A variable's current value as a constant (no gradient reaches the variable: requires_grad False). */
function constant(v: tf.Variable): tf.Tensor {
  return tf.tensor(v.dataSync(), v.shape, 'float32');
}

/** Soft assignment γ [B, n] of pooled maps [B, C] with their classes' linear maps and biases. */
export function softAssignment(pooled: tf.Tensor2D, labels: tf.Tensor1D, linear: tf.Tensor3D, bias: tf.Tensor2D): tf.Tensor2D {
  const w = tf.gather(linear, labels) as tf.Tensor3D; // [B, C, n]
  const z = tf.reshape(tf.matMul(tf.expandDims(pooled, 1) as tf.Tensor3D, w), [pooled.shape[0], -1]);
  return tf.softmax(tf.add(z, tf.gather(bias, labels))) as tf.Tensor2D;
}

/** Σ_b Σ_k γ_bk Σ_{h,w} ‖F_bhw − c_bk‖² / B, with c [B, n, C] each row's class centres. */
export function cescDistanceLoss(maps: tf.Tensor4D, gamma: tf.Tensor2D, centres: tf.Tensor3D): tf.Scalar {
  const [b, h, w] = maps.shape;
  const ff = tf.sum(tf.square(maps), [1, 2, 3]); // [B]
  const m = tf.sum(maps, [1, 2]); // [B, C]
  const cross = tf.reshape(tf.matMul(centres, tf.expandDims(m, 2) as tf.Tensor3D), [b, -1]); // [B, n]
  const cc = tf.mul(h * w, tf.sum(tf.square(centres), 2)); // [B, n]
  const dist = tf.add(tf.sub(tf.expandDims(ff, 1), tf.mul(2, cross)), cc);
  return tf.div(tf.sum(tf.mul(gamma, dist)), b) as tf.Scalar;
}

/**
 * L_mv's norm and alignment terms: [Σ_pixels |‖T(v)‖ − ‖v‖| + Σ |t̂ ⊙ T̂(v) − 1|] / n, per-pixel
 * channel vectors, t = tail map − its centre.
 */
export function mvShapeTerms(v: tf.Tensor4D, tv: tf.Tensor4D, t: tf.Tensor4D): tf.Scalar {
  const n = v.shape[0];
  const normDiff = tf.sum(tf.abs(tf.sub(tf.norm(tv, 'euclidean', 3), tf.norm(v, 'euclidean', 3))));
  const unit = (x: tf.Tensor4D) => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 3, true), 1e-12));
  const align = tf.sum(tf.abs(tf.sub(tf.mul(unit(t), unit(tv)), 1)));
  return tf.div(tf.add(normDiff, align), n) as tf.Scalar;
}

/** Softmax cross-entropy, mean over rows. */
function ce(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
}

/** The training-time generator (everything under `rsg.`). */
class RsgModule {
  readonly linear: tf.Variable;
  readonly bias: tf.Variable;
  readonly centres: tf.Variable;
  readonly transform: BiasedConv;
  private readonly pair1: BiasedConv;
  private readonly pair2: BiasedConv;
  private readonly pairFcW: tf.Variable;
  private readonly pairFcB: tf.Variable;
  constructor(store: ParamStore, readonly channels: number, classes: number, readonly n: number, d: number) {
    this.linear = store.addTrainable('assign.weight', [classes, channels, n], Float32Array.from({ length: classes * channels * n }, () => store.rng.normal()));
    this.bias = store.addTrainable('assign.bias', [classes, n], new Float32Array(classes * n).fill(1));
    this.centres = store.addTrainable('centres', [classes, n, channels], new Float32Array(classes * n * channels));
    this.transform = new BiasedConv(store, 'transform', channels, channels, 3);
    this.pair1 = new BiasedConv(store, 'pair.conv1', 2 * channels, d, 1);
    this.pair2 = new BiasedConv(store, 'pair.conv2', d, d, 3);
    this.pairFcW = store.addTrainable('pair.fc.weight', [d, 2], Float32Array.from({ length: 2 * d }, () => store.rng.normal()));
    this.pairFcB = store.addTrainable('pair.fc.bias', [2], new Float32Array(2));
  }

  /** Pair logits ("different", "same") of two map batches; `frozen`: the module as constants. */
  pairLogits(a: tf.Tensor4D, b: tf.Tensor4D, frozen: boolean): tf.Tensor2D {
    const h = tf.relu(this.pair1.apply(tf.concat([a, b], 3), frozen));
    const pooled = tf.mean(this.pair2.apply(h, frozen), [1, 2]) as tf.Tensor2D;
    const w = frozen ? constant(this.pairFcW) : this.pairFcW;
    const bias = frozen ? constant(this.pairFcB) : this.pairFcB;
    return tf.add(tf.matMul(pooled, w as tf.Tensor2D), bias) as tf.Tensor2D;
  }

  gamma(maps: tf.Tensor4D, labels: tf.Tensor1D): tf.Tensor2D {
    return softAssignment(tf.mean(maps, [1, 2]) as tf.Tensor2D, labels, this.linear as tf.Tensor3D, this.bias as tf.Tensor2D);
  }

  /** Each row's centre with the largest assignment, detached, broadcast over positions: [B, 1, 1, C]. */
  topCentre(maps: tf.Tensor4D, labels: tf.Tensor1D): tf.Tensor4D {
    const k = tf.argMax(stopGradient(this.gamma(maps, labels)), 1) as tf.Tensor1D;
    // Indices as host values: outside the tape (a gather's indices take no gradient).
    const idx = tf.tensor1d(tf.add(tf.mul(labels, tf.scalar(this.n, 'int32')), k).dataSync() as Int32Array, 'int32');
    const flat = tf.reshape(stopGradient(this.centres), [-1, this.channels]) as tf.Tensor2D;
    return tf.reshape(tf.gather(flat, idx), [labels.shape[0], 1, 1, this.channels]) as tf.Tensor4D;
  }
}

/** Backbone cut before its last stage + the RSG module (training only) + cosine head. */
export class RsgModel extends StoreModel {
  readonly store: ParamStore;
  readonly trunk: BackboneTrunk;
  readonly branch: BackboneBranch;
  readonly head: Head;
  readonly rsg: RsgModule;

  constructor(ctx: ModelBuildContext, p: RsgParams) {
    super();
    const spec = getBackbone(ctx.backbone);
    if (!spec.split) throw new Error(`rsg: backbone '${ctx.backbone}' cannot be cut before its last stage (no split support)`);
    this.store = new ParamStore(new Rng(ctx.seed).fork('init'));
    // The plain backbone's names and creation order: trunk, last stage (unscoped), then the head.
    this.trunk = spec.split.createTrunk(this.store, ctx.inChannels, spec.split.stages);
    this.branch = spec.split.createBranch(this.store, spec.split.stages, 1);
    this.head = createHead('cosine', this.store, this.branch.featureDim, ctx.numClasses);
    this.rsg = new RsgModule(this.store.scoped('rsg'), this.trunk.outChannels, ctx.numClasses, p.centres, p.contrastiveDim);
  }

  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.branch.apply(this.trunk.apply(x, training), training);
  }

  forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput {
    return { features, logits: this.head.apply(features, training) };
  }

  /** The module is absent at test time: out of `parameterCount` and `cost.params.test`. */
  override trainingOnly(name: string): boolean {
    return name.startsWith('rsg.');
  }
}

/** The training forward pass: trunk, RSG on the detached map, generated tail maps appended, last stage, head. */
export function rsgForward(model: RsgModel, batch: TrainBatch, epoch: number, generationEpoch: number, head: Set<number>, strength: number): ModelOutput {
  const { rsg } = model;
  const y = batch.y;
  const map = model.trunk.apply(batch.x, true);
  const maps = stopGradient(map) as tf.Tensor4D;
  const gamma = rsg.gamma(maps, y);
  const centres = tf.gather(rsg.centres, y) as tf.Tensor3D;
  let cesc: tf.Tensor = cescDistanceLoss(maps, gamma, centres);
  if (epoch < generationEpoch) {
    const half = Math.floor(y.shape[0] / 2);
    if (half > 0) {
      const a = tf.slice(maps, [0, 0, 0, 0], [half, -1, -1, -1]);
      const b = tf.slice(maps, [half, 0, 0, 0], [half, -1, -1, -1]);
      const same = tf.cast(tf.equal(tf.slice(y, [0], [half]), tf.slice(y, [half], [half])), 'int32') as tf.Tensor1D;
      cesc = tf.add(cesc, ce(rsg.pairLogits(a, b, false), same));
    }
  }
  const extraMaps: tf.Tensor4D[] = [];
  const extraLabels: tf.Tensor1D[] = [];
  let mv: tf.Tensor = tf.scalar(0);
  const labels = y.dataSync();
  const headRows = [...labels.keys()].filter((i) => head.has(labels[i]));
  const tailRows = [...labels.keys()].filter((i) => !head.has(labels[i]));
  if (epoch >= generationEpoch && headRows.length > 0 && tailRows.length > 0) {
    const nh = headRows.length;
    const nt = tailRows.length;
    // Official pairing: the larger side is cut into `segment` slices as long as the smaller side.
    const segment = nh >= nt ? Math.max(1, Math.min(Math.floor((nh * strength) / nt), Math.floor(nh / nt))) : Math.max(1, Math.min(Math.floor((nt * strength) / nh), Math.floor(nt / nh)));
    for (let j = 0; j < segment; j++) {
      const hIdx = nh >= nt ? headRows.slice(j * nt, (j + 1) * nt) : headRows;
      const tIdx = nh >= nt ? tailRows : tailRows.slice(j * nh, (j + 1) * nh);
      const hi = tf.tensor1d(hIdx, 'int32');
      const ti = tf.tensor1d(tIdx, 'int32');
      const hMaps = tf.gather(maps, hi) as tf.Tensor4D;
      const tMaps = tf.gather(maps, ti) as tf.Tensor4D;
      const hY = tf.gather(y, hi) as tf.Tensor1D;
      const tY = tf.gather(y, ti) as tf.Tensor1D;
      const v = tf.sub(hMaps, rsg.topCentre(hMaps, hY)) as tf.Tensor4D;
      const tv = rsg.transform.apply(v);
      const t = tf.sub(tMaps, rsg.topCentre(tMaps, tY)) as tf.Tensor4D;
      const pairCe = ce(rsg.pairLogits(hMaps, tv, true), tf.zeros([tIdx.length], 'int32') as tf.Tensor1D);
      mv = tf.add(mv, tf.add(pairCe, mvShapeTerms(v, tv, t)));
      extraMaps.push(tf.add(tMaps, tv) as tf.Tensor4D);
      extraLabels.push(tY);
    }
    mv = tf.div(mv, segment);
  }
  const all = extraMaps.length > 0 ? (tf.concat([map, ...extraMaps], 0) as tf.Tensor4D) : map;
  const features = model.branch.apply(all, true);
  const logits = model.head.apply(features, true);
  const allLabels = extraLabels.length > 0 ? (tf.concat([y, ...extraLabels], 0) as tf.Tensor1D) : y;
  return { features, logits, aux: { labels: allLabels, cesc, mv } };
}

export const rsgMethod: Method = {
  name: 'rsg',
  family: 'IA',
  tags: ['Aug'],
  // The DRS sampler switch is part of the method, not a row of its own.
  table: { rows: [{ paper: 'RSG' }], samplerSplits: false },
  summary: 'Rare-class sample generator on the map before the last stage (head variations moved onto tail maps), LDAM with DRS / DRW.',
  citation: {
    paper: 'Wang et al., "RSG: A Simple but Effective Module for Learning Imbalanced Datasets", CVPR 2021',
    code: 'Jianf-Wang/RSG (Imbalanced_Classification/models/RSG.py, models/resnet.py, imagenet_lt_train.py, cifar_train.py)',
  },
  params: rsgParams,
  create(setup): MethodInstance {
    const p = parseParams('rsg', rsgParams, setup);
    const generationEpoch = Math.floor(p.threshold * setup.epochs + 1e-9);
    const head = headClasses(setup.classCounts, p.headRatio);
    const headSet = new Set(head);
    const ldam = ldamLoss(setup.classCounts, { variant: 'ldam-drw', maxMargin: p.maxMargin, scale: p.scale, drw: p.drw, drwStart: p.drwStart, beta: p.beta });
    return {
      buildModel: (ctx) => new RsgModel(ctx, p),
      ...(p.resample ? { samplerSwitch: { epoch: generationEpoch, sampler: 'class-balanced' as const } } : {}),
      // The cosine head's logits are cosines: scaled as in LDAM's loss (same argmax; ECE/NLL read s·cos).
      predict: (output) => tf.mul(p.scale, output.logits) as tf.Tensor2D,
      forward: (model, batch, ctx: StepContext) => rsgForward(model as RsgModel, batch, ctx.epoch, generationEpoch, headSet, p.transferStrength),
      loss: (out, labels, ctx) =>
        tf.tidy(() => {
          const aux = out.aux;
          if (!aux) return ldam(out.logits, labels, ctx);
          const total = tf.add(ldam(out.logits, aux.labels as tf.Tensor1D, ctx), tf.add(tf.mul(p.cescWeight, aux.cesc), tf.mul(p.mvWeight, aux.mv)));
          return total as tf.Scalar;
        }),
      resolvedParams: {
        generationEpoch,
        headClasses: head,
        margins: ldamMargins(setup.classCounts, p.maxMargin),
        resampleFromEpoch: p.resample ? generationEpoch : null,
        drwStartEpoch: p.drw ? drwStartEpoch(setup.epochs, p.drwStart) : null,
      },
    };
  },
};
