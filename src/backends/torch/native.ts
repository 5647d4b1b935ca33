/**
 * Loading the libtorch addon (native/torch, built by `npm run build:torch`) and its call protocol.
 * See native/torch/src/table.h: arguments go through a shared Float64Array, results come back in
 * another one as [count, (id, dtype, rank, dims...)...].
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TorchAddon {
  init(args: Float64Array, out: Float64Array, threads: number, device: string): {
    device: string; threads: number; torchVersion: string; mkldnn: boolean; cuda: boolean; ops: string[];
  };
  fromData(values: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: number): number;
  toData(id: number): Float32Array | Int32Array | Uint8Array;
  free(id: number): void;
  run(opcode: number, nargs: number): void;
  live(): number;
  reset(): void;
  /** Layout copies (permuted views made contiguous) and their bytes, per op name, since the last call; restarts the count. */
  takeLayoutCopies(): { copies: Record<string, number>; bytes: Record<string, number> };
  /** libtorch autocast for every later kernel: 0 fp32, 1 bf16, 2 fp16 (CUDA only; throws on CPU). Absent in addons built before it. */
  setAutocast?(mode: number): void;
  /** CUDA devices as the driver reports them (libcuda, opened at run time). Absent in addons built before it. */
  cudaDevices?(): CudaReport;
  /**
   * Native autograd (absent in addons built before it). Grad mode of every later kernel: 0 inference
   * (no graph, the default), 1 no grad, 2 recording libtorch's autograd graph.
   */
  setGradMode?(mode: 0 | 1 | 2): void;
  /** Makes tensor `id` a leaf that requires grad (or not). */
  setRequiresGrad?(id: number, on: boolean): void;
  requiresGrad?(id: number): boolean;
  /** One backward pass from scalar `id`; false when it reaches no tensor that requires grad. */
  backward?(id: number): boolean;
  /** The accumulated .grad of leaf `id` as a new tensor id (0: none); the leaf's .grad is reset. */
  takeGrad?(id: number): number;
  /**
   * One fused SGD step (src/train/sgd.ts's arithmetic) over every parameter: returns the new
   * parameter ids, then the new momentum-buffer ids (0 without momentum). Absent in older addons.
   */
  sgdStep?(params: number[], grads: number[], bufs: number[], lrs: number[], wds: number[], momentum: number, nesterov: boolean): number[];
}

export interface CudaDevice { index: number; name: string; capability: string; memoryMB: number }
/** `libtorchCuda`: the linked libtorch was built with CUDA; `driver`: the driver's CUDA version. */
export interface CudaReport { libtorchCuda: boolean; driver: string | null; devices: CudaDevice[]; reason?: string }

export const DTYPE_CODE = { float32: 0, int32: 1, bool: 2 } as const;
export const CODE_DTYPE = ['float32', 'int32', 'bool'] as const;
export type NativeDType = keyof typeof DTYPE_CODE;

/** Where the built addon is looked for: LT_TORCH_ADDON, else native/torch/build/Release above this file. */
export function addonPath(): string {
  if (process.env.LT_TORCH_ADDON) return process.env.LT_TORCH_ADDON;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'native', 'torch', 'build', 'Release', 'lt_torch.node');
    if (fs.existsSync(candidate)) return candidate;
    if (fs.existsSync(path.join(dir, 'native', 'torch', 'binding.gyp'))) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve('native', 'torch', 'build', 'Release', 'lt_torch.node');
}

/** Loads the addon or throws an Error saying why it is unusable. */
export function loadAddon(): TorchAddon {
  const file = addonPath();
  if (!fs.existsSync(file)) {
    throw new Error(`the torch addon is not built (${file} missing): run \`npm run build:torch\` (needs libtorch: apt-get install libtorch-dev, or LIBTORCH=/path)`);
  }
  try {
    return createRequire(import.meta.url)(file) as TorchAddon;
  } catch (e) {
    const msg = (e as Error).message;
    const why = /libtorch|libc10|cannot open shared object/.test(msg)
      ? 'a libtorch library is missing or not on the loader path'
      : /undefined symbol/.test(msg) ? 'the addon does not match the installed libtorch (rebuild with `npm run build:torch`)' : 'it failed to load';
    throw new Error(`the torch addon at ${file} is unusable: ${why} (${msg.split('\n')[0]})`);
  }
}
