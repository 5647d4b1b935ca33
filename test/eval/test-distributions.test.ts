/** Test distributions: subset sizes, the seeded choice, metrics, and per-sample predictions (hand-computed). */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadManifest } from '../../src/data/manifests.js';
import { DataError } from '../../src/errors.js';
import { formatPredictions, predictionsFromLogits, readPredictions, PREDICTIONS_HEADER } from '../../src/eval/predictions.js';
import { balancedPerClass, classRanks, parseTestDistribution, selectSubset, subsetMetrics, subsetSizes, TEST_DISTRIBUTION_NAMES } from '../../src/eval/test-distributions.js';
import { recipeHash } from '../../src/recipe/hash.js';
import { Rng } from '../../src/rng.js';
import { tempDir, tinyRecipe } from '../foundation/helpers.js';
import { postHocWeightsNote } from '../../src/results/test-distribution-tables.js';
import type { RunRecord } from '../../src/results/types.js';

const d = parseTestDistribution;
// Training counts with a tie (classes 1 and 3): ranks 1, 3 (tie: lower index first), 2, 0.
const counts = [5, 50, 20, 50];

test('names: forward-50 … uniform … backward-50; unknown names are refused', () => {
  assert.deepEqual(TEST_DISTRIBUTION_NAMES, ['forward-50', 'forward-25', 'forward-10', 'forward-5', 'forward-2', 'uniform', 'backward-2', 'backward-5', 'backward-10', 'backward-25', 'backward-50']);
  assert.deepEqual(d('backward-25'), { name: 'backward-25', order: 'backward', ratio: 25 });
  assert.deepEqual(d('uniform'), { name: 'uniform', order: 'uniform', ratio: 1 });
  assert.throws(() => d('forward-3'), /unknown test distribution 'forward-3'/);
  assert.throws(() => d('sideways-2'), /unknown test distribution/);
});

test('C = 4, n = 10: ⌊10·ρ^(−r/3)⌋ by training-count rank (ties by class index), reversed for backward', () => {
  assert.deepEqual(classRanks(counts), [1, 3, 2, 0]);
  // ρ = 10: 10, 10·10^(−1/3) = 4.64, 10·10^(−2/3) = 2.15, 1 → by rank to classes 1, 3, 2, 0.
  assert.deepEqual(subsetSizes(counts, 10, d('forward-10')), [1, 10, 2, 4]);
  assert.deepEqual(subsetSizes(counts, 10, d('backward-10')), [10, 1, 4, 2]);
  // ρ = 2: 10, 7.94, 6.30, 5.
  assert.deepEqual(subsetSizes(counts, 10, d('forward-2')), [5, 10, 6, 7]);
  assert.deepEqual(subsetSizes(counts, 10, d('uniform')), [10, 10, 10, 10]);
});

test('ImageNet-LT (manifest counts, 50 test images per class): 35,574 / 24,365 / 19,059 / 14,437 / 12,058 images, forward = backward', () => {
  const m = loadManifest('imagenet-lt');
  const total = (name: string) => subsetSizes(m.classCounts!, 50, d(name)).reduce((a, b) => a + b, 0);
  const expected: Record<number, number> = { 2: 35574, 5: 24365, 10: 19059, 25: 14437, 50: 12058 };
  for (const [rho, n] of Object.entries(expected)) {
    assert.equal(total(`forward-${rho}`), n, `forward-${rho}`);
    assert.equal(total(`backward-${rho}`), n, `backward-${rho}`);
  }
  assert.equal(total('uniform'), 50000);
  // The head class keeps all 50 going forward and one going backward.
  const head = classRanks(m.classCounts!)[0];
  assert.equal(subsetSizes(m.classCounts!, 50, d('forward-50'))[head], 50);
  assert.equal(subsetSizes(m.classCounts!, 50, d('backward-50'))[head], 1);
});

