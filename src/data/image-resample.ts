/**
 * PIL's bilinear resize (`Image.resize(size, Image.BILINEAR)`, what torchvision's Resize and
 * RandomResizedCrop do to PIL images) for packed RGB uint8, bit-exact: Pillow's coefficients
 * (src/libImaging/Resample.c: precompute_coeffs, a triangle filter widened by the downscale factor,
 * i.e. antialiased; normalize_coeffs_8bpc, 22-bit fixed point) and its two passes, horizontal into a
 * temporary image of the rows the vertical pass needs, then vertical.
 *
 * The passes run as WebAssembly SIMD (native/image-kernels/pil-bilinear.c, see image-kernels.ts):
 * about 0.35 ms for a 300×250 crop to 224×224 on one core, against about
 * 1 ms for the same resize through libvips inside a sharp pipeline and 1.5 ms in plain JS (`resampleRGBReference`,
 * kept as the reference the tests compare with, and as the fallback where WebAssembly is missing).
 *
 * A plan can compute just a window of the output (Resize(256) then CenterCrop(224) without the
 * pixels the crop drops), and names the source region it reads, so the decoder only has to
 * produce that region.
 */
import { align16, growMemory } from '../wasm-simd.js';
import { imageKernels } from './image-kernels.js';

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** One axis of a resize: per output position, the first input index, the tap count and `ksize` weights. */
export interface AxisCoefficients {
  ksize: number;
  /** Pairs (first input index, number of taps). */
  bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output position (taps beyond the count are 0). */
  weights: Int32Array;
}

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1): resizing
 * input positions [in0, in1) of an axis of `inSize` pixels to `outSize`. in0/in1 are C floats in
 * Pillow, hence the fround.
 */
