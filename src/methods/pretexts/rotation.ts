/**
 * Rotation prediction (Gidaris et al., ICLR 2018), the pretext SSP pre-trains small images with,
 * as YyzHarry/imbalanced-semi-self `utils.py:rotation` (used by `pretrain_rot.py`): each image of
 * the batch is turned by ONE multiple of 90° (counter-clockwise, torch.rot90 over H, W), the turns
 * a random permutation of [0, 1, 2, 3] repeated ⌊B/4⌋ + 1 times, cut to B — balanced over the
 * batch — and the target is the turn's index; the class labels are discarded. The permutation is
 * drawn from the step's seeded generator. Square images only (a 90° turn keeps the shape).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../rng.js';
import type { Pretext } from '../types.js';

/** x [B, H, W, C] turned 90° counter-clockwise: out[i][j] = x[j][W−1−i]. */
function rot90(x: tf.Tensor4D): tf.Tensor4D {
  return tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 1) as tf.Tensor4D;
}

/** Every turn of every image: [r0(x); r90(x); r180(x); r270(x)] (4B images) and targets [0…0, 1…1, 2…2, 3…3]. */
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

/** utils.py:rotation's targets: permutation([0, 1, 2, 3] · (⌊B/4⌋ + 1))[:B]. */
export function rotationTargets(b: number, rng: Rng): number[] {
  const pool = Array.from({ length: 4 * (Math.floor(b / 4) + 1) }, (_, i) => i % 4);
  return rng.shuffle(pool).slice(0, b);
}

/** The official pretext batch: image i turned by targets[i]·90°, targets balanced over the batch. */
export function rotationPermutationBatch(x: tf.Tensor4D, rng: Rng): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const b = x.shape[0];
  const targets = rotationTargets(b, rng);
  return tf.tidy(() => {
    const all = rotationBatch(x);
    // all.x holds turn t of image i at row t·B + i.
    const rows = tf.tensor1d(targets.map((t, i) => t * b + i), 'int32');
    return { x: tf.gather(all.x, rows) as tf.Tensor4D, y: tf.tensor1d(targets, 'int32') };
  });
}

export const rotationPretext: Pretext = { name: 'rotation', classes: 4, transform: rotationPermutationBatch };
