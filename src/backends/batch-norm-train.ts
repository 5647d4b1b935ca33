/**
 * Training-mode batch normalisation as one op: `batchNormTrain(x, gamma, beta, eps)` normalises an
 * NHWC batch with its own per-channel statistics and returns them for the running averages.
 *
 * On a backend that registers the `LtBatchNormTrain` kernel (the `torch` backend: ATen's
 * native_batch_norm and native_batch_norm_backward, one pass each way) forward and backward are
 * single kernels. Elsewhere the forward is `tf.moments` + `tf.batchNorm` and the backward the
 * closed-form batch-norm gradient (see `composite`).
 * The gradient flows through `y` (including through the batch statistics, as in PyTorch); the
 * returned `mean` and `variance` are for the running averages and carry no gradient.
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
  return composite(x, gamma, beta, eps);
}

/**
 * Elsewhere: tf.moments + tf.batchNorm forward, and the closed-form batch-norm gradient
 *   dx = γ·σ⁻¹/M · (M·dy − Σdy − x̂·Σ(dy·x̂)),  dγ = Σ(dy·x̂),  dβ = Σdy   (x̂ = (x−μ)·σ⁻¹, M = N·H·W)
 * as one customGrad: about 8 full-size passes backward instead of the ~17 (plus two full-size JS
 * arrays of ones) that autodiff through moments and batchNorm costs.
 */
function composite(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): BatchNormTrainResult {
  const axes = [0, 1, 2];
  const m = x.shape[0] * x.shape[1] * x.shape[2];
  let stats: [tf.Tensor, tf.Tensor] | undefined;
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(xi, axes);
    const invstd = tf.rsqrt(tf.add(variance, eps));
    const y = tf.batchNorm(xi, mean, variance, b, g, eps);
    save([xi, g, mean, invstd]);
    stats = [tf.keep(mean), tf.keep(variance)]; // handed to the caller below
    return {
      value: y,
      gradFunc: (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = dyIn as tf.Tensor4D;
        const [xs, gs, mu, inv] = saved;
        const xhat = tf.mul(tf.sub(xs, mu), inv);
        const sumDy = tf.sum(dy, axes);
        const sumDyXhat = tf.sum(tf.mul(dy, xhat), axes);
        const inner = tf.sub(tf.sub(dy, tf.div(sumDy, m)), tf.mul(xhat, tf.div(sumDyXhat, m)));
        const dx = tf.mul(inner, tf.mul(gs, inv));
        return [dx, sumDyXhat, sumDy];
      },
    };
  });
  const y = op(x, gamma, beta) as tf.Tensor4D;
  // The kept statistics become ordinary tensors (tracked by the caller's tidy, like y).
  const [keptMean, keptVar] = stats!;
  const mean = tf.clone(keptMean) as tf.Tensor1D;
  const variance = tf.clone(keptVar) as tf.Tensor1D;
  keptMean.dispose();
  keptVar.dispose();
  return { y, mean, variance };
}

export const BATCH_NORM_RUNNING_KERNEL = 'LtBatchNormRunning';

/**
 * The running statistics after one training batch, as torch.nn.BatchNorm2d updates them:
 * mean ← (1 − m)·mean + m·μ, var ← (1 − m)·var + m·σ²·n/(n − 1) (σ² the biased batch variance of n
 * values). One kernel on a backend that registers it (the torch backend: also detached, so native
 * autograd's graph never reaches a buffer), the same tfjs ops elsewhere; equal to the last bit.
 */
export function batchNormRunningUpdate(runningMean: tf.Tensor1D, runningVar: tf.Tensor1D, mean: tf.Tensor1D, variance: tf.Tensor1D, momentum: number, n: number): { mean: tf.Tensor1D; variance: tf.Tensor1D; detached: boolean } {
  const keep = 1 - momentum;
  const varFactor = (momentum * n) / Math.max(1, n - 1);
  if (tf.getKernel(BATCH_NORM_RUNNING_KERNEL, tf.getBackend()) != null) {
    const [m, v] = tf.engine().runKernel(BATCH_NORM_RUNNING_KERNEL, { runningMean, runningVar, mean, variance }, { keep, meanFactor: momentum, varFactor }) as tf.Tensor1D[];
    return { mean: m, variance: v, detached: true };
  }
  return {
    mean: tf.add(tf.mul(runningMean, keep), tf.mul(mean, momentum)) as tf.Tensor1D,
    variance: tf.add(tf.mul(runningVar, keep), tf.mul(variance, varFactor)) as tf.Tensor1D,
    detached: false,
  };
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
