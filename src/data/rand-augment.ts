/**
 * RandAugment (Cubuk et al., "RandAugment: Practical automated data augmentation with a reduced
 * search space", CVPR-W 2020), as torchvision's `transforms.RandAugment(num_ops=n, magnitude=m,
 * num_magnitude_bins=31)` (torchvision/transforms/autoaugment.py): each image gets `n` operations
 * drawn uniformly from the 14 below, every one at magnitude bin `m` of 31 (0–30), signed
 * operations negated with probability ½. Geometric operations use nearest-neighbour sampling and
 * fill with black, as torchvision's defaults.
 *
 * Works on uint8 HWC pixels (1 or 3 channels) and returns a new image. Deviations, each small:
 * - the draws come from lt-bench's seeded `Rng` (op index, then sign), not torch's generator;
 * - colour operations round to the nearest level (PIL's ImageEnhance), where torchvision's tensor
 *   path truncates;
 * - in image-list pipelines it runs after the random-resized crop and flip and before the colour
 *   jitter (the survey's codebases put it after the jitter; the jitter here is fused with
 *   normalisation on float pixels, so RandAugment's uint8 operations go first).
 */
import type { Recipe } from '../recipe/schema.js';
import type { Rng } from '../rng.js';

export interface RandAugmentSpec {
  /** Operations per image (torchvision's num_ops). */
  n: number;
  /** Magnitude bin, 0–30 (torchvision's magnitude with 31 bins). */
  m: number;
}

export const RAND_AUGMENT_BINS = 31;

/** A recipe's RandAugment: `dataset.augment` (in-memory sources) or `dataset.transform` (image lists). */
export function recipeRandAugment(recipe: Recipe): RandAugmentSpec | null {
  return recipe.dataset.augment?.randAugment ?? recipe.dataset.transform?.randAugment ?? null;
}

export const RAND_AUGMENT_OPS = [
  'Identity',
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
  'Rotate',
  'Brightness',
  'Color',
  'Contrast',
  'Sharpness',
  'Posterize',
  'Solarize',
  'AutoContrast',
  'Equalize',
] as const;
export type RandAugmentOp = (typeof RAND_AUGMENT_OPS)[number];

const SIGNED: ReadonlySet<RandAugmentOp> = new Set(['ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Brightness', 'Color', 'Contrast', 'Sharpness']);

/** torchvision's `_augmentation_space` value of bin `m` (before the sign). */
export function opMagnitude(op: RandAugmentOp, m: number, height: number, width: number): number {
  const lin = (hi: number, lo = 0) => lo + ((hi - lo) * m) / (RAND_AUGMENT_BINS - 1);
  switch (op) {
    case 'ShearX':
    case 'ShearY':
      return lin(0.3);
    case 'TranslateX':
      return lin((150 / 331) * width);
    case 'TranslateY':
      return lin((150 / 331) * height);
    case 'Rotate':
      return lin(30);
    case 'Brightness':
    case 'Color':
    case 'Contrast':
    case 'Sharpness':
      return lin(0.9);
    case 'Posterize':
      // 8 − round(bin / ((bins − 1) / 4)): 8 bits at bin 0 down to 4 at bin 30.
      return 8 - Math.round(m / ((RAND_AUGMENT_BINS - 1) / 4));
    case 'Solarize':
      return lin(0, 255);
    default:
      return 0;
  }
}

/** Applies RandAugment to one image; the draws (op, then sign, per operation) come from `rng`. */
export function randAugmentImage(px: Uint8Array, height: number, width: number, channels: number, spec: RandAugmentSpec, rng: Rng): Uint8Array {
  let img = px;
  for (let i = 0; i < spec.n; i++) {
    const op = RAND_AUGMENT_OPS[rng.int(RAND_AUGMENT_OPS.length)];
    let v = opMagnitude(op, spec.m, height, width);
    if (SIGNED.has(op) && rng.int(2) === 1) v = -v;
    img = applyOp(op, v, img, height, width, channels);
  }
  return img;
}

