/**
 * Training kernels for the `wasm` backend of @tensorflow/tfjs-backend-wasm 4.22.0.
 *
 * The shipped wasm backend cannot train a CNN: it has no `Conv2DBackpropFilter` (the gradient of
 * every conv throws), its `Conv2DBackpropInput` is a scalar C loop, it lacks `UnsortedSegmentSum`
 * (so the gradient of `tf.gather` throws), and the stock `FusedBatchNorm` gradient tiles 1-D
 * statistics to the full activation shape, which costs seconds a step on wasm.
 * Its MaxPoolGrad is wrong for windows whose values are all ≤ 0 and breaks ties unlike PyTorch
 * (see `maxPoolGrad`); the ImageNet ResNets' stem max-pool needs it, so it is replaced.
 *
 * Both conv backprops are rewritten as one call of the backend's own forward convolution
 * (XNNPACK, SIMD and, in the threaded build, multi-threaded):
 *  - dW: correlate x with dy. Treat x's input channels as the batch and the batch as the channels,
 *    use dy (laid out [OH, OW, N, Co]) as the filter, dilation = the forward stride, stride 1.
 *  - dx: the full correlation of dy, dilated by the stride, with the spatially flipped filter whose
 *    in/out channels are swapped (a transposed convolution).
 * Geometry comes from the tensor shapes plus tfjs's own pad rules (`computeConv2DInfo`), because the
 * Conv2D gradient does not forward `dimRoundingMode` to the backprop kernels.
 *
 * This file reaches into the wasm backend's internals (`dataIdMap`, `makeOutput`,
 * `typedArrayFromHeap`, the exported C symbol `Conv2D`); `@tensorflow/tfjs-backend-wasm` is pinned
 * to 4.22.0 for that reason, and `test/backends/wasm-training.test.ts` checks these internals.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { registerThreadedWasmBackend, restoreStockWasmBackend } from './wasm-threaded.js';
import { registerFusedGradients } from './torch/gradients.js';
import { BATCH_NORM_TRAIN_KERNEL, registerBatchNormTrainGradient } from './batch-norm-train.js';
import { batchNormTrainGradWasm, batchNormTrainWasm } from './wasm-batch-norm.js';

type BackendWasm = tfwasm.BackendWasm;
type TensorInfo = tf.TensorInfo;

/** Signature of the C function `Conv2D` exported by the wasm binary (see kernels/Conv2D.js). */
type WasmConv2d = (
  xId: number, batch: number, inH: number, inW: number, filterId: number, fh: number, fw: number,
  padTop: number, padRight: number, padBottom: number, padLeft: number, isSamePad: number,
  dilH: number, dilW: number, strideH: number, strideW: number, inC: number, outC: number,
  outId: number,
) => void;

const conv2dFns = new WeakMap<object, WasmConv2d>();

function wasmConv2dFn(backend: BackendWasm): WasmConv2d {
  let fn = conv2dFns.get(backend);
  if (fn === undefined) {
    fn = backend.wasm.cwrap('Conv2D', null, new Array(19).fill('number')) as unknown as WasmConv2d;
    conv2dFns.set(backend, fn);
  }
  return fn;
}

function idOf(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.id;
}

