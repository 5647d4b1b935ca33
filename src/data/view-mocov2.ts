/**
 * The MoCo v2 view preset (PaCo, SSP, SADE's test-time step): RandomResizedCrop(scale 0.2–1,
 * ratio 3/4–4/3) to the source's size, ColorJitter(0.4, 0.4, 0.4, 0.1) with p 0.8,
 * RandomGrayscale p 0.2, GaussianBlur(σ ∈ [0.1, 2], kernel ≈ 10% of the side, odd) with p 0.5,
 * horizontal flip p 0.5, as a seeded, pure per-image transform on float pixels in 0..255 (HWC).
 *
 * Every draw comes from the Rng it is given, in a fixed order and always made (whether the op is
 * applied or not), so an image's draws never depend on the ones before it.
 *
 * Single-channel images (Fashion-MNIST): the jitter applies brightness and contrast only
 * (saturation and hue need colour) and grayscale is a no-op.
 */
import type { Rng } from '../rng.js';
import { randomResizedCropBox, type CropBox } from './image-pipeline.js';

export const MOCOV2 = {
  scale: [0.2, 1] as [number, number],
  ratio: [3 / 4, 4 / 3] as [number, number],
  jitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 },
  jitterP: 0.8,
  grayP: 0.2,
  blurP: 0.5,
  sigma: [0.1, 2.0] as [number, number],
  flipP: 0.5,
};

/** ITU-R 601-2 luma, as PIL's convert('L') and torchvision's rgb_to_grayscale. */
export const GRAY_WEIGHTS = [0.299, 0.587, 0.114] as const;

export interface MocoColourPlan {
  /** Jitter applied, its op order (0 brightness, 1 contrast, 2 saturation, 3 hue) and factors. */
  jitter: boolean;
  order: number[];
  factors: [number, number, number, number];
  gray: boolean;
  blur: boolean;
  sigma: number;
  flip: boolean;
}

/** The colour / blur / flip draws of one image (after its crop box). */
export function sampleMocoColour(rng: Rng): MocoColourPlan {
  const j = MOCOV2.jitter;
  const jitter = rng.next() < MOCOV2.jitterP;
  const order = rng.shuffle([0, 1, 2, 3]);
  const f = (x: number) => 1 - x + rng.next() * 2 * x;
  const factors: [number, number, number, number] = [f(j.brightness), f(j.contrast), f(j.saturation), -j.hue + rng.next() * 2 * j.hue];
  const gray = rng.next() < MOCOV2.grayP;
  const blur = rng.next() < MOCOV2.blurP;
  const sigma = MOCOV2.sigma[0] + rng.next() * (MOCOV2.sigma[1] - MOCOV2.sigma[0]);
  const flip = rng.next() < MOCOV2.flipP;
  return { jitter, order, factors, gray, blur, sigma, flip };
}

/** Odd blur kernel side ≈ 10% of the image side (3 at 32 px, 23 at 224 px), at least 3. */
export function blurKernelSize(side: number): number {
  return Math.max(3, 2 * Math.floor(side * 0.05) + 1);
}

/** torchvision's 1-D Gaussian kernel: exp(−x²/2σ²) at x = −(k−1)/2 … (k−1)/2, normalised to sum 1. */
export function gaussianKernel1d(k: number, sigma: number): Float64Array {
  const out = new Float64Array(k);
  const half = (k - 1) / 2;
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const x = (i - half) / sigma;
    out[i] = Math.exp(-0.5 * x * x);
    sum += out[i];
  }
  for (let i = 0; i < k; i++) out[i] /= sum;
  return out;
}

/** Separable Gaussian blur in place with reflect padding (torchvision's gaussian_blur on tensors). */
export function gaussianBlur(px: Float32Array, H: number, W: number, C: number, k: number, sigma: number): void {
  const kernel = gaussianKernel1d(k, sigma);
  const half = (k - 1) / 2;
  const reflect = (i: number, n: number) => {
    if (n === 1) return 0;
    for (;;) {
      if (i < 0) i = -i;
      else if (i >= n) i = 2 * (n - 1) - i;
      else return i;
    }
  };
  const tmp = new Float32Array(px.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += kernel[t] * px[(y * W + reflect(x + t - half, W)) * C + c];
        tmp[(y * W + x) * C + c] = s;
      }
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += kernel[t] * tmp[(reflect(y + t - half, H) * W + x) * C + c];
        px[(y * W + x) * C + c] = s;
      }
    }
  }
}

/** Grayscale in place: every channel set to the luma (3 channels); a no-op on one channel. */
export function grayscale(px: Float32Array, C: number): void {
  if (C !== 3) return;
  for (let i = 0; i < px.length; i += 3) {
    const g = GRAY_WEIGHTS[0] * px[i] + GRAY_WEIGHTS[1] * px[i + 1] + GRAY_WEIGHTS[2] * px[i + 2];
    px[i] = px[i + 1] = px[i + 2] = g;
  }
}

const clamp255 = (x: number) => (x < 0 ? 0 : x > 255 ? 255 : x);

