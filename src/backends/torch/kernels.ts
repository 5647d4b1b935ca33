/**
 * tfjs kernels of the `torch` backend. Attributes are normalised here with tfjs's own helpers
 * (axes, slice parameters, conv/pool geometry including its `same` pad rules), so the native ops
 * receive explicit numbers. Kernels without a native implementation are forwarded to a private
 * cpu backend instance (correct, slow) — see `registerCpuForwarding`.
 */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { TorchBackend } from './backend.js';
import { DTYPE_CODE, type NativeDType } from './native.js';

type Info = tf.TensorInfo;
type KArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type Impl = (b: TorchBackend, inputs: Record<string, Info>, attrs: Record<string, unknown>, all: KArgs) => Info | Info[];

/** Thrown by a kernel for attribute combinations it leaves to the cpu forwarding path. */
class Unsupported extends Error {}

const impls = new Map<string, Impl>();
const def = (name: string, impl: Impl) => impls.set(name, impl);
const dt = (d: string) => DTYPE_CODE[d as NativeDType];

// ---- elementwise --------------------------------------------------------------------------------
const UNARY: Record<string, string> = {
  Identity: 'identity', Relu: 'relu', Relu6: 'relu6', Exp: 'exp', Log: 'log', Log1p: 'log1p', Expm1: 'expm1',
  Sqrt: 'sqrt', Rsqrt: 'rsqrt', Square: 'square', Neg: 'neg', Abs: 'abs', Sigmoid: 'sigmoid', Tanh: 'tanh',
  Softplus: 'softplus', Reciprocal: 'reciprocal', Floor: 'floor', Ceil: 'ceil', Round: 'round', Sign: 'sign',
  Sin: 'sin', Cos: 'cos', Erf: 'erf', Elu: 'elu', Selu: 'selu', IsNan: 'isnan', IsInf: 'isinf',
  IsFinite: 'isfinite', LogicalNot: 'logical_not', ZerosLike: 'zeros_like', OnesLike: 'ones_like',
};
for (const [k, op] of Object.entries(UNARY)) def(k, (b, i) => b.run1(op, [b.id(i.x)]));

const BINARY: Record<string, string> = {
  Add: 'add', Sub: 'sub', Multiply: 'mul', RealDiv: 'div', FloorDiv: 'floor_div', Maximum: 'maximum',
  Minimum: 'minimum', Pow: 'pow', SquaredDifference: 'sqdiff', Equal: 'eq', NotEqual: 'ne', Greater: 'gt',
  GreaterEqual: 'ge', Less: 'lt', LessEqual: 'le', LogicalAnd: 'and', LogicalOr: 'or', Mod: 'mod', Atan2: 'atan2',
};
for (const [k, op] of Object.entries(BINARY)) def(k, (b, i) => b.run1(op, [b.id(i.a), b.id(i.b)]));

def('Step', (b, i, a) => b.run1('step', [b.id(i.x), Number(a.alpha ?? 0)]));
def('LeakyRelu', (b, i, a) => b.run1('leaky_relu', [b.id(i.x), Number(a.alpha)]));
def('ClipByValue', (b, i, a) => b.run1('clip', [b.id(i.x), Number(a.clipValueMin), Number(a.clipValueMax)]));
def('Cast', (b, i, a) => {
  if (a.dtype !== 'float32' && a.dtype !== 'int32' && a.dtype !== 'bool') throw new Unsupported();
  return b.run1('cast', [b.id(i.x), dt(a.dtype as string)]);
});
def('Select', (b, i) => b.run1('where', [b.id(i.condition), b.id(i.t), b.id(i.e)]));
def('AddN', (b, _i, _a, all) => {
  const xs = all.inputs as unknown as Info[];
  return b.run1('add_n', [xs.length, ...xs.map((x) => b.id(x))]);
});
// lt-bench fused kernels used by the gradient overrides (gradients.ts)
def('LtReluGrad', (b, i) => b.run1('relu_grad', [b.id(i.dy), b.id(i.x)]));
// stop-gradient (src/losses/stop-gradient.ts): a native detach, which also cuts libtorch's own graph
def('LtStopGradient', (b, i) => b.run1('detach', [b.id(i.x)]));
def('LtBroadcastTo', (b, i, a) => {
  const shape = a.shape as number[];
  return b.run1('broadcast_to', [b.id(i.x), shape.length, ...shape]);
});

