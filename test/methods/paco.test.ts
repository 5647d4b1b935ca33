/**
 * PaCo: the loss on a tiny batch with a queue by hand (positive weights, self-exclusion, the
 * +log π term on the centres), the queue update (FIFO, pointer wrap), the momentum update of the
 * key encoder, a flat tensor count over training epochs, the queue-size recipe check, and a
 * tiny end-to-end run through the API.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { parameterCounts } from '../../src/eval/cost.js';
import { runRecipe } from '../../src/lifecycle/index.js';
import { pacoLoss, pacoMethod, PacoModel } from '../../src/methods/paco.js';
import { enqueued, infoNceLoss, MomentumEncoder } from '../../src/models/momentum-contrast.js';
import { ParamStore } from '../../src/models/params.js';
import { Rng } from '../../src/rng.js';
import { InMemoryBatchSource } from '../../src/data/batch-source.js';
import { methodStreams } from '../../src/train/streams.js';
import { train } from '../../src/train/trainer.js';
import type { EpochLine } from '../../src/results/types.js';
import { tempDir, testBackend, tinyRecipe } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

const P = { alpha: 0.05, beta: 1, gamma: 1, temperature: 0.07 };

/** PaCoLoss written out per anchor, scalar by scalar (independent of the tensor code). */
function pacoByHand(z: number[][], q: number[][], k: number[][], queue: number[][], y: number[], qy: number[], logPi: number[], p: typeof P): number {
  const feats = [...q, ...k, ...queue];
  const labels = [...y, ...y, ...qy];
  let total = 0;
  for (let i = 0; i < q.length; i++) {
    const sup = z[i].map((v, c) => v + logPi[c]);
    const sim = feats.map((f) => f.reduce((s, v, d) => s + v * q[i][d], 0) / p.temperature);
    let den = sup.reduce((s, v) => s + Math.exp(v), 0);
    sim.forEach((s, j) => (den += j === i ? 0 : p.gamma * Math.exp(s)));
    const logDen = Math.log(den);
    let num = p.beta * (sup[y[i]] - logDen);
    let w = p.beta;
    sim.forEach((s, j) => {
      if (j !== i && labels[j] === y[i]) {
        num += p.alpha * (s - logDen);
        w += p.alpha;
      }
    });
    total += -num / w;
  }
  return total / q.length;
}

function loss(z: number[][], q: number[][], k: number[][], queue: number[][], y: number[], qy: number[], logPi: number[], p = P): number {
  return tf.tidy(() =>
    pacoLoss(
      { logits: tf.tensor2d(z), q: tf.tensor2d(q), k: tf.tensor2d(k), queue: tf.tensor2d(queue), labels: tf.tensor1d(y, 'int32'), queueLabels: tf.tensor1d(qy), logPrior: tf.tensor1d(logPi) },
      p,
    ).dataSync()[0],
  );
}

