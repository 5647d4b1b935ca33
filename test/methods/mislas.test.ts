/**
 * MiSLAS: label-aware smoothing (ε_y and the loss) and mixup (targets, loss) against hand-computed
 * values, the Beta(α, α) draw, and the two stages end to end: stage 2 keeps every backbone
 * parameter (batch-norm γ / β included) and re-estimates the running statistics only with shiftBn.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { planRecipe, runRecipe } from '../../src/lifecycle/index.js';
import { labelAwareSmoothing, labelAwareSmoothingLoss, mislasMethod, mixupBatch, sampleMixupLambda, softTargetCrossEntropy } from '../../src/methods/mislas.js';
import { evaluateRun } from '../../src/eval/run-eval.js';
import { listRuns } from '../../src/results/runs.js';
import { Rng } from '../../src/rng.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { tempDir, testBackend, tinyRecipe } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('label-aware smoothing ε_y: ε_K + (ε₁ − ε_K)·sin(π(n − n_K)/(2(n₁ − n_K))), by hand', () => {
  // n₁ = 100, n_K = 10: 50 → sin(40°) = 0.6427876.
  const eps = labelAwareSmoothing([100, 50, 10], 0.3, 0.0);
  close(eps[0], 0.3);
  close(eps[1], 0.3 * 0.6427876097);
  close(eps[2], 0.0);
  // CIFAR-100 values 0.4 / 0.1: 55 → sin(45°).
  const e2 = labelAwareSmoothing([100, 55, 10], 0.4, 0.1);
  close(e2[1], 0.1 + 0.3 * Math.SQRT1_2);
  // Equal counts (a balanced twin): ε₁ for every class, never NaN.
  assert.deepEqual(labelAwareSmoothing([7, 7], 0.3, 0.1), [0.3, 0.3]);
});

test('label-aware smoothing loss: (1−ε_y)·NLL + ε_y·mean_c(−log p_c), the ε/C share on the true class too', () => {
  const logits = tf.tensor2d([
    [1, 2, 0],
    [0.5, -1, 3],
  ]);
  const labels = tf.tensor1d([0, 2], 'int32');
  const smoothing = [0.3, 0.1, 0.2];
  const loss = labelAwareSmoothingLoss(logits, labels, smoothing).dataSync()[0];
  const lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(0));
  const lse1 = Math.log(Math.exp(0.5) + Math.exp(-1) + Math.exp(3));
  const row0 = 0.7 * (lse0 - 1) + 0.3 * ((lse0 - 1 + lse0 - 2 + lse0 - 0) / 3);
  const row1 = 0.8 * (lse1 - 3) + 0.2 * ((lse1 - 0.5 + lse1 + 1 + lse1 - 3) / 3);
  close(loss, (row0 + row1) / 2);
  // The same as CE against the soft target (1 − ε + ε/C on y, ε/C elsewhere): the official quirk.
  const soft = tf.tensor2d([
    [0.7 + 0.1, 0.1, 0.1],
    [0.2 / 3, 0.2 / 3, 0.8 + 0.2 / 3],
  ]);
  close(softTargetCrossEntropy(logits, soft).dataSync()[0], loss);
  tf.dispose([logits, labels, soft]);
});

test('mixup: x′ = λx + (1−λ)x[π], targets λe_y + (1−λ)e_y[π], soft CE = λCE(y) + (1−λ)CE(y[π]), by hand', () => {
  const x = tf.tensor4d([1, 2, 10, 20, 100, 200], [3, 1, 1, 2]);
  const y = tf.tensor1d([0, 1, 2], 'int32');
  const out = mixupBatch({ x, y, streams: [{ views: [x], y }] }, 0.7, Int32Array.from([2, 0, 1]), 3);
  // Row 0 mixes with row 2, row 1 with row 0, row 2 with row 1.
  const want = [0.7 * 1 + 0.3 * 100, 0.7 * 2 + 0.3 * 200, 0.7 * 10 + 0.3 * 1, 0.7 * 20 + 0.3 * 2, 0.7 * 100 + 0.3 * 10, 0.7 * 200 + 0.3 * 20];
  Array.from(out.x.dataSync()).forEach((v, i) => close(v, want[i], 1e-4));
  assert.equal(out.streams[0].views[0], out.x, 'stream 0 view 0 is the mixed batch');
  const t = out.targets!.arraySync();
  const wantT = [
    [0.7, 0, 0.3],
    [0.3, 0.7, 0],
    [0, 0.3, 0.7],
  ];
  t.forEach((row, i) => row.forEach((v, c) => close(v, wantT[i][c])));
  const logits = tf.tensor2d([
    [2, 0, 1],
    [0, 1, 0],
    [1, 1, 3],
  ]);
  const ce = (row: number[], c: number) => Math.log(row.reduce((a, z) => a + Math.exp(z), 0)) - row[c];
  const L = logits.arraySync();
  const expected = (0.7 * ce(L[0], 0) + 0.3 * ce(L[0], 2) + (0.7 * ce(L[1], 1) + 0.3 * ce(L[1], 0)) + (0.7 * ce(L[2], 2) + 0.3 * ce(L[2], 1))) / 3;
  close(softTargetCrossEntropy(logits, out.targets!).dataSync()[0], expected);
  tf.dispose([x, y, out.x, out.targets!, logits]);
});

test('mixup λ ~ Beta(α, α): seeded, in (0, 1), moments of Beta(1,1) and Beta(0.2,0.2); α = 0 is no mixup', () => {
  for (const [alpha, variance] of [
    [1, 1 / 12],
    [0.2, 1 / (4 * (2 * 0.2 + 1))],
  ]) {
    const rng = new Rng(3);
    const draws = Array.from({ length: 20000 }, () => sampleMixupLambda(rng, alpha));
    assert.ok(draws.every((l) => l >= 0 && l <= 1));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    const v = draws.reduce((a, b) => a + (b - mean) ** 2, 0) / draws.length;
    close(mean, 0.5, 0.01);
    close(v, variance, 0.006);
  }
  assert.equal(sampleMixupLambda(new Rng(1), 0), 1);
  assert.equal(sampleMixupLambda(new Rng(5), 0.2), sampleMixupLambda(new Rng(5), 0.2), 'seeded');
});

test('stage 2: lws head, class-aware sampler, classifier at lrFactor and LWS scales at the full lr', () => {
  const s2 = mislasMethod.create({ classCounts: [30, 10], numClasses: 2, params: { lrFactor: 0.2 }, epochs: 3, stage: 1 });
  assert.equal(s2.head, 'lws');
  assert.equal(s2.sampler, 'class-balanced');
  const groups = s2.paramGroups!({} as never);
  assert.equal(groups.length, 1);
  assert.equal(groups[0].lrFactor, 0.2);
  assert.ok(groups[0].names('fc.weight') && groups[0].names('fc.bias') && !groups[0].names('fc.scales'));
  const s1 = mislasMethod.create({ classCounts: [30, 10], numClasses: 2, params: {}, epochs: 3, stage: 0 });
  assert.equal(s1.head, undefined);
  assert.ok(s1.transformBatch, 'stage 1 mixes');
  assert.equal(s2.transformBatch, undefined, 'stage 2 does not mix');
});

test('stage 2 runs its own cosine (no warm-up) over stage2Epochs; a recipe already cosine keeps the ids of a stage without one', () => {
  const step = planRecipe(tinyRecipe({ method: { name: 'mislas', params: { stage2Epochs: 3 } }, train: { epochs: 4, schedule: { name: 'step', warmupEpochs: 2, milestones: [0.5], gamma: 0.1 } }, output: '/nonexistent-ltb-out' }));
  const s2 = step.runs[1].stage!;
  assert.equal(s2.epochs, 3);
  assert.equal(step.runs[1].recipe.train.epochs, 4, 'the record keeps the recipe budget');
  assert.deepEqual(s2.schedule, { name: 'cosine', warmupEpochs: 0, milestones: [0.6, 0.8], gamma: 0.1, minLr: 0 });
  assert.equal(step.runs[0].stage!.schedule, undefined, 'stage 1 runs the recipe schedule');
  const cosine = planRecipe(tinyRecipe({ method: { name: 'mislas', params: { stage2Epochs: 3 } }, train: { epochs: 4 }, output: '/nonexistent-ltb-out' }));
  assert.equal(cosine.runs[1].stage!.schedule, undefined);
  assert.notEqual(cosine.runs[1].runId, step.runs[1].runId);
});

function tensorsOf(dir: string): Map<string, Float32Array> {
  return new Map([...loadCheckpoint(path.join(dir, 'last')).tensors].map(([n, t]) => [n, t.data]));
}

test('two stages end to end: stage 2 changes the classifier and LWS scales only; BN running stats move only with shiftBn', async () => {
  for (const shiftBn of [true, false]) {
    const out = tempDir('ltb-mislas-');
    const recipe = tinyRecipe({ method: { name: 'mislas', params: { mixupAlpha: 1, stage2Epochs: 1, shiftBn, lrFactor: 0.5 } }, train: { epochs: 1 }, output: out });
    const plan = planRecipe(recipe);
    assert.deepEqual(plan.runs.map((r) => r.kind), ['train', 'train']);
    const [s1, s2] = plan.runs;
    assert.deepEqual(s2.dependsOn, [s1.runId]);
    await runRecipe(recipe, { backend: testBackend });
    const records = new Map(listRuns(out).map((r) => [r.runId, r]));
    assert.equal(records.get(s1.runId)!.method, 'mislas@stage1');
    assert.equal(records.get(s2.runId)!.method, 'mislas');
    const a = tensorsOf(s1.dir);
    const b = tensorsOf(s2.dir);
    const bnStats = [...a.keys()].filter((n) => n.endsWith('running_mean') || n.endsWith('running_var'));
    const bnAffine = [...a.keys()].filter((n) => /bn\d*\.(weight|bias)$|\.bn\d*\.(weight|bias)$/.test(n));
    assert.ok(bnStats.length > 4 && bnAffine.length > 4, `${bnAffine.length} BN γ/β tensors`);
    for (const [n, v] of a) {
      if (n.startsWith('fc.') || n.startsWith('sgd.') || bnStats.includes(n)) continue;
      assert.deepEqual(b.get(n), v, `${n}: frozen in stage 2`);
    }
    const moved = bnStats.filter((n) => !tf.util.arraysEqual(a.get(n)!, b.get(n)!));
    if (shiftBn) assert.equal(moved.length, bnStats.length, 'every running statistic re-estimated');
    else assert.deepEqual(moved, [], 'no running statistic moves with shiftBn off');
    assert.ok(!tf.util.arraysEqual(a.get('fc.weight')!, b.get('fc.weight')!), 'the classifier re-trains');
    assert.ok(!a.has('fc.scales') && b.get('fc.scales')!.some((s) => s !== 1), 'the LWS scales start at 1 and train');
    if (shiftBn) {
      // lt-bench eval rebuilds each stage's own model (stage 2: the LWS head) and reproduces the records.
      for (const st of [s1, s2]) {
        const again = await evaluateRun(st.dir, { split: 'test', backend: testBackend });
        const rec = JSON.parse(readFileSync(path.join(st.dir, 'run.json'), 'utf8'));
        close(again.metrics.top1, rec.metrics.last.top1, 1e-9);
      }
    }
  }
});
