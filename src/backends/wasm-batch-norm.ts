/**
 * Training-mode batch norm on the `wasm` backend as two kernels, `LtBatchNormTrain` and
 * `LtBatchNormTrainGrad` (the contract of src/backends/batch-norm-train.ts, which the torch backend
 * also implements): WebAssembly SIMD kernels (native/wasm-kernels/batch-norm.c, via
 * wasm-kernels.ts), with the original JavaScript loops below as the fallback where the module
 * cannot be instantiated or grown, or when switched off (`setBatchNormSimd(false)`,
 * LT_WASM_BN=js).
 *
 * Why not the composite: tf.moments + tf.batchNorm forward and the closed-form gradient backward
 * are about 15 full-size passes, each a separate wasm kernel call with its own output allocation,
 * a third of a ResNet-32 step on wasm. The JavaScript loops read and write the tensors where they
 * live (views of the heap) in 3 passes forward (Σx, Σ(x−μ)², y) and 2 backward (Σdy and
 * Σdy·(x−μ), then dx), accumulating in float64, but V8 does not vectorise them (~4 ns per
 * element-pass). The SIMD kernels vectorise across channels (any C; 16 at a time), take the forward
 * statistics in one pass over memory (block-wise, merged with Chan et al.'s update) and the
 * backward sums in float64 SIMD.
 *
 * Memory: the SIMD module has its own linear memory, and the inputs are copied in and the outputs
 * out (TypedArray.set, ~0.2–0.4 ns/element). Running it on the tfjs heap itself would save the
 * copies, but that heap grows under us and is a SharedArrayBuffer in the threaded build (the
 * module would need a shared-memory variant and a guarantee that it never touches its shadow
 * stack); copying is the safe choice. The module's memory grows to the largest call and is reused.
 * Both kernels run on the main thread only; XNNPACK's threads keep the convolutions.
 *
 * Per-call CPU time (median of 15, `node dist/scripts/bench-wasm-batch-norm.js`, on a loaded
 * 2-core machine), JS → SIMD, copies included:
 *   [128,32,32,16]  forward 39.9 → 4.2 ms, backward 44.4 → 6.5 ms
 *   [128,16,16,32]  forward 12.2 → 1.9 ms, backward 23.0 → 3.7 ms
 *   [128,8,8,64]    forward  6.8 → 0.6 ms, backward  8.5 → 1.1 ms
 * (the kernels alone, without the copies: forward 0.6–1.1 ns/element, backward 1.3–2 ns/element).
 * One ResNet-32 step, `node dist/scripts/bench-train.js --profile --worker wasm:2 --batch 128`
 * (wall time per kernel, 31 calls each, same loaded machine, so everything is ~2.5× the idle
 * figures): LtBatchNormTrain 1229 → 94 / 144 ms, LtBatchNormTrainGrad 1604 → 253 / 192 ms (two
 * SIMD runs; LT_WASM_BN=js for the JS figures).
 *
 *   forward:  μ = Σx/M, σ² = Σ(x−μ)²/M (biased), s = 1/√(σ² + ε), y = (x−μ)·s·γ + β
 *   backward: dβ = Σdy, dγ = s·Σdy·(x−μ),
 *             dx = γ·s·(dy − Σdy/M − (x−μ)·s²·Σdy·(x−μ)/M)      (M = N·H·W, per channel)
 *
 * Uses the wasm backend's `makeOutput` and `typedArrayFromHeap` (tfjs-backend-wasm 4.22.0, pinned;
 * test/backends/wasm-training.test.ts checks them). Outputs are allocated before any view is
 * taken, because an allocation can grow (and so detach) the heap.
 */
import type * as tf from '@tensorflow/tfjs';
import type * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { align16, growMemory } from '../wasm-simd.js';
import { wasmKernels, type WasmKernels } from './wasm-kernels.js';

type BackendWasm = tfwasm.BackendWasm;
type TensorInfo = tf.TensorInfo;

interface KernelArgs { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }

function float32(info: TensorInfo, name: string): void {
  if (info.dtype !== 'float32') throw new Error(`LtBatchNormTrain on wasm: ${name} must be float32, got ${info.dtype}`);
}