describe('PaCo loss', () => {
  it('one anchor, numbers by hand: β on the true centre (with log π, not /T), α on k and the same-label queue entry, self excluded', () => {
    // q = k = [1], queue = [[-1]] (label 0), y = 0, z = [0, 0], π = [½, ½], T = 1, α = ½.
    // Scores: centres ln ½, ln ½; contrast [q (self, out), k 1, queue −1].
    // den = ½ + ½ + e + e⁻¹ = 4.0861613; log den = 1.4076061.
    // Σ w(s − log den) = (ln ½ − 1.4076061) + ½(1 − 1.4076061) + ½(−1 − 1.4076061) = −3.5083594; Σ w = 2.
    const p = { alpha: 0.5, beta: 1, gamma: 1, temperature: 1 };
    const got = loss([[0, 0]], [[1]], [[1]], [[-1]], [0], [0], [Math.log(0.5), Math.log(0.5)], p);
    assert.ok(Math.abs(got - 1.7541797) < 1e-5, `got ${got}`);
  });

  it('matches the per-anchor formula on a batch of 2 with a queue of 2 (T = 0.07, α = 0.05); self, prior and α each change it', () => {
    const s = Math.SQRT1_2;
    const z = [
      [1, 0],
      [0, 2],
    ];
    const q = [
      [1, 0],
      [0, 1],
    ];
    const k = [
      [0.6, 0.8],
      [0.8, 0.6],
    ];
    const queue = [
      [s, s],
      [-1, 0],
    ];
    const y = [0, 1];
    const qy = [1, 0];
    const logPi = [Math.log(0.75), Math.log(0.25)];
    const want = pacoByHand(z, q, k, queue, y, qy, logPi, P);
    assert.ok(Math.abs(loss(z, q, k, queue, y, qy, logPi) - want) < 1e-4, `${loss(z, q, k, queue, y, qy, logPi)} vs ${want}`);
    // Each ingredient matters, so the comparison above can fail: the prior, α, and the queue labels.
    assert.ok(Math.abs(loss(z, q, k, queue, y, qy, [0, 0]) - want) > 1e-3);
    assert.ok(Math.abs(loss(z, q, k, queue, y, qy, logPi, { ...P, alpha: 0 }) - want) > 1e-3);
    assert.ok(Math.abs(loss(z, q, k, queue, y, [0, 1], logPi) - want) > 1e-3);
    // Self-exclusion: the per-anchor formula with self included differs from the loss.
    const withSelf = (() => {
      let total = 0;
      const feats = [...q, ...k, ...queue];
      const labels = [...y, ...y, ...qy];
      for (let i = 0; i < 2; i++) {
        const sup = z[i].map((v, c) => v + logPi[c]);
        const sim = feats.map((f) => (f[0] * q[i][0] + f[1] * q[i][1]) / P.temperature);
        const logDen = Math.log(sup.reduce((a, v) => a + Math.exp(v), 0) + sim.reduce((a, v) => a + Math.exp(v), 0));
        let num = sup[y[i]] - logDen;
        let w = 1;
        sim.forEach((v, j) => {
          if (labels[j] === y[i]) {
            num += P.alpha * (v - logDen);
            w += P.alpha;
          }
        });
        total += -num / w;
      }
      return total / 2;
    })();
    assert.ok(Math.abs(withSelf - want) > 1e-3);
  });

  it('MoCo InfoNCE by hand: −log(e^{q·k/T} / (e^{q·k/T} + Σ e^{q·n/T}))', () => {
    // q = [1, 0], k = [0.6, 0.8], queue = [[1, 0], [0, 1]], T = 0.5: logits [1.2, 2, 0].
    const got = tf.tidy(() => infoNceLoss(tf.tensor2d([[1, 0]]), tf.tensor2d([[0.6, 0.8]]), tf.tensor2d([[1, 0], [0, 1]]), 0.5).dataSync()[0]);
    const want = -(1.2 - Math.log(Math.exp(1.2) + Math.exp(2) + 1));
    assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
  });
});

describe('PaCo queue and momentum encoder', () => {
  it('enqueue is FIFO and the pointer wraps (K = 4, batches of 2; a partial batch wraps round the end)', () => {
    let keys = tf.tensor2d([0, 0, 0, 0], [4, 1]);
    let labels = tf.tensor1d([9, 9, 9, 9]);
    let ptr = tf.tensor1d([0]);
    const ptrs: number[] = [];
    for (const [a, b] of [
      [1, 2],
      [3, 4],
      [5, 6],
    ]) {
      const next = enqueued(keys, labels, ptr, tf.tensor2d([a, b], [2, 1]), tf.tensor1d([a * 10, b * 10], 'int32'));
      tf.dispose([keys, labels, ptr]);
      ({ keys, ptr } = next);
      labels = next.labels!;
      ptrs.push(ptr.dataSync()[0]);
    }
    assert.deepEqual(ptrs, [2, 0, 2]);
    assert.deepEqual(Array.from(keys.dataSync()), [5, 6, 3, 4]);
    assert.deepEqual(Array.from(labels.dataSync()), [50, 60, 30, 40]);
    const wrap = enqueued(keys, labels, tf.tensor1d([3]), tf.tensor2d([7, 8], [2, 1]), tf.tensor1d([70, 80], 'int32'));
    assert.deepEqual(Array.from(wrap.keys.dataSync()), [8, 6, 3, 7]);
    assert.deepEqual(Array.from(wrap.ptr.dataSync()), [1]);
    tf.dispose([keys, labels, ptr, wrap.keys, wrap.labels!, wrap.ptr]);
  });

  it('the key encoder starts as the query encoder, lives in buffers, and moves by k ← m·k + (1 − m)·q', () => {
    const store = new ParamStore(new Rng(1).fork('init'));
    try {
      const enc = new MomentumEncoder(store, { backbone: 'resnet8', inChannels: 1, dim: 8, scope: 'paco' });
      assert.ok(enc.pairs.length > 10);
      assert.equal(store.trainable.size, enc.pairs.length, 'every trainable tensor (backbone + MLP) has a key copy');
      for (const [q, k] of enc.pairs) {
        assert.ok(!k.trainable && [...store.buffers.values()].includes(k), 'key copies are buffers');
        assert.deepEqual(Array.from(k.dataSync()), Array.from(q.dataSync()));
      }
      assert.ok(store.buffers.has('paco.key.paco.proj.fc1.weight') === false && store.buffers.has('paco.key.proj.fc1.weight'));
      const [q0, k0] = enc.pairs[0];
      const before = Array.from(q0.dataSync());
      tf.tidy(() => q0.assign(tf.add(q0, 1)));
      enc.momentumUpdate(0.9);
      const after = Array.from(k0.dataSync());
      after.forEach((v, i) => assert.ok(Math.abs(v - (0.9 * before[i] + 0.1 * (before[i] + 1))) < 1e-6));
    } finally {
      store.dispose();
    }
  });

  it('the test-time parameter count is the backbone and the classifier; training adds the MLP (the key copy and the queue are buffers)', () => {
    const m = new PacoModel({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0 }, 32, 8);
    try {
      const d = m.encoder.backbone.featureDim;
      const backbone = [...m.store.trainable.keys()].filter((n) => !n.startsWith('fc.') && !n.startsWith('paco.')).reduce((s, n) => s + m.store.trainable.get(n)!.size, 0);
      assert.equal(m.parameterCount(), backbone + d * 3 + 3);
      const counts = parameterCounts(m);
      assert.equal(counts.test, backbone + d * 3 + 3);
      assert.equal(counts.train, backbone + d * 3 + 3 + (d * d + d) + 2 * d + (d * 8 + 8));
      assert.deepEqual(m.queue.keys.shape, [32, 8]);
    } finally {
      m.dispose();
    }
  });
});