// ---- shapes ------------------------------------------------------------------------------------
def('Reshape', (b, i, a) => {
  const shape = tf.util.inferFromImplicitShape(a.shape as number[], tf.util.sizeFromShape(i.x.shape));
  return b.run1('reshape', [b.id(i.x), shape.length, ...shape]);
});
def('ExpandDims', (b, i, a) => {
  const rank = i.input.shape.length;
  let dim = Number(a.dim);
  if (dim < 0) dim += rank + 1;
  const shape = [...i.input.shape];
  shape.splice(dim, 0, 1);
  return b.run1('reshape', [b.id(i.input), shape.length, ...shape]);
});
def('Transpose', (b, i, a) => {
  const perm = a.perm as number[];
  return b.run1('transpose', [b.id(i.x), perm.length, ...perm]);
});
def('Slice', (b, i, a) => {
  const [begin, size] = tf.slice_util.parseSliceParams(i.x as tf.Tensor, a.begin as number[], a.size as number[]);
  return b.run1('slice', [b.id(i.x), begin.length, ...begin, size.length, ...size]);
});
def('StridedSlice', (b, i, a) => {
  const info = tf.slice_util.sliceInfo(i.x.shape, a.begin as number[], a.end as number[], a.strides as number[],
    a.beginMask as number, a.endMask as number, a.ellipsisMask as number, a.newAxisMask as number, a.shrinkAxisMask as number);
  const { begin, end, strides, finalShape } = info;
  if (finalShape.some((d) => d === 0)) return b.run1('fill', [finalShape.length, ...finalShape, 0, dt(i.x.dtype)]);
  return b.run1('strided_slice', [b.id(i.x), begin.length, ...begin, end.length, ...end, strides.length, ...strides, finalShape.length, ...finalShape]);
});
def('PadV2', (b, i, a) => {
  const paddings = a.paddings as Array<[number, number]>;
  const pads: number[] = [];
  for (let d = paddings.length - 1; d >= 0; d--) pads.push(paddings[d][0], paddings[d][1]);
  return b.run1('pad', [b.id(i.x), pads.length, ...pads, Number(a.constantValue ?? 0)]);
});
def('Concat', (b, _i, a, all) => {
  const xs = (all.inputs as unknown as Info[]);
  const axis = tf.util.parseAxisParam(a.axis as number, xs[0].shape)[0];
  const nonEmpty = xs.filter((x) => tf.util.sizeFromShape(x.shape) > 0);
  const use = nonEmpty.length > 0 ? nonEmpty : [xs[0]];
  return b.run1('concat', [use.length, ...use.map((x) => b.id(x)), axis]);
});
def('SplitV', (b, i, a) => {
  const axis = tf.util.parseAxisParam(a.axis as number, i.x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(i.x as tf.Tensor, a.numOrSizeSplits as number | number[], axis);
  return b.run('split', [b.id(i.x), sizes.length, ...sizes, axis]);
});
def('Pack', (b, _i, a, all) => {
  const xs = all.inputs as unknown as Info[];
  const axis = tf.util.parseAxisParam(a.axis as number, [...xs[0].shape, 1])[0];
  return b.run1('stack', [xs.length, ...xs.map((x) => b.id(x)), axis]);
});
def('Unpack', (b, i, a) => {
  const axis = tf.util.parseAxisParam(a.axis as number, i.value.shape)[0];
  return b.run('unstack', [b.id(i.value), axis]);
});
def('Tile', (b, i, a) => {
  const reps = a.reps as number[];
  return b.run1('tile', [b.id(i.x), reps.length, ...reps]);
});
def('Reverse', (b, i, a) => {
  const dims = tf.util.parseAxisParam(a.dims as number[], i.x.shape);
  return b.run1('reverse', [b.id(i.x), dims.length, ...dims]);
});

// ---- indexing / creation -----------------------------------------------------------------------
def('GatherV2', (b, i, a) => {
  if (Number(a.batchDims ?? 0) !== 0) throw new Unsupported();
  const axis = tf.util.parseAxisParam(a.axis as number, i.x.shape)[0];
  return b.run1('gather', [b.id(i.x), b.id(i.indices), axis]);
});
def('OneHot', (b, i, a) => b.run1('one_hot', [b.id(i.indices), Number(a.depth), Number(a.onValue ?? 1), Number(a.offValue ?? 0), dt(String(a.dtype ?? 'int32'))]));
def('UnsortedSegmentSum', (b, i, a) => b.run1('segment_sum', [b.id(i.x), b.id(i.segmentIds), Number(a.numSegments)]));
def('TopK', (b, i, a) => b.run('topk', [b.id(i.x), Number(a.k), a.sorted === false ? 0 : 1]));
def('Fill', (b, _i, a) => {
  const shape = a.shape as number[];
  const dtype = String(a.dtype ?? (typeof a.value === 'string' ? 'string' : 'float32'));
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') throw new Unsupported();
  return b.run1('fill', [shape.length, ...shape, Number(a.value), dt(dtype)]);
});
def('Range', (b, _i, a) => {
  const start = Number(a.start); const stop = Number(a.stop); const step = Number(a.step);
  const n = start === stop ? 0 : Math.max(0, Math.ceil(Math.abs((stop - start) / step)));
  return b.run1('range', [start, step, n, dt(String(a.dtype ?? 'float32'))]);
});
def('LinSpace', (b, _i, a) => b.run1('linspace', [Number(a.start), Number(a.stop), Number(a.num)]));

// ---- reductions --------------------------------------------------------------------------------
function reduction(op: string, axisAttr: string): Impl {
  return (b, i, a) => {
    const axes = tf.util.parseAxisParam(a[axisAttr] as number | number[], i.x.shape);
    const keep = a.keepDims ? 1 : 0;
    if (axes.length === 0) {
      // tfjs: reducing over no axes is the identity (sum of bool still yields int32)
      if ((op === 'sum' || op === 'prod') && i.x.dtype === 'bool') return b.run1('cast', [b.id(i.x), dt('int32')]);
      if (op === 'mean' && i.x.dtype !== 'float32') return b.run1('cast', [b.id(i.x), dt('float32')]);
      return b.run1('identity', [b.id(i.x)]);
    }
    return b.run1(op, [b.id(i.x), axes.length, ...axes, keep]);
  };
}
def('Sum', reduction('sum', 'axis'));
def('Mean', reduction('mean', 'axis'));
def('Max', reduction('max', 'reductionIndices'));
def('Min', reduction('min', 'axis'));
def('Prod', reduction('prod', 'axis'));
def('All', reduction('all', 'axis'));
def('Any', reduction('any', 'axis'));
def('ArgMax', (b, i, a) => b.run1('argmax', [b.id(i.x), tf.util.parseAxisParam(a.axis as number, i.x.shape)[0]]));
def('ArgMin', (b, i, a) => b.run1('argmin', [b.id(i.x), tf.util.parseAxisParam(a.axis as number, i.x.shape)[0]]));
def('Softmax', (b, i, a) => b.run1('softmax', [b.id(i.logits), tf.util.parseAxisParam(a.dim as number, i.logits.shape)[0]]));
def('LogSoftmax', (b, i, a) => b.run1('log_softmax', [b.id(i.logits), tf.util.parseAxisParam(a.axis as number, i.logits.shape)[0]]));
def('Cumsum', (b, i, a) => b.run1('cumsum', [b.id(i.x), tf.util.parseAxisParam(a.axis as number, i.x.shape)[0], a.exclusive ? 1 : 0, a.reverse ? 1 : 0]));

// ---- matmul ------------------------------------------------------------------------------------
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, prelu: 3, leakyrelu: 4, sigmoid: 5, elu: 6 };
function activationCode(a: unknown): number {
  const code = ACTIVATIONS[String(a ?? 'linear')];
  if (code === undefined) throw new Unsupported();
  return code;
}
def('BatchMatMul', (b, i, a) => b.run1('matmul', [b.id(i.a), b.id(i.b), a.transposeA ? 1 : 0, a.transposeB ? 1 : 0, 0, 0, 0, 0]));
def('_FusedMatMul', (b, i, a) => b.run1('matmul', [b.id(i.a), b.id(i.b), a.transposeA ? 1 : 0, a.transposeB ? 1 : 0,
  b.optId(i.bias), activationCode(a.activation), Number(a.leakyreluAlpha ?? 0.2), b.optId(i.preluActivationWeights)]));

