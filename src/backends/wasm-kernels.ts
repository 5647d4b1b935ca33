/**
 * The wasm backend's own WebAssembly SIMD kernels (native/wasm-kernels/*.c, built into
 * wasm-kernels.wasm.ts by scripts/build-wasm-kernels.mjs): training-mode batch norm
 * (wasm-batch-norm.ts). One instance per thread, loaded on first use. The module has its own
 * memory, separate from the tfjs heap: callers copy inputs in and outputs out, growing it with
 * `growMemory` (src/wasm-simd.ts; it is never shrunk, so it is reused between calls).
 */
import { instantiateSimdModule, type SimdModule } from '../wasm-simd.js';
import { WASM_KERNELS_BASE64 } from './wasm-kernels.wasm.js';

export interface WasmKernels extends SimdModule {
  bn_train_forward(x: number, M: number, C: number, gamma: number, beta: number, eps: number, stats: number, work: number): void;
  bn_train_backward(dy: number, x: number, M: number, C: number, gamma: number, mean: number, invstd: number, grads: number, work: number): void;
  bn_train_work_bytes(C: number): number;
}

let kernels: WasmKernels | null | undefined;

/** This thread's kernels; null where WebAssembly (with SIMD) is unavailable, and callers fall back to JS. */
export function wasmKernels(): WasmKernels | null {
  if (kernels === undefined) kernels = instantiateSimdModule<WasmKernels>(WASM_KERNELS_BASE64, ['bn_train_forward', 'bn_train_backward', 'bn_train_work_bytes']);
  return kernels;
}
