/**
 * The ImageNet-size backbones (src/models/backbones/resnet-imagenet.ts) and their layers:
 * torchvision's parameter counts, feature shapes, PyTorch max-pool padding, fan-out init, and a
 * training step with finite gradients.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LtModel } from '../../src/models/model.js';
import { ParamStore } from '../../src/models/params.js';
import { Rng } from '../../src/rng.js';
import { getBackbone, listBackbones } from '../../src/models/backbones/registry.js';
import { Conv2d, GroupedConv2d, maxPool2d } from '../../src/models/layers.js';
import { initWasm } from '../../src/backends/wasm-training.js';

// Building a 25M-parameter model draws 25M normals (about 2 s here): build each once.
const models = new Map<string, LtModel>();
function model1000(backbone: string): LtModel {
  let m = models.get(backbone);
  if (!m) {
    m = new LtModel({ backbone, head: 'linear', inChannels: 3, numClasses: 1000, seed: 0 });
    models.set(backbone, m);
  }
  return m;
}
after(() => {
  for (const m of models.values()) m.dispose();
});

function countParams(backbone: string): number {
  return model1000(backbone).parameterCount(); // trainable only: BN running statistics are buffers
}

test('resnet10, resnet50 and resnext50 are registered beside the CIFAR ResNets', () => {
  for (const name of ['resnet10', 'resnet50', 'resnext50', 'resnet32']) assert.ok(listBackbones().includes(name), name);
});

test('ResNeXt-50 32x4d with a 1000-class linear head has torchvision\'s 25,028,904 parameters', async () => {
  await tf.setBackend('cpu');
  assert.equal(countParams('resnext50'), 25_028_904);
});

test('ResNet-50 with a 1000-class linear head has torchvision\'s 25,557,032 parameters', async () => {
  await tf.setBackend('cpu');
  assert.equal(countParams('resnet50'), 25_557_032);
});

test('ResNet-10 (BasicBlock [1,1,1,1]) with a 1000-class linear head has 5,418,792 parameters', async () => {
  await tf.setBackend('cpu');
  // By hand from torchvision's ResNet(BasicBlock, [1, 1, 1, 1]) (conv weights k·k·in·out, BN γ+β = 2·C):
  //   stem   conv1 7·7·3·64 = 9,408            + bn1 128                                = 9,536
  //   layer1 3·3·64·64 ·2 = 73,728             + 2 BN(64) 256                           = 73,984
  //   layer2 3·3·64·128 = 73,728 + 3·3·128·128 = 147,456 + downsample 64·128 = 8,192
  //          + 3 BN(128) 768                                                            = 230,144
  //   layer3 294,912 + 589,824 + 32,768 + 3 BN(256) 1,536                               = 919,040
  //   layer4 1,179,648 + 2,359,296 + 131,072 + 3 BN(512) 3,072                          = 3,673,088
  //   fc     512·1000 + 1000                                                            = 513,000
  //   total 9,536 + 73,984 + 230,144 + 919,040 + 3,673,088 + 513,000                    = 5,418,792
  assert.equal(countParams('resnet10'), 5_418_792);
});

test('the backbones give 512 / 2048-d features; the stem takes the dataset\'s channel count', async () => {
  await tf.setBackend('cpu');
  // ResNet-10 on 1-channel 64 px: 64 → 32 (stem) → 16 (max-pool) → 16, 8, 4, 2 (stages) → global mean
  const store = new ParamStore(new Rng(1));
  const r10 = getBackbone('resnet10').create(store, 1);
  assert.equal(r10.featureDim, 512);
  assert.deepEqual(store.trainable.get('conv1.weight')!.shape, [7, 7, 1, 64]);
  assert.deepEqual(tf.tidy(() => r10.apply(tf.ones([2, 64, 64, 1]), false).shape), [2, 512]);
  store.dispose();
  // ResNet-50 at 64 px, batch 2, with its linear head
  const r50 = model1000('resnet50');
  assert.equal(r50.backbone.featureDim, 2048);
  assert.deepEqual(tf.tidy(() => {
    const o = r50.forward(tf.ones([2, 64, 64, 3]), false);
    return [o.features.shape, o.logits.shape];
  }), [[2, 2048], [2, 1000]]);
  // ResNeXt-50 (32 split convs per block on cpu: the slowest) at 32 px, batch 1: 32 → 16 → 8 → 8, 4, 2, 1
  const rx = model1000('resnext50');
  assert.equal(rx.backbone.featureDim, 2048);
  assert.deepEqual(tf.tidy(() => rx.backbone.apply(tf.ones([1, 32, 32, 3]), false).shape), [1, 2048]);
});

test('ResNeXt-50 bottleneck geometry: 32 groups of width 4·(planes/64), stride on the 3×3 conv', async () => {
  await tf.setBackend('cpu');
  const store = model1000('resnext50').store;
  const shape = (n: string) => store.trainable.get(n)!.shape;
  assert.deepEqual(shape('layer1.0.conv1.weight'), [1, 1, 64, 128]);
  assert.deepEqual(shape('layer1.0.conv2.weight'), [3, 3, 4, 128]);
  assert.deepEqual(shape('layer1.0.conv3.weight'), [1, 1, 128, 256]);
  assert.deepEqual(shape('layer1.0.downsample.0.weight'), [1, 1, 64, 256]);
  assert.deepEqual(shape('layer4.2.conv2.weight'), [3, 3, 32, 1024]);
  assert.ok(!store.trainable.has('layer1.1.downsample.0.weight'));
  assert.ok(store.buffers.has('layer4.0.downsample.1.running_var'));
});

test('fan-out kaiming init: std √(2/(k·k·outC)) for the ImageNet ResNets, fan-in stays the default', async () => {
  await tf.setBackend('cpu');
  const std = (v: tf.Variable) => tf.tidy(() => Math.sqrt(tf.mean(tf.square(v)).dataSync()[0]));
  const store = new ParamStore(new Rng(3));
  // 3·3·64 in → 256 out: fan_out 2304, fan_in 576
  const out = new Conv2d(store, 'a', 64, 256, 3, 1, { fanMode: 'fan_out' });
  const inn = new Conv2d(store, 'b', 64, 256, 3, 1);
  // grouped: weight [3,3,4,128]; fan_out = 9·128 = 1152 (torch counts out_channels, not per group)
  const grouped = new GroupedConv2d(store, 'c', 128, 128, 3, 1, 32, { fanMode: 'fan_out' });
  assert.ok(Math.abs(std(out.weight) / Math.sqrt(2 / 2304) - 1) < 0.03, `fan_out std ${std(out.weight)}`);
  assert.ok(Math.abs(std(inn.weight) / Math.sqrt(2 / 576) - 1) < 0.03, `fan_in std ${std(inn.weight)}`);
  assert.ok(Math.abs(std(grouped.weight) / Math.sqrt(2 / 1152) - 1) < 0.05, `grouped std ${std(grouped.weight)}`);
  // ResNet-50's layer3.0.conv2 (3·3·256→256): 2/(9·256)
  const r50 = model1000('resnet50').store;
  const w = r50.trainable.get('layer3.0.conv2.weight')!;
  assert.ok(Math.abs(std(w) / Math.sqrt(2 / (9 * 256)) - 1) < 0.01, `layer3.0.conv2 std ${std(w)}`);
  assert.deepEqual(Array.from(r50.trainable.get('layer4.2.bn3.weight')!.dataSync().slice(0, 3)), [1, 1, 1]); // no zero-init
  store.dispose();
});

test('GroupedConv2d: output group g sees input group g only', async () => {
  await tf.setBackend('cpu');
  const store = new ParamStore(new Rng(5));
  const conv = new GroupedConv2d(store, 'g', 4, 4, 1, 1, 2);
  // weight [1,1,2,4]: group 0 (out 0,1) reads in 0,1; group 1 (out 2,3) reads in 2,3
  conv.weight.assign(tf.tensor4d([1, 2, 3, 4, 10, 20, 30, 40], [1, 1, 2, 4]));
  const y = tf.tidy(() => Array.from(conv.apply(tf.tensor4d([1, 1, 100, 100], [1, 1, 1, 4])).dataSync()));
  // out0 = 1·1 + 10·1 = 11, out1 = 2 + 20 = 22, out2 = 3·100 + 30·100 = 3300, out3 = 4400
  assert.deepEqual(y, [11, 22, 3300, 4400]);
  store.dispose();
});

/** PyTorch: F.max_pool2d(-arange(1,17).view(1,1,4,4), 3, 2, 1) = [[-1,-2],[-5,-6]]. */
function checkMaxPool(): void {
  const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => -(i + 1)), [1, 4, 4, 1]);
  //  x = -1  -2  -3  -4      windows (pad 1 each side, −∞): out rows/cols cover {0,1} and {1,2,3}
  //      -5  -6  -7  -8      out[0,0] = max(-1,-2,-5,-6) = -1     out[0,1] = max(rows 0-1, cols 1-3) = -2
  //      -9 -10 -11 -12      out[1,0] = max(rows 1-3, cols 0-1) = -5  out[1,1] = max(rows 1-3, cols 1-3) = -6
  //     -13 -14 -15 -16      (zero padding would give 0s; tfjs 'same' (pad 0 top, 1 bottom) gives -1 -3 -9 -11)
  const y = maxPool2d(x, 3, 2, 1);
  assert.deepEqual(y.shape, [1, 2, 2, 1]);
  assert.deepEqual(Array.from(y.dataSync()), [-1, -2, -5, -6]);
  // d(sum y)/dx: 1 at each window's argmax, x[0..1][0..1]
  const g = tf.grad((t: tf.Tensor) => tf.sum(maxPool2d(t as tf.Tensor4D, 3, 2, 1)))(x);
  assert.deepEqual(Array.from(g.dataSync()), [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  // The 112 → 56 map of the 224-px stem: ⌊(112 + 2 − 3)/2⌋ + 1 = 56
  assert.deepEqual(maxPool2d(tf.zeros([1, 112, 112, 1]), 3, 2, 1).shape, [1, 56, 56, 1]);
}

test('maxPool2d pads symmetrically with −∞ (PyTorch), forward and gradient, on cpu', async () => {
  await tf.setBackend('cpu');
  tf.tidy(checkMaxPool);
});

test('maxPool2d pads symmetrically with −∞ (PyTorch), forward and gradient, on wasm', async () => {
  await initWasm(1);
  try {
    tf.tidy(checkMaxPool);
  } finally {
    await tf.setBackend('cpu');
  }
});

test('maxPool2d on wasm: forward and gradient equal cpu\'s on random NHWC data (k 3, s 2, p 1)', async () => {
  const rng = new Rng(11);
  const shape: [number, number, number, number] = [2, 9, 8, 3];
  const values = Float32Array.from({ length: 2 * 9 * 8 * 3 }, () => rng.normal());
  const dyValues = Float32Array.from({ length: 2 * 5 * 4 * 3 }, () => rng.normal());
  const run = () => tf.tidy(() => {
    const x = tf.tensor4d(values, shape);
    const dy = tf.tensor4d(dyValues, [2, 5, 4, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(maxPool2d(t as tf.Tensor4D, 3, 2, 1), dy)))(x);
    return [Array.from(maxPool2d(x, 3, 2, 1).dataSync()), Array.from(g.dataSync())];
  });
  await tf.setBackend('cpu');
  const [yCpu, gCpu] = run();
  await initWasm(1);
  try {
    const [yWasm, gWasm] = run();
    assert.deepEqual(yWasm, yCpu);
    // Same argmaxes; a position that wins two windows sums two dy in either order (float rounding).
    assert.equal(gWasm.length, gCpu.length);
    gCpu.forEach((e, i) => assert.ok(Math.abs(gWasm[i] - e) <= 1e-6 * (1 + Math.abs(e)), `dx[${i}]: wasm ${gWasm[i]}, cpu ${e}`));
  } finally {
    await tf.setBackend('cpu');
  }
});

// On wasm (lt-bench's training backend, with the MaxPoolGrad above): tfjs cpu's naive
// Conv2DBackpropFilter takes 7–12 s for ResNet-10's 4.9M conv weights on this machine, wasm 0.5–1 s.
test('one ResNet-10 training step at 32 px on wasm gives a finite gradient for every trainable variable', async () => {
  await initWasm(1);
  const m = new LtModel({ backbone: 'resnet10', head: 'linear', inChannels: 3, numClasses: 5, seed: 2 });
  const rng = new Rng(9);
  const xs = Float32Array.from({ length: 2 * 32 * 32 * 3 }, () => rng.normal());
  const x = tf.tensor4d(xs, [2, 32, 32, 3]);
  const y = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 5);
  const vars = [...m.store.optimisable().entries()];
  const before = tf.memory().numTensors;
  const report = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, m.forward(x, true).logits) as tf.Scalar, vars.map(([, v]) => v));
    const bad: string[] = [];
    let nonZero = 0;
    for (const [name, v] of vars) {
      const g = grads[v.name];
      assert.ok(g !== undefined, `no gradient for ${name}`);
      assert.deepEqual(g.shape, v.shape, name);
      const d = g.dataSync();
      if (!d.every(Number.isFinite)) bad.push(name);
      if (d.some((e) => e !== 0)) nonZero++;
    }
    return { loss: value.dataSync()[0], bad, nonZero };
  });
  m.store.discardUpdates();
  assert.equal(tf.memory().numTensors, before, 'no tensor leak');
  assert.ok(Number.isFinite(report.loss), `loss ${report.loss}`);
  assert.deepEqual(report.bad, []);
  assert.equal(report.nonZero, vars.length, 'every variable receives a nonzero gradient');
  // stem conv + BN γ,β (3); layer1: 2 × (conv + BN) (6); layers 2–4: 3 × (conv + BN) each (27); fc W, b (2)
  assert.equal(vars.length, 3 + 6 + 27 + 2);
  x.dispose();
  y.dispose();
  m.dispose();
  await tf.setBackend('cpu');
});
