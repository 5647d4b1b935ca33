/**
 * What a run costs (issue #13): parameters and multiply-accumulates (MACs) per image, for training
 * and for test, so that tables can show whether a gain comes from capacity.
 *
 * Parameters: `train` is every trainable parameter of the model's store (the backbone, every
 * expert and branch, method-owned modules; frozen ones too); `test` leaves out the names the model
 * declares training-only (`MethodModel.trainingOnly`, e.g. RSG's generator); `buffers` counts the
 * non-trainable stored tensors (batch-norm statistics, momentum copies, queues) apart.
 *
 * MACs: counted from one real forward pass under `tf.profile`, so every backend and every model
 * built from tfjs ops is covered without a per-layer table. Counted kernels, as the usual
 * counters (fvcore, thop) do — convolutions and matrix products, nothing else:
 *  - Conv2D / FusedConv2D / GroupedConv2D: output elements × kh·kw·(input channels per group)
 *    (the filter's third dimension, which is cin / groups for a grouped filter);
 *  - DepthwiseConv2dNative / FusedDepthwiseConv2D: output elements × kh·kw;
 *  - BatchMatMul / _FusedMatMul: output elements × the contracted dimension.
 * Test: the inference forward (`model.forward(x, false)` and the method's `predict`). Training:
 * the method's training forward (`forward`, one image per view of every input stream, at the last
 * epoch, when late-starting modules are on), else `model.forward(x, true)`; the loss and the
 * backward pass are not counted. The training forward runs two images and halves the count, so
 * that no batch-norm over a [1, d] batch runs in training mode.
 */
import * as tf from '@tensorflow/tfjs';
import type { MethodInstance, MethodModel, StepContext, TrainBatch } from '../methods/types.js';
import { Rng } from '../rng.js';

export interface RunCost {
  params: {
    /** Trainable parameters of the store (all of them, frozen included). */
    train: number;
    /** Parameters inference uses: `train` less the model's training-only names. */
    test: number;
    /** Non-trainable stored values (batch-norm statistics, momentum copies, queues). */
    buffers: number;
  };
  /** Multiply-accumulates per image of one forward pass. */
  macs: { train: number; test: number };
  /** Image shape the MACs were counted on: [height, width, channels]. */
  input: [number, number, number];
  /** Which training forward was counted: the method's own `forward`, or the model's (the method has none, or it failed without a step's context). */
  trainForward: 'method' | 'model';
}

/** A profiled kernel: its name and the shapes of its inputs (in the kernel's input order) and outputs. */
export interface KernelShapes {
  name: string;
  inputShapes: Array<number[] | null>;
  outputShapes: number[][];
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** MACs of one kernel call (0 for kernels that are not convolutions or matrix products). */
export function kernelMacs(k: KernelShapes): number {
  const out = k.outputShapes[0];
  if (!out) return 0;
  switch (k.name) {
    case 'Conv2D':
    case 'FusedConv2D':
    case 'GroupedConv2D': {
      const f = k.inputShapes[1]; // HWIO: [kh, kw, cin / groups, cout]
      return f ? size(out) * f[0] * f[1] * f[2] : 0;
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': {
      const f = k.inputShapes[1]; // [kh, kw, cin, multiplier]
      return f ? size(out) * f[0] * f[1] : 0;
    }
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // The profile has no attributes (transposeA): of a's two inner dims one is m (the output's
      // second-to-last), the other the contracted k; if both equal m, so does k.
      const a = k.inputShapes[0];
      if (!a || a.length < 2 || out.length < 2) return 0;
      const m = out[out.length - 2];
      const [a1, a2] = a.slice(-2);
      return size(out) * (a1 === m ? a2 : a1);
    }
    default:
      return 0;
  }
}

/** MACs of everything `fn` runs (its tensors are disposed). */
export async function countMacs(fn: () => void): Promise<number> {
  const info = await tf.profile(() => {
    tf.tidy(fn);
    return [];
  });
  return info.kernels.reduce((s, k) => s + kernelMacs(k as KernelShapes), 0);
}

/** Trainable, test-time and buffer parameter counts of a model. */
export function parameterCounts(model: MethodModel): RunCost['params'] {
  let train = 0;
  let test = 0;
  for (const [name, v] of model.store.trainable) {
    train += v.size;
    if (!model.trainingOnly?.(name)) test += v.size;
  }
  let buffers = 0;
  for (const v of model.store.buffers.values()) buffers += v.size;
  return { train, test, buffers };
}

const IMAGES = 2;

/**
 * Parameters and per-image MACs of a run's model and method, on zero images of `input`
 * ([height, width, channels]; MACs do not depend on the values). Leaves the model as it was:
 * batch-norm updates queued by the training forward are dropped.
 */
export async function measureCost(model: MethodModel, method: MethodInstance, input: [number, number, number], epochs = 1): Promise<RunCost> {
  const [h, w, c] = input;
  // Inference on one image: nothing at test time depends on the batch.
  const test = await countMacs(() => {
    const out = model.forward(tf.zeros([1, h, w, c]) as tf.Tensor4D, false);
    if (method.predict) method.predict(out);
  });
  let trainForward: RunCost['trainForward'] = method.forward ? 'method' : 'model';
  const plain = () => {
    model.forward(tf.zeros([IMAGES, h, w, c]) as tf.Tensor4D, true);
  };
  let train: number;
  try {
    train = await countMacs(
      method.forward
        ? () => {
            const batch = trainBatch(method, [IMAGES, h, w, c]);
            method.forward!(model, batch, stepContext(model, epochs, batch));
          }
        : plain,
    );
  } catch {
    // A forward that needs what only a training step has (a distill stage's teachers): the model's own.
    model.store.discardUpdates();
    trainForward = 'model';
    train = await countMacs(plain);
  } finally {
    model.store.discardUpdates();
  }
  return { params: parameterCounts(model), macs: { train: train / IMAGES, test }, input: [h, w, c], trainForward };
}

/** A training batch of zero images: every input stream with its views (inside the caller's tidy). */
function trainBatch(method: MethodInstance, shape: [number, number, number, number]): TrainBatch {
  const x = tf.zeros(shape) as tf.Tensor4D;
  const y = tf.zeros([shape[0]], 'int32') as tf.Tensor1D;
  const streams = (method.streams ?? [{}]).map((s, i) => {
    const views = typeof s.views === 'number' ? s.views : (s.views?.length ?? 1);
    return { views: Array.from({ length: Math.max(1, views) }, (_, v) => (i === 0 && v === 0 ? x : (tf.zeros(shape) as tf.Tensor4D))), y };
  });
  return { x, y, streams };
}

function stepContext(model: MethodModel, epochs: number, batch: TrainBatch): StepContext {
  return { epoch: Math.max(0, epochs - 1), epochs, step: 0, batch, model, rng: new Rng(0).fork('cost') };
}