test('selection: per class the first k of one seeded permutation (Rng(seed).fork("test-distributions").fork("class-c")), nested, deterministic', () => {
  // 10 images per class, interleaved labels: position i has class i % 4.
  const labels = Int32Array.from({ length: 40 }, (_, i) => i % 4);
  const sub = selectSubset(labels, counts, d('forward-10'), 7);
  assert.equal(sub.length, 1 + 10 + 2 + 4);
  assert.deepEqual([...sub], [...sub].sort((a, b) => a - b), 'positions ascending');
  const perClass = [0, 0, 0, 0];
  for (const i of sub) perClass[labels[i]]++;
  assert.deepEqual(perClass, [1, 10, 2, 4]);
  // The documented rule, by hand.
  const rng = new Rng(7).fork('test-distributions');
  const want: number[] = [];
  const sizes = [1, 10, 2, 4];
  for (let c = 0; c < 4; c++) {
    const positions = Array.from({ length: 10 }, (_, k) => 4 * k + c);
    want.push(...rng.fork(`class-${c}`).shuffle(positions).slice(0, sizes[c]));
  }
  assert.deepEqual([...sub], want.sort((a, b) => a - b));
  assert.deepEqual([...selectSubset(labels, counts, d('forward-10'), 7)], [...sub], 'same seed, same subset');
  assert.notDeepEqual([...selectSubset(labels, counts, d('forward-10'), 8)], [...sub], 'another seed, another subset');
  // Nested: forward-10 keeps, per class, a subset of forward-2's images.
  const wider = new Set(selectSubset(labels, counts, d('forward-2'), 7));
  for (const i of sub) assert.ok(wider.has(i), `position ${i} of forward-10 is in forward-2`);
  assert.equal(selectSubset(labels, counts, d('uniform'), 7).length, 40);
});

test('an unbalanced test set is a data error naming the classes', () => {
  const labels = Int32Array.from([0, 0, 1, 1, 1, 2, 2, 3, 3]);
  assert.equal(balancedPerClass(Int32Array.from([0, 1, 2, 3, 3, 2, 1, 0]), 4, 'x'), 2);
  assert.throws(
    () => selectSubset(labels, counts, d('forward-2'), 0, 'run r1'),
    (e: unknown) => e instanceof DataError && /run r1: test distributions need a balanced test set, but class 0 has 2 test images and class 1 has 3/.test((e as Error).message),
  );
});

test('metrics on a subset: micro top-1; head/middle/tail the mean of per-class accuracies, classes absent from the subset skipped', () => {
  const labels = [0, 0, 1, 1, 1, 2, 3, 3];
  const pred = [0, 1, 1, 1, 0, 2, 0, 3];
  const groups = ['head', 'head', 'middle', 'tail'] as const;
  const all = subsetMetrics(pred, labels, Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 4, [...groups]);
  assert.equal(all.top1, 62.5); // 5 of 8
  assert.equal(all.count, 8);
  assert.ok(Math.abs(all.groups.head! - (50 + 200 / 3) / 2) < 1e-9); // classes 0 (1/2), 1 (2/3)
  assert.equal(all.groups.middle, 100);
  assert.equal(all.groups.tail, 50);
  const some = subsetMetrics(pred, labels, Int32Array.from([0, 2, 3, 6]), 4, [...groups]);
  assert.equal(some.top1, 75);
  assert.deepEqual(some.groups, { head: 100, middle: null, tail: 0 });
  assert.ok(Number.isNaN(some.perClass[2]));
});

test('per-sample predictions: argmax (ties: lowest class), max softmax probability, log-probability of the true class; the file round-trips', () => {
  const logits = tf.tensor2d([[2, 0, 0], [0, 0, 0]]);
  const before = tf.memory().numTensors;
  const p = predictionsFromLogits(logits, Int32Array.from([0, 2]), Int32Array.from([5, 9]));
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  logits.dispose();
  assert.deepEqual([...p.pred], [0, 0]);
  // e²/(e²+2) = 0.786986; log of it = −0.239545; uniform over 3: 1/3, −ln 3.
  assert.ok(Math.abs(p.maxProb[0] - 0.786986) < 1e-5);
  assert.ok(Math.abs(p.logProbTrue[0] + 0.239545) < 1e-5);
  assert.ok(Math.abs(p.maxProb[1] - 1 / 3) < 1e-6);
  assert.ok(Math.abs(p.logProbTrue[1] + Math.log(3)) < 1e-5);
  const text = formatPredictions(p);
  assert.equal(text.split('\n')[0], PREDICTIONS_HEADER);
  assert.match(text.split('\n')[1], /^5,0,0,0\.78698\d*,-0\.23954\d*$/);
  const dir = tempDir();
  const file = path.join(dir, 'p.csv');
  writeFileSync(file, text);
  const back = readPredictions(file)!;
  assert.deepEqual([...back.index], [5, 9]);
  assert.deepEqual([...back.label], [0, 2]);
  assert.ok(Math.abs(back.logProbTrue[1] - p.logProbTrue[1]) < 1e-6);
  assert.equal(readPredictions(path.join(dir, 'none.csv')), null);
  writeFileSync(file, `${readFileSync(file, 'utf8')}1,2,x,0.5,-1\n`);
  assert.throws(() => readPredictions(file), /p\.csv:4: expected 5 numbers/);
});

