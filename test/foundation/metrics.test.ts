import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics, groupAccuracy, upperAndRelative } from '../../src/eval/metrics.js';

test('top-1, per-class and group accuracy on a hand-made case', () => {
  // class 0: 2/2 right, class 1: 1/2, class 2: 0/2
  const labels = Int32Array.from([0, 0, 1, 1, 2, 2]);
  const pred = Int32Array.from([0, 0, 1, 0, 1, 0]);
  const m = classificationMetrics(pred, labels, 3, ['head', 'middle', 'middle']);
  assert.equal(m.top1, 50);
  assert.deepEqual(m.perClass, [100, 50, 0]);
  assert.deepEqual(m.groups, { head: 100, middle: 25, tail: null });
  assert.equal(m.count, 6);
});

test('group accuracy is the mean of per-class accuracies, not of images', () => {
  const labels = Int32Array.from([0, 0, 0, 1]);
  const pred = Int32Array.from([0, 0, 0, 0]);
  const m = classificationMetrics(pred, labels, 2, ['tail', 'tail']);
  assert.equal(m.top1, 75);
  assert.equal(m.groups.tail, 50);
});

test('classes absent from the evaluation set do not count in their group', () => {
  assert.deepEqual(groupAccuracy([80, NaN, 40], ['head', 'head', 'tail']), { head: 80, middle: null, tail: 40 });
});

test('UA = max(A_v, A_b), RA = 100·A_t/UA (survey §4.1; Softmax 90 epochs: 41.6 / 57.3 → 72.6)', () => {
  const { ua, ra } = upperAndRelative(41.6, 57.3, 57.3);
  assert.equal(ua, 57.3);
  assert.ok(Math.abs(ra - 72.6) < 0.05);
  assert.deepEqual(upperAndRelative(50, 60, 64), { ua: 64, ra: 78.125 });
});
