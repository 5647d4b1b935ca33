import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/rng.js';
import {
  RandomCycleIter,
  classAwareEpoch,
  classProbabilities,
  createSampler,
  resolveSamplerName,
} from '../../src/data/samplers.js';

/** labels [0,0,0,1,2,2]: class 0 = images 0..2, class 1 = image 3, class 2 = images 4,5. */
const small = Int32Array.from([0, 0, 0, 1, 2, 2]);

function classAware(shuffle: (a: Int32Array) => void) {
  const classIter = new RandomCycleIter([0, 1, 2], shuffle);
  const dataIters = [[0, 1, 2], [3], [4, 5]].map((x) => new RandomCycleIter(x, shuffle));
  return { classIter, dataIters };
}

test('class-aware order without shuffling (official test_mode): 4 per class, length max n_k * C', () => {
  const { classIter, dataIters } = classAware(() => {});
  // class 0 gives 0,1,2,0; class 1 gives 3 four times; the 9th draw opens class 2's group.
  assert.deepEqual(Array.from(classAwareEpoch(classIter, dataIters, 9, 4)), [0, 1, 2, 0, 3, 3, 3, 3, 4]);
});

test('class-aware order with a reversing "shuffle": reshuffles after every pass, state carries over epochs', () => {
  const { classIter, dataIters } = classAware((a) => void a.reverse());
  // classes [2,1,0]; class 2: [5,4] then reshuffled [4,5] -> 5,4,4,5; class 1: 3 x4; class 0: [2,1,0] -> 2 (group 2,1,0,0)
  assert.deepEqual(Array.from(classAwareEpoch(classIter, dataIters, 9, 4)), [5, 4, 4, 5, 3, 3, 3, 3, 2]);
  // classes reshuffled to [0,1,2]; class 0 continues its list [0,1,2] at 1,2, then [2,1,0] -> 1,2,2,1;
  // class 1: 3 x4; class 2 was at the end of [4,5] -> [5,4] -> 5.
  assert.deepEqual(Array.from(classAwareEpoch(classIter, dataIters, 9, 4)), [1, 2, 2, 1, 3, 3, 3, 3, 5]);
});

test('aliases resolve; unknown names fail with the list', () => {
  assert.equal(resolveSamplerName('CB'), 'class-balanced');
  assert.equal(resolveSamplerName('ib'), 'instance');
  assert.equal(resolveSamplerName('SR'), 'square-root');
  assert.equal(resolveSamplerName('PB'), 'progressive');
  assert.equal(resolveSamplerName('RS'), 'reversed');
  assert.throws(() => resolveSamplerName('uniform'), /unknown sampler "uniform".*instance/);
});

/** Long-tailed labels: class k has counts[k] images. */
function ltLabels(counts: number[]): Int32Array {
  const out: number[] = [];
  counts.forEach((c, k) => {
    for (let i = 0; i < c; i++) out.push(k);
  });
  return Int32Array.from(out);
}

function classFreq(idx: Int32Array, labels: Int32Array, C: number): number[] {
  const f = new Array(C).fill(0);
  for (const i of idx) f[labels[i]]++;
  return f.map((x) => x / idx.length);
}

const counts = [400, 200, 100, 50, 25, 10];
const labels = ltLabels(counts);

test('instance: a permutation of all images, different per epoch, same on replay', () => {
  const s = createSampler('IB', { labels, numClasses: 6, rng: new Rng(1) });
  const e0 = s.epochIndices(0, 2);
  assert.deepEqual(Array.from(e0).sort((a, b) => a - b), Array.from(labels.keys()));
  assert.notDeepEqual(e0, s.epochIndices(1, 2));
  assert.deepEqual(createSampler('instance', { labels, numClasses: 6, rng: new Rng(1) }).epochIndices(0, 2), e0);
});

