/**
 * Decoding and augmenting file images (ImageNet-LT, Places-LT, iNaturalist) with `sharp`, off the
 * training thread.
 *
 * The transforms follow the survey's loaders (torchvision):
 * - train: RandomResizedCrop(size, scale (0.08, 1), ratio (3/4, 4/3)) → RandomHorizontalFlip →
 *   ColorJitter(0.4, 0.4, 0.4, 0) → Normalize(ImageNet mean/std);
 * - test: Resize(resize, shorter side) → CenterCrop(size) → Normalize.
 * Sizes, jitter and statistics are configurable (small runs use smaller crops).
 *
 * Geometry is bit-exact with torchvision on PIL images (checked against Pillow 9.4 on 500×375
 * JPEGs, train and test): sharp (libjpeg-turbo, like Pillow) decodes only the region the resize
 * reads, and Pillow's bilinear resize runs in WebAssembly (image-resample.ts), the flip folded into
 * it. Options: `resampler: 'libvips'` resizes inside sharp instead (libvips' linear kernel: the
 * same triangle filter, other rounding, within 3 levels when shrinking, up to ~27 when enlarging;
 * slower); `shrinkOnLoad` lets libjpeg decode at reduced scale when the region is at least twice
 * the output (not torchvision: a second resampling step; off by default).
 * Where this deviates from torchvision: colour jitter works on float pixels clamped to [0, 255]
 * after each step instead of PIL's uint8 round trips.
 *
 * Cost per image on one core (scripts/bench-data.ts, 500×375 JPEGs, CPU time): the sharp call is
 * most of it, and most of that is fixed per call (JS options → C++, libuv and libvips thread hand-offs,
 * building libvips operations: ~0.9 ms for a 16×16 JPEG) beside libjpeg's ~1.2 ms of decoding; the
 * WebAssembly resize is ~0.35 ms where libvips' resize chain inside the sharp call cost ~1 ms, and
 * jitter + normalisation in WebAssembly ~0.3 ms where the JS took ~1.8 ms.
 *
 * Every image's random choices come from its own seed (derived from the run seed, the epoch and
 * its position in the epoch), so the result does not depend on which worker decodes it.
 *
 * Parallelism: each worker thread runs one sharp pipeline at a time with libvips concurrency 1;
 * sharp's work runs on Node's libuv threadpool, shared by the whole process and 4 threads by
 * default, and read from UV_THREADPOOL_SIZE only at the first asynchronous I/O — which, in an ES
 * module program, is the loading of its first module. The CLI launcher (bin/lt-bench.js, a
 * CommonJS file for that reason) sizes the pool to the cores given before loading anything.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Sharp } from 'sharp';
import { loadSharp } from '../sharp.js';
import { Rng } from '../rng.js';
import { align16, growMemory } from '../wasm-simd.js';
import { imageKernels } from './image-kernels.js';
import { applyMocoColour, MOCOV2, sampleMocoColour } from './view-mocov2.js';
import { randAugmentImage, type RandAugmentSpec } from './rand-augment.js';
import { planBilinearResize, resampleRGBView, type ResizePlan } from './image-resample.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

export interface TransformOptions {
  /** Output side (224). */
  size: number;
  /** Test: shorter side before the centre crop (256). */
  resize: number;
  /** RandomResizedCrop area range (0.08, 1). */
  scale: [number, number];
  /** RandomResizedCrop aspect-ratio range (3/4, 4/3). */
  ratio: [number, number];
  /** Horizontal-flip probability (0.5). */
  flip: number;
  /** ColorJitter brightness / contrast / saturation (0.4 each; 0 turns one off; iNaturalist uses 0). */
  jitter: { brightness: number; contrast: number; saturation: number };
  mean: number[];
  std: number[];
  /**
   * How the crop is resized. 'pil' (default): Pillow's bilinear filter, bit-exact with torchvision
   * on PIL images, in WebAssembly (image-resample.ts); sharp only decodes the region it needs.
   * 'libvips': sharp's linear kernel inside the sharp pipeline (the same triangle filter with other
   * rounding: within 3 levels of PIL when shrinking, up to about 18 when enlarging; slower).
   */
  resampler?: 'pil' | 'libvips';
  /**
   * JPEG shrink-on-load, as PIL's draft(): decode at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling)
   * when the region to resize is at least that many times the output on both sides, then resize
   * from there. Off by default: torchvision decodes at full size, and the DCT-domain reduction
   * filters differently from the triangle filter. Needs resampler 'pil'; JPEG inputs only.
   */
  shrinkOnLoad?: boolean;
  /** RandAugment on training images after the crop and flip, before the jitter (rand-augment.ts). */
  randAugment?: RandAugmentSpec;
}

