/**
 * Test distributions of a method whose post-hoc step reads the unlabelled test images: the step
 * runs again on each subset's images only, and the subset is predicted again with its choice.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { BatchSource, SourceBatch } from '../../src/data/batch-source.js';
import { readPredictions } from '../../src/eval/predictions.js';
import { scoreTestDistributions } from '../../src/eval/test-distributions-run.js';
import { parseTestDistribution, selectSubset, subsetMetrics } from '../../src/eval/test-distributions.js';
import { runRecipe } from '../../src/lifecycle/index.js';
import { softmaxLoss } from '../../src/losses/softmax.js';
import { registerMethod } from '../../src/methods/registry.js';
import { logitsLoss } from '../../src/methods/setup.js';
import type { Method, MethodInstance, MethodModel, ModelOutput, PostHocStep } from '../../src/methods/types.js';
import { ParamStore } from '../../src/models/params.js';
import { Rng } from '../../src/rng.js';
import { testBackend, tinyRecipe } from '../foundation/helpers.js';

/** 4 classes × 10 test images; item id i has label i % 4 and is a 1×1×1 image whose pixel is i. */
const labels = Int32Array.from({ length: 40 }, (_, i) => i % 4);
const source: BatchSource = {
  labels,
  channels: 1,
  async *epoch(order: Int32Array, batchSize: number): AsyncGenerator<SourceBatch> {
    for (let b = 0; b < order.length; b += batchSize) {
      const idx = order.subarray(b, b + batchSize);
      yield { x: Float32Array.from(idx), y: Int32Array.from(idx, (i) => labels[i]), shape: [idx.length, 1, 1, 1] };
    }
  },
};

/** Predicts class (id + shift) % 4: right exactly when the post-hoc step chose shift 0. */
class ShiftModel implements MethodModel {
  readonly store = new ParamStore(new Rng(0));
  shift = 0;
  forwardFeatures(x: tf.Tensor4D): tf.Tensor2D {
    return tf.reshape(x, [x.shape[0], 1]);
  }
  forwardHead(features: tf.Tensor2D): ModelOutput {
    const cls = tf.mod(tf.add(features.squeeze([1]), this.shift), 4).toInt();
    return { features, logits: tf.oneHot(cls as tf.Tensor1D, 4).toFloat() as tf.Tensor2D };
  }
  forward(x: tf.Tensor4D): ModelOutput {
    return this.forwardHead(this.forwardFeatures(x));
  }
  parameterCount(): number {
    return 0;
  }
  dispose(): void {}
}

/** Records the ids of the images it saw and sets shift = their count mod 4 (from scratch every call). */
function seeingStep(model: ShiftModel): PostHocStep {
  return {
    name: 'see',
    reads: 'test-unlabelled',
    async run(ctx) {
      model.shift = 0;
      const seen: number[] = [];
      for await (const x of ctx.testImages!()) seen.push(...x.dataSync());
      model.shift = seen.length % 4;
      return { seen: seen.sort((a, b) => a - b), shift: model.shift };
    },
  };
}

before(async () => {
  await tf.setBackend('cpu');
});