describe('PaCo training', () => {
  it('trains through the trainer with views [basic, mocov2]: the queue fills, the tensor count is flat over epochs', async () => {
    const count = 16;
    const rng = new Rng(4);
    const images = { pixels: Uint8Array.from({ length: count * 8 * 8 }, () => rng.int(256)), labels: Int32Array.from({ length: count }, (_, i) => (i < 10 ? 0 : 1)), count, height: 8, width: 8, channels: 1 };
    const source = new InMemoryBatchSource(images, [0.5], [0.25], { padCrop: 1, flip: true });
    const indices = Int32Array.from({ length: count }, (_, i) => i);
    const method = pacoMethod.create({ classCounts: [10, 6], numClasses: 2, params: { queueSize: 16 }, epochs: 3 });
    const model = method.buildModel!({ backbone: 'resnet8', inChannels: 1, numClasses: 2, seed: 0 }) as PacoModel;
    const lines: EpochLine[] = [];
    try {
      const queue0 = Array.from(model.queue.keys.dataSync());
      await train(
        { model, method, train: { source, indices }, val: { source, indices }, numClasses: 2, groups: ['head', 'tail'], checkpointDir: tempDir(), reporter: {}, onEpoch: (l) => lines.push(l), ...methodStreams(method, indices, images.labels, 2, 3, 'dataset', 1) },
        { epochs: 3, batchSize: 8, seed: 1, lr: 0.05, schedule: { name: 'constant', warmupEpochs: 0, milestones: [], gamma: 0.1, minLr: 0 }, sgd: { momentum: 0.9, nesterov: false, weightDecay: 0 }, evalBatchSize: 16 },
      );
      assert.equal(lines.length, 3);
      assert.ok(lines.every((l) => Number.isFinite(l.trainLoss)));
      assert.equal(lines[2].numTensors, lines[1].numTensors, `tensors per epoch: ${lines.map((l) => l.numTensors).join(', ')}`);
      assert.equal(lines[1].numTensors, lines[0].numTensors);
      // 6 steps of 8 keys into K = 16: the pointer is back at 0 and every row was written (unit-norm keys).
      assert.equal(model.queue.ptr.dataSync()[0], 0);
      const q = model.queue.keys.arraySync() as number[][];
      assert.notDeepEqual(Array.from(model.queue.keys.dataSync()), queue0);
      for (const row of q) assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-4);
      assert.deepEqual([...new Set(Array.from(model.queue.labels!.dataSync()))].sort(), [0, 1]);
    } finally {
      model.dispose();
    }
  });

  it('a queue size that is not a multiple of the batch size is a recipe error naming the key', () => {
    assert.throws(() => tinyRecipe({ method: { name: 'paco', params: { queueSize: 40 } } }), /method\.params\.queueSize: 40 is not a multiple of train\.batchSize 16/);
  });

  it('a tiny end-to-end run (1 epoch) through the API: recorded as paco, checkpoint holds key encoder and queue', async () => {
    const out = tempDir();
    const r = await runRecipe(tinyRecipe({ method: { name: 'paco', params: { queueSize: 32 } }, train: { epochs: 1 }, output: out }), { backend: testBackend });
    assert.equal(r.record.status, 'finished');
    assert.equal(r.record.method.name, 'paco');
    assert.ok(r.record.metrics.last!.top1 >= 0);
  });
});
