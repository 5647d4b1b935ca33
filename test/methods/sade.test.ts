/**
 * SADE: the inverted prior (with tied counts), the three experts' losses, the test-time
 * aggregation's loss, one SGD step and early-stop rule, the prediction with learned weights, the
 * `tade` alias (same run id), and a 1-epoch run with the transductive step through the CLI.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  applySadeAggregation,
  sadeAggregationLoss,
  sadeAggregationStep,
  sadeInversePrior,
  sadeLoss,
  sadeMethod,
  sadeShouldStop,
  sadeTestTimeAggregation,
} from '../../src/methods/sade.js';
import type { MethodModel, ModelOutput } from '../../src/methods/types.js';
import { ExpertEnsemble } from '../../src/models/expert-ensemble.js';
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
const ce = (z: number[], y: number) => -Math.log(softmax(z)[y]);
const close = (a: number[], b: number[], tol = 1e-12) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < tol);
const cli = (args: string[]) => spawnSync(process.execPath, [path.join(packageRoot, 'bin/lt-bench.js'), ...args], { encoding: 'utf8' });

test('inverse prior: rank r gets the prior of rank C−1−r (distinct counts, as the official inverse_prior)', () => {
  // [4, 1, 2] / 7: ranks 0 (class 0), 2 (class 1), 1 (class 2) → class 0 gets 1/7, class 1 4/7, class 2 2/7.
  assert.ok(close(sadeInversePrior([4, 1, 2]), [1 / 7, 4 / 7, 2 / 7]));
});

test('inverse prior: tied counts rank by class index (stable sort by count descending)', () => {
  // [5, 5, 1]: ranks 0, 1, 2 → the priors of ranks 2, 1, 0: [1, 5, 5] / 11.
  assert.ok(close(sadeInversePrior([5, 5, 1]), [1 / 11, 5 / 11, 5 / 11]));
  // [1, 5, 5, 2]: order class 1, 2, 3, 0 → class 1 ← class 0 (1), class 2 ← class 3 (2), class 3 ← class 2 (5), class 0 ← class 1 (5).
  assert.ok(close(sadeInversePrior([1, 5, 5, 2]), [5 / 13, 1 / 13, 2 / 13, 5 / 13]));
  // All tied: the identity.
  assert.ok(close(sadeInversePrior([3, 3, 3]), [1 / 3, 1 / 3, 1 / 3]));
});

test('SADE loss: CE(z₁) + CE(z₂ + log π) + CE(z₃ + log π − 2·log π̄), ε = 1e-9, by hand', () => {
  const counts = [3, 1];
  const pi = [0.75, 0.25];
  const inv = [0.25, 0.75];
  const eps = 1e-9;
  const z = [[0.2, -0.1], [0.5, 0.3], [-0.4, 0.9]];
  const y = 1;
  const e3 = z[2].map((v, c) => v + Math.log(pi[c] + eps) - 2 * Math.log(inv[c] + eps));
  const expected = ce(z[0], y) + ce(z[1].map((v, c) => v + Math.log(pi[c] + eps)), y) + ce(e3, y);
  const experts = z.map((r) => tf.tensor2d([r]));
  const labels = tf.tensor1d([y], 'int32');
  const got = sadeLoss(counts, 2)(experts, labels);
  assert.ok(Math.abs(got.dataSync()[0] - expected) < 1e-5, `${got.dataSync()[0]} vs ${expected}`);
  // Expert 3 alone (experts 1 and 2 give the same CE as above; subtract them): the inverse-prior term.
  const e3Only = expected - ce(z[0], y) - ce(z[1].map((v, c) => v + Math.log(pi[c] + eps)), y);
  assert.ok(Math.abs(e3Only - ce([-0.4 + Math.log(0.75) - 2 * Math.log(0.25), 0.9 + Math.log(0.25) - 2 * Math.log(0.75)], 1)) < 1e-6);
  tf.dispose([...experts, labels, got]);
});

test('aggregation loss: −mean cos(softmax(Σ w_k z_k)) of two views, w = softmax(a), by hand', () => {
  const a = tf.tensor1d([0, 0, Math.log(2)]); // w = [1/4, 1/4, 1/2]
  const v1 = [[[2, 0]], [[0, 0]], [[0, 2]]].map((r) => tf.tensor2d(r));
  const v2 = [[[0, 0]], [[1, 0]], [[0, 0]]].map((r) => tf.tensor2d(r));
  const p = softmax([0.5, 1]);
  const q = softmax([0.25, 0]);
  const cos = (p[0] * q[0] + p[1] * q[1]) / (Math.hypot(...p) * Math.hypot(...q));
  const got = sadeAggregationLoss(a, v1, v2);
  assert.ok(Math.abs(got.dataSync()[0] + cos) < 1e-6, `${got.dataSync()[0]} vs ${-cos}`);
  tf.dispose([a, ...v1, ...v2, got]);
});

test('aggregation step: one Nesterov SGD step from a = 1/3 moves a by −lr·(1+μ)·(∇loss + wd·a)', () => {
  const v1 = [[[2, 0], [0, 1]], [[0, 0], [1, 1]], [[0, 2], [0, -1]]].map((r) => tf.tensor2d(r));
  const v2 = [[[0, 0], [1, 0]], [[1, 0], [0, 0]], [[0, 0], [2, 2]]].map((r) => tf.tensor2d(r));
  const lr = 0.1;
  const mu = 0.9;
  const wd = 5e-4;
  const lossAt = (vals: number[]) => tf.tidy(() => sadeAggregationLoss(tf.tensor1d(vals), v1, v2).dataSync()[0]);
  const a0 = [1 / 3, 1 / 3, 1 / 3];
  const h = 1e-3;
  const grad = a0.map((_, k) => {
    const up = [...a0];
    const down = [...a0];
    up[k] += h;
    down[k] -= h;
    return (lossAt(up) - lossAt(down)) / (2 * h) + wd * a0[k];
  });
  const state = { a: [...a0], buffer: null as number[] | null };
  const loss = sadeAggregationStep(state, v1, v2, { lr, momentum: mu, weightDecay: wd });
  assert.ok(Math.abs(loss - lossAt(a0)) < 1e-6, 'returns the loss before the step');
  const a1 = state.a;
  a0.forEach((v, k) => assert.ok(Math.abs(a1[k] - (v - lr * (1 + mu) * grad[k])) < 1e-4, `a[${k}] ${a1[k]} vs ${v - lr * (1 + mu) * grad[k]}`));
  assert.ok(grad.some((g) => Math.abs(g) > 1e-3), 'the example has a gradient');
  // Step 2: buffer = μ·g₁ + g₂, a₂ = a₁ − lr·(g₂ + μ·buffer).
  const g2 = a1.map((_, k) => {
    const up = [...a1];
    const down = [...a1];
    up[k] += h;
    down[k] -= h;
    return (lossAt(up) - lossAt(down)) / (2 * h) + wd * a1[k];
  });
  sadeAggregationStep(state, v1, v2, { lr, momentum: mu, weightDecay: wd });
  a1.forEach((v, k) => {
    const buf = mu * grad[k] + g2[k];
    assert.ok(Math.abs(state.a[k] - (v - lr * (g2[k] + mu * buf))) < 1e-4);
  });
  tf.dispose([...v1, ...v2]);
});

test('early stop: after an epoch in which any weight is below 0.05', () => {
  assert.equal(sadeShouldStop([0.5, 0.46, 0.04]), true);
  assert.equal(sadeShouldStop([0.34, 0.33, 0.33]), false);
  assert.equal(sadeShouldStop([0.9, 0.05, 0.05]), false); // strictly below
  assert.equal(sadeShouldStop([0.2, 0.3, 0.5], 0.25), true);
});

/** A frozen stand-in: expert k's logits are c_k · (mean pixel, −mean pixel), so views differ. */
class ToyExperts implements MethodModel {
  readonly store = undefined as never;
  forwardFeatures(x: tf.Tensor4D): tf.Tensor2D {
    return tf.reshape(tf.mean(x, [1, 2, 3]), [-1, 1]) as tf.Tensor2D;
  }
  forwardHead(f: tf.Tensor2D): ModelOutput {
    const experts = [3, -2, 0.5].map((c) => tf.mul(tf.concat([f, tf.neg(f)], 1), c) as tf.Tensor2D);
    return { features: f, experts, logits: tf.div(tf.addN(experts), 3) as tf.Tensor2D };
  }
  forward(x: tf.Tensor4D): ModelOutput {
    return this.forwardHead(this.forwardFeatures(x));
  }
  parameterCount() {
    return 0;
  }
  dispose() {}
}