// ---- convolution -------------------------------------------------------------------------------
interface Geometry { sh: number; sw: number; pt: number; pb: number; pl: number; pr: number; dh: number; dw: number }

function convGeometry(info: tf.backend_util.Conv2DInfo): Geometry {
  return {
    sh: info.strideHeight, sw: info.strideWidth, pt: info.padInfo.top, pb: info.padInfo.bottom,
    pl: info.padInfo.left, pr: info.padInfo.right, dh: info.dilationHeight, dw: info.dilationWidth,
  };
}
/** torch's output size (floor rule) must equal tfjs's; rounding modes that differ go to cpu. */
function checkOut(info: tf.backend_util.Conv2DInfo, g: Geometry): void {
  const effH = (info.filterHeight - 1) * g.dh + 1;
  const effW = (info.filterWidth - 1) * g.dw + 1;
  const oh = Math.floor((info.inHeight + g.pt + g.pb - effH) / g.sh) + 1;
  const ow = Math.floor((info.inWidth + g.pl + g.pr - effW) / g.sw) + 1;
  if (oh !== info.outHeight || ow !== info.outWidth || info.dataFormat !== 'channelsLast') throw new Unsupported();
}
const geomArgs = (g: Geometry, groups: number) => [g.sh, g.sw, g.pt, g.pb, g.pl, g.pr, g.dh, g.dw, groups];

