/**
 * ResLT (src/methods/reslt.ts): the branch class sets on a hand example with ties and on the
 * official datasets' counts, the loss on a tiny batch by hand, the model (finalBlock before
 * pooling in training, after it at test; the τ-normalised bias-free classifier at test, the sum
 * of branch logits) and a one-epoch run through the real pipeline.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runRecipe } from '../../src/lifecycle/index.js';
import { rarestFirst, resltBranches, resltLoss, resltMethod, ResltModel } from '../../src/methods/reslt.js';
import { LtModel } from '../../src/models/model.js';
import { validateRecipe } from '../../src/recipe/load.js';

let out: string;

before(async () => {
  await tf.setBackend('cpu');
  out = mkdtempSync(path.join(os.tmpdir(), 'lt-reslt-'));
});
after(() => rmSync(out, { recursive: true, force: true }));

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe('ResLT branch class sets', () => {
  it('a hand example with ties: the higher class index counts as rarer', () => {
    const counts = [50, 20, 20, 5, 8, 20];
    // Ascending count: 5 (class 3), 8 (class 4), then the three 20s as 5, 2, 1, then 50 (class 0).
    assert.deepEqual(rarestFirst(counts), [3, 4, 5, 2, 1, 0]);
    // M: round(0.5·6) = 3 rarest; T: round(0.2·6) = round(1.2) = 1 rarest.
    const b = resltBranches(counts, 0.5, 0.2);
    assert.deepEqual(b.classes, [[0, 1, 2, 3, 4, 5], [3, 4, 5], [3]]);
    assert.deepEqual(b.masks, [
      [1, 1, 1, 1, 1, 1],
      [0, 0, 0, 1, 1, 1],
      [0, 0, 0, 1, 0, 0],
    ]);
    // A fraction that rounds to 0 still keeps one class; round(0.75·6) = round(4.5) = 5.
    assert.deepEqual(resltBranches(counts, 0.75, 0.01).classes.slice(1), [[1, 2, 3, 4, 5], [3]]);
  });

  it('ImageNet-LT defaults give 825 and 220 classes; the official CIFAR sets come from 0.8 / 0.6 and 0.65 / 0.3', () => {
    // CIFAR-LT counts fall with the class index (n_i = ⌊n_max·ρ^(−i/(C−1))⌋).
    const cifar10 = range(0, 10).map((i) => Math.floor(5000 * Math.pow(0.01, i / 9)));
    assert.deepEqual(resltBranches(cifar10, 0.8, 0.6).classes.slice(1), [range(2, 10), range(4, 10)]);
    const cifar100 = range(0, 100).map((i) => Math.floor(500 * Math.pow(0.01, i / 99)));
    assert.deepEqual(resltBranches(cifar100, 0.65, 0.3).classes.slice(1), [range(35, 100), range(70, 100)]);
    const inet = range(0, 1000).map((i) => 1280 - i);
    const b = resltBranches(inet, 0.825, 0.22);
    assert.deepEqual([b.classes[1].length, b.classes[2].length], [825, 220]);
    assert.deepEqual([b.classes[1][0], b.classes[2][0]], [175, 780]);
  });
});

describe('ResLT loss (1 − β)·CE(z_H + z_M + z_T) + β·I', () => {
  it('matches the hand value on a two-image batch', () => {
    // C = 3, H = {0,1,2}, M = {1,2}, T = {2}; labels [0, 2]: image 0 is in H only, image 1 in all
    // three, so I has 4 memberships.
    // z_H = [[1,0,0],[0,0,1]], z_M = [[0,0,0],[0,1,0]], z_T = [[0,0,0],[0,0,2]].
    // CE(z_H,0 | 0) = ln(e + 2) − 1 = 0.551445; CE(z_H,1 | 2) = 0.551445;
    // CE(z_M,1 | 2) = ln(e + 2) = 1.551445; CE(z_T,1 | 2) = ln(2 + e²) − 2 = 0.239541.
    // I = (0.551445 + 0.551445 + 1.551445 + 0.239541)/4 = 0.723470.
    // Sum logits [[1,0,0],[0,1,3]]: CE = 0.551445 and ln(1 + e + e³) − 3 = 0.169846; F = 0.360645.
    // β = 0.9: 0.1·0.360645 + 0.9·0.723470 = 0.687187.
    const masks = [
      [1, 1, 1],
      [0, 1, 1],
      [0, 0, 1],
    ];
    const loss = tf.tidy(() =>
      resltLoss(
        [tf.tensor2d([[1, 0, 0], [0, 0, 1]]), tf.tensor2d([[0, 0, 0], [0, 1, 0]]), tf.tensor2d([[0, 0, 0], [0, 0, 2]])],
        tf.tensor1d([0, 2], 'int32'),
        masks,
        0.9,
      ).dataSync()[0],
    );
    close(loss, 0.687187);
    // β = 0: the fused CE alone.
    const fused = tf.tidy(() =>
      resltLoss([tf.tensor2d([[1, 0, 0], [0, 0, 1]]), tf.tensor2d([[0, 0, 0], [0, 1, 0]]), tf.tensor2d([[0, 0, 0], [0, 0, 2]])], tf.tensor1d([0, 2], 'int32'), masks, 0).dataSync()[0],
    );
    close(fused, 0.360645);
  });

  it('the method records its branch sets and rejects a bad β', () => {
    const inst = resltMethod.create({ classCounts: [50, 20, 20, 5, 8, 20], numClasses: 6, params: { middleFraction: 0.5, tailFraction: 0.2 }, epochs: 1 });
    assert.deepEqual(inst.resolvedParams, { middleClasses: [3, 4, 5], tailClasses: [3] });
    assert.throws(() => resltMethod.create({ classCounts: [5, 3], numClasses: 2, params: { beta: 1.5 }, epochs: 1 }), /method\.params\.beta/);
  });
});

describe('the ResLT model', () => {
  it('adds finalBlock (1×1 conv d → 3d, BN) and one shared d → C classifier to the backbone', () => {
    const m = new ResltModel({ backbone: 'resnet8', inChannels: 1, numClasses: 5, seed: 2 }, 0.7);
    const plain = new LtModel({ backbone: 'resnet8', head: 'linear', inChannels: 1, numClasses: 5, seed: 2 });
    try {
      // conv 64·192 = 12,288; BN 2·192 = 384; the head is the plain model's size (64·5 + 5).
      assert.equal(m.parameterCount(), plain.parameterCount() + 12288 + 384);
      assert.deepEqual(m.store.trainable.get('finalBlock.0.weight')!.shape, [1, 1, 64, 192]);
      assert.deepEqual(m.store.trainable.get('fc.weight')!.shape, [64, 5]);
      assert.deepEqual(m.store.trainable.get('layer3.0.conv1.weight')!.dataSync(), plain.store.trainable.get('layer3.0.conv1.weight')!.dataSync());
    } finally {
      m.dispose();
      plain.dispose();
    }
  });

  it('at test: pool, then finalBlock, then Σ_b f_b·W_c/‖W_c‖^γ without the bias; in training: block, pool, W x + b per branch', () => {
    const gamma = 0.7;
    const m = new ResltModel({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 4 }, gamma);
    try {
      // Non-trivial BN statistics and bias, so the two paths and the dropped bias show.
      m.store.buffers.get('finalBlock.1.running_mean')!.assign(tf.randomUniform([192], 0, 0.5, 'float32', 1));
      m.store.buffers.get('finalBlock.1.running_var')!.assign(tf.randomUniform([192], 0.5, 2, 'float32', 2));
      m.store.trainable.get('fc.bias')!.assign(tf.tensor1d([1, -2, 3]));
      const x = tf.randomNormal([2, 12, 12, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
      const [test, expected, trainLogits, trainExpected] = tf.tidy(() => {
        const out = m.forward(x, false);
        const h = m.trunk.apply(x, false);
        const pooled = tf.mean(h, [1, 2], true) as tf.Tensor4D;
        const f = tf.reshape(tf.relu(m.expandBn.apply(m.expand.apply(pooled), false)), [2, 192]) as tf.Tensor2D;
        const w = m.head.weight.arraySync() as number[][]; // [64, 3]
        const norms = [0, 1, 2].map((c) => Math.sqrt(w.reduce((s, row) => s + row[c] * row[c], 0)));
        const wt = tf.tensor2d(w.map((row) => row.map((v, c) => v / Math.pow(norms[c], gamma))));
        const parts = tf.split(f, 3, 1) as tf.Tensor2D[];
        const exp = tf.addN(parts.map((p) => tf.matMul(p, wt)));
        const tr = m.forward(x, true);
        const ht = m.trunk.apply(x, true);
        const ft = tf.mean(tf.relu(m.expandBn.apply(m.expand.apply(ht), true)), [1, 2]) as tf.Tensor2D;
        const trExp = tf.addN((tf.split(ft, 3, 1) as tf.Tensor2D[]).map((p) => m.head.apply(p)));
        m.store.discardUpdates();
        assert.equal(out.experts!.length, 3);
        return [out.logits.arraySync(), exp.arraySync(), tr.logits.arraySync(), trExp.arraySync()] as number[][][];
      });
      x.dispose();
      test.flat().forEach((v, i) => close(v, expected.flat()[i], 1e-4));
      trainLogits.flat().forEach((v, i) => close(v, trainExpected.flat()[i], 1e-4));
    } finally {
      m.dispose();
    }
  });
});

describe('a ResLT run end to end', () => {
  it('trains one epoch on the synthetic source and records its branch sets', async () => {
    const recipe = validateRecipe({
      dataset: { name: 'synthetic', imbalanceRatio: 10, valPerClass: 4, synthetic: { numClasses: 4, perClass: 48, testPerClass: 8, size: 8 } },
      eval: { thresholds: { head: 30, tail: 10 } },
      backbone: { name: 'resnet8' },
      method: { name: 'reslt', params: { middleFraction: 0.5, tailFraction: 0.25 } },
      train: { epochs: 1, batchSize: 16 },
    });
    const { record } = await runRecipe(recipe, { output: out, backend: 'wasm', reporter: {} });
    assert.equal(record.status, 'finished');
    assert.equal(record.method.name, 'reslt');
    // The synthetic profile's counts fall with the class index: M = the 2 rarest, T = the rarest.
    assert.deepEqual(record.method.resolved, { middleClasses: [2, 3], tailClasses: [3] });
    assert.ok(record.metrics.last && record.metrics.last.count === 32);
  });
});
