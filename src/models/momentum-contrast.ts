/**
 * The MoCo pieces PaCo and the MoCo v2 pretext share (He et al., CVPR 2020; Chen et al., 2020;
 * facebookresearch/moco `moco/builder.py`, as copied into dvlab-research/Parametric-Contrastive-
 * Learning `PaCo/LT/moco/builder.py`):
 *  - a projection MLP d → d → BN → ReLU → dim (`mlp=True`), its output L2-normalised;
 *  - a momentum key encoder: a copy of backbone + MLP whose tensors are store *buffers* (no
 *    gradient, not counted as parameters, checkpointed with the run), initialised to the query
 *    encoder's values and updated after each optimiser step as k ← m·k + (1 − m)·q
 *    (parameters only: the key encoder's batch-norm statistics follow its own forward passes);
 *  - a FIFO queue of keys [K, dim] (and, for PaCo, their labels) with a pointer, written after
 *    the step from the keys of the step (MoCo's `_dequeue_and_enqueue`).
 * Deviations: one device, so no shuffle-BN; the key encoder's linear copy (`linear_k`, never read)
 * is not kept; a last partial batch is enqueued too (the official loaders drop it), its rows
 * wrapping round the queue's end.
 */
import * as tf from '@tensorflow/tfjs';
import { getBackbone } from './backbones/registry.js';
import type { Backbone } from './backbones/types.js';
import { stopGradient } from '../losses/common.js';
import { l2Normalize } from './classifiers.js';
import { BatchNorm } from './layers.js';
import type { ParamStore } from './params.js';

/** nn.Linear with PyTorch's default init (weight and bias uniform in ±1/√fan_in), weight [in, out]. */
class Dense {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(store: ParamStore, name: string, inDim: number, outDim: number) {
    const bound = 1 / Math.sqrt(inDim);
    this.weight = store.addTrainable(`${name}.weight`, [inDim, outDim], store.uniform(inDim * outDim, bound));
    this.bias = store.addTrainable(`${name}.bias`, [outDim], store.uniform(outDim, bound));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.weight as tf.Tensor2D), this.bias) as tf.Tensor2D;
  }
}

/** MoCo v2's MLP head: Linear(d, d) → BatchNorm1d → ReLU → Linear(d, dim); output not normalised. */
export class ProjectionMlp {
  private readonly fc1: Dense;
  private readonly bn: BatchNorm;
  private readonly fc2: Dense;
  constructor(store: ParamStore, inDim: number, dim: number) {
    this.fc1 = new Dense(store, 'fc1', inDim, inDim);
    this.bn = new BatchNorm(store, 'bn', inDim);
    this.fc2 = new Dense(store, 'fc2', inDim, dim);
  }
  apply(features: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const [b, d] = features.shape;
    // BatchNorm1d on [B, d] is BatchNorm2d on [B, 1, 1, d].
    const h = this.bn.apply(tf.reshape(this.fc1.apply(features), [b, 1, 1, d]) as tf.Tensor4D, training);
    return this.fc2.apply(tf.relu(tf.reshape(h, [b, d])) as tf.Tensor2D);
  }
}

/** A view of `store` whose every tensor (trainable ones too) is a buffer named `prefix.<name>`. */
function bufferScope(store: ParamStore, prefix: string): ParamStore {
  const view = Object.create(store) as ParamStore;
  view.addTrainable = (name, shape, values) => {
    const v = store.addBuffer(`${prefix}.${name}`, shape, 0);
    tf.tidy(() => v.assign(tf.tensor(values, shape, 'float32')));
    return v;
  };
  view.addBuffer = (name, shape, fill) => store.addBuffer(`${prefix}.${name}`, shape, fill);
  view.queueUpdate = (target, value) => store.queueUpdate(target, value);
  return view;
}

/** Names a block of construction adds to the store's trainable map, in creation order. */
function trainableAdded(store: ParamStore, build: () => void): string[] {
  const before = new Set(store.trainable.keys());
  build();
  return [...store.trainable.keys()].filter((n) => !before.has(n));
}

function buffersAdded(store: ParamStore, build: () => void): string[] {
  const before = new Set(store.buffers.keys());
  build();
  return [...store.buffers.keys()].filter((n) => !before.has(n));
}

