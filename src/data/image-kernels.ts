/**
 * The image pipeline's WebAssembly SIMD kernels (native/image-kernels/*.c, built into
 * image-kernels.wasm.ts by scripts/build-image-kernels.mjs): Pillow's bilinear resize passes
 * (image-resample.ts) and colour jitter + normalisation (image-pipeline.ts). One instance per
 * thread, loaded on first use; callers lay out their buffers in its memory from `heapBase` on.
 */
import { IMAGE_KERNELS_WASM_BASE64 } from './image-kernels.wasm.js';

export interface ImageKernels {
  memory: WebAssembly.Memory;
  /** First free byte (16-aligned) after the module's own data and stack. */
  heapBase: number;
  resample_h(src: number, srcStride: number, rows: number, dst: number, outW: number, bounds: number, kk: number, ksize: number, flip: number): void;
  resample_v(src: number, rowBytes: number, outH: number, dst: number, bounds: number, kk: number, ksize: number): void;
  jitter_normalize(
    rgb: number,
    out: number,
    npix: number,
    o0: number,
    o1: number,
    o2: number,
    fb: number,
    fc: number,
    fs: number,
    s0: number,
    s1: number,
    s2: number,
    m0: number,
    m1: number,
    m2: number,
  ): void;
}

let kernels: ImageKernels | null | undefined;

/** This thread's kernels; null where WebAssembly (with SIMD) is unavailable, and callers fall back to JS. */
export function imageKernels(): ImageKernels | null {
  if (kernels !== undefined) return kernels;
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(IMAGE_KERNELS_WASM_BASE64, 'base64')), {});
    const e = inst.exports as unknown as Omit<ImageKernels, 'heapBase'> & { __heap_base: WebAssembly.Global };
    kernels = {
      memory: e.memory,
      heapBase: align16(e.__heap_base.value as number),
      resample_h: e.resample_h,
      resample_v: e.resample_v,
      jitter_normalize: e.jitter_normalize,
    };
  } catch {
    kernels = null;
  }
  return kernels;
}

/** Grows the kernels' memory so that bytes [0, end) exist. */
export function ensureMemory(k: ImageKernels, end: number): void {
  const grow = end - k.memory.buffer.byteLength;
  if (grow > 0) k.memory.grow(Math.ceil(grow / 65536));
}

export const align16 = (n: number): number => (n + 15) & ~15;