export const DEFAULT_TRANSFORM: TransformOptions = {
  size: 224,
  resize: 256,
  scale: [0.08, 1],
  ratio: [3 / 4, 4 / 3],
  flip: 0.5,
  jitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4 },
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
  resampler: 'pil',
  shrinkOnLoad: false,
};

/** Fills the options a recipe left out; a smaller `size` scales `resize` by 256/224. */
export function resolveTransform(partial: Partial<TransformOptions> = {}): TransformOptions {
  const size = partial.size ?? DEFAULT_TRANSFORM.size;
  return {
    ...DEFAULT_TRANSFORM,
    ...partial,
    size,
    resize: partial.resize ?? Math.round((size * 256) / 224),
    jitter: { ...DEFAULT_TRANSFORM.jitter, ...partial.jitter },
  };
}

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** torchvision `RandomResizedCrop.get_params`: 10 tries, then a centre crop with the ratio clamped. */
export function randomResizedCropBox(
  width: number,
  height: number,
  rng: Rng,
  scale: [number, number] = [0.08, 1],
  ratio: [number, number] = [3 / 4, 4 / 3],
): CropBox {
  const area = width * height;
  const logR = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + rng.next() * (scale[1] - scale[0]));
    const aspect = Math.exp(logR[0] + rng.next() * (logR[1] - logR[0]));
    const w = pyRound(Math.sqrt(target * aspect));
    const h = pyRound(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { left: rng.int(width - w + 1), top: rng.int(height - h + 1), width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < ratio[0]) {
    w = width;
    h = pyRound(w / ratio[0]);
  } else if (inRatio > ratio[1]) {
    h = height;
    w = pyRound(h * ratio[1]);
  } else {
    w = width;
    h = height;
  }
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

/** torchvision `Resize(resize)` with an int: the shorter side becomes `resize`, the other int(resize · long / short). */
export function resizeShorterSide(width: number, height: number, resize: number): { width: number; height: number } {
  if (width <= height) return { width: resize, height: Math.trunc((resize * height) / width) };
  return { width: Math.trunc((resize * width) / height), height: resize };
}

/** torchvision `CenterCrop(size)`: top = round((h − size) / 2), left = round((w − size) / 2), Python rounding. */
export function centerCropBox(width: number, height: number, size: number): CropBox {
  if (width < size || height < size)
    throw new Error(`centre crop ${size} is larger than the resized image ${width}x${height}; use resize >= size`);
  return { left: pyRound((width - size) / 2), top: pyRound((height - size) / 2), width: size, height: size };
}

/** Python 3 `round`: halves go to the even neighbour (torchvision's crops use it). */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface JitterPlan {
  /** Order of the three ops (0 brightness, 1 contrast, 2 saturation), torchvision's randperm. */
  order: number[];
  factors: [number, number, number];
}

/** torchvision ColorJitter.get_params: factors uniform in [1 − j, 1 + j] (clamped at 0), random order. */
export function sampleJitter(j: TransformOptions['jitter'], rng: Rng): JitterPlan {
  const order = rng.shuffle([0, 1, 2, 3]).filter((k) => k !== 3); // hue (3) is 0 in the survey
  const f = (x: number) => (x > 0 ? Math.max(0, 1 - x) + rng.next() * (1 + x - Math.max(0, 1 - x)) : 1);
  return { order, factors: [f(j.brightness), f(j.contrast), f(j.saturation)] };
}

/**
 * Applies brightness / contrast / saturation to float RGB pixels in place (values 0..255, HWC).
 * brightness: x·f; contrast: blend with the mean grey level of the image; saturation: blend with
 * each pixel's grey (ITU-R 601-2 luma, as PIL and torchvision), clamped to [0, 255] after each.
 */
export function applyJitter(px: Float32Array, plan: JitterPlan): void {
  const n = px.length / 3;
  for (const op of plan.order) {
    const f = plan.factors[op];
    if (f === 1) continue;
    if (op === 0) {
      for (let i = 0; i < px.length; i++) px[i] = clamp255(px[i] * f);
    } else if (op === 1) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += 0.299 * px[3 * i] + 0.587 * px[3 * i + 1] + 0.114 * px[3 * i + 2];
      mean /= n;
      const m = (1 - f) * mean;
      for (let i = 0; i < px.length; i++) px[i] = clamp255(f * px[i] + m);
    } else {
      for (let i = 0; i < n; i++) {
        const g = (1 - f) * (0.299 * px[3 * i] + 0.587 * px[3 * i + 1] + 0.114 * px[3 * i + 2]);
        px[3 * i] = clamp255(f * px[3 * i] + g);
        px[3 * i + 1] = clamp255(f * px[3 * i + 1] + g);
        px[3 * i + 2] = clamp255(f * px[3 * i + 2] + g);
      }
    }
  }
}

