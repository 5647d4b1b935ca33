/**
 * Parity of the wasm training kernels (src/backends/wasm-training.ts) with the tfjs cpu backend.
 * Inputs are generated once from a seeded Rng as plain arrays and materialised on each backend,
 * so no tensor moves between backends.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../../src/rng.js';
import { initWasm, registerWasmTrainingKernels } from '../../src/backends/wasm-training.js';
import { batchNormTrain } from '../../src/backends/batch-norm-train.js';
import { batchNormTrainPath, setBatchNormSimd } from '../../src/backends/wasm-batch-norm.js';
import { wasmKernels } from '../../src/backends/wasm-kernels.js';

const RTOL = 1e-5;
const ATOL = 1e-6;

function randn(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** Asserts |a-b| <= atol + rtol*|b| elementwise (b is the cpu reference). */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = ATOL, rtol = RTOL): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (excess > worst) { worst = excess; worstAt = i; }
  }
  assert.ok(worstAt < 0, `${what}: element ${worstAt} is ${actual[worstAt]}, cpu gives ${expected[worstAt]}`);
}

async function onBackend<T>(name: 'cpu' | 'wasm', f: () => T): Promise<T> {
  assert.ok(await tf.setBackend(name));
  return f();
}

before(async () => {
  await initWasm();
});

/**
 * With IS_TEST the engine throws when a kernel leaves a temporary behind. (Only around plain
 * kernels: its check misfires on customGrad ops such as softmaxCrossEntropy.)
 */
function withLeakCheck<T>(f: () => T): T {
  tf.env().set('IS_TEST', true);
  try { return f(); } finally { tf.env().set('IS_TEST', false); }
}

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
}

const convCases: ConvCase[] = [
  { name: '3x3 s1 same', x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3x3 s2 same even (pad bottom/right only)', x: [2, 8, 8, 3], f: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { name: '3x3 s2 same odd', x: [2, 7, 9, 5], f: [3, 3, 5, 4], strides: 2, pad: 'same' },
  { name: '3x2 s2 valid, stride not dividing', x: [1, 9, 8, 2], f: [3, 2, 2, 3], strides: 2, pad: 'valid' },
  { name: '1x1 s2 valid (projection shortcut)', x: [3, 6, 6, 4], f: [1, 1, 4, 6], strides: 2, pad: 'valid' },
  { name: 'explicit asymmetric pads, strides [2,1]', x: [2, 7, 6, 3], f: [3, 3, 3, 2], strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: 'numeric pad 1, s2 (torch-style)', x: [2, 8, 8, 3], f: [3, 3, 3, 4], strides: 2, pad: 1 },
  { name: '5x5 s3 same odd', x: [1, 11, 10, 2], f: [5, 5, 2, 3], strides: 3, pad: 'same' },
  { name: '3x3 s1 valid', x: [2, 5, 6, 3], f: [3, 3, 3, 2], strides: 1, pad: 'valid' },
];

test('Conv2DBackpropFilter / Conv2DBackpropInput on wasm match cpu (via tf.grads of conv2d)', async () => {
  const rng = new Rng(11);
  for (const c of convCases) {
    const xv = randn(rng, tf.util.sizeFromShape(c.x));
    const fv = randn(rng, tf.util.sizeFromShape(c.f));
    const run = () => tf.tidy(() => {
      const x = tf.tensor4d(xv, c.x);
      const f = tf.tensor4d(fv, c.f);
      const y = tf.conv2d(x, f, c.strides, c.pad);
      const wv = randn(new Rng(5), y.size);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), tf.tensor(wv, y.shape))));
      const [dx, df] = g([x, f]);
      return { y: y.dataSync().slice(), dx: dx.dataSync().slice(), df: df.dataSync().slice(), dxShape: dx.shape, dfShape: df.shape };
    });
    const ref = await onBackend('cpu', run);
    const got = await onBackend('wasm', () => withLeakCheck(run));
    assert.deepEqual(got.dxShape, c.x, `${c.name}: dx shape`);
    assert.deepEqual(got.dfShape, c.f, `${c.name}: dW shape`);
    assertClose(got.y, ref.y, `${c.name}: y`);
    assertClose(got.dx, ref.dx, `${c.name}: dx`);
    assertClose(got.df, ref.df, `${c.name}: dW`);
  }
});

