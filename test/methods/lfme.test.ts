/**
 * LFME: the self-paced expert weights (all three regimes), the KD restricted to a subset's
 * classes, the curriculum fraction and instance mask, the inclusive subset cut and its
 * empty-subset error (API and CLI, exit 2), and the pipeline end to end on a tiny recipe.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { RecipeError } from '../../src/errors.js';
import { planRecipe, runRecipe } from '../../src/lifecycle/index.js';
import { curriculumFraction, curriculumMask, expertWeight, lfmeMethod, lfmeSubsetClasses, subsetKd } from '../../src/methods/lfme.js';
import type { MethodModel, StepContext } from '../../src/methods/types.js';
import { listRuns } from '../../src/results/runs.js';
import { Rng } from '../../src/rng.js';
import { tempDir, testBackend, tinyRecipe } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('self-paced expert weight: 1 up to α·Acc_E, then linear to 0 at Acc_E, clipped at 0 beyond', () => {
  // α = 0.6, Acc_E = 80: the switch at 48.
  assert.equal(expertWeight(30, 80, 0.6), 1);
  assert.equal(expertWeight(48, 80, 0.6), 1);
  close(expertWeight(60, 80, 0.6), (80 - 60) / (0.4 * 80)); // 0.625
  close(expertWeight(72, 80, 0.6), 0.25);
  assert.equal(expertWeight(80, 80, 0.6), 0);
  assert.equal(expertWeight(90, 80, 0.6), 0, 'the student beyond the expert: clipped at 0');
  assert.equal(expertWeight(0, 0, 0.6), 1);
  assert.equal(expertWeight(5, 0, 0.6), 0);
});

test('KD on a subset: T²·KL of the T-softened expert and student distributions over the subset\'s classes only', () => {
  const student = tf.tensor2d([[1, 5, 2, -3]]);
  const teacher = tf.tensor2d([[0, 9, 1, 3]]);
  const T = 2;
  // Classes {0, 2}: student [1, 2]/2, teacher [0, 1]/2; class 1 and 3 (large logits) must not matter.
  const sm = (z: number[]) => {
    const e = z.map((v) => Math.exp(v / T));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  const ps = sm([1, 2]);
  const pt = sm([0, 1]);
  const kl = pt.reduce((a, p, i) => a + p * Math.log(p / ps[i]), 0);
  close(subsetKd(student, teacher, [0, 2], T).dataSync()[0], T * T * kl);
  // Equal restricted logits (up to a shift): zero, whatever the other classes say.
  close(subsetKd(tf.tensor2d([[1, 0, 2, 7]]), tf.tensor2d([[4, 100, 5, -7]]), [0, 2], T).dataSync()[0], 0);
  tf.dispose([student, teacher]);
});

test('curriculum: the fraction grows linearly from the start to 1 at the last epoch; the easiest ⌈f·n⌉ of each subset train', () => {
  close(curriculumFraction(0, 5, 0.5), 0.5);
  close(curriculumFraction(1, 5, 0.5), 0.625);
  close(curriculumFraction(2, 5, 0.5), 0.75);
  close(curriculumFraction(4, 5, 0.5), 1);
  assert.equal(curriculumFraction(0, 1, 0.5), 1, 'one epoch: everything');
  // Subset 0 = classes {0, 1}, subset 1 = {2}, class 3 in none.
  const subsetOf = (c: number) => (c <= 1 ? 0 : c === 2 ? 1 : -1);
  const labels = [0, 1, 0, 2, 2, 3, 1];
  const conf = [0.9, 0.2, 0.5, 0.3, 0.8, 0.01, 0.7];
  // f = 0.5: subset 0 has 4 instances → keep 2 (0.9, 0.7); subset 1 has 2 → keep 1 (0.8); class 3 always.
  assert.deepEqual(Array.from(curriculumMask(labels, conf, subsetOf, 0.5)), [1, 0, 0, 0, 1, 1, 1]);
  // f = 0.6: ⌈2.4⌉ = 3 of subset 0, ⌈1.2⌉ = 2 of subset 1.
  assert.deepEqual(Array.from(curriculumMask(labels, conf, subsetOf, 0.6)), [1, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(curriculumMask(labels, conf, subsetOf, 1)), [1, 1, 1, 1, 1, 1, 1]);
});

test('subsets cut inclusively like the official shot file: many n ≥ head, median tail < n < head, low n ≤ tail', () => {
  // ImageNet-LT's boundary counts with the survey thresholds 100 / 20.
  const counts = [1280, 101, 100, 99, 21, 20, 19, 5];
  const where = { recipe: 'r', key: 'eval.thresholds' };
  const cut = { head: 100, tail: 20 };
  assert.deepEqual(lfmeSubsetClasses('many', counts, cut, where), [0, 1, 2]);
  assert.deepEqual(lfmeSubsetClasses('median', counts, cut, where), [3, 4]);
  assert.deepEqual(lfmeSubsetClasses('low', counts, cut, where), [5, 6, 7]);
  assert.throws(
    () => lfmeSubsetClasses('low', [500, 300, 100], cut, { recipe: 'my-recipe', key: 'method.params.cut' }),
    (e: unknown) => e instanceof RecipeError && e.exitCode === 2 && /recipe my-recipe: method\.params\.cut: LFME's 'low' subset \(training count ≤ 20\) is empty; the counts run from 100 to 500/.test(e.message),
  );
});

test('the plan: three experts on the cut of eval.thresholds (or method.params.cut), then the student reading all three', () => {
  // tinyRecipe: counts 36, 16, 7, 3; thresholds head 20, tail 8.
  const plan = planRecipe(tinyRecipe({ method: { name: 'lfme' }, train: { epochs: 1 }, output: '/nonexistent-ltb-out' }));
  assert.deepEqual(plan.runs.map((r) => r.kind), ['train', 'train', 'train', 'distill']);
  assert.deepEqual(plan.runs.slice(0, 3).map((r) => r.stage!.classes), [[0], [1], [2, 3]]);
  assert.match(plan.runs[0].runId, /^lfme-s1-many-/);
  assert.deepEqual(plan.main.stage!.teacherClasses, [[0], [1], [2, 3]]);
  const custom = planRecipe(tinyRecipe({ method: { name: 'lfme', params: { cut: { head: 16, tail: 3 } } }, train: { epochs: 1 }, output: '/nonexistent-ltb-out' }));
  assert.deepEqual(custom.runs.slice(0, 3).map((r) => r.stage!.classes), [[0, 1], [2], [3]]);
  assert.throws(() => planRecipe(tinyRecipe({ name: 'cut-test', method: { name: 'lfme', params: { cut: { head: 100, tail: 2 } } }, output: '/nonexistent-ltb-out' })), /recipe cut-test: method\.params\.cut: LFME's 'many' subset/);
  // The balanced twin cuts by its LT split's counts: the same classes.
  const withRef = planRecipe(tinyRecipe({ method: { name: 'lfme' }, train: { epochs: 1 }, reference: 'auto', output: '/nonexistent-ltb-out' }));
  const refExperts = withRef.runs.filter((r) => r.role === 'reference-stage1');
  assert.deepEqual(refExperts.map((r) => r.stage!.classes), [[0], [1], [2, 3]]);
});

test('lt-bench run: an empty subset is one line naming the recipe and the key, exit 2', () => {
  const dir = tempDir('ltb-lfme-cli-');
  const file = path.join(dir, 'lfme-empty.yaml');
  writeFileSync(
    file,
    [
      'name: lfme-empty',
      'dataset: {name: synthetic, profile: exponential, imbalanceRatio: 10, valPerClass: 4, synthetic: {numClasses: 4, perClass: 40, testPerClass: 8, size: 8, channels: 1}}',
      'backbone: {name: resnet8}',
      'method: {name: lfme}',
      'train: {epochs: 1, batchSize: 16}',
      'eval: {thresholds: {head: 100, tail: 2}}',
      `output: ${JSON.stringify(path.join(dir, 'out'))}`,
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, ['bin/lt-bench.js', 'run', file, '--backend', testBackend], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /recipe lfme-empty: eval\.thresholds: LFME's 'many' subset \(training count ≥ 100\) is empty/);
});

test('student loss by hand: CE plus each expert\'s weighted subset KD on its samples, over the curriculum-selected instances', () => {
  const inst = lfmeMethod.create({ classCounts: [30, 20, 5], numClasses: 3, params: { temperature: 2, alpha: 0.5, curriculumStart: 0.5 }, epochs: 3 });
  const logits = tf.tensor2d([
    [2, 0, 1],
    [0.5, 1, 0],
    [0, 0, 2],
    [1, 1, 1],
  ]);
  const labels = tf.tensor1d([0, 1, 2, 2], 'int32');
  // Expert 0: classes {0, 1}; expert 1: class {2}.
  const t0 = tf.tensor2d([
    [3, 0, 0],
    [0, 2, 0],
    [0, 0, 0],
    [0, 0, 0],
  ]);
  const t1 = tf.tensor2d([
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 5],
    [0, 0, 1],
  ]);
  // After epoch 0 the student is at 40 % on subset 0 (expert 80 %: α·80 = 40 → w = 1) and 90 % on
  // subset 1 (expert 100 %: (100 − 90)/(0.5·100) = 0.2).
  inst.beforeEpoch!({ epoch: 1, epochs: 3, model: {} as MethodModel, valPerClass: [40, 40, 90] });
  const ctx: StepContext = {
    epoch: 1,
    epochs: 3,
    rng: new Rng(0),
    teachers: [{} as MethodModel, {} as MethodModel],
    teacherLogits: () => [t0.clone(), t1.clone()],
    teacherClasses: [[0, 1], [2]],
    teacherValPerClass: [[80, 80, 0], [0, 0, 100]],
    batch: { x: tf.zeros([4, 1, 1, 1]) as tf.Tensor4D, y: labels, streams: [] },
  };
  const loss = inst.loss({ logits: logits as tf.Tensor2D, features: tf.zeros([4, 1]) as tf.Tensor2D }, labels, ctx).dataSync()[0];
  const L = logits.arraySync();
  const ce = (row: number[], c: number) => Math.log(row.reduce((a, z) => a + Math.exp(z), 0)) - row[c];
  const kd = (s: number[], t: number[]) => {
    const sm = (z: number[]) => {
      const e = z.map((v) => Math.exp(v / 2));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / sum);
    };
    const ps = sm(s);
    const pt = sm(t);
    return 4 * pt.reduce((a, p, i) => a + p * Math.log(p / ps[i]), 0);
  };
  // Epoch 1 of 3, start 0.5: f = 0.75. Subset 0 has samples 0, 1 → keep ⌈1.5⌉ = 2; subset 1 has
  // samples 2 (confidence 1 of a one-class subset) and 3 (also 1): keep ⌈1.5⌉ = 2. All four train.
  const s0 = ce(L[0], 0) + 1 * kd([2, 0], [3, 0]);
  const s1 = ce(L[1], 1) + 1 * kd([0.5, 1], [0, 2]);
  const s2 = ce(L[2], 2) + 0.2 * kd([2], [5]);
  const s3 = ce(L[3], 2) + 0.2 * kd([1], [1]);
  close(loss, (s0 + s1 + s2 + s3) / 4);
  // Epoch 0 of 3 (f = 0.5): subset 0 keeps only its more confident sample (sample 0: softmax([3, 0])[0]
  // > sample 1's softmax([0, 2])[1]? 0.9526 > 0.8808: sample 0); subset 1 keeps one of its two (ties: the first).
  const first = lfmeMethod.create({ classCounts: [30, 20, 5], numClasses: 3, params: { temperature: 2, alpha: 0.5, curriculumStart: 0.5 }, epochs: 3 });
  first.beforeEpoch!({ epoch: 0, epochs: 3, model: {} as MethodModel });
  const loss0 = first.loss({ logits: logits as tf.Tensor2D, features: tf.zeros([4, 1]) as tf.Tensor2D }, labels, { ...ctx, epoch: 0 }).dataSync()[0];
  // Before any val evaluation every weight is 1.
  close(loss0, (ce(L[0], 0) + kd([2, 0], [3, 0]) + ce(L[2], 2) + kd([2], [5])) / 2);
  tf.dispose([logits, labels, t0, t1]);
});

test('the pipeline end to end: three experts on their classes, the student distilled, records as stages and the method', async () => {
  const out = tempDir('ltb-lfme-');
  const recipe = tinyRecipe({ method: { name: 'lfme' }, train: { epochs: 1 }, output: out });
  const plan = planRecipe(recipe);
  await runRecipe(recipe, { backend: testBackend });
  const names = new Map(listRuns(out).map((r) => [r.runId, r.method]));
  assert.deepEqual(plan.runs.map((r) => names.get(r.runId)), ['lfme@stage1', 'lfme@stage2', 'lfme@stage3', 'lfme']);
  const again = planRecipe(recipe);
  assert.deepEqual(again.runs.map((r) => r.action), ['reuse', 'reuse', 'reuse', 'reuse']);
});
