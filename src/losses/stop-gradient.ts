/**
 * Stop-gradient (PyTorch's `.detach()`) that works on both autograd paths (a loss building block,
 * also used for buffer updates and by the torch backend).
 *
 * On a backend that registers the `LtStopGradient` kernel (the `torch` backend: a native detach, a
 * view without copy) it is that kernel, whose registered tfjs gradient is zero: the tfjs tape and
 * libtorch's own autograd (native autograd, where `tf.customGrad` never reaches the backend) both
 * see a stop. Elsewhere it is a customGrad identity with a zero gradient.
 *
 * `detachForUpdate` is for values that outlive a step (buffer updates): while the torch backend
 * records libtorch's graph it detaches them, so the graph never chains across steps; otherwise it
 * returns its input unchanged (no kernel, no cost).
 */
import * as tf from '@tensorflow/tfjs';

export const STOP_GRADIENT_KERNEL = 'LtStopGradient';

const viaCustomGrad: (x: tf.Tensor) => tf.Tensor = tf.customGrad(
  (...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.clone(inputs[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }),
);

export function stopGradient(x: tf.Tensor): tf.Tensor {
  if (tf.getKernel(STOP_GRADIENT_KERNEL, tf.getBackend()) != null) return tf.engine().runKernel(STOP_GRADIENT_KERNEL, { x }) as tf.Tensor;
  return viaCustomGrad(x);
}

let recording = false;

/** Set by the native autograd path while the backend records libtorch's graph. */
export function setNativeRecording(on: boolean): void {
  recording = on;
}

export function nativeRecording(): boolean {
  return recording;
}

/** `x` detached while native autograd records (see above), else `x` itself. */
export function detachForUpdate<T extends tf.Tensor>(x: T): T {
  return recording ? (stopGradient(x) as T) : x;
}

let registered = false;

/** The kernel's tfjs gradient: zero (global; harmless where the kernel is never run). */
export function registerStopGradientGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({ kernelName: STOP_GRADIENT_KERNEL, gradFunc: (dy) => ({ x: () => tf.zerosLike(dy as tf.Tensor) }) });
}
registerStopGradientGradient();