test('Conv2DBackpropInput keeps inputShape when dy came from dimRoundingMode (explicit call)', async () => {
  // tf.conv2dTranspose calls the kernel directly; a 9-row input at stride 2 with valid padding
  // gives 4 output rows, so dx must reconstruct 9 rows (the last one receives no gradient).
  const rng = new Rng(3);
  const dyv = randn(rng, 2 * 4 * 4 * 3);
  const fv = randn(rng, 3 * 3 * 2 * 3);
  const run = () => tf.tidy(() => tf.conv2dTranspose(tf.tensor4d(dyv, [2, 4, 4, 3]), tf.tensor4d(fv, [3, 3, 2, 3]), [2, 9, 10, 2], 2, 'valid').dataSync().slice());
  const ref = await onBackend('cpu', run);
  const got = await onBackend('wasm', run);
  assertClose(got, ref, 'conv2dTranspose');
});

test('UnsortedSegmentSum on wasm: hand-computed values, dropped out-of-range ids, and tf.gather gradient', async () => {
  await tf.setBackend('wasm');
  const out = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]), tf.tensor1d([2, 0, 2, 1], 'int32'), 3).arraySync());
  assert.deepEqual(out, [[3, 4], [7, 8], [6, 8]]);
  const outInt = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2));
  assert.equal(outInt.dtype, 'int32');
  assert.deepEqual(outInt.arraySync(), [3, 3]);
  outInt.dispose();

  const rng = new Rng(7);
  const table = randn(rng, 6 * 4);
  const w = randn(rng, 5 * 4);
  const run = () => tf.tidy(() => {
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d([0, 3, 3, 5, 1], 'int32')), tf.tensor2d(w, [5, 4]))));
    return g(tf.tensor2d(table, [6, 4])).dataSync().slice();
  });
  const ref = await onBackend('cpu', run);
  const got = await onBackend('wasm', run);
  assertClose(got, ref, 'gather gradient');
});

/** batchNorm written with elementary ops, whose gradients do not involve FusedBatchNorm. */
function manualBatchNorm(x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset: tf.Tensor | undefined, scale: tf.Tensor | undefined, eps: number): tf.Tensor {
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  if (scale) y = tf.mul(y, scale);
  if (offset) y = tf.add(y, offset);
  return y;
}

test('FusedBatchNorm gradient (re-registered, no Tile) equals the elementary-op gradient on cpu and wasm', async () => {
  registerWasmTrainingKernels();
  const rng = new Rng(21);
  const xShape: [number, number, number, number] = [2, 3, 4, 5];
  const cases: Array<{ name: string; stat: number[]; scale?: number[]; offset?: number[] }> = [
    { name: 'per-channel [C]', stat: [5], scale: [5], offset: [5] },
    { name: 'keepDims [1,1,1,C]', stat: [1, 1, 1, 5], scale: [1, 1, 1, 5], offset: [1, 1, 1, 5] },
    // (every case has a scale and an offset: stock tfjs 4.22.0 cannot differentiate tf.batchNorm
    // without them; the engine trips over the undefined input when saving it / walking the tape)
    { name: 'scalar-sized stats, per-channel scale', stat: [1], scale: [5], offset: [1] },
    { name: 'non-per-channel stats [4,5]', stat: [4, 5], scale: [4, 5], offset: [4, 5] },
  ];
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    for (const c of cases) {
      const xv = randn(rng, tf.util.sizeFromShape(xShape));
      const n = tf.util.sizeFromShape(c.stat);
      const mv = randn(rng, n);
      const vv = Float32Array.from(randn(rng, n), (v) => 0.5 + v * v);
      const sv = c.scale ? randn(rng, tf.util.sizeFromShape(c.scale)) : undefined;
      const ov = c.offset ? randn(rng, tf.util.sizeFromShape(c.offset)) : undefined;
      const wv = randn(rng, tf.util.sizeFromShape(xShape));
      const grads = (useFused: boolean) => tf.tidy(() => {
        const args = [tf.tensor(xv, xShape), tf.tensor(mv, c.stat), tf.tensor(vv, c.stat)];
        if (sv) args.push(tf.tensor(sv, c.scale));
        if (ov) args.push(tf.tensor(ov, c.offset));
        const f = (...t: tf.Tensor[]) => {
          const [x, m, v] = t;
          const s = sv ? t[3] : undefined;
          const o = ov ? t[sv ? 4 : 3] : undefined;
          const y = useFused
            ? tf.batchNorm(x as tf.Tensor4D, m, v, o, s, 1e-3)
            : manualBatchNorm(x, m, v, o, s, 1e-3);
          return tf.sum(tf.mul(y, tf.tensor(wv, xShape)));
        };
        return tf.grads(f)(args).map((g) => g.dataSync().slice());
      });
      const fused = grads(true);
      const manual = grads(false);
      fused.forEach((g, i) => assertClose(g, manual[i], `${backend} ${c.name}: input ${i}`));
    }
  }
});

/**
 * batchNormTrain's values and gradients on `backend` against autodiff through moments + batchNorm
 * on cpu, for an NHWC input of `shape`.
 */