test('class-balanced: epoch length max n_k * C, each class within one group of 4 of n_max, cyclic without repeats', () => {
  const s = createSampler('class-balanced', { labels, numClasses: 6, rng: new Rng(2) });
  const e0 = s.epochIndices(0, 3);
  assert.equal(e0.length, 400 * 6);
  const per = new Array(6).fill(0);
  for (const i of e0) per[labels[i]]++;
  for (const p of per) assert.ok(Math.abs(p - 400) <= 4 * 2, `class count ${p}`);
  // the head class (400 images) is visited ~400 times: its first 400 draws are a permutation.
  const head = Array.from(e0).filter((i) => labels[i] === 0).slice(0, 396);
  assert.equal(new Set(head).size, 396);
  // replay out of order equals sequential
  const e1 = s.epochIndices(1, 3);
  const e2 = s.epochIndices(2, 3);
  const fresh = createSampler('CB', { labels, numClasses: 6, rng: new Rng(2) });
  assert.deepEqual(fresh.epochIndices(2, 3), e2);
  assert.deepEqual(fresh.epochIndices(1, 3), e1);
  assert.deepEqual(fresh.epochIndices(0, 3), e0);
});

test('square-root: class frequencies ∝ sqrt(n_k) within tolerance', () => {
  const s = createSampler('square-root', { labels, numClasses: 6, rng: new Rng(3), epochLength: 60000 });
  const f = classFreq(s.epochIndices(0, 1), labels, 6);
  const sq = counts.map(Math.sqrt);
  const z = sq.reduce((a, b) => a + b, 0);
  sq.forEach((v, k) => assert.ok(Math.abs(f[k] - v / z) < 0.01, `class ${k}: ${f[k]} vs ${v / z}`));
  // hand value: sqrt(400)/sum = 20/(20+14.142+10+7.071+5+3.162)
  assert.ok(Math.abs(classProbabilities('SR', counts)[0] - 20 / 59.3755) < 1e-4);
});

test('reversed: P(class) ∝ n_max / n_k (BBN)', () => {
  const s = createSampler('RS', { labels, numClasses: 6, rng: new Rng(4), epochLength: 60000 });
  const f = classFreq(s.epochIndices(0, 1), labels, 6);
  // w = 1, 2, 4, 8, 16, 40 -> sum 71
  const expected = [1, 2, 4, 8, 16, 40].map((w) => w / 71);
  expected.forEach((p, k) => assert.ok(Math.abs(f[k] - p) < 0.01, `class ${k}: ${f[k]} vs ${p}`));
  assert.deepEqual(classProbabilities('reversed', counts).map((x) => +x.toFixed(6)), expected.map((x) => +x.toFixed(6)));
});

test('progressive: instance-balanced at t = 0, halfway at t = T/2', () => {
  const s = createSampler('PB', { labels, numClasses: 6, rng: new Rng(5), epochLength: 60000 });
  const f0 = classFreq(s.epochIndices(0, 10), labels, 6);
  counts.forEach((c, k) => assert.ok(Math.abs(f0[k] - c / 785) < 0.01));
  const f5 = classFreq(s.epochIndices(5, 10), labels, 6);
  counts.forEach((c, k) => {
    const p = 0.5 * (c / 785) + 0.5 / 6;
    assert.ok(Math.abs(f5[k] - p) < 0.01, `class ${k}: ${f5[k]} vs ${p}`);
  });
  // within a class the draw is uniform: class 5's 10 images each near 1/10 of its draws
  const idx = s.epochIndices(5, 10);
  const hits = new Array(10).fill(0);
  for (const i of idx) if (labels[i] === 5) hits[i - 775]++;
  const tot = hits.reduce((a, b) => a + b, 0);
  hits.forEach((h) => assert.ok(Math.abs(h / tot - 0.1) < 0.03));
});

test('classes without images are never drawn', () => {
  const l = Int32Array.from([0, 0, 2, 2, 2]);
  for (const name of ['IB', 'CB', 'SR', 'PB', 'RS']) {
    const idx = createSampler(name, { labels: l, numClasses: 3, rng: new Rng(6) }).epochIndices(1, 4);
    for (const i of idx) assert.notEqual(l[i], 1);
  }
  assert.equal(createSampler('CB', { labels: l, numClasses: 3, rng: new Rng(6) }).epochIndices(0, 1).length, 6);
});