/** One operation at value `v` (signed already). Returns a new image; the input is not changed. */
export function applyOp(op: RandAugmentOp, v: number, px: Uint8Array, h: number, w: number, c: number): Uint8Array {
  switch (op) {
    case 'Identity':
      return px.slice();
    case 'ShearX':
      // Shear about the top-left corner (torchvision passes center=[0, 0]).
      return sampleNearest(px, h, w, c, (x, y) => [x + v * y, y]);
    case 'ShearY':
      return sampleNearest(px, h, w, c, (x, y) => [x, y + v * x]);
    case 'TranslateX': {
      const t = Math.trunc(v);
      return sampleNearest(px, h, w, c, (x, y) => [x - t, y]);
    }
    case 'TranslateY': {
      const t = Math.trunc(v);
      return sampleNearest(px, h, w, c, (x, y) => [x, y - t]);
    }
    case 'Rotate': {
      // Counter-clockwise by v degrees about the image centre (y points down).
      const a = (v * Math.PI) / 180;
      const cos = Math.cos(a);
      const sin = Math.sin(a);
      const cx = w / 2;
      const cy = h / 2;
      return sampleNearest(px, h, w, c, (x, y) => {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        return [cos * dx - sin * dy + cx - 0.5, sin * dx + cos * dy + cy - 0.5];
      });
    }
    case 'Brightness':
      return blend(px, () => 0, 1 + v);
    case 'Color': {
      if (c !== 3) return px.slice();
      const g = grayscale(px, c);
      return blend(px, (i) => g[Math.floor(i / 3)], 1 + v);
    }
    case 'Contrast': {
      const g = grayscale(px, c);
      let sum = 0;
      for (let i = 0; i < g.length; i++) sum += g[i];
      const mean = Math.round(sum / g.length);
      return blend(px, () => mean, 1 + v);
    }
    case 'Sharpness':
      return sharpness(px, h, w, c, 1 + v);
    case 'Posterize': {
      const mask = (0xff << (8 - v)) & 0xff;
      return px.map((p) => p & mask);
    }
    case 'Solarize':
      return px.map((p) => (p >= v ? 255 - p : p));
    case 'AutoContrast':
      return perChannel(px, c, autoContrastLut);
    case 'Equalize':
      return perChannel(px, c, equalizeLut);
  }
}

/** out(x, y) = in(round(f(x, y))), black outside (nearest neighbour, fill 0). */
function sampleNearest(px: Uint8Array, h: number, w: number, c: number, f: (x: number, y: number) => [number, number]): Uint8Array {
  const out = new Uint8Array(px.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [sx, sy] = f(x, y);
      const ix = Math.round(sx);
      const iy = Math.round(sy);
      if (ix < 0 || ix >= w || iy < 0 || iy >= h) continue;
      const o = (y * w + x) * c;
      const s = (iy * w + ix) * c;
      for (let k = 0; k < c; k++) out[o + k] = px[s + k];
    }
  }
  return out;
}

/** ITU-R 601-2 luma (PIL's "L" conversion) per pixel; a single channel is its own grayscale. */
function grayscale(px: Uint8Array, c: number): Float64Array {
  const n = px.length / c;
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = c === 3 ? 0.299 * px[3 * i] + 0.587 * px[3 * i + 1] + 0.114 * px[3 * i + 2] : px[i];
  return g;
}

/** PIL ImageEnhance: degenerate + factor·(image − degenerate), rounded and clamped to 0–255. */
function blend(px: Uint8Array, degenerate: (i: number) => number, factor: number): Uint8Array {
  const out = new Uint8Array(px.length);
  for (let i = 0; i < px.length; i++) {
    const d = degenerate(i);
    out[i] = clamp255(Math.round(d + factor * (px[i] - d)));
  }
  return out;
}

/** Blend with PIL's SMOOTH filter (3×3, centre 5, others 1, /13); the border keeps its pixels. */
function sharpness(px: Uint8Array, h: number, w: number, c: number, factor: number): Uint8Array {
  const smooth = px.slice();
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += px[((y + dy) * w + x + dx) * c + k] * (dx === 0 && dy === 0 ? 5 : 1);
        smooth[(y * w + x) * c + k] = clamp255(Math.round(s / 13));
      }
    }
  }
  return blend(px, (i) => smooth[i], factor);
}

function perChannel(px: Uint8Array, c: number, lutOf: (hist: Uint32Array) => Uint8Array | null): Uint8Array {
  const out = px.slice();
  for (let k = 0; k < c; k++) {
    const hist = new Uint32Array(256);
    for (let i = k; i < px.length; i += c) hist[px[i]]++;
    const lut = lutOf(hist);
    if (!lut) continue;
    for (let i = k; i < px.length; i += c) out[i] = lut[px[i]];
  }
  return out;
}

/** Stretch the channel's [min, max] to [0, 255] (a flat channel stays as it is). */
function autoContrastLut(hist: Uint32Array): Uint8Array | null {
  let lo = 0;
  while (lo < 255 && hist[lo] === 0) lo++;
  let hi = 255;
  while (hi > 0 && hist[hi] === 0) hi--;
  if (hi <= lo) return null;
  // Integer arithmetic: the top level maps to exactly 255 (a float scale can land a hair below).
  return Uint8Array.from({ length: 256 }, (_, p) => clamp255(Math.floor(((p - lo) * 255) / (hi - lo))));
}

/** torchvision's `_equalize_single_image`: step = (pixels − last level's count) // 255. */
function equalizeLut(hist: Uint32Array): Uint8Array | null {
  let last = 255;
  while (last > 0 && hist[last] === 0) last--;
  let total = 0;
  for (let i = 0; i < 256; i++) total += hist[i];
  const step = Math.floor((total - hist[last]) / 255);
  if (step === 0) return null;
  const lut = new Uint8Array(256);
  let cum = 0;
  for (let i = 0; i < 256; i++) {
    // lut[i] = (cumsum(hist)[i − 1] + step // 2) // step, lut[0] = 0
    lut[i] = clamp255(Math.floor((cum + Math.floor(step / 2)) / step));
    cum += hist[i];
  }
  return lut;
}

function clamp255(x: number): number {
  return x < 0 ? 0 : x > 255 ? 255 : x;
}
