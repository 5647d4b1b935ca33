/**
 * RIDE-EA (src/methods/ride-ea.ts): the router's targets, its cascade and its loss by hand; the
 * model's router parameters and running-mean inputs; the two stages end to end (stage 2 trains the
 * router only, on the frozen experts).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parameterCounts } from '../../src/eval/cost.js';
import { planRecipe, runRecipe } from '../../src/lifecycle/index.js';
import { getMethod } from '../../src/methods/registry.js';
import { RideEaModel, routedMean, routerLoss, routerTargets } from '../../src/methods/ride-ea.js';
import { listRuns } from '../../src/results/runs.js';
import { loadRecords } from '../../src/results/store.js';
import { buildTable5 } from '../../src/results/tables.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { tempDir, testBackend, tinyRecipe } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

// Three experts, four images, three classes; labels 0, 1, 0, 2.
const Z0 = [[2, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]];
const Z1 = [[0, 0, 0], [0, 0, 3], [0, 0, 0], [0, 0, 2]];
const Z2 = [[0, 0, 0], [0, 0, 0], [5, 0, 0], [0, 0, 0]];
const Y = [0, 1, 0, 2];

test('router targets: "experts 0..i are wrong together and some later sum is right", by hand', () => {
  const t = tf.tidy(() => routerTargets([tf.tensor2d(Z0), tf.tensor2d(Z1), tf.tensor2d(Z2)], tf.tensor1d(Y, 'int32')).arraySync());
  // Image 0: right from expert 0 on → no help wanted. Image 1: right alone, the later sums go
  // wrong → still 0 (the target asks whether a later expert fixes a wrong answer). Image 2: wrong
  // until expert 2 → both routers should call. Image 3: wrong alone, right from z0 + z1 → router 0 calls, router 1 does not.
  assert.deepEqual(t, [[0, 0], [0, 0], [1, 1], [1, 0]]);
});

test('the cascade: expert i runs while every router before it says σ(r) > 0.5; the prediction is the mean of those that ran', () => {
  const r = [[1, 1], [-1, 5], [2, -3], [0, 1]];
  const { logits, count } = tf.tidy(() => {
    const o = routedMean([tf.tensor2d(Z0), tf.tensor2d(Z1), tf.tensor2d(Z2)], tf.tensor2d(r));
    return { logits: o.logits.arraySync(), count: o.count.arraySync() };
  });
  // Row 1: router 0 says no, so router 1's yes is never reached; row 3: σ(0) = 0.5 is not > 0.5.
  assert.deepEqual(count, [3, 1, 2, 1]);
  const expected = [
    Z0[0].map((v, j) => (v + Z1[0][j] + Z2[0][j]) / 3),
    Z0[1],
    Z0[2].map((v, j) => (v + Z1[2][j]) / 2),
    Z0[3],
  ];
  logits.forEach((row, i) => row.forEach((v, j) => close(v, expected[i][j])));
});

test('router loss: mean BCE with logits, positives weighted, by hand', () => {
  const got = tf.tidy(() => routerLoss(tf.tensor2d([[0, 2]]), tf.tensor2d([[1, 0]]), 100).dataSync()[0]);
  close(got, (100 * Math.log(2) + Math.log(1 + Math.exp(2))) / 2, 1e-4);
  // A confident right router costs almost nothing either way.
  const right = tf.tidy(() => routerLoss(tf.tensor2d([[20, -20]]), tf.tensor2d([[1, 0]]), 100).dataSync()[0]);
  assert.ok(right < 1e-6, `${right}`);
});

test('model: one hidden layer per expert but the last, a shared output layer on [top-k ; hidden]; routers read running means', () => {
  const model = new RideEaModel({ backbone: 'resnet8', inChannels: 1, numClasses: 4, seed: 0 }, { experts: 3, widthFactor: 0.75, splitStage: null, scale: 30 }, 16, 50);
  try {
    const d = model.expertDim;
    const router = [...model.store.trainable].filter(([n]) => n.startsWith('router.'));
    assert.deepEqual(
      router.map(([n, v]) => [n, v.shape]),
      [
        ['router.hidden0.weight', [d, 16]],
        ['router.hidden0.bias', [16]],
        ['router.hidden1.weight', [d, 16]],
        ['router.hidden1.bias', [16]],
        // k = 50 is cut to the 4 classes.
        ['router.out.weight', [4 + 16, 1]],
        ['router.out.bias', [1]],
      ],
    );
    const counts = parameterCounts(model);
    assert.equal(counts.test, counts.train, 'the router runs at test time: no training-only parameters');
    tf.tidy(() => {
      const x = tf.randomNormal([5, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
      const features = model.forwardFeatures(x, false);
      const { experts, router, parts } = model.routed(features, false);
      const byHand = model.router.apply(1, parts[1], tf.div(tf.add(experts[0], experts[1]), 2) as tf.Tensor2D);
      Array.from(byHand.dataSync()).forEach((v, i) => close(v, router.arraySync()[i][1], 1e-4));
      const out = model.forwardHead(features, false);
      const expected = routedMean(experts, router).logits.arraySync();
      out.logits.arraySync().forEach((row, i) => row.forEach((v, j) => close(v, expected[i][j], 1e-4)));
      const used = Array.from(out.aux!.expertsUsed.dataSync());
      assert.ok(used.every((n) => n >= 1 && n <= 3 && Number.isInteger(n)), used.join(','));
    });
  } finally {
    model.dispose();
  }
});

function tensorsOf(dir: string): Map<string, Float32Array> {
  return new Map([...loadCheckpoint(path.join(dir, 'last')).tensors].map(([n, t]) => [n, t.data]));
}

test('two stages end to end: stage 1 is RIDE, stage 2 trains the router alone on the frozen experts (batch norm included)', async () => {
  const out = tempDir('ltb-ride-ea-');
  const recipe = tinyRecipe({ method: { name: 'ride-ea', params: { topChoices: 3, routerEpochs: 1 } }, train: { epochs: 1 }, output: out });
  const plan = planRecipe(recipe);
  assert.deepEqual(plan.runs.map((r) => r.kind), ['train', 'train']);
  const [s1, s2] = plan.runs;
  assert.deepEqual(s2.dependsOn, [s1.runId]);
  assert.equal(s2.stage!.epochs, 1);
  await runRecipe(recipe, { backend: testBackend });
  const records = new Map(listRuns(out).map((r) => [r.runId, r]));
  assert.equal(records.get(s1.runId)!.method, 'ride-ea@stage1');
  assert.equal(records.get(s2.runId)!.method, 'ride-ea');
  // The router stage's class-balanced sampler is part of the method: one table row, not "ride-ea (CB)".
  const [t] = buildTable5((await loadRecords(out)).records, {});
  const rows = t.rows.filter((r) => r.kind === 'row' && r.method === 'ride-ea');
  assert.deepEqual(rows.map((r) => (r.kind === 'row' ? [r.label, r.cells[0].stat?.mean] : null)), [['ride-ea', records.get(s2.runId)!.top1]]);
  const a = tensorsOf(s1.dir);
  const b = tensorsOf(s2.dir);
  let compared = 0;
  for (const [n, v] of a) {
    if (n.startsWith('sgd.')) continue;
    assert.deepEqual(b.get(n), v, `${n}: frozen in stage 2`);
    compared++;
  }
  assert.ok(compared > 20 && [...a.keys()].some((n) => n.endsWith('running_mean')), 'the experts, trunk and batch-norm statistics were compared');
  assert.ok(![...a.keys()].some((n) => n.startsWith('router.')), 'stage 1 has no router');
  assert.ok([...b.keys()].some((n) => n.startsWith('router.hidden0')));
  // Stage 1's create is RIDE's: its derived values are in the stage-1 record.
  assert.ok(getMethod('ride-ea').create({ classCounts: [40, 20, 10, 4], numClasses: 4, params: {}, epochs: 10, stage: 0 }).resolvedParams?.margins);
  assert.equal(getMethod('ride-ea').create({ classCounts: [40, 20, 10, 4], numClasses: 4, params: { topChoices: 50 }, epochs: 10, stage: 1 }).resolvedParams?.topChoices, 4);
});