type Pad = tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
function conv2dInfo(xShape: number[], fShape: number[], a: Record<string, unknown>, depthwise = false): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape as [number, number, number, number],
    a.strides as [number, number], (a.dilations ?? 1) as [number, number], a.pad as Pad,
    a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined, depthwise,
    tf.backend_util.convertConv2DDataFormat((a.dataFormat ?? 'NHWC') as 'NHWC' | 'NCHW'));
}

function conv(b: TorchBackend, x: Info, filterId: number, fShapeForInfo: number[], groups: number, a: Record<string, unknown>,
  bias: Info | undefined, activation: unknown, prelu: Info | undefined, depthwise = false): Info {
  const info = conv2dInfo(x.shape, fShapeForInfo, a, depthwise);
  const g = convGeometry(info);
  checkOut(info, g);
  const biasId = bias && bias.shape.length === 1 ? b.id(bias) : 0;
  const out = b.run1('conv2d', [b.id(x), filterId, biasId, ...geomArgs(g, groups), activationCode(activation),
    Number(a.leakyreluAlpha ?? 0.2), b.optId(prelu)]);
  if (bias && biasId === 0) {
    // a broadcastable bias of higher rank: add it (then the activation must come after)
    if (activationCode(activation) !== 0) throw new Unsupported();
    const withBias = b.run1('add', [b.id(out), b.id(bias)]);
    b.disposeIntermediate(out);
    return withBias;
  }
  return out;
}

