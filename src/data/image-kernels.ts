/**
 * The image pipeline's WebAssembly SIMD kernels (native/image-kernels/*.c, built into
 * image-kernels.wasm.ts by scripts/build-wasm-kernels.mjs): Pillow's bilinear resize passes
 * (image-resample.ts) and colour jitter + normalisation (image-pipeline.ts). One instance per
 * thread, loaded on first use; callers lay out their buffers in its memory from `heapBase` on.
 */
import { instantiateSimdModule, type SimdModule } from '../wasm-simd.js';
import { IMAGE_KERNELS_WASM_BASE64 } from './image-kernels.wasm.js';

export interface ImageKernels extends SimdModule {
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
  if (kernels === undefined) kernels = instantiateSimdModule<ImageKernels>(IMAGE_KERNELS_WASM_BASE64, ['resample_h', 'resample_v', 'jitter_normalize']);
  return kernels;
}