function images(n: number, seed: number): tf.Tensor4D[] {
  return [tf.randomNormal([n, 6, 6, 1], 0, 1, 'float32', seed) as tf.Tensor4D, tf.randomNormal([n, 6, 6, 1], 0, 1, 'float32', seed + 1) as tf.Tensor4D];
}

test('test-time aggregation: stops after the epoch a weight falls below the threshold, re-runs from 1/3, leaks nothing', async () => {
  const data = images(10, 7);
  const batches = () => (async function* () {
    // As the evaluation does: the producer disposes each batch after the consumer has seen it.
    for (const x of data) {
      const c = x.clone();
      try {
        yield c;
      } finally {
        c.dispose();
      }
    }
  })();
  const model = new ToyExperts();
  const before = tf.memory().numTensors;
  // Any change from 1/3 puts a weight below 0.34: the run stops after epoch 1 of 4.
  const r1 = await sadeTestTimeAggregation(model, batches, { lr: 0.5, epochs: 4, batchSize: 4, stopBelow: 0.34, seed: 1 });
  assert.equal(r1.epochsRun, 1);
  assert.equal(r1.stoppedEarly, true);
  assert.equal(r1.images, 20);
  assert.ok(Math.abs(r1.weights.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  assert.ok(r1.weights.some((w) => Math.abs(w - 1 / 3) > 1e-4), 'the weights moved');
  // Threshold 0: all epochs run. A second run with the same seed starts again from 1/3: same history.
  const r2 = await sadeTestTimeAggregation(model, batches, { lr: 0.5, epochs: 3, batchSize: 4, stopBelow: 0, seed: 1 });
  const r3 = await sadeTestTimeAggregation(model, batches, { lr: 0.5, epochs: 3, batchSize: 4, stopBelow: 0, seed: 1 });
  assert.equal(r2.epochsRun, 3);
  assert.equal(r2.stoppedEarly, false);
  assert.deepEqual(r2.history, r3.history);
  assert.ok(close(r2.history[0], r1.history[0], 1e-6), 'epoch 1 is the same run from 1/3');
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  // A one-shot generator cannot be re-iterated for a second epoch: a clear error.
  await assert.rejects(sadeTestTimeAggregation(model, batches(), { epochs: 2 }), /iterated only once/);
  tf.dispose(data);
});

test('prediction: Σ w_k z_k with learned weights, the mean without', () => {
  const model = new ExpertEnsemble({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0 }, { experts: 3, widthFactor: 0.75, splitStage: null, scale: 30 });
  try {
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const diff = (w: number[] | null) =>
      tf.tidy(() => {
        const out = model.forward(x, false);
        const ws = w ?? [1 / 3, 1 / 3, 1 / 3];
        const expected = tf.addN(out.experts!.map((z, k) => tf.mul(z, ws[k])));
        return tf.max(tf.abs(tf.sub(expected, out.logits))).dataSync()[0];
      });
    assert.ok(diff(null) < 1e-4);
    assert.equal(applySadeAggregation(model, [0.7, 0.2, 0.1]), null);
    assert.ok(diff([0.7, 0.2, 0.1]) < 1e-4);
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(model.forward(x, false).logits, tf.div(tf.addN(model.forward(x, false).experts!), 3)))).dataSync()[0]) > 1e-4, 'the weights change the prediction');
    assert.deepEqual(applySadeAggregation(model, null), [0.7, 0.2, 0.1]);
    assert.ok(diff(null) < 1e-4);
    x.dispose();
  } finally {
    model.dispose();
  }
});

