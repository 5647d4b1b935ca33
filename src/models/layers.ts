/**
 * The building blocks of lt-bench's backbones, written over tfjs ops with explicit padding so that
 * they compute what the PyTorch reference models compute (tfjs 'same' padding is asymmetric at
 * stride 2; PyTorch's padding=k//2 is symmetric).
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormRunningUpdate, batchNormTrain } from '../backends/batch-norm-train.js';
import { groupedConv2d } from '../backends/grouped-conv.js';
import type { ParamStore } from './params.js';

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Which fan the kaiming-normal std √(2/fan) uses: `fan_in` = k·k·inC/groups (LDAM-DRW's CIFAR
 * ResNet, the default), `fan_out` = k·k·outC (torchvision's ImageNet ResNets:
 * kaiming_normal_(mode='fan_out', nonlinearity='relu'); also Decouple's ResNet/ResNext code).
 */
export type FanMode = 'fan_in' | 'fan_out';

export interface ConvOptions {
  /** Symmetric zero padding on each spatial side (PyTorch's `padding`); default ⌊kernel/2⌋. */
  padding?: number;
  fanMode?: FanMode;
}

function convWeight(store: ParamStore, name: string, kernel: number, inPerGroup: number, outC: number, fanMode: FanMode): tf.Variable {
  const fan = fanMode === 'fan_out' ? kernel * kernel * outC : kernel * kernel * inPerGroup;
  return store.addTrainable(`${name}.weight`, [kernel, kernel, inPerGroup, outC], store.kaimingNormal(kernel * kernel * inPerGroup * outC, fan));
}

function symmetricPad(padding: number): Pad4 {
  return [[0, 0], [padding, padding], [padding, padding], [0, 0]];
}

/** A bias-free 2-D convolution (HWIO weight) with PyTorch's symmetric padding. */
export class Conv2d {
  readonly weight: tf.Variable;
  private readonly pad: Pad4;

  constructor(store: ParamStore, name: string, inC: number, outC: number, readonly kernel: number, readonly stride = 1,
    options: ConvOptions = {}) {
    this.weight = convWeight(store, name, kernel, inC, outC, options.fanMode ?? 'fan_in');
    this.pad = symmetricPad(options.padding ?? Math.floor(kernel / 2));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, this.pad);
  }
}

/**
 * A bias-free grouped convolution as torch.nn.Conv2d(groups=g): weight [k, k, inC/g, outC], output
 * block j (outC/g channels) sees input block j only. Runs through `groupedConv2d` (one kernel on the
 * torch backend, split/conv/concat elsewhere).
 */
export class GroupedConv2d {
  readonly weight: tf.Variable;
  private readonly pad: Pad4;

  constructor(store: ParamStore, name: string, inC: number, outC: number, readonly kernel: number, readonly stride: number,
    readonly groups: number, options: ConvOptions = {}) {
    if (inC % groups !== 0 || outC % groups !== 0) throw new Error(`${name}: ${inC}→${outC} channels do not split into ${groups} groups`);
    this.weight = convWeight(store, name, kernel, inC / groups, outC, options.fanMode ?? 'fan_in');
    this.pad = symmetricPad(options.padding ?? Math.floor(kernel / 2));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return groupedConv2d(x, this.weight as tf.Tensor4D, this.stride, this.pad, this.groups);
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
    // A second use in the same step updates from the first use's result (PyTorch's order).
    const runningMean = (this.store.pendingValue(this.runningMean) ?? this.runningMean) as tf.Tensor1D;
    const runningVar = (this.store.pendingValue(this.runningVar) ?? this.runningVar) as tf.Tensor1D;
    const next = batchNormRunningUpdate(runningMean, runningVar, mean, variance, this.momentum, n);
    this.store.queueUpdate(this.runningMean, next.mean, next.detached);
    this.store.queueUpdate(this.runningVar, next.variance, next.detached);
    return y;
  }
}

/** x[:, ::2, ::2, :] as a differentiable op (tfjs's StridedSlice has no gradient). */
export function subsample2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 1, 2, 'valid');
}

/**
 * Max pooling as torch.nn.MaxPool2d(kernel, stride, padding): `padding` on every side (symmetric),
 * padded taps never win (PyTorch pads with −∞), floor rounding of the output size.
 * tfjs's numeric `pad` is exactly this: computePool2DInfo sets top = bottom = left = right = pad,
 * output ⌊(H + 2p − k)/s⌋ + 1, and the cpu, wasm (XNNPACK) and torch kernels skip out-of-range taps
 * in MaxPool and route MaxPoolGrad only to in-range argmaxes. (tfjs 'same' would pad 0 on top and 1
 * at the bottom for 112 → 56 at k 3, s 2.) One kernel each way, no padded copy.
 */
export function maxPool2d(x: tf.Tensor4D, kernel: number, stride: number, padding: number): tf.Tensor4D {
  if (2 * padding > kernel) throw new Error(`maxPool2d: padding ${padding} exceeds half the kernel ${kernel} (PyTorch forbids it)`);
  return tf.maxPool(x, kernel, stride, padding);
}