/**
 * ColorJitter in the plan's order, clamping to [0, 255] after each op, as torchvision on float
 * tensors: brightness x·f; contrast blends with the image's mean luma; saturation with each pixel's
 * luma; hue shifts H in HSV by the factor (a fraction of the circle). One channel: brightness and
 * contrast only (the mean of the channel).
 */
export function colourJitter(px: Float32Array, C: number, order: number[], factors: [number, number, number, number]): void {
  const n = px.length / C;
  const luma = (i: number) => (C === 3 ? GRAY_WEIGHTS[0] * px[3 * i] + GRAY_WEIGHTS[1] * px[3 * i + 1] + GRAY_WEIGHTS[2] * px[3 * i + 2] : px[i]);
  for (const op of order) {
    const f = factors[op];
    if (op === 0) {
      for (let i = 0; i < px.length; i++) px[i] = clamp255(px[i] * f);
    } else if (op === 1) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += luma(i);
      const m = ((1 - f) * mean) / n;
      for (let i = 0; i < px.length; i++) px[i] = clamp255(f * px[i] + m);
    } else if (C !== 3) {
      continue;
    } else if (op === 2) {
      for (let i = 0; i < n; i++) {
        const g = (1 - f) * luma(i);
        for (let c = 0; c < 3; c++) px[3 * i + c] = clamp255(f * px[3 * i + c] + g);
      }
    } else if (f !== 0) {
      for (let i = 0; i < n; i++) shiftHue(px, 3 * i, f);
    }
  }
}

/** torchvision's adjust_hue on one pixel (0..255 floats): RGB → HSV, h += f (mod 1), back. */
function shiftHue(px: Float32Array, o: number, f: number): void {
  const r = px[o] / 255;
  const g = px[o + 1] / 255;
  const b = px[o + 2] / 255;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const cr = max - min;
  if (cr === 0) return; // grey: hue is undefined and the shift changes nothing
  const s = cr / max;
  let h: number;
  if (max === r) h = ((g - b) / cr) % 6;
  else if (max === g) h = (b - r) / cr + 2;
  else h = (r - g) / cr + 4;
  h = (h / 6 + 1 + f) % 1;
  const v = max;
  const i = Math.floor(h * 6) % 6;
  const fr = h * 6 - Math.floor(h * 6);
  const p = v * (1 - s);
  const q = v * (1 - s * fr);
  const t = v * (1 - s * (1 - fr));
  const rgb = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i];
  px[o] = clamp255(rgb[0] * 255);
  px[o + 1] = clamp255(rgb[1] * 255);
  px[o + 2] = clamp255(rgb[2] * 255);
}

/** Jitter (p 0.8), grayscale (p 0.2), blur (p 0.5) and flip (p 0.5) of the plan, in place. */
export function applyMocoColour(px: Float32Array, H: number, W: number, C: number, plan: MocoColourPlan): void {
  if (plan.jitter) colourJitter(px, C, plan.order, plan.factors);
  if (plan.gray) grayscale(px, C);
  if (plan.blur) gaussianBlur(px, H, W, C, blurKernelSize(Math.min(H, W)), plan.sigma);
  if (plan.flip) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W >> 1; x++) {
        for (let c = 0; c < C; c++) {
          const a = (y * W + x) * C + c;
          const b = (y * W + (W - 1 - x)) * C + c;
          const t = px[a];
          px[a] = px[b];
          px[b] = t;
        }
      }
    }
  }
}

/** The MoCo v2 crop box of a W × H image. */
export function mocoCropBox(W: number, H: number, rng: Rng): CropBox {
  return randomResizedCropBox(W, H, rng, MOCOV2.scale, MOCOV2.ratio);
}

/**
 * Bilinear resize of a crop of a uint8 HWC image to H × W floats (half-pixel centres, edge
 * clamped, no antialiasing: the in-memory images are 28–32 px, so a crop is never shrunk by much).
 */
export function resizeCrop(src: Uint8Array, offset: number, srcW: number, C: number, box: CropBox, H: number, W: number, out: Float32Array): void {
  const sy = box.height / H;
  const sx = box.width / W;
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), box.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, box.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), box.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, box.width - 1);
      const wx = fx - x0;
      const at = (yy: number, xx: number) => offset + ((box.top + yy) * srcW + box.left + xx) * C;
      const a = at(y0, x0);
      const b = at(y0, x1);
      const c = at(y1, x0);
      const d = at(y1, x1);
      for (let k = 0; k < C; k++) {
        out[(y * W + x) * C + k] = (1 - wy) * ((1 - wx) * src[a + k] + wx * src[b + k]) + wy * ((1 - wx) * src[c + k] + wx * src[d + k]);
      }
    }
  }
}

/**
 * One in-memory image (uint8 HWC at `offset` of `src`) through the MoCo v2 preset: crop box, then
 * colour plan, drawn in that order from `rng`. Returns float pixels in 0..255, same H × W × C.
 */
export function mocoV2Image(src: Uint8Array, offset: number, H: number, W: number, C: number, rng: Rng): Float32Array {
  const box = mocoCropBox(W, H, rng);
  const px = new Float32Array(H * W * C);
  resizeCrop(src, offset, W, C, box, H, W, px);
  applyMocoColour(px, H, W, C, sampleMocoColour(rng));
  return px;
}