async function checkBatchNormTrain(shape: [number, number, number, number], seed: number, what: string): Promise<void> {
  const rng = new Rng(seed);
  const size = tf.util.sizeFromShape(shape);
  const C = shape[3];
  const xv = randn(rng, size).map((v) => 2 * v + 1);
  const gv = randn(rng, C).map((v) => 1 + 0.2 * v);
  const bv = randn(rng, C).map((v) => 0.2 * v);
  const wv = randn(rng, size);
  const run = (fused: boolean) => tf.tidy(() => {
    const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      let y: tf.Tensor;
      if (fused) {
        y = batchNormTrain(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y;
      } else {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        y = tf.batchNorm(x as tf.Tensor4D, mean, variance, b, g, 1e-5);
      }
      return tf.sum(tf.mul(y, tf.tensor4d(wv, shape)));
    };
    const args = [tf.tensor4d(xv, shape), tf.tensor1d(gv), tf.tensor1d(bv)];
    const stats = batchNormTrain(args[0] as tf.Tensor4D, args[1] as tf.Tensor1D, args[2] as tf.Tensor1D, 1e-5);
    return [...tf.grads(f)(args), stats.y, stats.mean, stats.variance].map((t) => t.dataSync().slice());
  });
  await tf.setBackend('cpu');
  const ref = run(false);
  const moments = tf.tidy(() => {
    const x = tf.tensor4d(xv, shape);
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return [tf.batchNorm(x, mean, variance, tf.tensor1d(bv), tf.tensor1d(gv), 1e-5), mean, variance].map((t) => t.dataSync().slice());
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const got = run(true);
    assert.equal(tf.memory().numTensors, before, `${what} ${backend}: no leaks`);
    got.slice(0, 3).forEach((g, i) => assertClose(g, ref[i], `${what} ${backend} gradient ${i}`));
    got.slice(3).forEach((v, i) => assertClose(v, moments[i], `${what} ${backend} forward output ${i}`));
  }
  await tf.setBackend('cpu');
}

// C = 6 and 7 take the 4-wide and scalar tails, 20 the 16-wide groups plus a 4-wide one; 9·9 rows
// per image give a last row block shorter than the others (64 rows per block up to C = 64).
const bnShapes: Array<[number, number, number, number]> = [[3, 4, 5, 6], [2, 3, 3, 7], [2, 9, 9, 20], [1, 2, 2, 1]];

test('batchNormTrain (closed form on cpu, LtBatchNormTrain kernels on wasm) equals autodiff through moments + batchNorm, SIMD and JS paths', async () => {
  assert.ok(tf.getKernel('LtBatchNormTrain', 'wasm') != null, 'wasm has the batch-norm training kernels');
  // WebAssembly SIMD is in every Node this project supports, so the SIMD kernels must be in use
  assert.ok(wasmKernels() !== null, 'the batch-norm WebAssembly SIMD module instantiates');
  assert.equal(batchNormTrainPath(), 'simd');
  try {
    for (const path of ['simd', 'js'] as const) {
      setBatchNormSimd(path === 'simd');
      assert.equal(batchNormTrainPath(), path);
      for (const [i, shape] of bnShapes.entries()) await checkBatchNormTrain(shape, 31 + i, `${path} [${shape}]`);
    }
  } finally {
    setBatchNormSimd(true);
  }
});

test('batchNormTrain SIMD kernels grow their memory for a large input and still match cpu', async () => {
  assert.equal(batchNormTrainPath(), 'simd');
  const shape: [number, number, number, number] = [4, 16, 16, 36]; // 36864 floats: 288 KiB for dy and x
  const k = wasmKernels()!;
  const bytesBefore = k.memory.buffer.byteLength;
  assert.ok(bytesBefore < 2 * 4 * tf.util.sizeFromShape(shape), 'the module starts smaller than this case needs');
  await checkBatchNormTrain(shape, 77, `large [${shape}]`);
  assert.ok(k.memory.buffer.byteLength >= 2 * 4 * tf.util.sizeFromShape(shape), 'the module memory grew to hold dy and x');
});

test('Sum / Mean gradients through LtBroadcastTo on wasm match cpu (several axes)', async () => {
  const xv = randn(new Rng(41), 2 * 3 * 4 * 5);
  const cases: Array<(t: tf.Tensor) => tf.Tensor> = [
    (t) => tf.sum(t, [0, 1, 2]), (t) => tf.mean(t, [1, 2]), (t) => tf.sum(t, 3, true), (t) => tf.mean(t),
    (t) => tf.sum(t, [0, 2]), (t) => tf.mean(t, -1),
  ];
  for (const [k, f] of cases.entries()) {
    const run = () => tf.tidy(() => {
      const x = tf.tensor4d(xv, [2, 3, 4, 5]);
      const w = tf.tensor(randn(new Rng(42 + k), f(x).size), f(x).shape);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), w)))(x).dataSync().slice();
    });
    const ref = await onBackend('cpu', run);
    const got = await onBackend('wasm', run);
    assertClose(got, ref, `reduction case ${k}`);
  }
});