function clamp255(x: number): number {
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

export type Mode = 'train' | 'test';

/**
 * Decodes one image and returns `size × size × 3` uint8 RGB after the geometric transforms
 * (train: random-resized-crop + resize + flip; test: resize + centre crop).
 */
export async function decodeGeometric(
  input: Buffer,
  mode: Mode,
  t: TransformOptions,
  rng: Rng,
): Promise<{ rgb: Buffer; flipped: boolean }> {
  const { rgb, flipped } = await geometric(input, mode, t, rng);
  return { rgb: Buffer.isBuffer(rgb) ? rgb : Buffer.from(rgb), flipped };
}

/**
 * `decodeGeometric`, where `rgb` may be a view into the resampler's memory that the next resample
 * overwrites (transformImage consumes it at once, saving a copy).
 */
async function geometric(input: Buffer, mode: Mode, t: TransformOptions, rng: Rng): Promise<{ rgb: Uint8Array; flipped: boolean }> {
  // The size from the header bytes (microseconds) instead of metadata() (a libvips call, ~6% of the pipeline).
  const size = headerSize(input) ?? (await (await loadSharp())(input, { failOn: 'error' }).metadata());
  const W = size.width;
  const H = size.height;
  if (!W || !H) throw new Error('image has no size');
  // The region of the image that is resized, the size it is resized to, and the window of that kept.
  let region: CropBox;
  let outW: number;
  let outH: number;
  let window: CropBox;
  let flipped = false;
  if (mode === 'train') {
    region = randomResizedCropBox(W, H, rng, t.scale, t.ratio);
    flipped = rng.next() < t.flip;
    outW = outH = t.size;
    window = { left: 0, top: 0, width: t.size, height: t.size };
  } else {
    region = { left: 0, top: 0, width: W, height: H };
    ({ width: outW, height: outH } = resizeShorterSide(W, H, t.resize));
    window = centerCropBox(outW, outH, t.size);
  }
  const rgb =
    (t.resampler ?? 'pil') === 'libvips'
      ? await libvipsResize(input, mode, region, outW, outH, window, flipped)
      : await pilResize(input, t.shrinkOnLoad ? loadShrink(input, region, outW, outH) : 1, W, H, region, outW, outH, window, flipped);
  if (rgb.length !== t.size * t.size * 3) throw new Error(`decoded ${rgb.length} bytes, expected ${t.size * t.size * 3}`);
  return { rgb, flipped };
}

/** Raw RGB out of a sharp pipeline, whatever the input's bands and colour space. */
function rawRgb(p: Sharp): Promise<Buffer> {
  return p.removeAlpha().toColourspace('srgb').raw().toBuffer();
}

/**
 * sharp decodes just the source region the resize reads (a sequential JPEG decode stops after its
 * last row), then Pillow's bilinear resize (WebAssembly) with the flip folded into its first pass.
 * torchvision crops, then resizes the crop as an image of its own: the filter never reads outside
 * the region.
 *
 * With shrink s > 1 (shrinkOnLoad), sharp first reduces the whole image to about 1/s, which libvips
 * does with libjpeg's DCT scaling (1/2, 1/4, 1/8) plus its linear kernel for the rest, and the
 * region becomes the fractional box region × (reduced / full size) of that image (Pillow's resize
 * with a box: the filter may read up to a pixel beyond it). sharp cannot stop at the DCT scaling
 * alone, hence the two resampling steps.
 */
async function pilResize(
  input: Buffer,
  s: number,
  W: number,
  H: number,
  region: CropBox,
  outW: number,
  outH: number,
  window: CropBox,
  flipped: boolean,
): Promise<Uint8Array> {
  const sharp = await loadSharp();
  let plan: ResizePlan;
  let decode: Sharp;
  if (s === 1) {
    plan = planBilinearResize(region.width, region.height, outW, outH, window);
    const src = { ...plan.source, left: plan.source.left + region.left, top: plan.source.top + region.top };
    decode = sharp(input, { failOn: 'error' });
    if (src.left !== 0 || src.top !== 0 || src.width !== W || src.height !== H) decode = decode.extract(src);
  } else {
    const dw = Math.ceil(W / s);
    const dh = Math.ceil(H / s);
    const fx = dw / W;
    const fy = dh / H;
    const box: [number, number, number, number] = [region.left * fx, region.top * fy, (region.left + region.width) * fx, (region.top + region.height) * fy];
    plan = planBilinearResize(dw, dh, outW, outH, window, box);
    decode = sharp(input, { failOn: 'error' }).resize(dw, dh, { fit: 'fill', kernel: 'linear' }).extract(plan.source);
  }
  const raw = await rawRgb(decode);
  return resampleRGBView(plan, raw, flipped);
}

/**
 * The whole-image reduction for shrinkOnLoad: the integer s = floor(region / output) on the tighter
 * axis when that is at least 2 (so the region stays at least the output size), else 1; 1 for
 * anything but a JPEG.
 */
export function loadShrink(input: Uint8Array, region: CropBox, outW: number, outH: number): number {
  if (!(input[0] === 0xff && input[1] === 0xd8)) return 1;
  const s = Math.floor(Math.min(region.width / outW, region.height / outH));
  return s >= 2 ? s : 1;
}

/** The whole transform inside sharp: extract + resize (libvips linear kernel) + flop, or resize + extract. */
async function libvipsResize(
  input: Buffer,
  mode: Mode,
  region: CropBox,
  outW: number,
  outH: number,
  window: CropBox,
  flipped: boolean,
): Promise<Buffer> {
  const sharp = await loadSharp();
  const img = sharp(input, { failOn: 'error' });
  let pipeline: Sharp;
  if (mode === 'train') {
    pipeline = img.extract(region).resize(outW, outH, { fit: 'fill', kernel: 'linear' });
    if (flipped) pipeline = pipeline.flop();
  } else {
    pipeline = img.resize(outW, outH, { fit: 'fill', kernel: 'linear' }).extract(window);
  }
  return rawRgb(pipeline);
}

/**
 * Width and height from a JPEG's SOF marker or a PNG's IHDR, without decoding; null for other
 * formats or unusual files (the caller then asks libvips). JPEG EXIF orientation is ignored, as
 * torchvision's PIL loader ignores it.
 */
export function headerSize(buf: Uint8Array): { width: number; height: number } | null {
  if (buf.length > 24 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) {
    const w = ((buf[16] << 24) | (buf[17] << 16) | (buf[18] << 8) | buf[19]) >>> 0;
    const h = ((buf[20] << 24) | (buf[21] << 16) | (buf[22] << 8) | buf[23]) >>> 0;
    return w > 0 && h > 0 ? { width: w, height: h } : null;
  }
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < buf.length) {
    if (buf[i] !== 0xff) return null;
    const marker = buf[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = (buf[i + 2] << 8) | buf[i + 3];
    // SOF0..SOF15 except DHT (c4), JPG (c8), DAC (cc)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const h = (buf[i + 5] << 8) | buf[i + 6];
      const w = (buf[i + 7] << 8) | buf[i + 8];
      return w > 0 && h > 0 ? { width: w, height: h } : null;
    }
    if (marker === 0xda || len < 2) return null;
    i += 2 + len;
  }
  return null;
}

