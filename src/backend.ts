/**
 * Picks the tfjs backend: torch → tensorflow-gpu → tensorflow → wasm → cpu, by actually loading
 * each (a package can be installed but unusable), and reports which one runs and why the others
 * do not. `--backend` / `LT_BENCH_BACKEND` forces one.
 */
import type { CudaReport } from './backends/torch/native.js';
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import { UsageError } from './errors.js';

export const BACKEND_ORDER = ['torch', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export interface BackendProbe {
  name: BackendName;
  usable: boolean;
  reason?: string;
  device?: string;
  /** Compute threads (libtorch intra-op threads, the wasm XNNPACK pool), where known. */
  threads?: number;
}

export interface BackendChoice {
  /** lt-bench's name for what runs. */
  name: BackendName;
  /** tfjs's name of the active backend. */
  tfjsName: string;
  device: string;
  /** Compute threads, where the backend says. */
  threads?: number;
  probes: BackendProbe[];
}

const require = createRequire(import.meta.url);

// tfjs's CPU backend prints "Hi, looks like you are running TensorFlow.js in Node.js…" on its
// first tensor write. lt-bench picks and reports its backend itself, so the banner is noise; it is
// silenced here, on import, so that API users whose first op runs before selectBackend (or on the
// default backend) do not see it either. (Setting an env variable in bin/ would not reach them.)
// Every instance (tfjs creates a fresh one whenever it initialises the backend) reads its
// `firstUse` flag from here, always false; its constructor's `firstUse = true` hits the setter.
Object.defineProperty(MathBackendCPU.prototype, 'firstUse', { get: () => false, set: () => {}, configurable: true });

async function importOptional(specifier: string): Promise<any> {
  // A computed specifier keeps TypeScript from resolving modules that are optional or built later.
  return import(specifier);
}

async function activate(name: BackendName): Promise<{ tfjsName: string; device: string; threads?: number }> {
  switch (name) {
    case 'torch': {
      const torch = await importOptional(new URL('./backends/torch/index.js', import.meta.url).href).catch((e: Error) => {
        throw new Error(`torch backend is not part of this build (${e.message.split('\n')[0]})`);
      });
      await torch.loadTorchBackend();
      if (!(await tf.setBackend('torch'))) throw new Error('tf.setBackend("torch") failed');
      const threads = (tf.backend() as { threads?: number }).threads;
      return { tfjsName: 'torch', device: torch.torchBackendStatus?.().device ?? 'cpu', ...(threads ? { threads } : {}) };
    }
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        require.resolve(pkg);
      } catch {
        throw new Error(`${pkg} is not installed (optional; its install downloads libtensorflow)`);
      }
      await importOptional(pkg);
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} is installed but its backend failed to initialise`);
      return { tfjsName: 'tensorflow', device: name === 'tensorflow-gpu' ? 'gpu' : 'cpu' };
    }
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm');
      const kernels = await importOptional(new URL('./backends/wasm-training.js', import.meta.url).href).catch(() => null);
      if (kernels?.initWasm) await kernels.initWasm();
      if (tf.getBackend() !== 'wasm' && !(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
      if (kernels?.registerWasmTrainingKernels) kernels.registerWasmTrainingKernels();
      else if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) throw new Error('wasm lacks the Conv2DBackpropFilter kernel needed for training');
      return { tfjsName: 'wasm', device: 'cpu', ...(kernels?.wasmThreadsInUse ? { threads: kernels.wasmThreadsInUse() as number } : {}) };
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
      return { tfjsName: 'cpu', device: 'cpu' };
  }
}

let current: BackendChoice | null = null;

/** Selects (once per process) and activates the best usable backend, or the forced one. */
export async function selectBackend(forced?: string): Promise<BackendChoice> {
  const want = forced ?? process.env.LT_BENCH_BACKEND;
  if (current && (!want || want === current.name)) return current;
  if (want && !BACKEND_ORDER.includes(want as BackendName)) {
    throw new UsageError(`--backend ${want}: expected one of ${BACKEND_ORDER.join(', ')}`);
  }
  const candidates = want ? [want as BackendName] : [...BACKEND_ORDER];
  const probes: BackendProbe[] = [];
  for (const name of candidates) {
    try {
      const { tfjsName, device, threads } = await activate(name);
      probes.push({ name, usable: true, device, ...(threads ? { threads } : {}) });
      current = { name, tfjsName, device, ...(threads ? { threads } : {}), probes };
      return current;
    } catch (e) {
      probes.push({ name, usable: false, reason: (e as Error).message.split('\n')[0] });
    }
  }
  const why = probes.map((p) => `${p.name}: ${p.reason}`).join('; ');
  throw new UsageError(want ? `backend ${want} is not usable: ${why}` : `no usable tfjs backend: ${why}`);
}

/** Probes every backend without keeping any active beyond the best (for `lt-bench doctor`). */
/**
 * The CUDA devices the torch addon's driver query sees (name, capability, memory) and whether its
 * libtorch has CUDA; null when the torch addon is not built here. Starts no backend.
 */
export async function probeCuda(): Promise<CudaReport | null> {
  const torch = await importOptional(new URL('./backends/torch/index.js', import.meta.url).href).catch(() => null);
  try {
    return torch?.cudaReport?.() ?? null;
  } catch {
    return null;
  }
}

export async function probeBackends(): Promise<BackendProbe[]> {
  const out: BackendProbe[] = [];
  for (const name of BACKEND_ORDER) {
    try {
      const { device, threads } = await activate(name);
      out.push({ name, usable: true, device, ...(threads ? { threads } : {}) });
    } catch (e) {
      out.push({ name, usable: false, reason: (e as Error).message.split('\n')[0] });
    }
  }
  const best = out.find((p) => p.usable);
  if (best) {
    current = null;
    await selectBackend(best.name);
  }
  return out;
}
