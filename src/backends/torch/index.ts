/**
 * The `torch` backend: tfjs kernels over libtorch (native/torch, built with `npm run build:torch`).
 *
 *   await loadTorchBackend();          // registers 'torch' and makes it the active backend
 *   torchBackendStatus();              // { usable, reason?, device? } without throwing
 *
 * Threads: intra-op threads = `threads` option, else LT_TORCH_THREADS, else the number of cores.
 * Device: `device` option or LT_TORCH_DEVICE (`cpu` | `cuda` | `auto`, default `auto` = CUDA when
 * the linked libtorch has it).
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { TorchBackend } from './backend.js';
import { registerTorchKernels } from './kernels.js';
import { registerFusedGradients } from './gradients.js';
import { loadAddon, type CudaReport, type TorchAddon } from './native.js';
import { registerBatchNormTrainGradient } from '../batch-norm-train.js';
import { registerGroupedConvGradient } from '../grouped-conv.js';
import { registerStopGradientGradient } from '../../losses/stop-gradient.js';

export { TorchBackend } from './backend.js';
export type { CudaDevice, CudaReport } from './native.js';
export { autogradChoice, nativeAutogradAvailable, nativeVariableGrads, NativeGraphCutError, DEFAULT_TORCH_AUTOGRAD, type AutogradChoice, type AutogradEngine } from './autograd.js';

export interface TorchOptions { threads?: number; device?: 'cpu' | 'cuda' | 'auto' }

let addon: TorchAddon | undefined;
let loadError: string | undefined;
let instance: TorchBackend | undefined;

function tryAddon(): TorchAddon | undefined {
  if (addon !== undefined || loadError !== undefined) return addon;
  try {
    addon = loadAddon();
  } catch (e) {
    loadError = (e as Error).message;
  }
  return addon;
}

/** Whether the torch backend can be used here, and why not. Never throws; starts nothing. */
export function torchBackendStatus(): { usable: boolean; reason?: string; device?: string } {
  if (instance) return { usable: true, device: instance.device };
  const a = tryAddon();
  if (!a) return { usable: false, reason: loadError };
  return { usable: true };
}

/**
 * The CUDA devices the torch addon sees (name, compute capability, memory) and whether its
 * libtorch has CUDA; null when the addon cannot load or predates the report. Starts no backend.
 */
export function cudaReport(): CudaReport | null {
  const a = tryAddon();
  return a?.cudaDevices ? a.cudaDevices() : null;
}

/**
 * Registers backend 'torch' (priority 4, above tfjs-node's 3) with all kernels and makes it the
 * active backend. Throws an Error saying why when it is unusable.
 */
export async function loadTorchBackend(options: TorchOptions = {}): Promise<void> {
  const a = tryAddon();
  if (!a) throw new Error(loadError);
  const threads = options.threads ?? (Number(process.env.LT_TORCH_THREADS) || os.availableParallelism());
  const device = options.device ?? (process.env.LT_TORCH_DEVICE as TorchOptions['device']) ?? 'auto';
  registerTorchKernels();
  registerFusedGradients();
  registerBatchNormTrainGradient();
  registerGroupedConvGradient();
  registerStopGradientGradient();
  if (tf.findBackend('torch') == null && !(tf.engine().registryFactory as Record<string, unknown>)['torch']) {
    tf.registerBackend('torch', () => {
      instance ??= new TorchBackend(a, threads, device);
      return instance;
    }, 4);
  }
  const ok = await tf.setBackend('torch');
  if (!ok) throw new Error('the torch backend failed to initialise (see the message logged above)');
}