export function batchNormTrainWasm({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const b = backend as BackendWasm;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
  float32(x, 'x');
  const C = x.shape[x.shape.length - 1];
  const M = x.shape.length === 0 ? 0 : x.shape.slice(0, -1).reduce((a, d) => a * d, 1);
  const yInfo = b.makeOutput(x.shape, 'float32');
  const meanInfo = b.makeOutput([C], 'float32');
  const varInfo = b.makeOutput([C], 'float32');
  const invInfo = b.makeOutput([C], 'float32');
  const xs = b.typedArrayFromHeap(x) as Float32Array;
  const g = b.typedArrayFromHeap(gamma) as Float32Array;
  const bt = b.typedArrayFromHeap(beta) as Float32Array;
  const y = b.typedArrayFromHeap(yInfo) as Float32Array;
  const meanOut = b.typedArrayFromHeap(meanInfo) as Float32Array;
  const varOut = b.typedArrayFromHeap(varInfo) as Float32Array;
  const invOut = b.typedArrayFromHeap(invInfo) as Float32Array;

  const k = simdKernels(x.shape.length, M * C);
  if (k && forwardSimd(k, xs, M, C, g, bt, eps, y, meanOut, varOut, invOut)) return [yInfo, meanInfo, varInfo, invInfo];
  const acc = new Float64Array(C);
  for (let i = 0, p = 0; i < M; i++) for (let c = 0; c < C; c++, p++) acc[c] += xs[p];
  const mean = new Float64Array(C);
  for (let c = 0; c < C; c++) mean[c] = M > 0 ? acc[c] / M : 0;
  acc.fill(0);
  for (let i = 0, p = 0; i < M; i++) {
    for (let c = 0; c < C; c++, p++) {
      const d = xs[p] - mean[c];
      acc[c] += d * d;
    }
  }
  const scale = new Float32Array(C);
  const shift = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const variance = M > 0 ? acc[c] / M : 0;
    const inv = 1 / Math.sqrt(variance + eps);
    meanOut[c] = mean[c];
    varOut[c] = variance;
    invOut[c] = inv;
    scale[c] = inv * g[g.length === 1 ? 0 : c];
    shift[c] = bt[bt.length === 1 ? 0 : c] - mean[c] * scale[c];
  }
  for (let i = 0, p = 0; i < M; i++) for (let c = 0; c < C; c++, p++) y[p] = xs[p] * scale[c] + shift[c];
  return [yInfo, meanInfo, varInfo, invInfo];
}

export function batchNormTrainGradWasm({ inputs, backend }: KernelArgs): TensorInfo[] {
  const b = backend as BackendWasm;
  const { dy, x, gamma, mean, invstd } = inputs as { dy: TensorInfo; x: TensorInfo; gamma: TensorInfo; mean: TensorInfo; invstd: TensorInfo };
  float32(dy, 'dy');
  float32(x, 'x');
  const C = x.shape[x.shape.length - 1];
  const M = x.shape.slice(0, -1).reduce((a, d) => a * d, 1);
  const dxInfo = b.makeOutput(x.shape, 'float32');
  const dgInfo = b.makeOutput([C], 'float32');
  const dbInfo = b.makeOutput([C], 'float32');
  const dys = b.typedArrayFromHeap(dy) as Float32Array;
  const xs = b.typedArrayFromHeap(x) as Float32Array;
  const g = b.typedArrayFromHeap(gamma) as Float32Array;
  const mu = b.typedArrayFromHeap(mean) as Float32Array;
  const inv = b.typedArrayFromHeap(invstd) as Float32Array;
  const dx = b.typedArrayFromHeap(dxInfo) as Float32Array;
  const dgamma = b.typedArrayFromHeap(dgInfo) as Float32Array;
  const dbeta = b.typedArrayFromHeap(dbInfo) as Float32Array;

  const kk = simdKernels(x.shape.length, M * C);
  if (kk && backwardSimd(kk, dys, xs, M, C, g, mu, inv, dx, dgamma, dbeta)) return [dxInfo, dgInfo, dbInfo];
  const sumDy = new Float64Array(C);
  const sumDyXc = new Float64Array(C);
  for (let i = 0, p = 0; i < M; i++) {
    for (let c = 0; c < C; c++, p++) {
      const d = dys[p];
      sumDy[c] += d;
      sumDyXc[c] += d * (xs[p] - mu[c]);
    }
  }
  // dx = a·dy + k·x + d per channel, folded from the formula in the header.
  const a = new Float32Array(C);
  const k = new Float32Array(C);
  const d0 = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const s = inv[c];
    const gs = g[g.length === 1 ? 0 : c] * s;
    const t = (s * s * sumDyXc[c]) / M;
    a[c] = gs;
    k[c] = -gs * t;
    d0[c] = gs * (mu[c] * t - sumDy[c] / M);
    dgamma[c] = s * sumDyXc[c];
    dbeta[c] = sumDy[c];
  }
  for (let i = 0, p = 0; i < M; i++) for (let c = 0; c < C; c++, p++) dx[p] = a[c] * dys[p] + k[c] * xs[p] + d0[c];
  return [dxInfo, dgInfo, dbInfo];
}