test('a tiny conv net (conv s1/s2, moments + batchNorm, relu, avg pool, dense, gather, CE) has equal gradients on wasm and cpu', async () => {
  const rng = new Rng(99);
  const xv = randn(rng, 4 * 9 * 9 * 3);
  const w1 = randn(rng, 3 * 3 * 3 * 6).map((v) => v * 0.3);
  const w2 = randn(rng, 3 * 3 * 6 * 8).map((v) => v * 0.2);
  const w3 = randn(rng, 8 * 5).map((v) => v * 0.3);
  const emb = randn(rng, 5 * 8).map((v) => v * 0.1);
  const gamma1 = randn(rng, 6).map((v) => 1 + 0.1 * v);
  const beta1 = randn(rng, 6).map((v) => 0.1 * v);
  const gamma2 = randn(rng, 8).map((v) => 1 + 0.1 * v);
  const beta2 = randn(rng, 8).map((v) => 0.1 * v);
  const labels = [0, 3, 4, 1];
  const run = () => {
    const vars = {
      w1: tf.variable(tf.tensor4d(w1, [3, 3, 3, 6]), true, 'w1'),
      w2: tf.variable(tf.tensor4d(w2, [3, 3, 6, 8]), true, 'w2'),
      w3: tf.variable(tf.tensor2d(w3, [8, 5]), true, 'w3'),
      emb: tf.variable(tf.tensor2d(emb, [5, 8]), true, 'emb'),
      g1: tf.variable(tf.tensor1d(gamma1), true, 'g1'),
      b1: tf.variable(tf.tensor1d(beta1), true, 'b1'),
      g2: tf.variable(tf.tensor1d(gamma2), true, 'g2'),
      b2: tf.variable(tf.tensor1d(beta2), true, 'b2'),
    };
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => {
      const x = tf.tensor4d(xv, [4, 9, 9, 3]);
      const y = tf.tensor1d(labels, 'int32');
      const bnRelu = (h: tf.Tensor4D, gamma: tf.Variable, beta: tf.Variable): tf.Tensor4D => {
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        return tf.relu(tf.batchNorm(h, mean, variance, beta, gamma, 1e-5)) as tf.Tensor4D;
      };
      const { value, grads } = tf.variableGrads(() => {
        let h = bnRelu(tf.conv2d(x, vars.w1, 1, 'same'), vars.g1, vars.b1);
        h = bnRelu(tf.conv2d(h, vars.w2, 2, 'same'), vars.g2, vars.b2);
        const pooled = tf.reshape(tf.avgPool(h, [h.shape[1], h.shape[2]], 1, 'valid') as tf.Tensor4D, [4, 8]);
        // class embeddings added to the features exercise GatherV2's gradient (UnsortedSegmentSum)
        const feats = tf.add(pooled, tf.gather(vars.emb, y));
        const logits = tf.matMul(feats, vars.w3);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 5), logits) as tf.Scalar;
      });
      const names = Object.keys(grads).sort();
      return { loss: value.dataSync()[0], names, g: names.map((k) => grads[k].dataSync().slice()) };
    });
    assert.equal(tf.memory().numTensors, before, 'no tensors leak from the step');
    Object.values(vars).forEach((v) => v.dispose());
    return out;
  };
  const ref = await onBackend('cpu', run);
  const got = await onBackend('wasm', run);
  assert.deepEqual(got.names, ref.names);
  assertClose([got.loss], [ref.loss], 'loss');
  got.g.forEach((g, i) => assertClose(g, ref.g[i], `gradient of ${got.names[i]}`));
});

test('the pinned wasm bundle still has the internals the training kernels use', async () => {
  await tf.setBackend('wasm');
  assert.equal(tfwasm.version_wasm, '4.22.0', 'wasm-training.ts depends on @tensorflow/tfjs-backend-wasm 4.22.0 internals: re-check them before upgrading');
  const backend = tf.backend() as unknown as tfwasm.BackendWasm;
  assert.equal(typeof backend.makeOutput, 'function');
  assert.equal(typeof backend.typedArrayFromHeap, 'function');
  assert.equal(typeof backend.dataIdMap?.get, 'function');
  assert.equal(typeof backend.wasm.cwrap, 'function');
  for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'UnsortedSegmentSum']) {
    assert.ok(tf.getKernel(k, 'wasm'), `${k} registered on wasm`);
  }
});
