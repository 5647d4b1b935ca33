import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { exponentialCounts, groupsFromCounts, groupSizes, makeLongTailSplit } from '../../src/data/longtail.js';
import { readFashionMnist } from '../../src/data/sources/idx.js';
import { makeSynthetic } from '../../src/data/sources/synthetic.js';
import { packageRoot } from '../../src/version.js';

const fashion = readFashionMnist(path.join(packageRoot, 'datasets', 'fashion-mnist'));
const thresholds = { head: 1000, tail: 200 };

test('exponential profile: floor(n_max · r^(−i/(C−1)))', () => {
  assert.deepEqual(exponentialCounts(5980, 10, 100), [5980, 3584, 2149, 1288, 772, 463, 277, 166, 99, 59]);
  assert.deepEqual(exponentialCounts(100, 3, 100), [100, 10, 1]);
  assert.deepEqual(exponentialCounts(7, 4, 1), [7, 7, 7, 7]);
});

test('Fashion-MNIST-LT ratio 100: val held out first (20/class), then 5980 … 59', () => {
  const split = makeLongTailSplit(fashion, { profile: 'exponential', imbalanceRatio: 100, splitSeed: 0, valPerClass: 20, balanced: false, thresholds });
  assert.deepEqual(split.classCounts, [5980, 3584, 2149, 1288, 772, 463, 277, 166, 99, 59]);
  assert.equal(split.indices.train.length, 14837);
  assert.equal(split.indices.val.length, 200);
  assert.equal(split.indices.test.length, 10000);
  const perClass = (idx: Int32Array) => {
    const c = new Array(10).fill(0);
    for (const i of idx) c[fashion.train.labels[i]]++;
    return c;
  };
  assert.deepEqual(perClass(split.indices.train), split.classCounts);
  assert.deepEqual(perClass(split.indices.val), new Array(10).fill(20));
  const val = new Set(split.indices.val);
  assert.ok(split.indices.train.every((i) => !val.has(i)), 'train and val are disjoint');
  assert.deepEqual(groupSizes(split.groups), { head: 4, middle: 3, tail: 3 });
});

test('the same seed gives the same split (same checksum); another seed another selection of the same counts', () => {
  const opts = { profile: 'exponential' as const, imbalanceRatio: 100, splitSeed: 0, valPerClass: 20, balanced: false, thresholds };
  const a = makeLongTailSplit(fashion, opts);
  const b = makeLongTailSplit(fashion, opts);
  const c = makeLongTailSplit(fashion, { ...opts, splitSeed: 1 });
  assert.equal(a.checksum, b.checksum);
  assert.notEqual(a.checksum, c.checksum);
  assert.deepEqual(a.classCounts, c.classCounts);
});

test('the balanced twin: same total spread equally, LT images first, never val, same groups', () => {
  const opts = { profile: 'exponential' as const, imbalanceRatio: 100, splitSeed: 0, valPerClass: 20, thresholds };
  const lt = makeLongTailSplit(fashion, { ...opts, balanced: false });
  const bal = makeLongTailSplit(fashion, { ...opts, balanced: true });
  assert.deepEqual(bal.classCounts, new Array(10).fill(1483)); // floor(14837 / 10)
  assert.ok(bal.balanced);
  assert.deepEqual(bal.groups, lt.groups);
  assert.deepEqual([...bal.indices.val], [...lt.indices.val]);
  const balTrain = new Set(bal.indices.train);
  const val = new Set(lt.indices.val);
  assert.ok([...balTrain].every((i) => !val.has(i)));
  // Classes with at most 1483 LT images keep all of them; larger classes keep a subset of theirs.
  for (let c = 0; c < 10; c++) {
    const ltOfClass = [...lt.indices.train].filter((i) => fashion.train.labels[i] === c);
    const kept = ltOfClass.filter((i) => balTrain.has(i)).length;
    assert.equal(kept, Math.min(ltOfClass.length, 1483), `class ${c}`);
  }
});

test('profile none keeps the whole pool after the hold-out', () => {
  const split = makeLongTailSplit(fashion, { profile: 'none', imbalanceRatio: 1, splitSeed: 0, valPerClass: 20, balanced: false, thresholds });
  assert.deepEqual(split.classCounts, new Array(10).fill(5980));
});

test('group masks: head > head threshold, tail < tail threshold, middle between (inclusive)', () => {
  assert.deepEqual(groupsFromCounts([101, 100, 20, 19, 5], { head: 100, tail: 20 }), ['head', 'middle', 'middle', 'tail', 'tail']);
});

test('too few images for the hold-out is a data error', () => {
  const src = makeSynthetic({ numClasses: 3, perClass: 5, testPerClass: 2, size: 4, channels: 1 });
  assert.throws(
    () => makeLongTailSplit(src, { profile: 'exponential', imbalanceRatio: 10, splitSeed: 0, valPerClass: 5, balanced: false, thresholds }),
    (e: any) => e.exitCode === 3 && /too few to hold out 5/.test(e.message),
  );
});