export interface MomentumEncoderOptions {
  backbone: string;
  inChannels: number;
  /** Output dimension of the projection (128). */
  dim: number;
  /** Scope of the method-owned tensors: `paco`, or `pretext` (a pre-training run's, not copied on). */
  scope: string;
}

/**
 * Query encoder (backbone under the plain names + `<scope>.proj.*`), key encoder (buffers
 * `<scope>.key.*`) and the momentum update between them. The backbone is created first, so its
 * names and seeded values are those of every other model of the recipe.
 */
export class MomentumEncoder {
  readonly backbone: Backbone;
  readonly proj: ProjectionMlp;
  readonly keyBackbone: Backbone;
  readonly keyProj: ProjectionMlp;
  /** [query parameter, key buffer] pairs the momentum update reads and writes. */
  readonly pairs: Array<[tf.Variable, tf.Variable]>;

  /** Builds the backbone; call `buildHeads` (the method's own heads), then `buildKey`. */
  constructor(
    readonly store: ParamStore,
    readonly opts: MomentumEncoderOptions,
    between: (featureDim: number) => void = () => {},
  ) {
    let backbone!: Backbone;
    const qBackbone = trainableAdded(store, () => (backbone = getBackbone(opts.backbone).create(store, opts.inChannels)));
    this.backbone = backbone;
    // The method's own heads (PaCo's linear classifier `fc.*`) come right after the backbone, as in LtModel.
    between(backbone.featureDim);
    let proj!: ProjectionMlp;
    const qProj = trainableAdded(store, () => (proj = new ProjectionMlp(store.scoped(`${opts.scope}.proj`), backbone.featureDim, opts.dim)));
    this.proj = proj;
    const keyStore = bufferScope(store, `${opts.scope}.key`);
    let keyBackbone!: Backbone;
    let keyProj!: ProjectionMlp;
    const kNames = buffersAdded(store, () => {
      keyBackbone = getBackbone(opts.backbone).create(keyStore, opts.inChannels);
      keyProj = new ProjectionMlp(bufferScope(store, `${opts.scope}.key.proj`), backbone.featureDim, opts.dim);
    });
    this.keyBackbone = keyBackbone;
    this.keyProj = keyProj;
    const qNames = [...qBackbone, ...qProj];
    const key = (n: string) => (n.startsWith(`${opts.scope}.proj.`) ? `${opts.scope}.key.proj.${n.slice(opts.scope.length + 6)}` : `${opts.scope}.key.${n}`);
    this.pairs = qNames.map((n) => {
      const k = store.buffers.get(key(n));
      if (!k || !kNames.includes(key(n))) throw new Error(`internal: momentum encoder has no key copy of ${n}`);
      return [store.trainable.get(n)!, k];
    });
    // param_k.data.copy_(param_q.data): the key encoder starts as the query encoder.
    tf.tidy(() => {
      for (const [q, k] of this.pairs) k.assign(q);
    });
  }

  /** Normalised query projection and pooled features of the query view. */
  query(x: tf.Tensor4D, training: boolean): { features: tf.Tensor2D; z: tf.Tensor2D } {
    const features = this.backbone.apply(x, training);
    return { features, z: l2Normalize(this.proj.apply(features, training), 1) as tf.Tensor2D };
  }

  /** Normalised keys of the key view (training mode, no gradient). */
  key(x: tf.Tensor4D): tf.Tensor2D {
    return stopGradient(l2Normalize(this.keyProj.apply(this.keyBackbone.apply(x, true), true), 1)) as tf.Tensor2D;
  }

  /** k ← m·k + (1 − m)·q for every parameter pair (after the optimiser step). */
  momentumUpdate(m: number): void {
    tf.tidy(() => {
      for (const [q, k] of this.pairs) k.assign(tf.add(tf.mul(k, m), tf.mul(q, 1 - m)));
    });
  }
}

/** A FIFO queue of keys [K, dim], optional labels [K] and a pointer, as store buffers. */
export class KeyQueue {
  readonly keys: tf.Variable;
  readonly labels: tf.Variable | null;
  readonly ptr: tf.Variable;

