/**
 * Stage kinds beyond train → classifier: a toy pre-train → train method (SSP's shape) and a toy
 * distill method with two teachers on class subsets (LFME's shape), both test fixtures registered
 * for this file only. Planning: the runs, their order and dependencies, what their ids share;
 * the rotation pretext's batch by hand.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import path from 'node:path';
import { planRecipe, runRecipe } from '../../src/lifecycle/index.js';
import { LtModel } from '../../src/models/model.js';
import { listRuns } from '../../src/results/runs.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { softmaxLoss } from '../../src/losses/softmax.js';
import { registerMethod } from '../../src/methods/registry.js';
import { rotationBatch, rotationPretext } from '../../src/methods/pretexts/rotation.js';
import type { Method, MethodModel } from '../../src/methods/types.js';
import { logitsLoss } from '../../src/methods/setup.js';
import { tempDir, testBackend, tinyRecipe } from '../foundation/helpers.js';

const base = {
  family: 'baseline' as const,
  tags: ['Baseline' as const],
  summary: 'test fixture',
  citation: { paper: '-', code: '-' },
};

const ssp: Method = {
  ...base,
  name: 'toy-ssp',
  params: z.object({ pretrainEpochs: z.number().int().positive().optional(), smoothing: z.number().default(0) }).strict(),
  stages: [{ kind: 'pretrain', pretext: rotationPretext, epochsParam: 'pretrainEpochs' }, { kind: 'train' }],
  create: (setup) => ({ loss: logitsLoss(softmaxLoss(setup.classCounts)) }),
};

const distill = (subsets: Array<'head' | 'middle' | 'tail' | number[]>): Method => ({
  ...base,
  name: 'toy-distill',
  params: z.object({}).strict(),
  stages: [...subsets.map((classSubset) => ({ kind: 'train' as const, classSubset })), { kind: 'distill', teachers: subsets.map((_, i) => i) }],
  create: (setup) => ({ loss: logitsLoss(softmaxLoss(setup.classCounts)) }),
});

const unregister: Array<() => void> = [];
before(async () => {
  await tf.setBackend('cpu');
  unregister.push(registerMethod(ssp));
});
after(() => unregister.forEach((u) => u()));

test('rotation pretext on a 2×2 image: the four turns (numpy rot90) and targets 0..3', () => {
  // [[1, 2], [3, 4]], one channel.
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const { x: r, y } = rotationBatch(x);
  assert.deepEqual(r.shape, [4, 2, 2, 1]);
  assert.deepEqual(Array.from(r.dataSync()), [1, 2, 3, 4, /* 90° */ 2, 4, 1, 3, /* 180° */ 4, 3, 2, 1, /* 270° */ 3, 1, 4, 2]);
  assert.deepEqual(Array.from(y.dataSync()), [0, 1, 2, 3]);
  assert.equal(y.dtype, 'int32');
  tf.dispose([x, r, y]);
  assert.throws(() => rotationBatch(tf.zeros([1, 2, 3, 1]) as tf.Tensor4D), /square/);
});

test('pretrain → train: two runs, train after pretrain; the pretrain run is shared by a recipe differing only in the train stage', () => {
  const out = '/nonexistent-ltb-out';
  const recipe = tinyRecipe({ method: { name: 'toy-ssp', params: { pretrainEpochs: 1 } }, train: { epochs: 1 }, output: out });
  const plan = planRecipe(recipe);
  assert.deepEqual(plan.runs.map((r) => r.kind), ['pretrain', 'train']);
  const [pre, main] = plan.runs;
  assert.equal(plan.main, main);
  assert.deepEqual(pre.dependsOn, []);
  assert.deepEqual(main.dependsOn, [pre.runId]);
  assert.equal(main.stage!.initFrom, pre.runId);
  assert.deepEqual([pre.role, main.role], ['stage1', 'main']);
  assert.match(pre.runId, /^pretrain-rotation-/);
  assert.equal(pre.recipe.train.epochs, 1);
  assert.equal(pre.recipe.method.name, 'pretext:rotation');
  assert.equal(pre.recipe.method.params.classes, 4);

  // Another train stage (a loss param, a longer train budget): same pretrain run, another main run.
  const other = planRecipe(tinyRecipe({ method: { name: 'toy-ssp', params: { pretrainEpochs: 1, smoothing: 0.1 } }, train: { epochs: 3 }, output: out }));
  assert.equal(other.runs[0].runId, pre.runId);
  assert.notEqual(other.main.runId, main.runId);
  // The pretrain budget defaults to the recipe's epochs, and changes the pretrain run.
  const defaulted = planRecipe(tinyRecipe({ method: { name: 'toy-ssp' }, train: { epochs: 3 }, output: out }));
  assert.equal(defaulted.runs[0].recipe.train.epochs, 3);
  assert.notEqual(defaulted.runs[0].runId, pre.runId);
  // Another seed is another pretrain run.
  assert.notEqual(planRecipe(tinyRecipe({ method: { name: 'toy-ssp', params: { pretrainEpochs: 1 } }, train: { epochs: 1, seed: 7 }, output: out })).runs[0].runId, pre.runId);
});

