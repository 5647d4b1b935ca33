/**
 * Parity of the `torch` backend (libtorch addon) with the tfjs cpu backend: every kernel family and
 * the gradients of the differentiable ops, on seeded random inputs of several shapes, to
 * rtol 1e-5 + atol 1e-6; a whole small ResNet step to 1e-4. Skipped, with the reason, when the
 * addon is not built (`npm run build:torch`).
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/rng.js';
import { loadTorchBackend, torchBackendStatus } from '../../src/backends/torch/index.js';
import { groupedConv2d } from '../../src/backends/grouped-conv.js';
import { batchNormTrain } from '../../src/backends/batch-norm-train.js';

const status = torchBackendStatus();
const skip = status.usable ? false : `torch backend unusable: ${status.reason}`;

type Values = Float32Array | Int32Array | Uint8Array;
interface Result { shape: number[]; dtype: string; values: Values }

function randn(seed: number, n: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
/** A seeded float tensor (created on the active backend); any rank, hence the loose type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const rnd = (seed: number, shape: number[], scale = 1): tf.Tensor<any> => tf.tensor(randn(seed, size(shape), scale), shape);
const ints = (seed: number, shape: number[], lo: number, hi: number) => {
  const rng = new Rng(seed);
  return tf.tensor(Int32Array.from({ length: size(shape) }, () => lo + rng.int(hi - lo)), shape, 'int32');
};

function collect(build: () => tf.Tensor | tf.Tensor[]): Result[] {
  return tf.tidy(() => {
    const out = build();
    return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, dtype: t.dtype, values: t.dataSync().slice() as Values }));
  });
}

function assertClose(got: Result[], ref: Result[], what: string, rtol: number, atol: number): void {
  assert.equal(got.length, ref.length, `${what}: number of outputs`);
  got.forEach((g, k) => {
    const r = ref[k];
    assert.deepEqual(g.shape, r.shape, `${what}[${k}]: shape`);
    assert.equal(g.dtype, r.dtype, `${what}[${k}]: dtype`);
    for (let i = 0; i < r.values.length; i++) {
      const a = g.values[i];
      const b = r.values[i];
      if (Number.isNaN(b)) { assert.ok(Number.isNaN(a), `${what}[${k}] element ${i}: NaN expected, got ${a}`); continue; }
      assert.ok(Math.abs(a - b) <= atol + rtol * Math.abs(b), `${what}[${k}] element ${i}: torch ${a}, cpu ${b}`);
    }
  });
}

async function parity(what: string, build: () => tf.Tensor | tf.Tensor[], rtol = 1e-5, atol = 1e-6): Promise<void> {
  await tf.setBackend('cpu');
  const cpuBefore = tf.memory().numTensors;
  const ref = collect(build);
  const cpuLeak = tf.memory().numTensors - cpuBefore; // the case itself may hold tensors (e.g. an optimizer)
  await tf.setBackend('torch');
  const before = tf.memory().numTensors;
  const got = collect(build);
  assert.equal(tf.memory().numTensors - before, cpuLeak, `${what}: tensors leaked on torch`);
  assertClose(got, ref, what, rtol, atol);
}

/** Gradients of sum(f(inputs) * w) with respect to every input. */
function gradsOf(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: () => tf.Tensor[], seed = 77): () => tf.Tensor[] {
  return () => {
    const xs = inputs();
    const shape = f(...xs).shape;
    const w = rnd(seed, shape);
    return tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs);
  };
}