export function bilinearCoefficients(inSize: number, in0: number, in1: number, outSize: number): AxisCoefficients {
  in0 = Math.fround(in0);
  in1 = Math.fround(in1);
  const scale = Math.fround(in1 - in0) / outSize; // (double)(in1 - in0) of two floats
  const filterscale = scale < 1 ? 1 : scale;
  const support = filterscale; // bilinear support 1.0 × filterscale
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const p = ww !== 0 ? k[x] / ww : k[x];
      weights[xx * ksize + x] = p < 0 ? Math.trunc(-0.5 + p * (1 << PRECISION_BITS)) : Math.trunc(0.5 + p * (1 << PRECISION_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/** A resize of a `srcWidth × srcHeight` RGB image to `outWidth × outHeight`, restricted to an output window. */
export interface ResizePlan {
  /** The source pixels the window depends on: `resampleRGB` takes exactly this region, packed. */
  source: Region;
  /** The window's size (the size of the result). */
  width: number;
  height: number;
  /** Horizontal coefficients of the window's columns, first indices relative to `source.left`. */
  h: AxisCoefficients;
  /** Vertical coefficients of the window's rows, first indices relative to `source.top`. */
  v: AxisCoefficients;
}

/**
 * Plans `Image.resize((outWidth, outHeight), BILINEAR, box)` of a srcWidth × srcHeight image,
 * computing only `window` of the output (default all of it). `box` (x0, y0, x1, y1; default the
 * whole image, fractions allowed) is Pillow's source box.
 */
export function planBilinearResize(
  srcWidth: number,
  srcHeight: number,
  outWidth: number,
  outHeight: number,
  window: Region = { left: 0, top: 0, width: outWidth, height: outHeight },
  box: [number, number, number, number] = [0, 0, srcWidth, srcHeight],
): ResizePlan {
  if (!(srcWidth > 0 && srcHeight > 0 && outWidth > 0 && outHeight > 0)) throw new Error(`bad resize ${srcWidth}x${srcHeight} -> ${outWidth}x${outHeight}`);
  if (window.left < 0 || window.top < 0 || window.width < 1 || window.height < 1 || window.left + window.width > outWidth || window.top + window.height > outHeight)
    throw new Error(`window ${JSON.stringify(window)} is outside the ${outWidth}x${outHeight} output`);
  const h = sliceAxis(bilinearCoefficients(srcWidth, box[0], box[2], outWidth), window.left, window.width);
  const v = sliceAxis(bilinearCoefficients(srcHeight, box[1], box[3], outHeight), window.top, window.height);
  return {
    source: { left: h.first, top: v.first, width: h.end - h.first, height: v.end - v.first },
    width: window.width,
    height: window.height,
    h: h.axis,
    v: v.axis,
  };
}

/** Output positions [at, at + n) of an axis, with first indices made relative to the first input they read. */
function sliceAxis(c: AxisCoefficients, at: number, n: number): { axis: AxisCoefficients; first: number; end: number } {
  let first = Infinity;
  let end = 0;
  for (let i = at; i < at + n; i++) {
    if (c.bounds[2 * i + 1] === 0) continue;
    first = Math.min(first, c.bounds[2 * i]);
    end = Math.max(end, c.bounds[2 * i] + c.bounds[2 * i + 1]);
  }
  if (!(end > first)) throw new Error('resize window reads no input pixels');
  const bounds = c.bounds.slice(2 * at, 2 * (at + n));
  for (let i = 0; i < n; i++) bounds[2 * i] = bounds[2 * i + 1] === 0 ? 0 : bounds[2 * i] - first;
  return { axis: { ksize: c.ksize, bounds, weights: c.weights.slice(at * c.ksize, (at + n) * c.ksize) }, first, end };
}

/** Whether the WebAssembly kernels are in use (otherwise the JS reference runs). */
export function resampleUsesWasm(): boolean {
  return imageKernels() !== null;
}

/**
 * Runs a plan on `src` (the plan's source region, packed RGB) and returns `width × height × 3`
 * bytes; with `flip` the result is mirrored left-right (RandomHorizontalFlip after the resize).
 * The result is a view into the thread's WebAssembly memory, valid until the next call: copy it
 * if it must outlive that.
 */
export function resampleRGBView(plan: ResizePlan, src: Uint8Array, flip = false): Uint8Array {
  const k = imageKernels();
  if (!k) return resampleRGBReference(plan, src, flip);
  const { source, width, height, h, v } = plan;
  if (src.length !== source.width * source.height * 3) throw new Error(`resample: got ${src.length} bytes, the plan reads ${source.width}x${source.height}x3`);
  const rowBytes = width * 3;
  const srcAt = k.heapBase;
  const tmpAt = srcAt + align16(src.length + 1); // + 1: the horizontal pass loads each pixel as 4 bytes
  const dstAt = tmpAt + align16(rowBytes * source.height);
  const hbAt = dstAt + align16(rowBytes * height);
  const hkAt = hbAt + h.bounds.byteLength;
  const vbAt = hkAt + h.weights.byteLength;
  const vkAt = vbAt + v.bounds.byteLength;
  const end = vkAt + v.weights.byteLength;
  growMemory(k, end);
  const m8 = new Uint8Array(k.memory.buffer);
  const m32 = new Int32Array(k.memory.buffer);
  m8.set(src, srcAt);
  m32.set(h.bounds, hbAt >> 2);
  m32.set(h.weights, hkAt >> 2);
  m32.set(v.bounds, vbAt >> 2);
  m32.set(v.weights, vkAt >> 2);
  k.resample_h(srcAt, source.width * 3, source.height, tmpAt, width, hbAt, hkAt, h.ksize, flip ? 1 : 0);
  k.resample_v(tmpAt, rowBytes, height, dstAt, vbAt, vkAt, v.ksize);
  return m8.subarray(dstAt, dstAt + rowBytes * height);
}

/** `resampleRGBView`, copied into its own buffer. */
export function resampleRGB(plan: ResizePlan, src: Uint8Array, flip = false): Buffer {
  return Buffer.from(resampleRGBView(plan, src, flip));
}

/** The same computation in plain JS, Pillow's loops one for one (the reference for the kernels). */
export function resampleRGBReference(plan: ResizePlan, src: Uint8Array, flip = false): Uint8Array {
  const { source, width, height, h, v } = plan;
  const srcStride = source.width * 3;
  const rowBytes = width * 3;
  const tmp = new Uint8Array(rowBytes * source.height);
  for (let y = 0; y < source.height; y++) {
    for (let xx = 0; xx < width; xx++) {
      const xmin = h.bounds[2 * xx];
      const xmax = h.bounds[2 * xx + 1];
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let x = 0; x < xmax; x++) {
        const w = h.weights[xx * h.ksize + x];
        const p = y * srcStride + (xmin + x) * 3;
        s0 += src[p] * w;
        s1 += src[p + 1] * w;
        s2 += src[p + 2] * w;
      }
      const o = y * rowBytes + (flip ? width - 1 - xx : xx) * 3;
      tmp[o] = clip8(s0);
      tmp[o + 1] = clip8(s1);
      tmp[o + 2] = clip8(s2);
    }
  }
  const out = new Uint8Array(rowBytes * height);
  for (let yy = 0; yy < height; yy++) {
    const ymin = v.bounds[2 * yy];
    const ymax = v.bounds[2 * yy + 1];
    for (let i = 0; i < rowBytes; i++) {
      let s = HALF;
      for (let y = 0; y < ymax; y++) s += tmp[(ymin + y) * rowBytes + i] * v.weights[yy * v.ksize + y];
      out[yy * rowBytes + i] = clip8(s);
    }
  }
  return out;
}

/** Pillow's clip8: the fixed-point sum shifted down (arithmetic shift) and clamped to 0..255. */
function clip8(s: number): number {
  const v = s >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