/** Full per-image transform: geometric, RandAugment and colour jitter (train), normalisation into `out` at `offset`. */
export async function transformImage(
  input: Buffer,
  mode: Mode,
  t: TransformOptions,
  seed: number,
  out: Float32Array,
  offset: number,
  preset: 'basic' | 'mocov2' = 'basic',
): Promise<void> {
  const rng = new Rng(seed);
  if (mode === 'train' && preset === 'mocov2') return mocoV2Into(input, t, rng, out, offset);
  let { rgb } = await geometric(input, mode, t, rng);
  if (mode === 'train' && t.randAugment) rgb = randAugmentImage(rgb, t.size, t.size, 3, t.randAugment, rng);
  const j = t.jitter;
  const plan = mode === 'train' && (j.brightness > 0 || j.contrast > 0 || j.saturation > 0) ? sampleJitter(j, rng) : null;
  jitterNormalizeInto(rgb, plan, t.mean, t.std, out, offset);
}

/**
 * The MoCo v2 view (view-mocov2.ts): the pipeline's own decode + random-resized crop (scale 0.2–1)
 * + resize, then jitter / grayscale / blur / flip in JS on float pixels and normalisation. Slower
 * than the basic path's WebAssembly jitter (the blur dominates); only methods asking for this view
 * pay for it.
 */
