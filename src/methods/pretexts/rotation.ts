/**
 * Rotation prediction (Gidaris et al., ICLR 2018), the pretext SSP pre-trains with: every image
 * rotated by 0°, 90°, 180° and 270° (counter-clockwise, numpy's rot90), the target the rotation's
 * index; the class labels are discarded. Square images only (a 90° turn keeps the shape).
 */
import * as tf from '@tensorflow/tfjs';
import type { Pretext } from '../types.js';

/** x [B, H, W, C] turned 90° counter-clockwise: out[i][j] = x[j][W−1−i]. */
function rot90(x: tf.Tensor4D): tf.Tensor4D {
  return tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 1) as tf.Tensor4D;
}

/** The batch [r0(x); r90(x); r180(x); r270(x)] (4B images) and targets [0…0, 1…1, 2…2, 3…3]. */
export function rotationBatch(x: tf.Tensor4D): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    if (h !== w) throw new Error(`rotation pretext: images must be square, got ${h}×${w}`);
    const r1 = rot90(x);
    const r2 = rot90(r1);
    const r3 = rot90(r2);
    const b = x.shape[0];
    const y = tf.tensor1d(Array.from({ length: 4 * b }, (_, i) => Math.floor(i / b)), 'int32');
    return { x: tf.concat([x, r1, r2, r3], 0) as tf.Tensor4D, y };
  });
}

export const rotationPretext: Pretext = { name: 'rotation', classes: 4, transform: rotationBatch };
