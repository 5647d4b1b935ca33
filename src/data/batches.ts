/**
 * Batches from an in-memory image array: uint8 HWC pixels → float32 NHWC, normalised with the
 * dataset's mean/std, with the CIFAR-style training augmentation (zero-pad + random crop,
 * horizontal flip) drawn from a seeded Rng. The padding is black in pixel space, as
 * torchvision's RandomCrop(padding=p) pads the image before ToTensor/Normalize.
 */
import type { Rng } from '../rng.js';
import type { ImageArray } from './types.js';
import { randAugmentImage, type RandAugmentSpec } from './rand-augment.js';
import { mocoV2Image } from './view-mocov2.js';

export interface AugmentSpec {
  padCrop: number;
  flip: boolean;
  /** RandAugment after the crop and flip (rand-augment.ts). */
  randAugment?: RandAugmentSpec;
}

export interface Batch {
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
}

export class InMemoryBatches {
  private readonly scale: Float32Array;
  private readonly shift: Float32Array;

  constructor(readonly images: ImageArray, mean: number[], std: number[]) {
    const c = images.channels;
    // (p/255 − mean)/std = p·scale + shift
    this.scale = Float32Array.from({ length: c }, (_, k) => 1 / (255 * std[k % std.length]));
    this.shift = Float32Array.from({ length: c }, (_, k) => -mean[k % mean.length] / std[k % std.length]);
  }

  make(indices: ArrayLike<number>, augment: AugmentSpec | null, rng: Rng | null): Batch {
    if (augment?.randAugment && rng) return this.makeRandAugmented(indices, augment, augment.randAugment, rng);
    const { height: H, width: W, channels: C, pixels, labels } = this.images;
    const n = indices.length;
    const x = new Float32Array(n * H * W * C);
    const y = new Int32Array(n);
    const per = H * W * C;
    for (let b = 0; b < n; b++) {
      const idx = indices[b];
      y[b] = labels[idx];
      const src = idx * per;
      const dst = b * per;
      const p = augment && rng ? augment.padCrop : 0;
      const dy = p > 0 ? rng!.int(2 * p + 1) - p : 0;
      const dx = p > 0 ? rng!.int(2 * p + 1) - p : 0;
      const flip = augment && rng && augment.flip ? rng.next() < 0.5 : false;
      for (let i = 0; i < H; i++) {
        const si = i + dy;
        for (let j = 0; j < W; j++) {
          const sj0 = flip ? W - 1 - j : j;
          const sj = sj0 + dx;
          const o = dst + (i * W + j) * C;
          const inside = si >= 0 && si < H && sj >= 0 && sj < W;
          const s = src + (si * W + sj) * C;
          for (let k = 0; k < C; k++) x[o + k] = (inside ? pixels[s + k] : 0) * this.scale[k] + this.shift[k];
        }
      }
    }
    return { x, y, shape: [n, H, W, C] };
  }

  /**
   * Pad-crop and flip (the draws of `make`, in its order) into uint8 pixels, then RandAugment, then
   * normalisation. A separate path so runs without RandAugment stay bit-identical.
   */
  private makeRandAugmented(indices: ArrayLike<number>, augment: AugmentSpec, spec: RandAugmentSpec, rng: Rng): Batch {
    const { height: H, width: W, channels: C, pixels, labels } = this.images;
    const n = indices.length;
    const per = H * W * C;
    const x = new Float32Array(n * per);
    const y = new Int32Array(n);
    const img = new Uint8Array(per);
    for (let b = 0; b < n; b++) {
      const src = indices[b] * per;
      y[b] = labels[indices[b]];
      const p = augment.padCrop;
      const dy = p > 0 ? rng.int(2 * p + 1) - p : 0;
      const dx = p > 0 ? rng.int(2 * p + 1) - p : 0;
      const flip = augment.flip ? rng.next() < 0.5 : false;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const si = i + dy;
          const sj = (flip ? W - 1 - j : j) + dx;
          const inside = si >= 0 && si < H && sj >= 0 && sj < W;
          for (let k = 0; k < C; k++) img[(i * W + j) * C + k] = inside ? pixels[src + (si * W + sj) * C + k] : 0;
        }
      }
      const out = randAugmentImage(img, H, W, C, spec, rng);
      for (let i = 0; i < per; i++) x[b * per + i] = out[i] * this.scale[i % C] + this.shift[i % C];
    }
    return { x, y, shape: [n, H, W, C] };
  }

  /** A batch through the MoCo v2 view preset (view-mocov2.ts), image after image from `rng`. */
  makeMocoV2(indices: ArrayLike<number>, rng: Rng): Batch {
    const { height: H, width: W, channels: C, pixels, labels } = this.images;
    const n = indices.length;
    const per = H * W * C;
    const x = new Float32Array(n * per);
    const y = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      y[b] = labels[indices[b]];
      const px = mocoV2Image(pixels, indices[b] * per, H, W, C, rng);
      for (let i = 0; i < per; i++) x[b * per + i] = px[i] * this.scale[i % C] + this.shift[i % C];
    }
    return { x, y, shape: [n, H, W, C] };
  }
}