describe('torch backend parity with cpu', { skip }, () => {
  before(async () => { await loadTorchBackend({ threads: 2, device: 'cpu' }); });

  test('unary ops and their gradients', async () => {
    const x = () => rnd(1, [3, 4, 5], 2);
    const pos = () => tf.add(tf.abs(rnd(2, [3, 4, 5], 2)), 0.1);
    const unary: Array<[string, (t: tf.Tensor) => tf.Tensor, () => tf.Tensor]> = [
      ['relu', tf.relu, x], ['relu6', (t) => tf.relu6(tf.mul(t, 4)), x], ['exp', tf.exp, x], ['log', tf.log, pos],
      ['sqrt', tf.sqrt, pos], ['rsqrt', tf.rsqrt, pos], ['square', tf.square, x], ['neg', tf.neg, x], ['abs', tf.abs, x],
      ['sigmoid', tf.sigmoid, x], ['tanh', tf.tanh, x], ['softplus', tf.softplus, x], ['reciprocal', tf.reciprocal, pos],
      ['elu', tf.elu, x], ['selu', tf.selu, x], ['leakyRelu', (t) => tf.leakyRelu(t, 0.1), x], ['log1p', tf.log1p, pos],
      ['expm1', tf.expm1, x], ['sin', tf.sin, x], ['cos', tf.cos, x], ['clip', (t) => tf.clipByValue(t, -0.5, 0.7), x],
    ];
    for (const [name, f, input] of unary) {
      await parity(name, () => f(input()));
      await parity(`${name} gradient`, gradsOf(f, () => [input()]));
    }
    for (const [name, f] of [['floor', tf.floor], ['ceil', tf.ceil], ['round', tf.round], ['sign', tf.sign], ['step', (t: tf.Tensor) => tf.step(t, 0.2)]] as const) {
      await parity(name, () => f(x()));
    }
    await parity('int32 neg/abs/square keep int32', () => { const i = ints(3, [7], -5, 5); return [tf.neg(i), tf.abs(i), tf.square(i)]; });
    await parity('exp of int32 is float32', () => tf.exp(ints(3, [5], -2, 3)));
  });

  test('binary ops with broadcasting, comparisons, logic, casts', async () => {
    const a = () => rnd(4, [2, 3, 4]);
    const b = () => rnd(5, [4]);
    const pos = () => tf.add(tf.abs(rnd(6, [2, 3, 4])), 0.5);
    const bin: Array<[string, (p: tf.Tensor, q: tf.Tensor) => tf.Tensor, () => tf.Tensor, () => tf.Tensor]> = [
      ['add', tf.add, a, b], ['sub', tf.sub, a, b], ['mul', tf.mul, a, b], ['div', tf.div, a, pos],
      // (same shapes for maximum/minimum: their stock gradients do not reduce broadcast axes)
      ['maximum', tf.maximum, a, pos], ['minimum', tf.minimum, a, pos], ['pow', tf.pow, pos, b],
      ['squaredDifference', tf.squaredDifference, a, pos], ['atan2', tf.atan2, a, b],
    ];
    for (const [name, f, p, q] of bin) {
      await parity(name, () => f(p(), q()));
      await parity(`${name} gradient`, gradsOf(f, () => [p(), q()]));
    }
    await parity('comparisons', () => {
      const p = tf.round(a()); const q = tf.round(b());
      return [tf.equal(p, q), tf.notEqual(p, q), tf.greater(p, q), tf.greaterEqual(p, q), tf.less(p, q), tf.lessEqual(p, q)];
    });
    await parity('logic', () => {
      const p = tf.greater(a(), 0); const q = tf.greater(b(), 0);
      return [tf.logicalAnd(p, q), tf.logicalOr(p, q), tf.logicalNot(p), tf.where(p, a(), tf.neg(a()))];
    });
    await parity('int32 floorDiv / mod (negative operands)', () => {
      const p = ints(7, [20], -9, 9); const q = tf.add(tf.mul(ints(8, [20], 1, 4), tf.sub(tf.mul(ints(9, [20], 0, 2), 2), 1)), 0);
      return [tf.floorDiv(p, q), tf.mod(p, q), tf.add(p, q), tf.mul(p, q)];
    });
    await parity('float mod', () => tf.mod(a(), tf.add(tf.abs(b()), 0.3)));
    await parity('casts', () => {
      const f = tf.mul(a(), 3);
      const i = tf.cast(f, 'int32');
      return [i, tf.cast(i, 'bool'), tf.cast(tf.cast(i, 'bool'), 'float32'), tf.cast(f, 'bool'), tf.cast(i, 'float32')];
    });
    await parity('addN', () => tf.addN([a(), a(), tf.mul(a(), 2)]));
  });

  test('reductions, softmax, argmax, cumsum, topk', async () => {
    const x = () => rnd(10, [3, 4, 5]);
    await parity('sum/mean/max/min/prod', () => [tf.sum(x(), 1), tf.sum(x(), [0, 2], true), tf.sum(x()), tf.mean(x(), -1),
      tf.max(x(), [1, 2]), tf.min(x(), 0, true), tf.prod(tf.add(tf.mul(x(), 0.1), 1), [0, 2])]);
    await parity('int/bool reductions', () => {
      const i = ints(11, [4, 6], -3, 4); const bl = tf.greater(i, 0);
      return [tf.sum(i, 1), tf.sum(bl, 0), tf.mean(i), tf.max(i, 1), tf.all(bl, 1), tf.any(bl, 0), tf.prod(i, 0)];
    });
    await parity('argMax / argMin', () => [tf.argMax(x(), 1), tf.argMax(x(), -1), tf.argMin(x(), 0)]);
    await parity('softmax / logSoftmax', () => [tf.softmax(x()), tf.logSoftmax(x())]);
    for (const [name, f] of [['sum', (t: tf.Tensor) => tf.sum(t, [0, 2])], ['mean', (t: tf.Tensor) => tf.mean(t, 1, true)],
      ['max', (t: tf.Tensor) => tf.max(t, 1)], ['softmax', (t: tf.Tensor) => tf.softmax(t)], ['logSoftmax', (t: tf.Tensor) => tf.logSoftmax(t)],
      ['sum all', (t: tf.Tensor) => tf.sum(t)]] as Array<[string, (t: tf.Tensor) => tf.Tensor]>) {
      await parity(`${name} gradient`, gradsOf(f, () => [x()]));
    }
    await parity('cumsum', () => [tf.cumsum(x(), 1), tf.cumsum(x(), 2, true, true)]);
    await parity('topk', () => { const r = tf.topk(rnd(12, [3, 9]), 4); return [r.values, r.indices]; });
  });

  test('shape ops, indexing and creation (with gradients)', async () => {
    const x = () => rnd(20, [3, 4, 5]);
    const shapeOps: Array<[string, (t: tf.Tensor) => tf.Tensor]> = [
      ['reshape', (t) => tf.reshape(t, [4, -1])], ['transpose', (t) => tf.transpose(t, [2, 0, 1])],
      ['slice', (t) => tf.slice(t, [1, 0, 2], [2, -1, 2])], ['pad', (t) => tf.pad(t, [[1, 0], [0, 2], [1, 1]], 0.5)],
      ['tile', (t) => tf.tile(t, [1, 2, 1])], ['reverse', (t) => tf.reverse(t, [0, 2])], ['expandDims', (t) => tf.expandDims(t, 1)],
      ['gather axis 1', (t) => tf.gather(t, tf.tensor1d([3, 0, 3, 1], 'int32'), 1)],
      ['gather axis 0 (2-D indices)', (t) => tf.gather(t, tf.tensor2d([[2, 0], [1, 1]], [2, 2], 'int32'), 0)],
      ['concat', (t) => tf.concat([t, tf.mul(t, 2)], 1)], ['stack', (t) => tf.stack([t, tf.neg(t)], 2)],
      ['transpose+reshape view', (t) => tf.reshape(tf.transpose(t, [1, 0, 2]), [12, 5])],
    ];
    for (const [name, f] of shapeOps) {
      await parity(name, () => f(x()));
      await parity(`${name} gradient`, gradsOf(f, () => [x()]));
    }
    await parity('split / unstack', () => [...tf.split(x(), [1, -1, 2], 2), ...tf.unstack(x(), 1)]);
    await parity('split gradient', gradsOf((t) => tf.mul(tf.split(t, 2, 1)[1], 3), () => [x()]));
    await parity('stridedSlice (negative and positive strides, masks)', () => [
      tf.stridedSlice(x(), [0, 3, 0], [3, 0, 5], [1, -1, 2]), tf.stridedSlice(x(), [2, 0, 4], [0, 4, 0], [-1, 2, -2], 0, 0, 0, 0, 0),
      tf.stridedSlice(x(), [1], [2], [1], 0, 0, 0, 0, 1), tf.stridedSlice(x(), [0, 1], [0, 3], [1, 1], 1, 0)]);
    await parity('oneHot (out-of-range rows are off)', () => [tf.oneHot(tf.tensor1d([0, 3, -1, 5, 2], 'int32'), 4),
      tf.oneHot(tf.tensor2d([[1, 2], [0, 9]], [2, 2], 'int32'), 3, 2, -1)]);
    await parity('unsortedSegmentSum', () => tf.unsortedSegmentSum(x(), tf.tensor1d([2, 0, 2], 'int32'), 4));
    await parity('fill / range / linspace / zerosLike / onesLike', () => [tf.fill([2, 3], 1.5), tf.fill([2], 7, 'int32'),
      tf.range(0, 10, 3), tf.range(5, -1, -2, 'int32'), tf.range(0, 1, 0.1), tf.linspace(-1, 2, 7), tf.zerosLike(x()), tf.onesLike(ints(1, [3], 0, 4))]);
  });

  test('matMul, fused matMul and their gradients', async () => {
    await parity('matMul', () => [tf.matMul(rnd(30, [4, 6]), rnd(31, [6, 3])), tf.matMul(rnd(30, [6, 4]), rnd(31, [3, 6]), true, true),
      tf.matMul(rnd(32, [2, 4, 6]), rnd(33, [6, 5])), tf.matMul(rnd(32, [2, 4, 6]), rnd(33, [2, 5, 6]), false, true)], 1e-5, 1e-5);
    await parity('matMul gradient', gradsOf((p, q) => tf.matMul(p, q, false, true), () => [rnd(34, [5, 7]), rnd(35, [3, 7])]), 1e-5, 1e-5);
    await parity('fused matMul + bias + relu', () => tf.fused.matMul({ a: rnd(36, [4, 6]), b: rnd(37, [6, 3]), bias: rnd(38, [3]), activation: 'relu' }), 1e-5, 1e-5);
    await parity('fused matMul gradient', gradsOf((p, q, r) => tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: r }),
      () => [rnd(36, [4, 6]), rnd(37, [6, 3]), rnd(38, [3])]), 1e-5, 1e-5);
  });

  type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
  const convCases: Array<{ name: string; x: number[]; f: number[]; s: number | [number, number]; pad: Pad }> = [
    { name: '3x3 s1 same', x: [2, 7, 7, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
    { name: '3x3 s2 same even (asymmetric pad)', x: [2, 8, 8, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
    { name: '3x3 s2 same odd', x: [2, 7, 9, 5], f: [3, 3, 5, 4], s: 2, pad: 'same' },
    { name: '3x2 s2 valid', x: [1, 9, 8, 2], f: [3, 2, 2, 3], s: 2, pad: 'valid' },
    { name: '1x1 s2 valid', x: [3, 6, 6, 4], f: [1, 1, 4, 6], s: 2, pad: 'valid' },
    { name: '1x1 s2 valid, 8x8 (libtorch channels-last bug case)', x: [3, 8, 8, 4], f: [1, 1, 4, 32], s: 2, pad: 'valid' },
    { name: 'explicit asymmetric, strides [2,1]', x: [2, 7, 6, 3], f: [3, 3, 3, 2], s: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
    { name: 'numeric pad 1, s2', x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 2, pad: 1 },
    { name: '5x5 s3 same', x: [1, 11, 10, 2], f: [5, 5, 2, 3], s: 3, pad: 'same' },
  ];

  test('conv2d forward and both backprops, all padding modes', async () => {
    for (const c of convCases) {
      const conv = (x: tf.Tensor, f: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad);
      await parity(`conv2d ${c.name}`, () => conv(rnd(40, c.x), rnd(41, c.f)), 1e-5, 1e-5);
      await parity(`conv2d ${c.name} gradients`, gradsOf(conv, () => [rnd(40, c.x), rnd(41, c.f)]), 1e-5, 1e-5);
    }
    await parity('conv2dTranspose', () => tf.conv2dTranspose(rnd(42, [2, 4, 4, 3]), rnd(43, [3, 3, 2, 3]), [2, 9, 10, 2], 2, 'valid'), 1e-5, 1e-5);
    await parity('fused conv2d + bias + relu', () => tf.fused.conv2d({ x: rnd(44, [2, 6, 6, 3]), filter: rnd(45, [3, 3, 3, 4]), strides: 1, pad: 'same', bias: rnd(46, [4]), activation: 'relu' }), 1e-5, 1e-5);
    await parity('dilated conv2d', () => tf.conv2d(rnd(47, [1, 9, 9, 2]), rnd(48, [3, 3, 2, 3]), 1, 'same', 'NHWC', 2), 1e-5, 1e-5);
    const dw = (x: tf.Tensor, f: tf.Tensor) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same');
    await parity('depthwiseConv2d', () => dw(rnd(49, [2, 8, 8, 3]), rnd(50, [3, 3, 3, 2])), 1e-5, 1e-5);
    await parity('depthwiseConv2d gradients', gradsOf(dw, () => [rnd(49, [2, 8, 8, 3]), rnd(50, [3, 3, 3, 2])]), 1e-5, 1e-5);
  });

  test('pooling and its gradients', async () => {
    const pools: Array<[string, (t: tf.Tensor) => tf.Tensor]> = [
      ['maxPool 3x3 s2 same (asymmetric)', (t) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'same')],
      ['maxPool 2x2 s2 valid', (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')],
      ['avgPool 3x3 s2 same (asymmetric)', (t) => tf.avgPool(t as tf.Tensor4D, 3, 2, 'same')],
      ['avgPool 3x3 s1 same', (t) => tf.avgPool(t as tf.Tensor4D, 3, 1, 'same')],
      ['avgPool 1x1 s2 (option-A shortcut)', (t) => tf.avgPool(t as tf.Tensor4D, 1, 2, 'valid')],
      ['global avgPool', (t) => tf.avgPool(t as tf.Tensor4D, [8, 8], 1, 'valid')],
    ];
    for (const [name, f] of pools) {
      await parity(name, () => f(rnd(60, [2, 8, 8, 3])));
      await parity(`${name} gradient`, gradsOf(f, () => [rnd(60, [2, 8, 8, 3])]));
    }
  });

  test('batchNorm (FusedBatchNorm) forward and gradients; batchNormTrain matches moments + batchNorm', async () => {
    const bn = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => tf.batchNorm(x as tf.Tensor4D, m, v, o, s, 1e-3);
    const inputs = () => [rnd(70, [2, 3, 4, 5]), rnd(71, [5]), tf.add(tf.abs(rnd(72, [5])), 0.5), rnd(73, [5]), rnd(74, [5])];
    await parity('batchNorm', () => bn(...(inputs() as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor])));
    await parity('batchNorm gradients', gradsOf(bn, inputs), 1e-5, 1e-5);
    await parity('batchNorm with [4,5] statistics (general path)', () => tf.batchNorm(rnd(70, [2, 3, 4, 5]), rnd(75, [4, 5]), tf.add(tf.abs(rnd(76, [4, 5])), 0.5), rnd(77, [4, 5]), rnd(78, [4, 5])));
    // batchNormTrain: native kernel on torch, moments + batchNorm on cpu
    const train = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTrain(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y;
    const tin = () => [tf.add(rnd(80, [4, 5, 5, 6], 2), 1), tf.add(rnd(81, [6], 0.1), 1), rnd(82, [6], 0.1)];
    await parity('batchNormTrain y/mean/variance', () => { const [x, g, b] = tin(); const r = batchNormTrain(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D); return [r.y, r.mean, r.variance]; }, 1e-5, 1e-5);
    await parity('batchNormTrain gradients (x, gamma, beta)', gradsOf(train, tin), 1e-4, 1e-5);
  });

  test('groupedConv2d: torch kernel equals the split/concat fallback on cpu, gradients included', async () => {
    const g = (x: tf.Tensor, f: tf.Tensor) => groupedConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same', 4);
    const inputs = () => [rnd(90, [2, 7, 7, 8]), rnd(91, [3, 3, 2, 12])];
    await parity('groupedConv2d', () => g(...(inputs() as [tf.Tensor, tf.Tensor])), 1e-5, 1e-5);
    await parity('groupedConv2d gradients', gradsOf(g, inputs), 1e-5, 1e-5);
    await parity('groupedConv2d explicit pad', () => groupedConv2d(rnd(92, [1, 6, 6, 6]), rnd(93, [3, 3, 2, 6]), 1, [[0, 0], [1, 1], [1, 1], [0, 0]], 3), 1e-5, 1e-5);
  });

  test('cpu-forwarded kernels still work (e.g. MirrorPad) and native memory is freed on dispose', async () => {
    await parity('mirrorPad (forwarded to cpu)', () => tf.mirrorPad(rnd(95, [3, 4]), [[1, 1], [2, 0]], 'reflect'));
    await tf.setBackend('torch');
    type Mem = tf.MemoryInfo & { nativeTensors: number };
    const f = () => tf.tensor4d(randn(97, 3 * 3 * 2 * 2), [3, 3, 2, 2]);
    const loss = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')));
    const mem0 = tf.memory() as Mem;
    for (let i = 0; i < 3; i++) tf.dispose(tf.tidy(() => tf.grads(loss)([rnd(96, [1, 5, 5, 2]), f()])));
    const mem1 = tf.memory() as Mem;
    assert.equal(mem1.numTensors, mem0.numTensors);
    assert.equal(mem1.nativeTensors, mem0.nativeTensors, 'native tensors freed');
    // Gradient w.r.t. x only: the Conv2D gradient parks dW for a filter thunk that never runs; it is
    // freed by the next Conv2D gradient, so native memory stays bounded (one buffer) and tfjs sees nothing.
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      tf.dispose(tf.tidy(() => tf.grads((x: tf.Tensor) => loss(x, f()))([rnd(96, [1, 5, 5, 2])])));
      counts.push((tf.memory() as Mem).nativeTensors);
      assert.equal(tf.memory().numTensors, mem0.numTensors);
    }
    assert.ok(counts[2] === counts[1] && counts[1] <= mem0.nativeTensors + 1, `native tensors bounded: ${counts}`);
  });

  test('a small-batch ResNet training step gives the same loss and update on torch and cpu (1e-4)', async () => {
    const step = () => {
      const vars = [rnd(100, [3, 3, 3, 8], 0.3), rnd(101, [3, 3, 8, 8], 0.2), rnd(102, [3, 3, 8, 16], 0.2), rnd(103, [16, 10], 0.3)]
        .map((t) => tf.variable(t));
      const gammas = [tf.variable(tf.ones([8])), tf.variable(tf.ones([8])), tf.variable(tf.ones([16]))];
      const betas = [tf.variable(tf.zeros([8])), tf.variable(tf.zeros([8])), tf.variable(tf.zeros([16]))];
      const opt = tf.train.momentum(0.1, 0.9);
      const x = rnd(104, [4, 8, 8, 3]);
      const labels = tf.oneHot(tf.tensor1d([1, 4, 7, 1], 'int32'), 10);
      const pad1: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
      const bnRelu = (h: tf.Tensor4D, k: number) => {
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        return tf.relu(tf.batchNorm(h, mean, variance, betas[k], gammas[k], 1e-5)) as tf.Tensor4D;
      };
      const losses: number[] = [];
      for (let s = 0; s < 2; s++) {
        const loss = opt.minimize(() => {
          const h0 = bnRelu(tf.conv2d(x as tf.Tensor4D, vars[0] as tf.Tensor4D, 1, pad1) as tf.Tensor4D, 0);
          const h1 = tf.add(bnRelu(tf.conv2d(h0, vars[1] as tf.Tensor4D, 1, pad1) as tf.Tensor4D, 1), h0) as tf.Tensor4D;
          const short = tf.pad(tf.avgPool(h1, 1, 2, 'valid'), [[0, 0], [0, 0], [0, 0], [4, 4]]);
          const h2 = tf.add(bnRelu(tf.conv2d(h1, vars[2] as tf.Tensor4D, 2, pad1) as tf.Tensor4D, 2), short) as tf.Tensor4D;
          const feats = tf.mean(h2, [1, 2]) as tf.Tensor2D;
          return tf.losses.softmaxCrossEntropy(labels, tf.matMul(feats, vars[3] as tf.Tensor2D)) as tf.Scalar;
        }, true)!;
        losses.push(loss.dataSync()[0]);
        loss.dispose();
      }
      const out = [tf.tensor(losses), ...vars.map((v) => v.clone()), ...gammas.map((v) => v.clone())];
      [...vars, ...gammas, ...betas].forEach((v) => v.dispose());
      opt.dispose();
      return out;
    };
    await parity('ResNet step (loss, updated parameters)', step, 1e-4, 1e-4);
  });

  test('layout: a convolution copies data from JS once into NCHW, reads the NHWC output of a kernel without a copy; filter gradients are the counted HWIO copies', () => {
    const addon = (tf.backend() as unknown as { addon: { takeLayoutCopies(): { copies: Record<string, number>; bytes: Record<string, number> } } }).addon;
    addon.takeLayoutCopies();
    tf.tidy(() => {
      const x = rnd(1, [2, 5, 5, 3]) as tf.Tensor4D;
      const w = rnd(2, [3, 3, 3, 4], 0.2) as tf.Tensor4D;
      const h = tf.conv2d(x, w, 1, 'same');
      assert.deepEqual(addon.takeLayoutCopies(), { copies: { conv2d: 1 }, bytes: { conv2d: 2 * 5 * 5 * 3 * 4 } }, 'the input from JS: one copy');
      const w2 = rnd(3, [3, 3, 4, 4], 0.2) as tf.Tensor4D;
      tf.conv2d(tf.relu(h), w2, 1, 'same').dataSync();
      assert.deepEqual(addon.takeLayoutCopies(), { copies: {}, bytes: {} }, "a kernel's output (and an elementwise op on it) is already NCHW in memory");
      // The upstream gradient is a kernel's output too (tf.sum alone would hand back a broadcast view).
      const weights = tf.relu(h);
      tf.grad((f) => tf.sum(tf.mul(tf.conv2d(tf.relu(h), f as tf.Tensor4D, 1, 'same'), weights)))(w2).dataSync();
      const taken = addon.takeLayoutCopies();
      assert.deepEqual(Object.values(taken.copies), [1], JSON.stringify(taken));
      assert.deepEqual(Object.values(taken.bytes), [3 * 3 * 4 * 4 * 4], 'only the filter gradient, OIHW → HWIO');
    });
  });
});
