/**
 * BBN (src/methods/bbn.ts): the cumulative-learning α with the official divisor rule (hand values
 * at E = 90, 180, 200), the mixed loss on a tiny batch by hand, the model (the duplicated last
 * block on the split backbone, the ×2 mixing, the test-time concatenation), batch-norm running
 * statistics over the two trunk passes of a step, and a one-epoch run of the recipe's method
 * through the real pipeline.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InMemoryBatchSource } from '../../src/data/batch-source.js';
import { runRecipe } from '../../src/lifecycle/index.js';
import { bbnAlpha, bbnDivisor, bbnMethod, bbnMixedLoss, BbnModel } from '../../src/methods/bbn.js';
import { BatchNorm } from '../../src/models/layers.js';
import { LtModel } from '../../src/models/model.js';
import { ParamStore } from '../../src/models/params.js';
import { validateRecipe } from '../../src/recipe/load.js';
import { Rng } from '../../src/rng.js';
import { methodStreams } from '../../src/train/streams.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../foundation/helpers.js';

let out: string;

before(async () => {
  await tf.setBackend('cpu');
  out = mkdtempSync(path.join(os.tmpdir(), 'lt-bbn-'));
});
after(() => rmSync(out, { recursive: true, force: true }));

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('BBN cumulative learning α = 1 − ((e − 1)/D)²', () => {
  it('E = 90 uses the official D = 100: α runs 1 … 1 − 0.89² = 0.2079', () => {
    assert.equal(bbnDivisor(90), 100);
    close(bbnAlpha(1, 90), 1);
    close(bbnAlpha(46, 90), 1 - 0.45 * 0.45); // 0.7975
    close(bbnAlpha(90, 90), 0.2079);
  });

  it('E = 180 uses D = 200: the last epoch has α = 1 − (179/200)² = 0.198975', () => {
    assert.equal(bbnDivisor(180), 200);
    close(bbnAlpha(180, 180), 0.198975);
    close(bbnAlpha(101, 180), 0.75);
  });

  it('E = 200 (and any E outside {90, 180}) uses D = E: α(101) = 0.75, α(200) = 1 − 0.995² = 0.009975', () => {
    assert.equal(bbnDivisor(200), 200);
    assert.equal(bbnDivisor(100), 100);
    assert.equal(bbnDivisor(8), 8);
    close(bbnAlpha(101, 200), 0.75);
    close(bbnAlpha(200, 200), 0.009975);
    close(bbnAlpha(8, 8), 1 - (7 / 8) ** 2); // 0.234375, the mini-study's last epoch
  });

  it("divisor: 'epochs' is the plain D = E at 90 epochs too", () => {
    assert.equal(bbnDivisor(90, 'epochs'), 90);
    close(bbnAlpha(90, 90, 'epochs'), 1 - (89 / 90) ** 2);
    assert.equal(bbnDivisor(180, 'epochs'), 180);
  });

  it('records D and the first / last α of the run', () => {
    const inst = bbnMethod.create({ classCounts: [5, 3], numClasses: 2, params: {}, epochs: 90 });
    assert.deepEqual(inst.resolvedParams, { divisor: 100, alphaFirst: 1, alphaLast: 1 - 0.89 * 0.89 });
    assert.deepEqual(inst.streams, [{ sampler: 'instance' }, { sampler: 'reversed' }]);
    assert.throws(() => bbnMethod.create({ classCounts: [5, 3], numClasses: 2, params: { divisor: 'paper' }, epochs: 90 }), /method\.params\.divisor/);
  });
});

describe('BBN mixed loss α·CE(z, y_c) + (1 − α)·CE(z, y_r)', () => {
  it('matches the hand value on a two-image batch', () => {
    // z = [[1, 0, −1], [0, 2, 0]], y_c = [0, 1], y_r = [2, 2], α = 0.7.
    // Row 1: lse = ln(e + 1 + e⁻¹) = 1.407606; CE(0) = 0.407606, CE(2) = 2.407606.
    // Row 2: lse = ln(2 + e²) = 2.239541; CE(1) = 0.239541, CE(2) = 2.239541.
    // 0.7·(0.407606 + 0.239541)/2 + 0.3·(2.407606 + 2.239541)/2 = 0.226501 + 0.697072 = 0.923575.
    const loss = tf.tidy(() =>
      bbnMixedLoss(tf.tensor2d([[1, 0, -1], [0, 2, 0]]), tf.tensor1d([0, 1], 'int32'), tf.tensor1d([2, 2], 'int32'), 0.7).dataSync()[0],
    );
    close(loss, 0.923575, 1e-5);
  });

  it('α = 1 is plain CE on the conventional labels, α = 0 on the reversed ones', () => {
    const [a1, a0] = tf.tidy(() => {
      const z = tf.tensor2d([[1, 0, -1], [0, 2, 0]]);
      const yc = tf.tensor1d([0, 1], 'int32');
      const yr = tf.tensor1d([2, 2], 'int32');
      return [bbnMixedLoss(z, yc, yr, 1).dataSync()[0], bbnMixedLoss(z, yc, yr, 0).dataSync()[0]];
    });
    close(a1, (0.407606 + 0.239541) / 2, 1e-5);
    close(a0, (2.407606 + 2.239541) / 2, 1e-5);
  });
});

describe('the BBN model', () => {
  it('on ResNet-32: trunk = the backbone less layer3.4, cb/rb = two copies of layer3.4, fc over 128 features', () => {
    const m = new BbnModel({ backbone: 'resnet32', inChannels: 3, numClasses: 10, seed: 7 });
    const plain = new LtModel({ backbone: 'resnet32', head: 'linear', inChannels: 3, numClasses: 10, seed: 7 });
    try {
      const names = [...m.store.trainable.keys()];
      assert.ok(names.includes('layer3.3.conv2.weight'));
      assert.ok(!names.includes('layer3.4.conv1.weight'));
      assert.ok(names.includes('cb.layer3.4.conv1.weight') && names.includes('rb.layer3.4.bn2.bias'));
      assert.deepEqual(m.store.trainable.get('fc.weight')!.shape, [128, 10]);
      // A 64→64 basic block: 2·(64·64·9) + 2·(2·64) = 73,984; the head grows from 64·10 + 10 to 128·10 + 10.
      assert.equal(m.parameterCount(), plain.parameterCount() + 73984 + 640);
      // The trunk is the prefix of the plain model: same names, same seeded values.
      assert.deepEqual(m.store.trainable.get('layer2.4.conv1.weight')!.dataSync(), plain.store.trainable.get('layer2.4.conv1.weight')!.dataSync());
      assert.deepEqual(m.store.trainable.get('cb.layer3.4.conv1.weight')!.shape, [3, 3, 64, 64]);
    } finally {
      m.dispose();
      plain.dispose();
    }
  });

  it('on ResNet-8 (one block per stage) each branch is the strided layer3.0', () => {
    const m = new BbnModel({ backbone: 'resnet8', inChannels: 1, numClasses: 4, seed: 0 });
    try {
      assert.deepEqual(m.store.trainable.get('cb.layer3.0.conv1.weight')!.shape, [3, 3, 32, 64]);
      assert.ok(![...m.store.trainable.keys()].some((n) => n.startsWith('layer3.')));
      assert.equal(m.trunk.outChannels, 32);
    } finally {
      m.dispose();
    }
  });

  it('mixes 2·[α f_c ; (1 − α) f_r]: at α = 0.5 with one image in both streams it is the plain concatenation the test path uses', () => {
    const m = new BbnModel({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 1 });
    try {
      const [mixed, plainOut, onlyC] = tf.tidy(() => {
        const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
        const a = m.forwardMixed(x, x, 0.5).logits.arraySync();
        const b = m.forward(x, true).logits.arraySync();
        // α = 1: the rb half is zero, the cb half doubled.
        const fc = m.conventional.apply(m.trunk.apply(x, true), true);
        const manual = m.head.apply(tf.concat([tf.mul(fc, 2), tf.zerosLike(fc)], 1) as tf.Tensor2D).arraySync();
        const c = m.forwardMixed(x, tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 9) as tf.Tensor4D, 1).logits.arraySync();
        m.store.discardUpdates();
        return [a, b, [c, manual]];
      });
      mixed.flat().forEach((v, i) => close(v, plainOut.flat()[i], 1e-4));
      onlyC[0].flat().forEach((v, i) => close(v, onlyC[1].flat()[i], 1e-4));
    } finally {
      m.dispose();
    }
  });
});

describe('batch norm used twice in one step (the trunk sees both streams)', () => {
  it('composes the running statistics as PyTorch does: (1−m)²·r + m(1−m)·μ_a + m·μ_b', () => {
    const store = new ParamStore(new Rng(0));
    const bn = new BatchNorm(store, 'bn', 1);
    tf.tidy(() => {
      bn.apply(tf.tensor4d([0, 2], [2, 1, 1, 1]), true); // μ_a = 1, biased var 1, unbiased 2
      bn.apply(tf.tensor4d([2, 4], [2, 1, 1, 1]), true); // μ_b = 3, unbiased var 2
    });
    store.applyUpdates();
    // mean: 0.9·0.1·1 + 0.1·3 = 0.39; var: 0.81·1 + 0.09·2 + 0.1·2 = 1.19.
    close(store.buffers.get('bn.running_mean')!.dataSync()[0], 0.39, 1e-6);
    close(store.buffers.get('bn.running_var')!.dataSync()[0], 1.19, 1e-6);
    store.dispose();
  });
});

describe('a BBN step through the trainer', () => {
  it('feeds stream 0 (instance) and stream 1 (reversed sampler) to the two branches, without leaking tensors', async () => {
    // 12 images of class 0, 2 of class 1, 2 of class 2: the reversed sampler draws classes ∝ 1 : 6 : 6.
    const labels = Int32Array.from([...Array(12).fill(0), 1, 1, 2, 2]);
    const count = labels.length;
    const rng = new Rng(5);
    const images = { pixels: Uint8Array.from({ length: count * 8 * 8 }, () => rng.int(256)), labels, count, height: 8, width: 8, channels: 1 };
    const source = new InMemoryBatchSource(images, [0.5], [0.25], { padCrop: 1, flip: true });
    const indices = Int32Array.from({ length: count }, (_, i) => i);
    const inst = bbnMethod.create({ classCounts: [12, 2, 2], numClasses: 3, params: {}, epochs: 2 });
    const seen: Array<{ y0: number[]; y1: number[]; alpha: number }> = [];
    const method = {
      ...inst,
      forward: (model: Parameters<NonNullable<typeof inst.forward>>[0], batch: Parameters<NonNullable<typeof inst.forward>>[1], ctx: Parameters<NonNullable<typeof inst.forward>>[2]) => {
        seen.push({ y0: Array.from(batch.streams[0].y.dataSync()), y1: Array.from(batch.streams[1].y.dataSync()), alpha: bbnAlpha(ctx.epoch + 1, ctx.epochs) });
        return inst.forward!(model, batch, ctx);
      },
    };
    const streams = methodStreams(method, indices, labels, 3, 2, 'dataset', 3);
    assert.equal(streams.extraStreams?.length, 1);
    const model = method.buildModel!({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0 }) as BbnModel;
    try {
      const rb = Array.from(model.store.trainable.get('rb.layer3.0.conv1.weight')!.dataSync());
      const before = tf.memory().numTensors;
      await train(
        { model, method, train: { source, indices }, val: { source, indices }, numClasses: 3, groups: ['head', 'tail', 'tail'], checkpointDir: tempDir(), reporter: {}, ...streams },
        { epochs: 2, batchSize: count, seed: 3, lr: 0.1, schedule: { name: 'constant', warmupEpochs: 0, milestones: [], gamma: 0.1, minLr: 0 }, sgd: { momentum: 0.9, nesterov: false, weightDecay: 0 }, evalBatchSize: 64 },
      );
      assert.equal(seen.length, 2);
      // α = 1 − ((e − 1)/2)²: 1 in epoch 1, 0.75 in epoch 2.
      assert.deepEqual(seen.map((s) => s.alpha), [1, 0.75]);
      for (const s of seen) {
        assert.deepEqual([...s.y0].sort(), [...labels].sort(), 'stream 0 is one instance-sampled epoch');
        assert.equal(s.y1.length, count);
      }
      // 32 reversed draws: class 0 has probability 1/13, so it is the minority of the stream.
      const zeros = seen.flatMap((s) => s.y1).filter((y) => y === 0).length;
      assert.ok(zeros < 8, `class 0 drawn ${zeros} of 32 times by the reversed sampler`);
      // The re-balancing branch is trained only once α < 1 (epoch 2).
      assert.notDeepEqual(Array.from(model.store.trainable.get('rb.layer3.0.conv1.weight')!.dataSync()), rb);
      assert.ok(tf.memory().numTensors <= before, `tensors ${before} → ${tf.memory().numTensors}`);
    } finally {
      model.dispose();
    }
  });
});

describe('a BBN run end to end', () => {
  it('trains one epoch on the synthetic source with two streams and records α', async () => {
    const recipe = validateRecipe({
      dataset: { name: 'synthetic', imbalanceRatio: 10, valPerClass: 4, synthetic: { numClasses: 4, perClass: 48, testPerClass: 8, size: 8 } },
      eval: { thresholds: { head: 30, tail: 10 } },
      backbone: { name: 'resnet8' },
      method: { name: 'bbn' },
      train: { epochs: 1, batchSize: 16 },
    });
    const { record } = await runRecipe(recipe, { output: out, backend: 'wasm', reporter: {} });
    assert.equal(record.status, 'finished');
    assert.equal(record.method.name, 'bbn');
    assert.equal(record.sampler, 'instance');
    assert.deepEqual(record.method.resolved, { divisor: 1, alphaFirst: 1, alphaLast: 1 });
    assert.ok(record.metrics.last && record.metrics.last.count === 32);
  });
});
