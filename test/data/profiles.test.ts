import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/rng.js';
import { exponentialProfile, imbalanceRatio, paretoProfile, profileCounts, stepProfile } from '../../src/data/profiles.js';

/**
 * The official counts, computed with CPython from LDAM-DRW's formula
 * [int(img_max * (imb_factor ** (i / (C - 1.0)))) for i in range(C)], imb_factor 0.1/0.02/0.01/0.005.
 */
const OFFICIAL: Record<string, number[]> = {"c10_r10":[5000,3871,2997,2320,1796,1391,1077,834,645,500],"c10_r50":[5000,3237,2096,1357,878,568,368,238,154,100],"c10_r100":[5000,2997,1796,1077,645,387,232,139,83,50],"c10_r200":[5000,2775,1540,854,474,263,146,81,45,25],"c100_r10":[500,488,477,466,455,445,434,424,415,405,396,387,378,369,361,352,344,336,328,321,314,306,299,292,286,279,273,266,260,254,248,243,237,232,226,221,216,211,206,201,197,192,188,183,179,175,171,167,163,159,156,152,149,145,142,139,135,132,129,126,123,121,118,115,112,110,107,105,102,100,98,95,93,91,89,87,85,83,81,79,77,75,74,72,70,69,67,66,64,63,61,60,58,57,56,54,53,52,51,50],"c100_r50":[500,480,462,444,426,410,394,379,364,350,336,323,311,299,287,276,265,255,245,235,226,218,209,201,193,186,178,172,165,158,152,146,141,135,130,125,120,115,111,107,102,98,95,91,87,84,81,78,75,72,69,66,64,61,59,56,54,52,50,48,46,44,43,41,39,38,36,35,34,32,31,30,29,27,26,25,24,23,22,22,21,20,19,18,18,17,16,16,15,14,14,13,13,12,12,11,11,10,10,10],"c100_r100":[500,477,455,434,415,396,378,361,344,328,314,299,286,273,260,248,237,226,216,206,197,188,179,171,163,156,149,142,135,129,123,118,112,107,102,98,93,89,85,81,77,74,70,67,64,61,58,56,53,51,48,46,44,42,40,38,36,35,33,32,30,29,27,26,25,24,23,22,21,20,19,18,17,16,15,15,14,13,13,12,12,11,11,10,10,9,9,8,8,7,7,7,6,6,6,6,5,5,5,5],"c100_r200":[500,473,449,425,403,382,362,343,325,308,292,277,263,249,236,224,212,201,190,180,171,162,154,146,138,131,124,117,111,105,100,95,90,85,81,76,72,69,65,62,58,55,52,50,47,44,42,40,38,36,34,32,30,29,27,26,24,23,22,21,20,19,18,17,16,15,14,13,13,12,11,11,10,10,9,9,8,8,7,7,6,6,6,5,5,5,5,4,4,4,4,3,3,3,3,3,2,2,2,2]};

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

test('CIFAR-10-LT ratio 100: the exact LDAM-DRW counts', () => {
  assert.deepEqual(exponentialProfile(10, 5000, 100), [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]);
});

test('exponential profile equals the official formula for CIFAR-10/100 at ratios 10, 50, 100, 200', () => {
  const totals: Record<string, number> = {
    c10_r10: 20431, c10_r50: 13996, c10_r100: 12406, c10_r200: 11203,
    c100_r10: 19573, c100_r50: 12608, c100_r100: 10847, c100_r200: 9502,
  };
  for (const [key, total] of Object.entries(totals)) {
    const [, c, r] = /c(\d+)_r(\d+)/.exec(key)!.map(Number);
    const counts = exponentialProfile(c, c === 10 ? 5000 : 500, r);
    assert.deepEqual(counts, OFFICIAL[key], key);
    assert.equal(sum(counts), total, key);
  }
});

test('step profile: first half n_max, second half int(n_max / ratio); odd C puts the extra class in the tail', () => {
  assert.deepEqual(stepProfile(10, 5000, 100), [5000, 5000, 5000, 5000, 5000, 50, 50, 50, 50, 50]);
  assert.equal(sum(stepProfile(100, 500, 10)), 50 * 500 + 50 * 50);
  assert.deepEqual(stepProfile(5, 100, 10), [100, 100, 10, 10, 10]);
});

test('profile arguments are checked', () => {
  assert.throws(() => exponentialProfile(10, 5000, 0.5), /ratio must be >= 1/);
  assert.throws(() => exponentialProfile(0, 5000, 10), /positive integer/);
  assert.throws(() => profileCounts({ type: 'exp', numClasses: 2, max: 10, ratio: 2 }, undefined, [5, 5]), /asks 10 images of class 0/);
});

test('pareto profile: max and min hit exactly, seeded, ImageNet-LT-like mean', () => {
  const a = paretoProfile({ numClasses: 1000, max: 1280, min: 5, alpha: 6, rng: new Rng(7) });
  const b = paretoProfile({ numClasses: 1000, max: 1280, min: 5, alpha: 6, rng: new Rng(7) });
  assert.deepEqual(a, b);
  assert.equal(Math.max(...a), 1280);
  assert.equal(Math.min(...a), 5);
  assert.equal(imbalanceRatio(a), 256);
  const mean = sum(a) / 1000;
  assert.ok(mean > 60 && mean < 200, `mean ${mean}`);
  // classes are not sorted by id unless asked
  const sorted = paretoProfile({ numClasses: 50, max: 500, min: 5, rng: new Rng(1), shuffleClasses: false });
  assert.deepEqual(sorted, sorted.slice().sort((x, y) => y - x));
  const capped = paretoProfile({ numClasses: 3, max: 100, min: 5, rng: new Rng(1), available: [20, 20, 20] });
  assert.ok(capped.every((c) => c <= 20));
});