async function mocoV2Into(input: Buffer, t: TransformOptions, rng: Rng, out: Float32Array, offset: number): Promise<void> {
  const { rgb } = await geometric(input, 'train', { ...t, scale: MOCOV2.scale, ratio: MOCOV2.ratio, flip: 0 }, rng);
  const px = Float32Array.from(rgb);
  applyMocoColour(px, t.size, t.size, 3, sampleMocoColour(rng));
  for (let i = 0; i < px.length; i++) {
    const c = i % 3;
    out[offset + i] = px[i] / (255 * t.std[c]) - t.mean[c] / t.std[c];
  }
}

/**
 * Colour jitter (`applyJitter`'s arithmetic) and normalisation, written into `out` at `offset`.
 * Runs as WebAssembly SIMD (native/image-kernels/jitter-normalize.c: ~0.2 ms at 224² against ~1.8 ms
 * for the JS below; float32 arithmetic, within ~1e-5 of a grey level of the JS), reading `rgb` in
 * place when it is already in the kernels' memory (the resampler's output); JS where WebAssembly is
 * missing.
 */
export function jitterNormalizeInto(
  rgb: Uint8Array,
  plan: JitterPlan | null,
  mean: number[],
  std: number[],
  out: Float32Array,
  offset: number,
): void {
  const k = imageKernels();
  if (!k) return jitterNormalizeJs(rgb, plan, mean, std, out, offset);
  const n = rgb.length;
  let rgbAt = rgb.byteOffset;
  if (rgb.buffer !== k.memory.buffer) {
    rgbAt = k.heapBase;
    growMemory(k, rgbAt + n);
    new Uint8Array(k.memory.buffer).set(rgb, rgbAt);
  }
  const outAt = align16(rgbAt + n);
  growMemory(k, outAt + 4 * n); // may detach `rgb` if it was a view: only its address is used from here
  const order = plan?.order ?? [];
  const f = plan?.factors ?? [1, 1, 1];
  k.jitter_normalize(
    rgbAt,
    outAt,
    n / 3,
    order[0] ?? -1,
    order[1] ?? -1,
    order[2] ?? -1,
    f[0],
    f[1],
    f[2],
    1 / (255 * std[0]),
    1 / (255 * std[1]),
    1 / (255 * std[2]),
    mean[0] / std[0],
    mean[1] / std[1],
    mean[2] / std[2],
  );
  out.set(new Float32Array(k.memory.buffer, outAt, n), offset);
}

/** Per-thread scratch image, reused: jitter runs synchronously, so images never share it at once. */
let scratch = new Float32Array(0);

/**
 * The JS version of `jitterNormalizeInto` (the fallback, and the reference the kernel is tested
 * against): `applyJitter` on a reused float scratch image filled by a native copy, then
 * normalisation straight into `out`. Measured: a single fused per-pixel pass with the ops in a
 * runtime order was slower (about 2.4 ms vs 1.7 ms at 224²) than these tight single-op loops.
 */
export function jitterNormalizeJs(
  rgb: Uint8Array,
  plan: JitterPlan | null,
  mean: number[],
  std: number[],
  out: Float32Array,
  offset: number,
): void {
  const s0 = 1 / (255 * std[0]);
  const s1 = 1 / (255 * std[1]);
  const s2 = 1 / (255 * std[2]);
  const m0 = mean[0] / std[0];
  const m1 = mean[1] / std[1];
  const m2 = mean[2] / std[2];
  let src: ArrayLike<number> = rgb;
  if (plan) {
    if (scratch.length !== rgb.length) scratch = new Float32Array(rgb.length);
    scratch.set(rgb);
    applyJitter(scratch, plan);
    src = scratch;
  }
  for (let i = 0, o = offset; i < rgb.length; i += 3, o += 3) {
    out[o] = src[i] * s0 - m0;
    out[o + 1] = src[i + 1] * s1 - m1;
    out[o + 2] = src[i + 2] * s2 - m2;
  }
}

/** One image to process: its file, its seed. */
export interface ImageJob {
  file: string;
  seed: number;
}

export interface ChunkRequest {
  id: number;
  mode: Mode;
  transform: TransformOptions;
  jobs: ImageJob[];
  /** View preset of training images (default 'basic'). */
  preset?: 'basic' | 'mocov2';
}

