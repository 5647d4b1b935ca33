/**
 * OLTR: reachability, CosNorm and the discriminative centroid loss against hand-computed values;
 * centroids detached into the classifier; `prepare` fills the centroids with class means; and a
 * tiny two-stage run (stage 2 starts from stage 1's trunk) through the API.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { cosNormLogits, discCentroidsLoss, OltrModel, oltrMethod, oltrParams, reachability } from '../../src/methods/oltr.js';
import { planRecipe, runRecipe } from '../../src/lifecycle/index.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { testBackend, tinyRecipe } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: ArrayLike<number>, b: number[], tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

test('reachability = 10 / distance to the nearest centroid', () => {
  // f = (3, 4): ‖f − (0,0)‖ = 5, ‖f − (3,0)‖ = 4 → 10 / 4 = 2.5; f = (0, 1): distances 1, √10 → 10.
  const r = reachability(tf.tensor2d([[3, 4], [0, 1]]), tf.tensor2d([[0, 0], [3, 0]]), 10);
  close(r.dataSync(), [2.5, 10]);
});

test('CosNorm: 16 · (‖x‖/(1+‖x‖)) x̂ · ŵ_k', () => {
  // x = (3, 4): ‖x‖ = 5, squashed (5/6)(0.6, 0.8) = (0.5, 2/3); W rows (1,0), (0,2) normalise to e1, e2.
  const z = cosNormLogits(tf.tensor2d([[3, 4]]), tf.tensor2d([[1, 0], [0, 2]]), 16);
  close(z.dataSync(), [8, 32 / 3]);
});

test('discriminative centroid loss: ½Σ‖f − c_y‖²/B + 0.01·max(0, 10 − Σ non-target d²/(B·C))', () => {
  // f = (1,0) y 0, (0,1) y 1; c0 = (0,0), c1 = (2,0). Attract ½(1 + 5)/2 = 1.5. Non-target d²: 1 + 1 = 2,
  // /(2·2) = 0.5 → repel 9.5 → 1.5 + 0.095.
  const l = discCentroidsLoss(tf.tensor2d([[1, 0], [0, 1]]), tf.tensor1d([0, 1], 'int32'), tf.tensor2d([[0, 0], [2, 0]]));
  close([l.dataSync()[0]], [1.595]);
  // Far from every centroid the repelling term is 0: f = (10, 0) y 0, c0 = (10, 0), c1 = (0, 0): d² 100/(1·2) = 50 > 10.
  const far = discCentroidsLoss(tf.tensor2d([[10, 0]]), tf.tensor1d([0], 'int32'), tf.tensor2d([[10, 0], [0, 0]]));
  close([far.dataSync()[0]], [0]);
});

test('the classifier reads the centroids detached; the centroid loss trains them; the model is trunk + attention + fc_add + meta-embedding', async () => {
  const p = oltrParams.parse({ attentionSize: 2 });
  const model = new OltrModel({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0 }, p);
  const names = [...model.store.all().keys()];
  assert.ok(names.includes('conv1.weight') && names.includes('layer3.0.conv1.weight'), 'trunk under the plain backbone names');
  assert.ok(names.includes('oltr.att.convMask.weight') && names.includes('oltr.fcAdd.weight') && names.includes('oltr.meta.cosnorm.weight'));
  assert.equal(model.embedDim, 64);
  // conv_mask starts at zero: the attention block is the identity at the start of stage 2.
  assert.equal(tf.sum(tf.abs(model.store.all().get('oltr.att.convMask.weight')!)).dataSync()[0], 0);
  model.centroids.assign(tf.randomNormal([3, 64], 0, 1, 'float32', 1));
  const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1, 2, 0], 'int32');
  const through = tf.variableGrads(() => tf.sum(model.forward(x, true).logits) as tf.Scalar, [model.centroids]);
  const dc = Object.values(through.grads)[0];
  assert.equal(tf.sum(tf.abs(dc)).dataSync()[0], 0, 'no gradient reaches the centroids through the classifier');
  const inst = oltrMethod.create({ classCounts: [5, 3, 2], numClasses: 3, params: { attentionSize: 2 }, epochs: 1 });
  const { grads } = tf.variableGrads(() => inst.loss(model.forward(x, true), y, { epoch: 0, epochs: 1, rng: undefined as never, model }), [model.centroids]);
  assert.ok(tf.sum(tf.abs(Object.values(grads)[0])).dataSync()[0] > 0, 'the centroid loss trains the centroids');
  model.dispose();
});

test('stage 1 is plain CE on the default model; prepare sets the centroids to the class means', async () => {
  const s1 = oltrMethod.create({ classCounts: [2, 1], numClasses: 2, params: {}, epochs: 1, stage: 0 });
  assert.equal(s1.buildModel, undefined);
  assert.equal(s1.sampler, 'instance');
  const s2 = oltrMethod.create({ classCounts: [2, 1], numClasses: 2, params: { attentionSize: 2, embedDim: 2 }, epochs: 1, stage: 1 });
  assert.equal(s2.sampler, 'class-balanced');
  const model = s2.buildModel!({ backbone: 'resnet8', inChannels: 1, numClasses: 2, seed: 0 }) as OltrModel;
  await s2.prepare!({ model, trainFeatures: async () => ({ features: tf.tensor2d([[1, 2], [3, 4], [10, 0]]), labels: Int32Array.from([0, 0, 1]) }) });
  close(model.centroids.dataSync(), [2, 3, 10, 0]);
  // Groups: classifier lr × 1, centroids × 0.1, everything else (trunk, attention, fc_add) × 0.1.
  const groups = s2.paramGroups!(model);
  const factor = (n: string) => groups.find((g) => g.names(n))!.lrFactor;
  assert.deepEqual([factor('oltr.meta.cosnorm.weight'), factor('oltr.centroids'), factor('layer1.0.conv1.weight'), factor('oltr.fcAdd.weight')], [1, 0.1, 0.1, 0.1]);
  model.dispose();
});

test('two-stage run: stage 2 depends on stage 1 and starts from its trunk', async () => {
  // No attentionSize: the 8-px images give ResNet-8 a 2×2 last map, which the model finds itself.
  const recipe = tinyRecipe({ method: { name: 'oltr' }, train: { epochs: 1 }, reference: 'none' });
  const plan = planRecipe(recipe);
  assert.deepEqual(plan.runs.map((r) => r.kind), ['train', 'train']);
  const [s1, s2] = plan.runs;
  assert.deepEqual(s2.dependsOn, [s1.runId]);
  assert.equal(s2.stage!.initFrom, s1.runId);
  await runRecipe(recipe, { backend: testBackend });
  const first = loadCheckpoint(path.join(recipe.output, s1.runId, 'last')).tensors;
  const second = loadCheckpoint(path.join(recipe.output, s2.runId, 'last')).tensors;
  assert.ok(first.has('fc.weight') && !second.has('fc.weight'), 'stage 2 has its own classifier');
  assert.ok(second.has('oltr.centroids') && second.has('conv1.weight'));
  assert.deepEqual(second.get('oltr.att.fcSpatial.weight')!.shape, [2 * 2 * 64, 4]);
  const c = second.get('oltr.centroids')!;
  assert.ok(Array.from(c.data as Float32Array).some((v) => v !== 0), 'centroids were initialised');
});

test('initFrom must name an earlier train stage (a recipe error naming the stage)', async () => {
  const { registerMethod } = await import('../../src/methods/registry.js');
  const { z } = await import('zod');
  const bad = { ...oltrMethod, name: 'toy-bad-init', params: z.object({}).strict(), stages: [{ kind: 'train' as const, initFrom: 1 }, { kind: 'train' as const }] };
  const unregister = registerMethod(bad);
  try {
    assert.throws(() => planRecipe(tinyRecipe({ method: { name: 'toy-bad-init' }, train: { epochs: 1 } })), /stage 1 \(train\): initFrom 1 is not an earlier train stage/);
  } finally {
    unregister();
  }
});

test('attentionSize unset and no image size: one clear error', () => {
  const p = oltrParams.parse({});
  assert.throws(() => new OltrModel({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0 }, p), /image size is unknown here; set method.params.attentionSize/);
  const m = new OltrModel({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0, imageShape: [28, 28, 1] }, p);
  assert.equal(m.store.all().get('oltr.att.fcSpatial.weight')!.shape[1], 49, '28 px → 7×7');
  m.dispose();
});