let simdWanted = process.env.LT_WASM_BN !== 'js';

/** Turns the SIMD kernels on or off (off: the JavaScript loops above), e.g. to compare them. */
export function setBatchNormSimd(on: boolean): void {
  simdWanted = on;
}

/** The path the two kernels take now: 'simd' unless switched off or WebAssembly SIMD is missing. */
export function batchNormTrainPath(): 'simd' | 'js' {
  return simdWanted && wasmKernels() !== null ? 'simd' : 'js';
}

function simdKernels(rank: number, size: number): WasmKernels | null {
  return simdWanted && rank > 0 && size > 0 ? wasmKernels() : null;
}

/** Per-channel copy of a [C] or [1] parameter into the kernels' memory at float index `at`. */
function putChannels(f: Float32Array, at: number, v: Float32Array, C: number): void {
  if (v.length === 1) f.fill(v[0], at, at + C);
  else f.set(v.subarray(0, C), at);
}

/**
 * Lays out [work | 4 per-channel vectors of C | 3C stats | `big` arrays of M·C] in the kernels'
 * memory, grown as needed; false when it cannot grow (the caller then runs the JS loops).
 */
function layout(k: WasmKernels, C: number, n: number, big: number): { work: number; p: number[]; stats: number; big: number[] } | null {
  const work = k.heapBase;
  const p: number[] = [];
  let at = align16(work + k.bn_train_work_bytes(C));
  for (let i = 0; i < 4; i++, at += align16(4 * C)) p.push(at);
  const stats = at;
  at += align16(12 * C);
  const bigs: number[] = [];
  for (let i = 0; i < big; i++, at += align16(4 * n)) bigs.push(at);
  try {
    growMemory(k, at);
  } catch {
    return null; // RangeError: the module's memory cannot grow that far
  }
  return { work, p, stats, big: bigs };
}

function forwardSimd(
  k: WasmKernels, xs: Float32Array, M: number, C: number, g: Float32Array, bt: Float32Array, eps: number,
  y: Float32Array, meanOut: Float32Array, varOut: Float32Array, invOut: Float32Array,
): boolean {
  const n = M * C;
  const l = layout(k, C, n, 1);
  if (!l) return false;
  const f = new Float32Array(k.memory.buffer); // after the growth in layout()
  const [pg, pb] = l.p;
  const px = l.big[0];
  putChannels(f, pg / 4, g, C);
  putChannels(f, pb / 4, bt, C);
  f.set(xs, px / 4);
  k.bn_train_forward(px, M, C, pg, pb, eps, l.stats, l.work);
  y.set(f.subarray(px / 4, px / 4 + n));
  const s = l.stats / 4;
  meanOut.set(f.subarray(s, s + C));
  varOut.set(f.subarray(s + C, s + 2 * C));
  invOut.set(f.subarray(s + 2 * C, s + 3 * C));
  return true;
}

function backwardSimd(
  k: WasmKernels, dys: Float32Array, xs: Float32Array, M: number, C: number, g: Float32Array, mu: Float32Array,
  inv: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
): boolean {
  const n = M * C;
  const l = layout(k, C, n, 2);
  if (!l) return false;
  const f = new Float32Array(k.memory.buffer);
  const [pg, pm, pi] = l.p;
  const [pdy, px] = l.big;
  putChannels(f, pg / 4, g, C);
  putChannels(f, pm / 4, mu, C);
  putChannels(f, pi / 4, inv, C);
  f.set(dys, pdy / 4);
  f.set(xs, px / 4);
  k.bn_train_backward(pdy, px, M, C, pg, pm, pi, l.stats, l.work);
  dx.set(f.subarray(pdy / 4, pdy / 4 + n));
  const s = l.stats / 4;
  dgamma.set(f.subarray(s, s + C));
  dbeta.set(f.subarray(s + C, s + 2 * C));
  return true;
}
