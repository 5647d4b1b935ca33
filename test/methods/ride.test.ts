/**
 * RIDE: the per-class diversity temperature, the diversity KL and the summed per-expert loss
 * against hand-computed values, the expert model's shape, and a 1-epoch run through the CLI.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { rideClassTemperatures, rideDiversityTerm, rideLoss, rideMethod } from '../../src/methods/ride.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend, writeYaml } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const kl = (p: number[], q: number[]) => p.reduce((acc, pi, i) => acc + pi * Math.log(pi / q[i]), 0);
const ce = (z: number[], y: number) => -Math.log(softmax(z)[y]);

test('per-class temperature: (C·π_c·λ + 1 − λ) / max, by hand', () => {
  // counts [3, 1]: π = [0.75, 0.25], λ = 0.5: [2·0.75·0.5 + 0.5, 2·0.25·0.5 + 0.5] = [1.25, 0.75] → / 1.25.
  const t = rideClassTemperatures([3, 1], 0.5);
  assert.ok(Math.abs(t[0] - 1) < 1e-12 && Math.abs(t[1] - 0.6) < 1e-12, String(t));
  // λ = 0: every class at 1 (no temperature change).
  assert.deepEqual(rideClassTemperatures([3, 1], 0), [1, 1]);
  // ImageNet-LT's λ = 0.02 on counts [1000, 10]: raw [2·(1000/1010)·0.02 + 0.98, 2·(10/1010)·0.02 + 0.98].
  const raw = [2 * (1000 / 1010) * 0.02 + 0.98, 2 * (10 / 1010) * 0.02 + 0.98];
  const t2 = rideClassTemperatures([1000, 10], 0.02);
  assert.ok(Math.abs(t2[1] - raw[1] / raw[0]) < 1e-12);
});

test('diversity term: factor · T̄² · KL(softmax(z̄/T) ‖ softmax(z_i/T)), scalar and per-class T', () => {
  const z = tf.tensor2d([[1, 0], [0.5, 2]]);
  const mean = tf.tensor2d([[0, 0], [1, 1]]);
  // T = 1: batch mean of KL(p̄ ‖ p_i), times −0.2.
  const expected1 = (-0.2 * (kl([0.5, 0.5], softmax([1, 0])) + kl([0.5, 0.5], softmax([0.5, 2])))) / 2;
  const got1 = rideDiversityTerm(z, mean, 1, -0.2);
  assert.ok(Math.abs(got1.dataSync()[0] - expected1) < 1e-6, `${got1.dataSync()[0]} vs ${expected1}`);
  // Per-class T = [1, 0.5]: columns divided, T̄ = 0.75.
  const T = [1, 0.5];
  const rows = [[[1, 0], [0, 0]], [[0.5, 2], [1, 1]]] as const;
  const klSum = rows.reduce((acc, [zi, mi]) => acc + kl(softmax(mi.map((v, c) => v / T[c])), softmax(zi.map((v, c) => v / T[c]))), 0);
  const expected2 = (-0.45 * 0.75 * 0.75 * klSum) / 2;
  const got2 = rideDiversityTerm(z, mean, T, -0.45);
  assert.ok(Math.abs(got2.dataSync()[0] - expected2) < 1e-6, `${got2.dataSync()[0]} vs ${expected2}`);
  tf.dispose([z, mean, got1, got2]);
});

test('diversity term: the ensemble mean is detached (no gradient reaches it)', () => {
  const z = tf.tensor2d([[1, 0]]);
  const mean = tf.tensor2d([[0.3, -0.2]]);
  const [gz, gm] = tf.grads((a: tf.Tensor, b: tf.Tensor) => rideDiversityTerm(a as tf.Tensor2D, b as tf.Tensor2D, 1, -0.2))([z, mean]);
  assert.ok(Math.abs(gz.dataSync()[0]) > 1e-4, 'the expert gets a gradient');
  assert.deepEqual(Array.from(gm.dataSync()), [0, 0]);
  tf.dispose([z, mean, gz, gm]);
});

test('RIDE loss: Σ over experts of LDAM(z_i) + diversity term, before and after the DRW epoch (by hand)', () => {
  const counts = [3, 1];
  // Margins ∝ n^−1/4, max 0.5: [0.5·3^−1/4, 0.5]; scale s = 2 so the s·m_y shift is visible.
  const m = [0.5 * Math.pow(3, -0.25), 0.5];
  const s = 2;
  const experts = [[[1.0, 0.2], [0.1, 0.4]], [[-0.3, 0.6], [0.8, 0.0]]];
  const labels = [0, 1];
  const meanZ = experts[0].map((row, i) => row.map((v, c) => (v + experts[1][i][c]) / 2));
  const params = { scale: s, diversityFactor: -0.2, reweightFactor: 0.5, drwStart: 0.5, beta: 0.9 };
  const loss = rideLoss(counts, params);
  const zt = experts.map((e) => tf.tensor2d(e));
  const meanT = tf.tensor2d(meanZ);
  const y = tf.tensor1d(labels, 'int32');

  const ldamPerSample = (e: number[][]) => e.map((row, i) => ce(row.map((v, c) => (c === labels[i] ? v - s * m[c] : v)), labels[i]));
  const divMean = (e: number[][], T: number[]) => {
    const tbar = (T[0] + T[1]) / 2;
    return (-0.2 * tbar * tbar * e.reduce((acc, row, i) => acc + kl(softmax(meanZ[i].map((v, c) => v / T[c])), softmax(row.map((v, c) => v / T[c]))), 0)) / e.length;
  };
  // Before DRW (epoch 0 of 4, DRW from 2): plain mean LDAM and T = 1.
  const before = experts.reduce((acc, e) => acc + ldamPerSample(e).reduce((a, b) => a + b, 0) / 2 + divMean(e, [1, 1]), 0);
  const got0 = loss(zt, meanT, y, { epoch: 0, epochs: 4 });
  assert.ok(Math.abs(got0.dataSync()[0] - before) < 1e-5, `${got0.dataSync()[0]} vs ${before}`);
  // From DRW (epoch 2): effective-number weights (β = 0.9, Σw = C) and T_c = [1, 0.6].
  const raw = counts.map((n) => (1 - 0.9) / (1 - Math.pow(0.9, n)));
  const w = raw.map((r) => (r * 2) / (raw[0] + raw[1]));
  const weighted = (e: number[][]) => {
    const l = ldamPerSample(e);
    return (w[labels[0]] * l[0] + w[labels[1]] * l[1]) / (w[labels[0]] + w[labels[1]]);
  };
  const after = experts.reduce((acc, e) => acc + weighted(e) + divMean(e, [1, 0.6]), 0);
  const got2 = loss(zt, meanT, y, { epoch: 2, epochs: 4 });
  assert.ok(Math.abs(got2.dataSync()[0] - after) < 1e-5, `${got2.dataSync()[0]} vs ${after}`);
  tf.dispose([...zt, meanT, y, got0, got2]);
});

test('RIDE model: 3 experts at 3/4 width on the last two stages, logits the mean of the s-scaled cosines', () => {
  const inst = rideMethod.create({ classCounts: [5, 2], numClasses: 2, params: {}, epochs: 2 });
  const model = inst.buildModel!({ backbone: 'resnet8', inChannels: 1, numClasses: 2, seed: 0 });
  try {
    const names = [...model.store.trainable.keys()];
    assert.ok(names.includes('experts.2.fc.weight'), 'three experts');
    assert.ok(!names.some((n) => n.startsWith('experts.3.')));
    assert.ok(names.some((n) => n.startsWith('layer1.')), 'stage 1 shared');
    assert.ok(!names.some((n) => n.startsWith('layer2.')), 'stage 2 belongs to the experts');
    // ResNet-8's 32 / 64 channels at 3/4: 24 / 48 (RIDE's CIFAR experts).
    assert.deepEqual(model.store.trainable.get('experts.0.layer2.0.conv1.weight')!.shape, [3, 3, 16, 24]);
    assert.deepEqual(model.store.trainable.get('experts.2.layer3.0.conv2.weight')!.shape, [3, 3, 48, 48]);
    assert.deepEqual(model.store.trainable.get('experts.1.fc.weight')!.shape, [48, 2]);
    tf.tidy(() => {
      const out = model.forward(tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D, false);
      assert.equal(out.experts!.length, 3);
      const mean = tf.div(tf.addN(out.experts!), 3);
      assert.ok(tf.max(tf.abs(tf.sub(mean, out.logits))).dataSync()[0] < 1e-5);
      // Cosines scaled by 30: every expert logit lies in [−30, 30], and some beyond ±1.
      const all = tf.concat(out.experts!, 1);
      assert.ok(tf.max(tf.abs(all)).dataSync()[0] <= 30 + 1e-4);
    });
  } finally {
    model.dispose();
  }
});

test('lt-bench run: a 1-epoch RIDE run on a tiny split trains and records its derived values', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'ride.yaml', {
    name: 'tiny-ride',
    dataset: { name: 'synthetic', profile: 'exponential', imbalanceRatio: 10, valPerClass: 4, synthetic: { numClasses: 4, perClass: 40, testPerClass: 8, size: 8, channels: 1 } },
    backbone: { name: 'resnet8' },
    method: { name: 'ride', params: { drwStart: 0 } },
    train: { epochs: 1, batchSize: 16, optimizer: { lr: 0.05 } },
    eval: { thresholds: { head: 20, tail: 8 }, batchSize: 32 },
  });
  const out = path.join(dir, 'out');
  const r = spawnSync(process.execPath, [path.join(packageRoot, 'bin/lt-bench.js'), 'run', file, '--quiet', '--output', out, '--backend', testBackend], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const runDir = r.stdout.match(/record: (\S+)/)![1];
  const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  assert.equal(record.method.name, 'ride');
  assert.equal(record.method.resolved.drwStartEpoch, 0);
  assert.equal(record.method.resolved.diversityTemperatures.length, 4);
  assert.equal(Math.max(...record.method.resolved.diversityTemperatures), 1);
  assert.ok(record.metrics.last, 'test metrics recorded');
  assert.ok(record.parameterCount > 0);
});