/** Runs another registered wasm kernel from inside a kernel (the tape is off there). */
function runWasmKernel(
  backend: BackendWasm, name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap,
): TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (kernel == null) throw new Error(`wasm kernel ${name} is not registered`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

function disposeInfo(backend: BackendWasm, t: TensorInfo): void {
  backend.disposeData(t.dataId);
}

interface ConvGeometry {
  padTop: number; padBottom: number; padLeft: number; padRight: number;
  strideH: number; strideW: number; dilH: number; dilW: number;
}

/**
 * NHWC x [N,H,W,C] (*) HWIO filter [FH,FW,C,K] with explicit non-negative pads, through XNNPACK.
 * The output size follows the usual floor rule.
 */
function forwardConv(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, g: ConvGeometry): TensorInfo {
  const [n, h, w, c] = x.shape;
  const [fh, fw, fc, k] = filter.shape;
  if (fc !== c) throw new Error(`forwardConv: filter has ${fc} input channels, x has ${c}`);
  const effH = (fh - 1) * g.dilH + 1;
  const effW = (fw - 1) * g.dilW + 1;
  const oh = Math.floor((h + g.padTop + g.padBottom - effH) / g.strideH) + 1;
  const ow = Math.floor((w + g.padLeft + g.padRight - effW) / g.strideW) + 1;
  const out = backend.makeOutput([n, oh, ow, k], 'float32');
  wasmConv2dFn(backend)(
    idOf(backend, x), n, h, w, idOf(backend, filter), fh, fw,
    g.padTop, g.padRight, g.padBottom, g.padLeft, 0,
    g.dilH, g.dilW, g.strideH, g.strideW, c, k, idOf(backend, out));
  return out;
}

function assertChannelsLast(dataFormat: unknown, kernel: string): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`wasm ${kernel}: only dataFormat 'NHWC' is supported (got '${String(dataFormat)}')`);
  }
}

/** Pads of the forward convolution, by tfjs's rules (`same` puts the odd pixel bottom/right). */
function forwardPads(
  inShape: number[], filterShape: number[], strides: number | [number, number],
  pad: tf.backend_util.ExplicitPadding | 'valid' | 'same' | number, dimRoundingMode?: 'floor' | 'round' | 'ceil',
): { top: number; left: number; strideH: number; strideW: number } {
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number], filterShape as [number, number, number, number],
    strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  return { top: info.padInfo.top, left: info.padInfo.left, strideH: info.strideHeight, strideW: info.strideWidth };
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter
// ---------------------------------------------------------------------------------------------

function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertChannelsLast(attrs.dataFormat, 'Conv2DBackpropFilter');
  const [fh, fw, ci, co] = attrs.filterShape;
  const [n, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  const p = forwardPads(x.shape, attrs.filterShape, attrs.strides, attrs.pad, attrs.dimRoundingMode);
  // Rows of x the forward conv never reads (valid/explicit pads with a stride that does not divide
  // evenly) make the bottom pad negative: crop them instead.
  const padBottom = fh + (oh - 1) * p.strideH - h - p.top;
  const padRight = fw + (ow - 1) * p.strideW - w - p.left;
  let xUsed = x;
  if (padBottom < 0 || padRight < 0) {
    const size = [n, h + Math.min(0, padBottom), w + Math.min(0, padRight), ci];
    xUsed = runWasmKernel(backend, 'Slice', { x }, { begin: [0, 0, 0, 0], size });
  }
  const xT = runWasmKernel(backend, 'Transpose', { x: xUsed }, { perm: [3, 1, 2, 0] }); // [Ci,H,W,N]
  if (xUsed !== x) disposeInfo(backend, xUsed);
  const dyT = runWasmKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [OH,OW,N,Co]
  const dwT = forwardConv(backend, xT, dyT, {
    padTop: p.top, padBottom: Math.max(0, padBottom), padLeft: p.left, padRight: Math.max(0, padRight),
    strideH: 1, strideW: 1, dilH: p.strideH, dilW: p.strideW,
  }); // [Ci,FH,FW,Co]
  disposeInfo(backend, xT);
  disposeInfo(backend, dyT);
  if (dwT.shape[1] !== fh || dwT.shape[2] !== fw) {
    disposeInfo(backend, dwT);
    throw new Error(`wasm Conv2DBackpropFilter: geometry mismatch (got ${dwT.shape}, want [${ci},${fh},${fw},${co}])`);
  }
  const dw = runWasmKernel(backend, 'Transpose', { x: dwT }, { perm: [1, 2, 0, 3] });
  disposeInfo(backend, dwT);
  return dw;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput
// ---------------------------------------------------------------------------------------------

/** W[FH,FW,Ci,Co] → W'[FH,FW,Co,Ci] with W'[a,b,o,i] = W[FH-1-a, FW-1-b, i, o]. */
function flippedTransposedFilter(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [fh, fw, ci, co] = filter.shape;
  const out = backend.makeOutput([fh, fw, co, ci], 'float32');
  // Views are taken after the allocation: a heap growth detaches older views.
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  for (let a = 0; a < fh; a++) {
    for (let b = 0; b < fw; b++) {
      const srcBase = ((fh - 1 - a) * fw + (fw - 1 - b)) * ci * co;
      const dstBase = (a * fw + b) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) dst[dstBase + o * ci + i] = src[srcBase + i * co + o];
      }
    }
  }
  return out;
}

