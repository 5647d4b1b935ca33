/**
 * Training-mode batch norm on the `wasm` backend as two kernels, `LtBatchNormTrain` and
 * `LtBatchNormTrainGrad` (the contract of src/backends/batch-norm-train.ts, which the torch backend
 * also implements), written in JavaScript over the wasm heap.
 *
 * Why JavaScript: the composite (tf.moments + tf.batchNorm forward, the closed-form gradient
 * backward) is about 15 full-size passes, each a separate wasm kernel call with its own output
 * allocation, and profiled at a third of a ResNet-32 step on wasm. These kernels read and write the
 * tensors where they live (views of the heap, no copies) in 3 passes forward (Σx, Σ(x−μ)², y) and
 * 2 backward (Σdy and Σdy·(x−μ), then dx), accumulating in float64. They run on the main thread
 * only; XNNPACK's threads keep the convolutions.
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
