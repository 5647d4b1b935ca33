/**
 * The wasm backend's own WebAssembly SIMD kernels (native/wasm-kernels/*.c, built into
 * wasm-kernels.wasm.ts by scripts/build-wasm-kernels.mjs): training-mode batch norm
 * (wasm-batch-norm.ts). One instance per thread, loaded on first use. The module has its own
 * memory, separate from the tfjs heap: callers copy inputs in and outputs out, growing it with
 * `reserve` (it is never shrunk, so it is reused between calls).
 */
import { WASM_KERNELS_BASE64 } from './wasm-kernels.wasm.js';

export interface WasmKernels {
  memory: WebAssembly.Memory;
  /** First free byte (16-aligned) after the module's own data and stack. */
  heapBase: number;
  bn_train_forward(x: number, M: number, C: number, gamma: number, beta: number, eps: number, stats: number, work: number): void;
  bn_train_backward(dy: number, x: number, M: number, C: number, gamma: number, mean: number, invstd: number, grads: number, work: number): void;
  bn_train_work_bytes(C: number): number;
}

let kernels: WasmKernels | null | undefined;

/** This thread's kernels; null where WebAssembly (with SIMD) is unavailable, and callers fall back to JS. */
export function wasmKernels(): WasmKernels | null {
  if (kernels !== undefined) return kernels;
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_KERNELS_BASE64, 'base64')), {});
    const e = inst.exports as unknown as Omit<WasmKernels, 'heapBase'> & { __heap_base: WebAssembly.Global };
    kernels = {
      memory: e.memory,
      heapBase: align16(e.__heap_base.value as number),
      bn_train_forward: e.bn_train_forward,
      bn_train_backward: e.bn_train_backward,
      bn_train_work_bytes: e.bn_train_work_bytes,
    };
  } catch {
    kernels = null;
  }
  return kernels;
}

/** Grows the kernels' memory so that bytes [0, end) exist (this detaches views of the old buffer). */
export function reserve(k: WasmKernels, end: number): void {
  const grow = end - k.memory.buffer.byteLength;
  if (grow > 0) k.memory.grow(Math.ceil(grow / 65536));
}

export const align16 = (n: number): number => (n + 15) & ~15;
