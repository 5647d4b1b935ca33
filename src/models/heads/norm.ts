/** Small normalisations the decoupling and causal heads share. */
import * as tf from '@tensorflow/tfjs';

/** x / max(‖x‖₂, 1e-12) along `axis` (torch.nn.functional.normalize). */
export function unitNormalize<T extends tf.Tensor>(x: T, axis: number): T {
  return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', axis, true), 1e-12)) as T;
}