test('the default SADE instance has no post-hoc step (Table 5 is the mean); testTimeAggregation adds a transductive one', () => {
  assert.equal(sadeMethod.create({ classCounts: [3, 1], numClasses: 2, params: {}, epochs: 1 }).postHoc, undefined);
  const steps = sadeMethod.create({ classCounts: [3, 1], numClasses: 2, params: { testTimeAggregation: true }, epochs: 1 }).postHoc!;
  assert.equal(steps.length, 1);
  assert.equal(steps[0].reads, 'test-unlabelled');
});

const tinySade = (name: string, params: Record<string, unknown> = {}) => ({
  name: 'tiny-sade',
  dataset: { name: 'synthetic', profile: 'exponential', imbalanceRatio: 10, valPerClass: 4, synthetic: { numClasses: 4, perClass: 40, testPerClass: 8, size: 8, channels: 1 } },
  backbone: { name: 'resnet8' },
  method: { name, params },
  train: { epochs: 1, batchSize: 16, optimizer: { lr: 0.05 } },
  eval: { thresholds: { head: 20, tail: 8 }, batchSize: 32 },
});

test('lt-bench run --dry-run: a `tade` recipe has the run id and hash of the same `sade` recipe', () => {
  const dir = tempDir();
  const ids = ['tade', 'sade'].map((name) => {
    const r = cli(['run', writeYaml(dir, `${name}.yaml`, tinySade(name)), '--dry-run', '--output', path.join(dir, 'out')]);
    assert.equal(r.status, 0, r.stderr);
    return [r.stdout.match(/# run id (\S+)/)![1], r.stdout.match(/# recipe hash (\S+)/)![1]];
  });
  assert.deepEqual(ids[0], ids[1]);
  assert.match(ids[0][0], /^sade-/);
});

test('lt-bench run: a 1-epoch `tade` run with the test-time aggregation records the weights and is transductive', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'tade.yaml', tinySade('tade', { testTimeAggregation: true, ttaBatchSize: 8, ttaEpochs: 2 }));
  const r = cli(['run', file, '--quiet', '--output', path.join(dir, 'out'), '--backend', testBackend]);
  assert.equal(r.status, 0, r.stderr);
  const record = JSON.parse(readFileSync(path.join(r.stdout.match(/record: (\S+)/)![1], 'run.json'), 'utf8'));
  assert.equal(record.method.name, 'sade');
  const step = record.method.calibration.last.postHoc['test-time-aggregation'];
  assert.equal(step.reads, 'test-unlabelled');
  assert.equal(step.weights.length, 3);
  assert.ok(Math.abs(step.weights.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
  assert.equal(step.images, 32);
  assert.equal(record.method.calibration.last.transductive, true);
});