def('Conv2D', (b, i, a) => conv(b, i.x, b.id(i.filter), i.filter.shape, 1, a, undefined, 'linear', undefined));
def('FusedConv2D', (b, i, a) => conv(b, i.x, b.id(i.filter), i.filter.shape, 1, a, i.bias, a.activation, i.preluActivationWeights));
def('Conv2DBackpropInput', (b, i, a) => {
  const inputShape = a.inputShape as number[];
  const info = conv2dInfo(inputShape, i.filter.shape, { ...a, dilations: 1 });
  const g = convGeometry(info);
  if (info.dataFormat !== 'channelsLast') throw new Unsupported();
  return b.run1('conv2d_bwd_input', [b.id(i.dy), b.id(i.filter), ...inputShape, ...geomArgs(g, 1)]);
});
def('Conv2DBackpropFilter', (b, i, a) => {
  const fs = a.filterShape as number[];
  const info = conv2dInfo(i.x.shape, fs, { ...a, dilations: 1 });
  const g = convGeometry(info);
  if (info.dataFormat !== 'channelsLast') throw new Unsupported();
  return b.run1('conv2d_bwd_filter', [b.id(i.x), b.id(i.dy), fs[0], fs[1], fs[2], fs[3], ...geomArgs(g, 1)]);
});

// dx and dW together (used by the Conv2D gradient override in gradients.ts)
export function convBackpropBoth(b: TorchBackend, dy: Info, x: Info, filter: Info, a: Record<string, unknown>): Info[] {
  const info = conv2dInfo(x.shape, filter.shape, { ...a, dilations: 1 });
  const g = convGeometry(info);
  if (info.dataFormat !== 'channelsLast') throw new Unsupported();
  const fs = filter.shape;
  if (fs[0] === 1 && fs[1] === 1 && (g.sh > 1 || g.sw > 1)) {
    // keep strided 1x1 convolutions on the separate kernels (see conv2d_bwd_filter)
    const dx = b.run1('conv2d_bwd_input', [b.id(dy), b.id(filter), ...x.shape, ...geomArgs(g, 1)]);
    const dw = b.run1('conv2d_bwd_filter', [b.id(x), b.id(dy), fs[0], fs[1], fs[2], fs[3], ...geomArgs(g, 1)]);
    return [dx, dw];
  }
  return b.run('conv2d_bwd_both', [b.id(x), b.id(dy), b.id(filter), ...geomArgs(g, 1)]);
}
def('LtConv2DBackprop', (b, i, a) => convBackpropBoth(b, i.dy, i.x, i.filter, a));

// Depthwise = grouped convolution with groups = in channels; its filter [fh, fw, C, m] is, as a row-
// major buffer, the grouped HWIO filter [fh, fw, 1, C*m] (output channel c*m + k in both).
function depthwiseFilterId(b: TorchBackend, f: Info): number {
  const [fh, fw, c, m] = f.shape;
  const r = b.run1('reshape', [b.id(f), 4, fh, fw, 1, c * m]);
  return pushTemp(b, r);
}
const kernelTemps: Info[] = [];
function pushTemp(b: TorchBackend, t: Info): number {
  kernelTemps.push(t);
  return b.id(t);
}
function freeTemps(b: TorchBackend): void {
  while (kernelTemps.length) b.disposeIntermediate(kernelTemps.pop()!);
}
function depthwise(b: TorchBackend, i: Record<string, Info>, a: Record<string, unknown>, bias?: Info, activation?: unknown, prelu?: Info): Info {
  try {
    const fid = depthwiseFilterId(b, i.filter);
    return conv(b, i.x, fid, i.filter.shape, i.x.shape[3], a, bias, activation ?? 'linear', prelu, true);
  } finally {
    freeTemps(b);
  }
}
def('DepthwiseConv2dNative', (b, i, a) => depthwise(b, i, a));
def('FusedDepthwiseConv2D', (b, i, a) => depthwise(b, i, a, i.bias, a.activation, i.preluActivationWeights));
def('DepthwiseConv2dNativeBackpropInput', (b, i, a) => {
  const inputShape = a.inputShape as number[];
  const info = conv2dInfo(inputShape, i.filter.shape, a, true);
  const g = convGeometry(info);
  if (info.dataFormat !== 'channelsLast') throw new Unsupported();
  try {
    const fid = depthwiseFilterId(b, i.filter);
    return b.run1('conv2d_bwd_input', [b.id(i.dy), fid, ...inputShape, ...geomArgs(g, inputShape[3])]);
  } finally { freeTemps(b); }
});
def('DepthwiseConv2dNativeBackpropFilter', (b, i, a) => {
  const fs = a.filterShape as number[];
  const info = conv2dInfo(i.x.shape, fs, a, true);
  const g = convGeometry(info);
  if (info.dataFormat !== 'channelsLast') throw new Unsupported();
  const grouped = b.run1('conv2d_bwd_filter', [b.id(i.x), b.id(i.dy), fs[0], fs[1], 1, fs[2] * fs[3], ...geomArgs(g, fs[2])]);
  const out = b.run1('reshape', [b.id(grouped), 4, ...fs]);
  b.disposeIntermediate(grouped);
  return out;
});

