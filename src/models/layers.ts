/**
 * The building blocks of lt-bench's backbones, written over tfjs ops with explicit padding so that
 * they compute what the PyTorch reference models compute (tfjs 'same' padding is asymmetric at
 * stride 2; PyTorch's padding=k//2 is symmetric).
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain } from '../backends/batch-norm-train.js';
import type { ParamStore } from './params.js';

export class Conv2d {
  readonly weight: tf.Variable;
  private readonly pad: [[number, number], [number, number], [number, number], [number, number]];

  constructor(store: ParamStore, name: string, inC: number, outC: number, readonly kernel: number, readonly stride = 1, padding = Math.floor(kernel / 2)) {
    const fanIn = kernel * kernel * inC;
    this.weight = store.addTrainable(`${name}.weight`, [kernel, kernel, inC, outC], store.kaimingNormal(kernel * kernel * inC * outC, fanIn));
    this.pad = [[0, 0], [padding, padding], [padding, padding], [0, 0]];
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, this.pad);
  }
}

/** Batch norm as torch.nn.BatchNorm2d: batch statistics in training, running ones at eval. */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(private readonly store: ParamStore, name: string, channels: number, readonly momentum = 0.1, readonly eps = 1e-5) {
    this.gamma = store.addTrainable(`${name}.weight`, [channels], new Float32Array(channels).fill(1));
    this.beta = store.addTrainable(`${name}.bias`, [channels], new Float32Array(channels));
    this.runningMean = store.addBuffer(`${name}.running_mean`, [channels], 0);
    this.runningVar = store.addBuffer(`${name}.running_var`, [channels], 1);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (!training) {
      return tf.batchNorm(x, this.runningMean as tf.Tensor1D, this.runningVar as tf.Tensor1D, this.beta as tf.Tensor1D, this.gamma as tf.Tensor1D, this.eps);
    }
    // One fused kernel each way on torch; a closed-form gradient elsewhere (src/backends/batch-norm-train.ts).
    const { y, mean, variance } = batchNormTrain(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, this.eps);
    const n = x.shape[0] * x.shape[1] * x.shape[2];
    // Running statistics use the unbiased variance, as PyTorch does.
    const m = this.momentum;
    this.store.queueUpdate(this.runningMean, tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
    this.store.queueUpdate(this.runningVar, tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(variance, (m * n) / Math.max(1, n - 1))));
    return y;
  }
}

/** x[:, ::2, ::2, :] as a differentiable op (tfjs's StridedSlice has no gradient). */
export function subsample2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 1, 2, 'valid');
}
