/**
 * Training-mode batch normalisation as one op: `batchNormTrain(x, gamma, beta, eps)` normalises an
 * NHWC batch with its own per-channel statistics and returns them for the running averages.
 *
 * On a backend that registers the `LtBatchNormTrain` kernel (the `torch` backend: ATen's
 * native_batch_norm and native_batch_norm_backward, one pass each way) forward and backward are
 * single kernels. Elsewhere it is `tf.moments` + `tf.batchNorm`, differentiated by tfjs.
 * The gradient flows through `y` (including through the batch statistics, as in PyTorch); the
 * returned `mean` and `variance` are for the running averages and carry no gradient on `torch`.
 * `variance` is the biased batch variance (as `tf.moments`; PyTorch's running_var uses the
 * unbiased one: multiply by n/(n-1) if you mirror PyTorch exactly).
 */
import * as tf from '@tensorflow/tfjs';

export const BATCH_NORM_TRAIN_KERNEL = 'LtBatchNormTrain';

export interface BatchNormTrainResult { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D }

export function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): BatchNormTrainResult {
  if (tf.getKernel(BATCH_NORM_TRAIN_KERNEL, tf.getBackend()) != null) {
    const [y, mean, variance, invstd] = tf.engine().runKernel(BATCH_NORM_TRAIN_KERNEL, { x, gamma, beta }, { varianceEpsilon: eps }) as tf.Tensor[];
    invstd.dispose(); // the tape keeps its own reference for the gradient
    return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const y = tf.batchNorm(x, mean, variance, beta, gamma, eps) as tf.Tensor4D;
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}

let registered = false;

/** The gradient of the kernel (global; harmless where the kernel is never run). */
export function registerBatchNormTrainGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN_KERNEL,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, false, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, mean, invstd] = saved;
      const dy = (dys as tf.Tensor[])[0];
      const [dx, dgamma, dbeta] = tf.engine().runKernel('LtBatchNormTrainGrad', { dy, x, gamma, mean, invstd },
        { varianceEpsilon: (attrs as { varianceEpsilon: number }).varianceEpsilon }) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
}
registerBatchNormTrainGradient();