// Grouped convolution (lt-bench's own kernel; op and gradient in ../grouped-conv.ts).
// Filter HWIO [fh, fw, inC/groups, outC].
def('GroupedConv2D', (b, i, a) => conv(b, i.x, b.id(i.filter), i.filter.shape, Number(a.groups), a, undefined, 'linear', undefined));
def('GroupedConv2DBackpropInput', (b, i, a) => {
  const inputShape = a.inputShape as number[];
  const info = conv2dInfo(inputShape, i.filter.shape, a);
  return b.run1('conv2d_bwd_input', [b.id(i.dy), b.id(i.filter), ...inputShape, ...geomArgs(convGeometry(info), Number(a.groups))]);
});
def('GroupedConv2DBackpropFilter', (b, i, a) => {
  const fs = a.filterShape as number[];
  const info = conv2dInfo(i.x.shape, fs, a);
  return b.run1('conv2d_bwd_filter', [b.id(i.x), b.id(i.dy), fs[0], fs[1], fs[2], fs[3], ...geomArgs(convGeometry(info), Number(a.groups))]);
});

// ---- pooling -----------------------------------------------------------------------------------
function poolArgs(xShape: number[], a: Record<string, unknown>): number[] {
  const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], a.filterSize as [number, number],
    a.strides as [number, number], 1, a.pad as Pad, a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined);
  const p = info.padInfo;
  const oh = Math.floor((info.inHeight + p.top + p.bottom - info.filterHeight) / info.strideHeight) + 1;
  const ow = Math.floor((info.inWidth + p.left + p.right - info.filterWidth) / info.strideWidth) + 1;
  if (oh !== info.outHeight || ow !== info.outWidth) throw new Unsupported();
  return [info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, p.top, p.bottom, p.left, p.right];
}
def('MaxPool', (b, i, a) => b.run1('max_pool', [b.id(i.x), ...poolArgs(i.x.shape, a)]));
def('AvgPool', (b, i, a) => b.run1('avg_pool', [b.id(i.x), ...poolArgs(i.x.shape, a)]));
def('MaxPoolGrad', (b, i, a) => b.run1('max_pool_grad', [b.id(i.dy), b.id(i.input), ...poolArgs(i.input.shape, a)]));
def('AvgPoolGrad', (b, i, a) => b.run1('avg_pool_grad', [b.id(i.dy), b.id(i.input), ...poolArgs(i.input.shape, a)]));

// ---- batch norm --------------------------------------------------------------------------------
def('FusedBatchNorm', (b, i, a) => {
  const c = i.x.shape[3];
  const perChannel = (t?: Info) => t == null || tf.util.sizeFromShape(t.shape) === c || tf.util.sizeFromShape(t.shape) === 1;
  if (i.x.shape.length !== 4 || ![i.mean, i.variance, i.offset, i.scale].every(perChannel)) throw new Unsupported();
  return b.run1('batch_norm', [b.id(i.x), b.id(i.mean), b.id(i.variance), b.optId(i.offset), b.optId(i.scale), Number(a.varianceEpsilon ?? 1e-3)]);
});
// lt-bench's training batch norm (op and gradient in ../batch-norm-train.ts)
def('LtBatchNormTrain', (b, i, a) => b.run('bn_train', [b.id(i.x), b.id(i.gamma), b.id(i.beta), Number(a.varianceEpsilon)]));
def('LtBatchNormRunning', (b, i, a) => b.run('bn_running', [b.id(i.runningMean), b.id(i.runningVar), b.id(i.mean), b.id(i.variance),
  Number(a.keep), Number(a.meanFactor), Number(a.varFactor)]));