  /**
   * `torch.randn(K, dim)` normalised along dim 0 (as PaCo's builder; the labels drawn uniformly
   * from the classes), drawn from the store's seeded generator.
   */
  constructor(store: ParamStore, scope: string, readonly size: number, readonly dim: number, numClasses: number | null) {
    this.keys = store.addBuffer(`${scope}.queue`, [size, dim], 0);
    const init = new Float32Array(size * dim);
    for (let i = 0; i < init.length; i++) init[i] = store.rng.normal();
    tf.tidy(() => this.keys.assign(l2Normalize(tf.tensor2d(init, [size, dim]), 0)));
    if (numClasses === null) {
      this.labels = null;
    } else {
      this.labels = store.addBuffer(`${scope}.queueLabels`, [size], 0);
      const l = Float32Array.from({ length: size }, () => store.rng.int(numClasses));
      tf.tidy(() => this.labels!.assign(tf.tensor1d(l)));
    }
    this.ptr = store.addBuffer(`${scope}.queuePtr`, [1], 0);
  }

  /**
   * Queues (store.queueUpdate: applied after the step, so the step's loss reads the old queue)
   * the write of `keys` [B, dim] (and `labels` [B]) at rows ptr … ptr+B−1 mod K, and the pointer
   * moved by B mod K.
   */
  enqueue(store: ParamStore, keys: tf.Tensor2D, labels?: tf.Tensor1D): void {
    const next = enqueued(this.keys as tf.Tensor2D, this.labels as tf.Tensor1D | null, this.ptr as tf.Tensor1D, keys, labels ?? null);
    store.queueUpdate(this.keys, next.keys);
    if (this.labels && next.labels) store.queueUpdate(this.labels, next.labels);
    store.queueUpdate(this.ptr, next.ptr);
  }
}

/**
 * The queue after writing `keys` at rows ptr … ptr+B−1 (mod K), as tensors (no read-back): a
 * one-hot placement matrix P [B, K] puts key i at row (ptr + i) mod K; untouched rows keep their values.
 */
export function enqueued(queue: tf.Tensor2D, queueLabels: tf.Tensor1D | null, ptr: tf.Tensor1D, keys: tf.Tensor2D, labels: tf.Tensor1D | null): { keys: tf.Tensor2D; labels: tf.Tensor1D | null; ptr: tf.Tensor1D } {
  const [k] = queue.shape;
  const b = keys.shape[0];
  if (b > k) throw new Error(`queue of ${k} keys cannot take a batch of ${b}`);
  const rows = tf.mod(tf.add(tf.range(0, b, 1, 'int32'), tf.cast(ptr, 'int32')), tf.scalar(k, 'int32')) as tf.Tensor1D;
  const place = tf.oneHot(rows, k).asType('float32') as tf.Tensor2D; // [B, K]
  const keep = tf.sub(1, tf.sum(place, 0)); // [K]
  const newKeys = tf.add(tf.mul(queue, tf.expandDims(keep, 1)), tf.matMul(place, keys, true, false)) as tf.Tensor2D;
  const newLabels = queueLabels && labels ? (tf.add(tf.mul(queueLabels, keep), tf.squeeze(tf.matMul(place, tf.expandDims(tf.cast(labels, 'float32'), 1), true, false), [1])) as tf.Tensor1D) : null;
  return { keys: newKeys, labels: newLabels, ptr: tf.mod(tf.add(ptr, b), k) as tf.Tensor1D };
}

/**
 * MoCo's InfoNCE: logits [q·k₊, q·queueᵀ] / T with the positive at index 0, softmax cross-entropy,
 * mean over the batch (moco/builder.py `forward` + nn.CrossEntropyLoss).
 */
export function infoNceLoss(q: tf.Tensor2D, k: tf.Tensor2D, queue: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const pos = tf.sum(tf.mul(q, k), 1, true); // [B, 1]
    const neg = tf.matMul(q, queue, false, true); // [B, K]
    const logits = tf.div(tf.concat([pos, neg], 1), temperature);
    return tf.neg(tf.mean(tf.slice(tf.logSoftmax(logits, 1), [0, 0], [-1, 1]))) as tf.Scalar;
  });
}
