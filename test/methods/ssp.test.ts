/**
 * SSP: the official rotation pretext (one turn per image, a balanced random permutation of
 * {0, 1, 2, 3} over the batch), the pretext choice, the plan pre-train → train → cRT with the
 * pre-training run shared, and tiny end-to-end runs with both pretexts through the API.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { planRecipe, runRecipe } from '../../src/lifecycle/index.js';
import { rotationBatch, rotationPermutationBatch, rotationTargets } from '../../src/methods/pretexts/rotation.js';
import { sspPretextName } from '../../src/methods/ssp.js';
import type { Recipe } from '../../src/recipe/schema.js';
import { listRuns } from '../../src/results/runs.js';
import { Rng } from '../../src/rng.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { tempDir, testBackend, tinyRecipe } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

describe('SSP rotation pretext (utils.py:rotation)', () => {
  it('targets: permutation([0,1,2,3] × (⌊B/4⌋ + 1))[:B] — balanced over the batch, seeded', () => {
    const t8 = rotationTargets(8, new Rng(3));
    assert.equal(t8.length, 8);
    // B = 8 draws 8 of the 12 pooled turns: at most 3 of each.
    for (let r = 0; r < 4; r++) assert.ok(t8.filter((t) => t === r).length <= 3);
    // Hand-check of the pool and the cut: the same generator's shuffle of [0,1,2,3,0,1,2,3,0,1,2,3].
    assert.deepEqual(t8, new Rng(3).shuffle([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]).slice(0, 8));
    assert.deepEqual(rotationTargets(8, new Rng(3)), t8, 'seeded');
    assert.notDeepEqual(rotationTargets(64, new Rng(3)), rotationTargets(64, new Rng(4)));
    // B = 3: pool [0,1,2,3] once, cut to 3 distinct turns.
    assert.equal(new Set(rotationTargets(3, new Rng(9))).size, 3);
    // A large batch is near-balanced: each turn between B/4 − 1 and B/4 + 1 … at most ⌊B/4⌋ + 1.
    const t = rotationTargets(128, new Rng(1));
    for (let r = 0; r < 4; r++) assert.ok(t.filter((x) => x === r).length <= 33);
  });

  it('each image is turned by its target (torch.rot90 over H, W), B images in, B out', () => {
    // Two 2×2 images [[1,2],[3,4]] and [[5,6],[7,8]].
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
    const rng = new Rng(11);
    const targets = rotationTargets(2, new Rng(11));
    const { x: r, y } = rotationPermutationBatch(x, rng);
    assert.deepEqual(r.shape, [2, 2, 2, 1]);
    assert.deepEqual(Array.from(y.dataSync()), targets);
    assert.equal(y.dtype, 'int32');
    // The four turns of each image by hand (numpy rot90, counter-clockwise).
    const turns = [
      [
        [1, 2, 3, 4],
        [2, 4, 1, 3],
        [4, 3, 2, 1],
        [3, 1, 4, 2],
      ],
      [
        [5, 6, 7, 8],
        [6, 8, 5, 7],
        [8, 7, 6, 5],
        [7, 5, 8, 6],
      ],
    ];
    assert.deepEqual(Array.from(r.dataSync()), [...turns[0][targets[0]], ...turns[1][targets[1]]]);
    const all = rotationBatch(x);
    tf.dispose([x, r, y, all.x, all.y]);
  });
});

describe('SSP pretext choice and plan', () => {
  it('auto: rotation for in-memory images, MoCo v2 for image lists; the param forces one', () => {
    const r = (name: string, params: Record<string, unknown> = {}) => ({ dataset: { name }, method: { name: 'ssp', params } }) as unknown as Recipe;
    assert.equal(sspPretextName(r('fashion-mnist')), 'rotation');
    assert.equal(sspPretextName(r('cifar100')), 'rotation');
    assert.equal(sspPretextName(r('imagenet-lt')), 'moco-v2');
    assert.equal(sspPretextName(r('imagenet-lt', { pretext: 'rotation' })), 'rotation');
    assert.equal(sspPretextName(r('cifar100', { pretext: 'moco-v2' })), 'moco-v2');
  });

  it('plans pre-train → train → cRT; the pre-training run is shared by recipes that differ after it', () => {
    const out = '/nonexistent-ltb-ssp';
    const a = tinyRecipe({ method: { name: 'ssp', params: { pretrainEpochs: 2 } }, train: { epochs: 1 }, stage2: { epochs: 1 }, output: out });
    const b = tinyRecipe({ method: { name: 'ssp', params: { pretrainEpochs: 2 } }, train: { epochs: 3 }, stage2: { epochs: 2 }, output: out });
    const pa = planRecipe(a);
    const pb = planRecipe(b);
    assert.deepEqual(pa.runs.map((r) => r.kind), ['pretrain', 'train', 'stage2']);
    assert.match(pa.runs[0].runId, /^pretrain-rotation-synthetic-/);
    assert.match(pa.runs[1].runId, /^ssp-s2-synthetic-/);
    assert.match(pa.runs[2].runId, /^ssp-s3-crt-synthetic-/);
    assert.equal(pa.main.runId, pa.runs[2].runId);
    assert.deepEqual(pa.runs[1].dependsOn, [pa.runs[0].runId]);
    assert.deepEqual(pa.runs[2].dependsOn, [pa.runs[1].runId]);
    assert.equal(pa.runs[0].recipe.train.epochs, 2, 'pretrainEpochs');
    assert.equal(pb.runs[0].runId, pa.runs[0].runId, 'same pretext, budget and data: one pre-training run');
    assert.notEqual(pb.runs[1].runId, pa.runs[1].runId);
    assert.notEqual(pb.runs[2].runId, pa.runs[2].runId);
    // The pre-training run's length defaults to the supervised budget.
    const c = planRecipe(tinyRecipe({ method: { name: 'ssp' }, train: { epochs: 3 }, output: out }));
    assert.equal(c.runs[0].recipe.train.epochs, 3);
  });

  it('MoCo v2: a queue size that is not a multiple of the batch size is a recipe error naming the key', () => {
    assert.throws(() => tinyRecipe({ method: { name: 'ssp', params: { pretext: 'moco-v2', queueSize: 40 } } }), /method\.params\.queueSize: 40 is not a multiple of train\.batchSize 16/);
    // Rotation has no queue: the same size is fine.
    assert.doesNotThrow(() => tinyRecipe({ method: { name: 'ssp', params: { queueSize: 40 } } }));
  });
});

describe('SSP end to end', () => {
  it('rotation: three runs (pretext:rotation, ssp@stage2, ssp); cRT trains on the train stage, no Table 7 cell', async () => {
    const out = tempDir();
    const recipe = tinyRecipe({ method: { name: 'ssp', params: { pretrainEpochs: 1 } }, train: { epochs: 1 }, stage2: { epochs: 1 }, output: out });
    const plan = planRecipe(recipe);
    const r = await runRecipe(recipe, { backend: testBackend });
    const runs = listRuns(out);
    assert.deepEqual(plan.runs.map((p) => runs.find((x) => x.runId === p.runId)!.method), ['pretext:rotation', 'ssp@stage2', 'ssp']);
    assert.equal(r.record.runId, plan.runs[2].runId);
    assert.equal(r.record.method.name, 'ssp');
    assert.equal(r.record.method.family, 'IA');
    assert.equal(r.record.stage2!.strategy, 'crt');
    assert.equal(r.record.stage2!.stage1RunId, plan.runs[1].runId);
    assert.equal(r.record.table7, undefined);
    const pre = loadCheckpoint(path.join(plan.runs[0].dir, 'last')).tensors;
    assert.equal(pre.get('pretext.fc.weight')!.shape[1], 4);
  });

  it('MoCo v2: the pre-training run keeps its key encoder and queue under pretext.; the train stage starts from its backbone', async () => {
    const out = tempDir();
    const recipe = tinyRecipe({ method: { name: 'ssp', params: { pretext: 'moco-v2', pretrainEpochs: 1, queueSize: 32, dim: 8 } }, train: { epochs: 1 }, stage2: { epochs: 1 }, output: out });
    const plan = planRecipe(recipe);
    assert.match(plan.runs[0].runId, /^pretrain-moco-v2-synthetic-/);
    const r = await runRecipe(recipe, { backend: testBackend });
    assert.equal(r.record.status, 'finished');
    const pre = loadCheckpoint(path.join(plan.runs[0].dir, 'last')).tensors;
    assert.deepEqual(pre.get('pretext.queue')!.shape, [32, 8]);
    assert.ok(pre.has('pretext.key.conv1.weight') && pre.has('pretext.proj.fc2.weight'));
    // The queue was written: rows are unit keys now (the initial queue is normalised along K, not per row).
    const q = pre.get('pretext.queue')!;
    const row0 = Math.hypot(...Array.from(q.data.slice(0, 8)));
    assert.ok(Math.abs(row0 - 1) < 1e-4, `row 0 norm ${row0}`);
    // The train stage's checkpoint holds no pretext tensor, and its backbone moved on from the pre-trained one.
    const s2 = loadCheckpoint(path.join(plan.runs[1].dir, 'last')).tensors;
    assert.ok(![...s2.keys()].some((n) => n.startsWith('pretext.')));
  });
});