test('the balanced twin of a staged method gets the whole pipeline', () => {
  const plan = planRecipe(tinyRecipe({ method: { name: 'toy-ssp', params: { pretrainEpochs: 1 } }, train: { epochs: 1 }, reference: 'auto', output: '/nonexistent-ltb-out' }));
  assert.deepEqual(plan.runs.map((r) => `${r.role}:${r.kind}`), ['stage1:pretrain', 'main:train', 'reference-vanilla:train', 'reference-stage1:pretrain', 'reference-method:train']);
  const [, , , refPre, refMain] = plan.runs;
  assert.deepEqual(refMain.dependsOn, [refPre.runId]);
  assert.equal(refPre.recipe.dataset.balanced, true);
  assert.equal(plan.references!.method, refMain.runId);
  assert.notEqual(refPre.runId, plan.runs[0].runId);
});

test('distill: teachers on class subsets planned first, the student depends on both; an empty subset is an error naming it', () => {
  const u = registerMethod(distill(['head', [1, 3]]));
  try {
    const recipe = tinyRecipe({ method: { name: 'toy-distill' }, train: { epochs: 1 }, output: '/nonexistent-ltb-out' });
    const plan = planRecipe(recipe);
    assert.deepEqual(plan.runs.map((r) => r.kind), ['train', 'train', 'distill']);
    const [t0, t1, student] = plan.runs;
    // tinyRecipe: exponential profile, 40 → 4 images over 4 classes, head ≥ 20, tail ≤ 8.
    assert.deepEqual(t0.stage!.classes, [0]);
    assert.deepEqual(t1.stage!.classes, [1, 3]);
    assert.deepEqual(student.dependsOn, [t0.runId, t1.runId]);
    assert.deepEqual(student.stage!.teachers, [t0.runId, t1.runId]);
    assert.deepEqual([t0.dependsOn, t1.dependsOn], [[], []]);
    assert.equal(new Set(plan.runs.map((r) => r.runId)).size, 3);
    assert.equal(plan.main, student);
  } finally {
    u();
  }
  const u2 = registerMethod(distill(['middle', []]));
  try {
    const recipe = tinyRecipe({ method: { name: 'toy-distill' }, train: { epochs: 1 }, output: '/nonexistent-ltb-out' });
    assert.throws(() => planRecipe(recipe), /method toy-distill, stage 2 \(train\): classSubset 'c' is empty/);
  } finally {
    u2();
  }
});

test('registerMethod refuses a taken name', () => {
  assert.throws(() => registerMethod({ ...ssp }), /already registered/);
  assert.throws(() => registerMethod({ ...ssp, name: 'softmax' }), /already registered/);
});