/**
 * dy [N,OH,OW,C] dilated by the stride (s-1 zeros between neighbours), then cropped by
 * cropTop/cropLeft rows/cols at the start and to outH × outW.
 */
function dilateAndCrop(
  backend: BackendWasm, dy: TensorInfo, sH: number, sW: number,
  cropTop: number, cropLeft: number, outH: number, outW: number,
): TensorInfo {
  const [n, oh, ow, c] = dy.shape;
  const out = backend.makeOutput([n, outH, outW, c], 'float32');
  const src = backend.typedArrayFromHeap(dy) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const dr = r * sH - cropTop;
      if (dr < 0 || dr >= outH) continue;
      for (let q = 0; q < ow; q++) {
        const dq = q * sW - cropLeft;
        if (dq < 0 || dq >= outW) continue;
        const s0 = ((b * oh + r) * ow + q) * c;
        const d0 = ((b * outH + dr) * outW + dq) * c;
        for (let k = 0; k < c; k++) dst[d0 + k] = src[s0 + k];
      }
    }
  }
  return out;
}

function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  assertChannelsLast(attrs.dataFormat, 'Conv2DBackpropInput');
  const inputShape = attrs.inputShape;
  const [, h, w] = inputShape;
  const [fh, fw] = filter.shape;
  const [, oh, ow] = dy.shape;
  const p = forwardPads(inputShape, filter.shape, attrs.strides, attrs.pad, attrs.dimRoundingMode);
  // Full correlation of the dilated dy with the flipped filter: pad fh-1-top in front; the back
  // pad makes the output exactly h rows. Negative pads become crops.
  const dilH = (oh - 1) * p.strideH + 1;
  const dilW = (ow - 1) * p.strideW + 1;
  const padTop = fh - 1 - p.top;
  const padLeft = fw - 1 - p.left;
  const padBottom = h + fh - 1 - dilH - padTop;
  const padRight = w + fw - 1 - dilW - padLeft;
  const cropTop = Math.max(0, -padTop);
  const cropLeft = Math.max(0, -padLeft);
  const keptH = dilH - cropTop + Math.min(0, padBottom);
  const keptW = dilW - cropLeft + Math.min(0, padRight);
  const needsCopy = p.strideH !== 1 || p.strideW !== 1 || keptH !== oh || keptW !== ow;
  const src = needsCopy
    ? dilateAndCrop(backend, dy, p.strideH, p.strideW, cropTop, cropLeft, keptH, keptW)
    : dy;
  const wFlip = flippedTransposedFilter(backend, filter);
  const dx = forwardConv(backend, src, wFlip, {
    padTop: Math.max(0, padTop), padBottom: Math.max(0, padBottom),
    padLeft: Math.max(0, padLeft), padRight: Math.max(0, padRight),
    strideH: 1, strideW: 1, dilH: 1, dilW: 1,
  });
  disposeInfo(backend, wFlip);
  if (src !== dy) disposeInfo(backend, src);
  if (dx.shape[1] !== h || dx.shape[2] !== w) {
    disposeInfo(backend, dx);
    throw new Error(`wasm Conv2DBackpropInput: geometry mismatch (got ${dx.shape}, want ${inputShape})`);
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------
// UnsortedSegmentSum (gradient of GatherV2)
// ---------------------------------------------------------------------------------------------

function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const idRank = segmentIds.shape.length;
  const inner = tf.util.sizeFromShape(x.shape.slice(idRank));
  const outShape = [numSegments, ...x.shape.slice(idRank)];
  const dtype = x.dtype === 'int32' || x.dtype === 'bool' ? 'int32' : 'float32';
  const out = backend.makeOutput(outShape, dtype);
  const xs = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const dst = backend.typedArrayFromHeap(out);
  dst.fill(0);
  for (let m = 0; m < ids.length; m++) {
    const seg = ids[m];
    // As in TensorFlow, ids outside [0, numSegments) are dropped.
    if (seg < 0 || seg >= numSegments) continue;
    const s0 = m * inner;
    const d0 = seg * inner;
    for (let k = 0; k < inner; k++) dst[d0 + k] += xs[s0 + k];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad (PyTorch semantics)
// ---------------------------------------------------------------------------------------------

/**
 * The shipped wasm MaxPoolGrad (MaxPool3DGrad.cc in tfjs 4.22) starts each window's running max at
 * std::numeric_limits<float>::min() (the smallest positive float, not −∞) with position 0: a window
 * whose values are all ≤ 0 sends its gradient to the tensor's element 0 or drops it, and among equal
 * maxima the last wins. This one is PyTorch's max_pool2d backward: running max from −∞ at the
 * window's first in-range tap, first maximum wins (NaN propagates), dy accumulated into dx at each
 * window's argmax; padded taps are skipped (−∞ padding).
 */
function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const dx = backend.makeOutput(input.shape, 'float32');
  const xs = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const out = backend.typedArrayFromHeap(dx) as Float32Array;
  out.fill(0);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const best = new Float32Array(C);
  const at = new Int32Array(C);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const r0 = oy * info.strideHeight - info.padInfo.top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(H, r0 + info.filterHeight);
      for (let ox = 0; ox < OW; ox++) {
        const c0 = ox * info.strideWidth - info.padInfo.left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(W, c0 + info.filterWidth);
        if (rMin >= rMax || cMin >= cMax) continue; // a window entirely in the padding: no input tap
        best.fill(-Infinity);
        at.fill(((b * H + rMin) * W + cMin) * C);
        for (let r = rMin; r < rMax; r++) {
          for (let col = cMin; col < cMax; col++) {
            const base = ((b * H + r) * W + col) * C;
            for (let c = 0; c < C; c++) {
              const v = xs[base + c];
              if (v > best[c] || v !== v) { best[c] = v; at[c] = base; }
            }
          }
        }
        const dyBase = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) out[at[c] + c] += g[dyBase + c];
      }
    }
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------
// LtBroadcastTo (used by the Sum/Mean gradient overrides in ./torch/gradients.ts)
// ---------------------------------------------------------------------------------------------