export interface ChunkResult {
  id: number;
  /** `ok.length` images, NHWC float32, in job order with failures left out. */
  pixels: Float32Array;
  /** Per job: whether it produced an image. */
  ok: boolean[];
  /** Failures: file and reason. */
  errors: Array<{ file: string; message: string }>;
}

/** Processes a chunk in the calling thread (the worker uses this; so do tests and the benchmark). */
export async function processChunk(req: ChunkRequest): Promise<ChunkResult> {
  const per = req.transform.size * req.transform.size * 3;
  const out = new Float32Array(req.jobs.length * per);
  const ok: boolean[] = [];
  const errors: ChunkResult['errors'] = [];
  let n = 0;
  for (const job of req.jobs) {
    try {
      // Synchronous: this runs in a worker thread, one image after another, and readFileSync costs
      // less CPU than the promise API's open/stat/read/close round trips through the libuv pool.
      const buf = readFileSync(job.file);
      await transformImage(buf, req.mode, req.transform, job.seed, out, n * per, req.preset);
      ok.push(true);
      n++;
    } catch (e) {
      ok.push(false);
      errors.push({ file: job.file, message: (e as Error).message });
    }
  }
  return { id: req.id, pixels: n === req.jobs.length ? out : out.slice(0, n * per), ok, errors };
}

/** A pool of worker threads running `processChunk`. */
export class ImageWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private turn = 0;
  private closed = false;
  private referenced = true;

  constructor(readonly size = defaultWorkerCount()) {
    if (!(size >= 1)) throw new Error(`image worker pool: size must be >= 1, got ${size}`);
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./image-pipeline.worker.js', import.meta.url));
      w.on('message', (r: ChunkResult) => {
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        this.updateRef();
        p.resolve(r);
      });
      w.on('error', (e) => this.failAll(e));
      this.workers.push(w);
    }
    this.updateRef();
  }

  run(mode: Mode, transform: TransformOptions, jobs: ImageJob[], preset?: 'basic' | 'mocov2'): Promise<ChunkResult> {
    if (this.closed) return Promise.reject(new Error('image worker pool is closed'));
    const id = this.nextId++;
    const w = this.workers[this.turn++ % this.workers.length];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRef();
      const req: ChunkRequest = preset === 'mocov2' ? { id, mode, transform, jobs, preset } : { id, mode, transform, jobs };
      w.postMessage(req);
    });
  }

  /** Splits jobs evenly over the workers and joins the results in order. */
  async runSplit(mode: Mode, transform: TransformOptions, jobs: ImageJob[], preset?: 'basic' | 'mocov2'): Promise<ChunkResult> {
    const k = Math.min(this.workers.length, jobs.length);
    if (k <= 1) return this.run(mode, transform, jobs, preset);
    const step = Math.ceil(jobs.length / k);
    const parts = await Promise.all(
      Array.from({ length: k }, (_, i) => this.run(mode, transform, jobs.slice(i * step, (i + 1) * step), preset)),
    );
    const total = parts.reduce((a, p) => a + p.pixels.length, 0);
    const pixels = new Float32Array(total);
    let at = 0;
    for (const p of parts) {
      pixels.set(p.pixels, at);
      at += p.pixels.length;
    }
    return { id: -1, pixels, ok: parts.flatMap((p) => p.ok), errors: parts.flatMap((p) => p.errors) };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.failAll(new Error('image worker pool closed'));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.updateRef();
  }

  /** Idle workers must not keep the process alive; busy ones must (or awaiting them would end it). */
  private updateRef(): void {
    const busy = this.pending.size > 0;
    if (busy === this.referenced) return;
    this.referenced = busy;
    for (const w of this.workers) busy ? w.ref() : w.unref();
  }
}

/** The cores this process is given: SLURM_CPUS_PER_TASK in a Slurm task (not the node's), else the CPUs it may run on. */
export function coresGiven(env: NodeJS.ProcessEnv = process.env): number {
  const slurm = Number(env.SLURM_CPUS_PER_TASK);
  if (Number.isInteger(slurm) && slurm >= 1) return slurm;
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Threads of libuv's pool, which runs every sharp call of every worker: at most this many images
 * decode at once. The CLI launcher (bin/lt-bench.js) sizes it to the cores given; it must be set
 * before the process's first asynchronous I/O, so a library user sets UV_THREADPOOL_SIZE themselves.
 */
export function libuvPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

/** Cores given minus one for the training thread, at least 1, at most the libuv pool size. */
export function defaultWorkerCount(env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1, Math.min(coresGiven(env) - 1, libuvPoolSize(env)));
}