test('eval.testDistributions is evaluation only: the recipe hash (and run id) ignore it', () => {
  const plain = tinyRecipe();
  const withTd = tinyRecipe({ eval: { testDistributions: ['forward-50', 'uniform', 'backward-10'] } });
  assert.deepEqual(withTd.eval.testDistributions, ['forward-50', 'uniform', 'backward-10']);
  assert.equal(recipeHash(withTd), recipeHash(plain));
  assert.throws(() => tinyRecipe({ eval: { testDistributions: ['forward-3'] } }), /testDistributions/);
});

test('tables: a record at a distribution carries its metrics (null where not scored); UA/RA cells say why they are empty', async () => {
  const { atTestDistribution, retitle } = await import('../../src/results/test-distribution-tables.js');
  const m = { top1: 80, perClass: [80], groups: { head: 80, middle: null, tail: null }, count: 5, order: 'forward' as const, ratio: 50, seed: 0, from: 'predictions' as const };
  const rec = { runId: 'r', metrics: { last: { top1: 70 }, best: { top1: 71 }, valLast: null }, testDistributions: { last: { 'forward-50': m } } } as never;
  const [at] = atTestDistribution([rec], 'forward-50');
  assert.equal(at.metrics.last, m);
  assert.equal(at.metrics.best, null);
  assert.equal(atTestDistribution([rec], 'uniform')[0].metrics.last, null);
  const table = { title: 'Table 5', missing: [{ row: 'softmax', where: '8 epochs: UA, RA', reason: 'balanced run b has no last checkpoint metrics', recipes: ['x.yaml'] }, { row: 'focal', where: '8 epochs: Acc, UA, RA', reason: 'no finished run', recipes: ['f.yaml'] }] } as never;
  const [t] = retitle([table], 'forward-50');
  assert.equal(t.title, 'Table 5; test distribution forward-50');
  assert.deepEqual(t.missing[0], { row: 'softmax', where: '8 epochs: UA, RA', reason: 'not defined on test distribution forward-50: balanced reference runs are scored on the balanced test set only', recipes: [] });
  assert.deepEqual(t.missing[1].recipes, ['f.yaml']);
});

test("a test-unlabelled step's weights per distribution become a table note (SADE's aggregation); none without weights", () => {
  const dist = (weights: number[] | null) => ({ postHoc: weights ? { 'test-time-aggregation': { weights, epochsRun: 5 } } : {} });
  const record = {
    runId: 'sade-x-0123456789ab',
    seeds: { train: 1, split: 0 },
    testDistributions: { last: { 'forward-50': dist([0.6, 0.3, 0.1]), uniform: dist([0.333, 0.334, 0.333]), 'backward-50': dist([0.1, 0.2, 0.7]) } },
  } as unknown as RunRecord;
  assert.equal(
    postHocWeightsNote(record, 'sade ◊', ['forward-50', 'uniform', 'backward-50'], 'last'),
    'sade ◊ (seed 1, run sade-x-0123456789ab): test-time-aggregation weights — forward-50 0.60 / 0.30 / 0.10; uniform 0.33 / 0.33 / 0.33; backward-50 0.10 / 0.20 / 0.70',
  );
  assert.equal(postHocWeightsNote(record, 'sade', ['forward-50'], 'best'), null, 'nothing scored at best');
  const plain = { ...record, testDistributions: { last: { uniform: dist(null) } } } as unknown as RunRecord;
  assert.equal(postHocWeightsNote(plain, 'softmax', ['uniform'], 'last'), null);
});