/**
 * x broadcast to `shape` (same rank, dims of x are 1 or equal). Block copies with copyWithin
 * doubling, about one memcpy of the output; the stock Sum/Mean gradients instead build a full-size
 * JS array of ones, copy it into the heap and multiply (and divide).
 */
function broadcastTo(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const shape = (args.attrs as { shape: number[] }).shape;
  const rank = shape.length;
  const srcShape = [...new Array(rank - x.shape.length).fill(1), ...x.shape];
  const out = backend.makeOutput(shape, x.dtype);
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const dstStrides = new Array<number>(rank + 1).fill(1);
  const srcStrides = new Array<number>(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) {
    dstStrides[d] = dstStrides[d + 1] * shape[d];
    srcStrides[d] = srcStrides[d + 1] * srcShape[d];
  }
  // first dim from which x and the output agree
  let same = rank;
  while (same > 0 && srcShape[same - 1] === shape[same - 1]) same--;
  const fill = (dim: number, so: number, dOff: number): void => {
    if (dim >= same) {
      (dst as Float32Array).set((src as Float32Array).subarray(so, so + srcStrides[dim]), dOff);
      return;
    }
    const n = shape[dim];
    const inner = dstStrides[dim + 1];
    if (srcShape[dim] === 1) {
      fill(dim + 1, so, dOff);
      for (let filled = 1; filled < n;) {
        const c = Math.min(filled, n - filled);
        dst.copyWithin(dOff + filled * inner, dOff, dOff + c * inner);
        filled += c;
      }
    } else {
      for (let i = 0; i < n; i++) fill(dim + 1, so + i * srcStrides[dim + 1], dOff + i * inner);
    }
  };
  if (dst.length > 0) fill(0, 0, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Identity without a copy
// ---------------------------------------------------------------------------------------------

/**
 * The shipped wasm `Identity` copies the buffer. The engine clones every tensor it saves for
 * backprop through `Identity` (hundreds per ResNet step), so the copy doubles the memory held by
 * the tape. tfjs never writes a buffer in place, so sharing the DataId (as the cpu backend does)
 * is safe.
 */
function identityShared(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return identityCopy(args); // string tensors live on the JS side
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let shippedIdentity: tf.KernelFunc | undefined;
function identityCopy(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): TensorInfo {
  return shippedIdentity!(args as Parameters<tf.KernelFunc>[0]) as TensorInfo;
}

// ---------------------------------------------------------------------------------------------
// FusedBatchNorm gradient without Tile (global: used by every backend)
// ---------------------------------------------------------------------------------------------

function isPerChannel(t: tf.Tensor | undefined, channels: number): boolean {
  return t === undefined || t === null || t.size === 1 || (t.size === channels && t.shape[t.shape.length - 1] === channels);
}

/**
 * Same values as tfjs's `FusedBatchNorm_grad.ts`, but statistics are broadcast rather than tiled
 * to the activation shape, per-channel factors are folded on the small tensors, and the two
 * reductions (Σdy and Σdy·(x−mean)) are computed once and shared between the thunks. The fast
 * path applies when every statistic is per-channel (or a scalar); other shapes use the reference
 * formulation with broadcasting.
 */
const fusedBatchNormGrad: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const dy = dyIn as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
    const [x, mean, variance, scale] = saved;
    const scaleValue = scale ?? tf.scalar(1);
    const channels = x.shape[x.shape.length - 1];
    const meanAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const perChannel = isPerChannel(mean, channels) && isPerChannel(variance, channels) &&
      isPerChannel(scale, channels);
    const channelAxes = x.shape.slice(0, -1).map((_, i) => i);

    const reduceTo = (t: tf.Tensor, like: tf.Tensor) => {
      const axes = tf.backend_util.getReductionAxes(like.shape, t.shape);
      return tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, like.shape);
    };

    if (perChannel) {
      // The two per-channel reductions shared by the thunks are computed here, eagerly (as the
      // reference gradient computes x-mean and dy*scale eagerly): the tape runs each thunk in its
      // own tidy, so a tensor memoised inside one thunk would be disposed before the next.
      const sumDy = tf.sum(dy, channelAxes);
      const sumDyXc = tf.sum(tf.mul(dy, tf.sub(x, mean)), channelAxes);
      // (scalar or [C]) results broadcast back to each statistic's own shape
      const toShape = (t: tf.Tensor, like: tf.Tensor) =>
        like.size === 1 && t.size !== 1 ? tf.reshape(tf.sum(t), like.shape) : tf.reshape(t, like.shape);
      return {
        x: () => tf.mul(dy, tf.reshape(tf.mul(rstd, scaleValue), [-1])),
        mean: () => toShape(tf.mul(tf.neg(tf.reshape(tf.mul(rstd, scaleValue), [-1])), sumDy), mean),
        variance: () => {
          const rstd3 = tf.mul(tf.mul(rstd, rstd), rstd);
          const factor = tf.reshape(tf.mul(tf.mul(rstd3, scaleValue), tf.scalar(-0.5)), [-1]);
          return toShape(tf.mul(factor, sumDyXc), variance);
        },
        scale: () => toShape(tf.mul(tf.reshape(rstd, [-1]), sumDyXc), scale),
        // Like the reference gradient: the offset is assumed to have the mean's shape.
        offset: () => toShape(sumDy, mean),
      };
    }

    // General shapes: the reference formulas, with broadcasting instead of Tile.
    return {
      x: () => tf.reshape(tf.mul(tf.mul(dy, rstd), scaleValue), x.shape),
      mean: () => {
        const d = tf.mul(tf.mul(rstd, tf.scalar(-1)), tf.mul(dy, scaleValue));
        return tf.reshape(meanAxes.length > 0 ? tf.sum(d, meanAxes) : d, mean.shape);
      },
      variance: () => {
        const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
        const d = tf.mul(tf.mul(minusHalfRCube, tf.sub(x, mean)), tf.mul(dy, scaleValue));
        return reduceTo(d, variance);
      },
      scale: () => reduceTo(tf.mul(dy, tf.mul(tf.sub(x, mean), rstd)), scaleValue),
      offset: () => tf.reshape(meanAxes.length > 0 ? tf.sum(dy, meanAxes) : dy, mean.shape),
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

let registered = false;

/**
 * Registers on `wasm` the kernels a CIFAR ResNet training step needs beyond the shipped ones, and
 * replaces the (global) `FusedBatchNorm` gradient by one without Tile and the Sum/Mean gradients by
 * ones that broadcast dy with `LtBroadcastTo` instead of multiplying by a JS array of ones. Idempotent. Call it after
 * importing `@tensorflow/tfjs` (which registers the stock gradients); the kernels take effect even
 * if `wasm` is already the active backend.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  const kernels: Array<[string, tf.KernelFunc]> = [
    ['Conv2DBackpropFilter', conv2DBackpropFilter as unknown as tf.KernelFunc],
    ['Conv2DBackpropInput', conv2DBackpropInput as unknown as tf.KernelFunc],
    ['UnsortedSegmentSum', unsortedSegmentSum as unknown as tf.KernelFunc],
    ['Identity', identityShared as unknown as tf.KernelFunc],
    ['LtBroadcastTo', broadcastTo as unknown as tf.KernelFunc],
    [BATCH_NORM_TRAIN_KERNEL, batchNormTrainWasm as unknown as tf.KernelFunc],
    ['LtBatchNormTrainGrad', batchNormTrainGradWasm as unknown as tf.KernelFunc],
    ['MaxPoolGrad', maxPoolGrad as unknown as tf.KernelFunc],
  ];
  shippedIdentity = tf.getKernel('Identity', 'wasm')?.kernelFunc;
  // Re-registering an existing kernel logs a warning; drop the shipped one first.
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, 'wasm') != null) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  tf.registerGradient(fusedBatchNormGrad);
  registerFusedGradients();
  registerBatchNormTrainGradient();
}

/** Directory holding the `.wasm` binaries of the installed @tensorflow/tfjs-backend-wasm. */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

/**
 * Makes `wasm` the active backend with the training kernels registered.
 *
 * `threads` > 1 loads the threaded SIMD build (wasm-threaded.ts) with that many threads; if it
 * cannot start, a warning goes to stderr and the stock single-threaded SIMD build is used; 1 is
 * the stock build. Left out, it is LT_WASM_THREADS if set, else the number of cores (the threaded
 * build: 58 vs 38 images/s on a ResNet-32 step with 2 cores). The thread count is fixed when `wasm` is first initialised:
 * a later call with another count keeps the running backend. `wasmThreadsInUse()` says what ran.
 */
export async function initWasm(threads?: number): Promise<void> {
  registerWasmTrainingKernels();
  if (threads === undefined) threads = Number(process.env.LT_WASM_THREADS) || os.availableParallelism();
  const initialised = tf.engine().registry['wasm'] !== undefined;
  if (!initialised) {
    // Explicit binary location, so the stock loader also works when this code is bundled.
    tfwasm.setWasmPaths(wasmBinaryDir());
    if (threads !== undefined && threads > 1) {
      registerThreadedWasmBackend(threads);
      if (await tf.setBackend('wasm')) return;
      process.stderr.write(`lt-bench: the threaded wasm build did not start; using the single-threaded one\n`);
      restoreStockWasmBackend();
    }
  }
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('the wasm backend failed to initialise');
}

/** Threads of the running wasm backend's XNNPACK pool (1 for the stock build in Node). */
export function wasmThreadsInUse(): number {
  return tfwasm.getThreadsCount();
}