test('pretrain → train trains both runs, the planned ids; the train stage starts from the pre-trained trunk, its head fresh', async () => {
  const out = tempDir('ltb-stage-kinds-');
  const seen: Array<Map<string, Float32Array>> = [];
  const u = registerMethod({
    ...ssp,
    name: 'toy-ssp-probe',
    create: (setup) => {
      const ce = logitsLoss(softmaxLoss(setup.classCounts));
      return {
        loss: (o, y, ctx) => {
          if (ctx.epoch === 0 && ctx.step === 0) seen.push(new Map([...ctx.model!.store.all()].map(([n, v]) => [n, v.dataSync().slice() as Float32Array])));
          return ce(o, y, ctx);
        },
      };
    },
  });
  try {
    const recipe = tinyRecipe({ method: { name: 'toy-ssp-probe', params: { pretrainEpochs: 1 } }, train: { epochs: 1 }, output: out });
    const plan = planRecipe(recipe);
    await runRecipe(recipe, { backend: testBackend });
    assert.deepEqual(new Set(listRuns(out).map((r) => r.runId)), new Set(plan.runs.map((r) => r.runId)));
    assert.deepEqual(plan.runs.map((r) => listRuns(out).find((x) => x.runId === r.runId)!.method), ['pretext:rotation', 'toy-ssp-probe']);
    const pre = loadCheckpoint(path.join(plan.runs[0].dir, 'last')).tensors;
    assert.ok([...pre.keys()].some((n) => n.startsWith('pretext.')), 'the pretext head is scoped pretext.');
    assert.equal(pre.get('pretext.fc.weight')!.shape[1], 4, 'rotation: 4 classes');
    assert.equal(seen.length, 1, 'the method loss runs in the train stage only (the pretrain stage has the pretext loss)');
    const trunk = [...pre.keys()].filter((n) => !n.startsWith('pretext.') && seen[0].has(n));
    assert.ok(trunk.length > 4);
    for (const n of trunk) assert.deepEqual(seen[0].get(n), pre.get(n)!.data, `${n}: step 0 of the train stage has the pre-trained value`);
    // The seeded initial trunk differs from the pre-trained one: the comparison above can fail.
    const init = new LtModel({ backbone: recipe.backbone.name, inChannels: 1, numClasses: 4, seed: recipe.train.seed, head: 'linear' });
    try {
      assert.ok(trunk.some((n) => init.store.all().has(n) && !tf.util.arraysEqual(init.store.all().get(n)!.dataSync(), pre.get(n)!.data)));
    } finally {
      init.dispose();
    }
    assert.ok(seen[0].has('fc.weight') && !pre.has('fc.weight'), 'the classification head starts fresh');
    const again = planRecipe(recipe);
    assert.deepEqual(again.runs.map((r) => r.action), ['reuse', 'reuse']);
  } finally {
    u();
  }
});

test('distill: teachers train on their classes only, the student reads their logits, and they stay frozen', async () => {
  const out = tempDir('ltb-stage-kinds-distill-');
  const labels = new Map<MethodModel, Set<number>>();
  const teacherShapes: number[][] = [];
  const teacherValues: Float32Array[] = [];
  const method = distill([[0], [1, 3]]);
  const u = registerMethod({
    ...method,
    create: (setup) => {
      const ce = logitsLoss(softmaxLoss(setup.classCounts));
      return {
        loss: (o, y, ctx) => {
          const set = labels.get(ctx.model!) ?? new Set<number>();
          labels.set(ctx.model!, set);
          for (const c of y.dataSync()) set.add(c);
          if (!ctx.teachers) return ce(o, y, ctx);
          const t = ctx.teacherLogits!(ctx.batch!.x);
          teacherShapes.push(...t.map((l) => l.shape));
          teacherValues.push(ctx.teachers[0].store.all().get('fc.weight')!.dataSync().slice() as Float32Array);
          // A term through the teachers' logits: were they trainable, the step would move them.
          return tf.add(ce(o, y, ctx), tf.mul(0.1, tf.mean(tf.square(tf.sub(o.logits, t[0]))))) as tf.Scalar;
        },
      };
    },
  });
  try {
    const recipe = tinyRecipe({ method: { name: 'toy-distill' }, train: { epochs: 1 }, output: out });
    const plan = planRecipe(recipe);
    await runRecipe(recipe, { backend: testBackend });
    assert.deepEqual(new Set(listRuns(out).map((r) => r.runId)), new Set(plan.runs.map((r) => r.runId)));
    const names = new Map(listRuns(out).map((r) => [r.runId, r.method]));
    assert.deepEqual(plan.runs.map((r) => names.get(r.runId)), ['toy-distill@stage1', 'toy-distill@stage2', 'toy-distill'], 'experts are recorded as stages (no table row), the student as the method');
    const sets = [...labels.values()].map((s) => [...s].sort());
    assert.equal(sets.length, 3);
    assert.deepEqual(sets[0], [0]);
    assert.deepEqual(sets[1], [1, 3]);
    assert.deepEqual(sets[2], [0, 1, 2, 3], 'the student trains on every class');
    assert.ok(teacherShapes.length >= 2);
    for (const sh of teacherShapes) assert.equal(sh[1], 4);
    const saved = loadCheckpoint(path.join(plan.runs[0].dir, 'last')).tensors.get('fc.weight')!.data;
    assert.ok(teacherValues.length > 1);
    for (const v of teacherValues) assert.deepEqual(v, saved, "teacher 0's head after the student's steps is its run's");
  } finally {
    u();
  }
});