def('LtBatchNormTrainGrad', (b, i, a) => b.run('bn_train_grad', [b.id(i.dy), b.id(i.x), b.id(i.gamma), b.id(i.mean), b.id(i.invstd), Number(a.varianceEpsilon)]));

def('Einsum', (b, _i, a, all) => {
  const xs = all.inputs as unknown as Info[];
  const eq = String(a.equation);
  return b.run1('einsum', [eq.length, ...Array.from(eq, (ch) => ch.charCodeAt(0)), xs.length, ...xs.map((x) => b.id(x))]);
});

// ---- cpu forwarding ----------------------------------------------------------------------------
let cpu: MathBackendCPU | undefined;

function toCpu(b: TorchBackend, x: Info): Info {
  cpu ??= new MathBackendCPU();
  const values = b.readSync(x.dataId);
  return { dataId: cpu.write(values, x.shape, x.dtype), shape: x.shape, dtype: x.dtype };
}

/** Runs the cpu backend's kernel on copies of the inputs and copies the outputs back. */
function forwardToCpu(kernelName: string, args: KArgs): Info | Info[] {
  const b = args.backend as TorchBackend;
  // Under native autograd the copy through JS cuts libtorch's graph: noted, and the step refused.
  if (b.recording) b.noteCpuKernel(kernelName, Object.values(args.inputs).filter((v): v is Info => v != null));
  const kernel = tf.getKernel(kernelName, 'cpu');
  if (kernel == null) throw new Error(`kernel '${kernelName}' is not available on the torch backend (nor on cpu)`);
  const cpuInputs: Info[] = [];
  const mapped: Record<string, Info> | Info[] = Array.isArray(args.inputs) ? [] : {};
  for (const [k, v] of Object.entries(args.inputs)) {
    if (v == null) continue;
    const c = toCpu(b, v as Info);
    cpuInputs.push(c);
    (mapped as Record<string, Info>)[k] = c;
  }
  const out = kernel.kernelFunc({ inputs: mapped as tf.NamedTensorInfoMap, attrs: args.attrs, backend: cpu! });
  const outs = Array.isArray(out) ? out : [out];
  const res = outs.map((o) => {
    const values = cpu!.readSync(o.dataId);
    const dataId = b.write(values, o.shape, o.dtype);
    return { dataId, shape: o.shape, dtype: o.dtype };
  });
  for (const o of outs) cpu!.disposeData(o.dataId, true);
  for (const c of cpuInputs) cpu!.disposeData(c.dataId, true);
  return Array.isArray(out) ? res : res[0];
}

let registered = false;

/** Registers every kernel on backend 'torch': native ones, and cpu forwarding for the rest. */
export function registerTorchKernels(): { native: string[]; forwarded: string[] } {
  const native = [...impls.keys()];
  const forwarded: string[] = [];
  if (registered) return { native, forwarded };
  registered = true;
  for (const [kernelName, impl] of impls) {
    tf.registerKernel({
      kernelName, backendName: 'torch',
      kernelFunc: ((args: KArgs) => {
        try {
          return impl(args.backend as TorchBackend, args.inputs as Record<string, Info>, (args.attrs ?? {}) as Record<string, unknown>, args);
        } catch (e) {
          if (e instanceof Unsupported) return forwardToCpu(kernelName, args);
          throw e;
        }
      }) as unknown as tf.KernelFunc,
    });
  }
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (impls.has(k.kernelName)) continue;
    forwarded.push(k.kernelName);
    tf.registerKernel({
      kernelName: k.kernelName, backendName: 'torch',
      kernelFunc: ((args: KArgs) => forwardToCpu(k.kernelName, args)) as unknown as tf.KernelFunc,
    });
  }
  return { native, forwarded };
}

export const NATIVE_KERNELS = [...impls.keys()];