test('a test-unlabelled step sees exactly each subset\'s images, and each subset is predicted with its own choice', async () => {
  const model = new ShiftModel();
  const method: MethodInstance = { loss: () => tf.scalar(0), postHoc: [seeingStep(model)] };
  const counts = [5, 50, 20, 50];
  const groups = ['tail', 'head', 'middle', 'head'] as ('head' | 'middle' | 'tail')[];
  // The test split in another order than item ids: positions map to ids through it.
  const testIndices = Int32Array.from({ length: 40 }, (_, i) => 39 - i);
  const testLabels = Int32Array.from(testIndices, (i) => labels[i]);
  const names = ['backward-2', 'forward-10', 'uniform'];
  const before = tf.memory().numTensors;
  const out = await scoreTestDistributions({
    names,
    classCounts: counts,
    groups,
    seed: 3,
    testLabels,
    predictions: null,
    forward: { model, method, val: { source, indices: Int32Array.from([0, 1, 2, 3]) }, test: { source, indices: testIndices }, batchSize: 7 },
    where: 'toy',
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  assert.deepEqual(Object.keys(out), ['forward-10', 'uniform', 'backward-2'], 'canonical order');
  for (const name of names) {
    const positions = selectSubset(testLabels, counts, parseTestDistribution(name), 3);
    const ids = Array.from(positions, (p) => testIndices[p]).sort((a, b) => a - b);
    const m = out[name];
    assert.equal(m.from, 'forward-pass');
    assert.equal(m.seed, 3);
    assert.deepEqual((m.postHoc as { see: { seen: number[] } }).see.seen, ids, `${name}: the step saw the subset's images only`);
    assert.equal(m.count, ids.length);
    // forward-10: 1+10+2+4 = 17 → shift 1 → all wrong; uniform: 40 → shift 0 → all right; backward-2: 10+5+7+6 = 28 → 0.
    assert.equal(m.top1, ids.length % 4 === 0 ? 100 : 0, name);
  }
  assert.equal(out['forward-10'].count, 17);
  assert.equal(out['backward-2'].count, 28);
});

test('without a test-image step, the stored predictions are scored and the model is not run', async () => {
  const pred = Int32Array.from(labels, (y, i) => (i < 20 ? y : (y + 1) % 4));
  const predictions = { index: Int32Array.from(labels, (_, i) => i), label: labels, pred, maxProb: new Float32Array(40), logProbTrue: new Float32Array(40) };
  const groups = ['tail', 'head', 'middle', 'head'] as ('head' | 'middle' | 'tail')[];
  const throwing = { forward: () => assert.fail('no forward pass') } as unknown as MethodModel;
  const out = await scoreTestDistributions({
    names: ['forward-5'],
    classCounts: [5, 50, 20, 50],
    groups,
    seed: 0,
    testLabels: labels,
    predictions,
    forward: { model: throwing, method: { loss: () => tf.scalar(0) }, val: { source, indices: new Int32Array(0) }, test: { source, indices: predictions.index }, batchSize: 8 },
    where: 'toy',
  });
  const positions = selectSubset(labels, [5, 50, 20, 50], parseTestDistribution('forward-5'), 0);
  assert.deepEqual({ ...out['forward-5'], from: undefined, order: undefined, ratio: undefined, seed: undefined }, { ...subsetMetrics(pred, labels, positions, 4, groups), from: undefined, order: undefined, ratio: undefined, seed: undefined });
  assert.equal(out['forward-5'].from, 'predictions');
  await assert.rejects(
    scoreTestDistributions({ names: ['uniform'], classCounts: [1, 1, 1, 1], groups, seed: 0, testLabels: labels, predictions: { ...predictions, label: Int32Array.from(labels, (y) => (y + 1) % 4) }, where: 'run x' }),
    /run x: the stored predictions do not match the test split/,
  );
});

// A registered toy method whose step counts the test images it is given, through a real run.
const toy: Method = {
  name: 'toy-test-time',
  family: 'baseline',
  tags: ['Baseline'],
  summary: 'test fixture: a post-hoc step reading the unlabelled test images',
  citation: { paper: '-', code: '-' },
  params: z.object({}).strict(),
  create: (setup) => ({
    loss: logitsLoss(softmaxLoss(setup.classCounts)),
    postHoc: [
      {
        name: 'count',
        reads: 'test-unlabelled',
        async run(ctx) {
          let images = 0;
          let pixelSum = 0;
          for await (const x of ctx.testImages!()) {
            images += x.shape[0];
            pixelSum += tf.tidy(() => x.sum().dataSync()[0]);
          }
          return { images, pixelSum: Number(pixelSum.toFixed(2)) };
        },
      },
    ],
  }),
};
const unregister: Array<() => void> = [];
before(() => void unregister.push(registerMethod(toy)));
after(() => unregister.forEach((u) => u()));

test('a run with eval.testDistributions: predictions file per checkpoint, metrics per distribution, the toy step re-run on each subset', async () => {
  await tf.setBackend(testBackend).catch(() => undefined);
  const recipe = tinyRecipe({ method: { name: 'toy-test-time' }, train: { epochs: 1 }, eval: { testDistributions: ['forward-10', 'uniform', 'backward-2'] } });
  const r = await runRecipe(recipe, { backend: testBackend });
  const rec = r.record;
  const p = readPredictions(path.join(r.dir, 'predictions-test-last.csv'))!;
  assert.equal(p.label.length, rec.dataset.sizes.test);
  assert.equal((100 * p.pred.filter((v, i) => v === p.label[i]).length) / p.label.length, rec.metrics.last!.top1, 'the file agrees with the record');
  assert.equal(existsSync(path.join(r.dir, 'predictions-test-best.csv')), rec.metrics.best !== null);
  const td = rec.testDistributions!.last!;
  assert.deepEqual(Object.keys(td), ['forward-10', 'uniform', 'backward-2']);
  // tinyRecipe: 4 classes, 8 test images each; forward-10: 8, 3, 1, 0 (⌊8·10^(−r/3)⌋) = 12 images.
  assert.equal(td['forward-10'].count, 12);
  assert.equal(td['backward-2'].count, 8 + 6 + 5 + 4);
  for (const [name, m] of Object.entries(td)) {
    assert.equal(m.from, 'forward-pass');
    assert.equal(m.seed, recipe.dataset.splitSeed);
    assert.equal((m.postHoc as { count: { images: number } }).count.images, m.count, `${name}: the step saw the subset`);
  }
  // The full-test evaluation saw every test image; uniform is the same set, so the same choice and accuracy.
  const full = (rec.method.calibration!.last.postHoc as { count: { images: number; pixelSum: number } }).count;
  assert.equal(full.images, rec.dataset.sizes.test);
  assert.equal((td.uniform.postHoc as { count: { pixelSum: number } }).count.pixelSum, full.pixelSum);
  assert.equal(td.uniform.top1, rec.metrics.last!.top1);
  assert.ok(readFileSync(path.join(r.dir, 'run.json'), 'utf8').includes('"testDistributions"'));
});
