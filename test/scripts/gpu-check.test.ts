/**
 * The GPU check's verdict (scripts/gpu-check.ts): the parity suite's TAP counts, and every way the
 * check must fail. The whole check, bundle to JSON, runs in test/integration/gpu-check.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFailures, parseTap, type TrainResult } from '../../scripts/gpu-check.js';

// Node 20's TAP reporter on a suite with one passing and one failing test, and a skipped test.
const TAP = `TAP version 13
# Subtest: kernels
    # Subtest: conv2d matches
    ok 1 - conv2d matches
      ---
      duration_ms: 0.4
      ...
    # Subtest: maxPool matches
    not ok 2 - maxPool matches
      ---
      duration_ms: 1.2
      failureType: 'testCodeFailure'
      error: 'Expected values to be strictly equal'
      ...
    1..2
not ok 1 - kernels
# Subtest: skipped one
ok 2 - skipped one # SKIP no addon
1..2
# tests 3
# suites 1
# pass 1
# fail 1
# cancelled 0
# skipped 1
# todo 0
# duration_ms 113.2
`;

test('parseTap reads the totals and names the failed tests (the suite and its test)', () => {
  assert.deepEqual(parseTap(TAP), { pass: 1, fail: 1, skipped: 1, failed: ['maxPool matches', 'kernels'] });
  assert.deepEqual(parseTap('garbage'), { pass: 0, fail: 0, skipped: 0, failed: [] });
});

const goodTraining: TrainResult[] = ['fp32', 'bf16'].map((precision) => ({
  precision, model: 'resnext50', batch: 64, ltBench: 900, pytorch: 1000, ratio: 0.9, peakRssMB: { ltBench: 4000, pytorch: 3000 },
}));
const good = {
  device: 'cuda',
  build: { seconds: 90 },
  parity: { pass: 12, fail: 0, skipped: 0, failed: [] },
  backend: { device: 'cuda:0' },
  training: goodTraining,
  inputPipeline: { imagesPerSec: 5000 },
};

test('checkFailures: a complete, passing check has none', () => {
  assert.deepEqual(checkFailures(good), []);
});

test('checkFailures: each missing or failed part is named', () => {
  assert.deepEqual(checkFailures({ ...good, build: null }), ['no build report']);
  assert.deepEqual(checkFailures({ ...good, parity: null }), ['no kernel parity report']);
  assert.deepEqual(checkFailures({ ...good, parity: { pass: 11, fail: 1, skipped: 0, failed: ['maxPool matches'] } }), ['kernel parity: 1 failed, 11 passed (maxPool matches)']);
  // a suite that ran nothing (every test skipped) is not a pass
  assert.deepEqual(checkFailures({ ...good, parity: { pass: 0, fail: 0, skipped: 12, failed: [] } }), ['kernel parity: 0 failed, 0 passed']);
  assert.deepEqual(checkFailures({ ...good, backend: { error: 'CUDA requested but this libtorch has no usable CUDA device' }, training: [] }),
    ['torch backend on cuda: CUDA requested but this libtorch has no usable CUDA device']);
  assert.deepEqual(checkFailures({ ...good, training: [] }), ['no training measured']);
  assert.deepEqual(checkFailures({ ...good, training: [goodTraining[0], { ...goodTraining[1], pytorch: null, ratio: null }] }), ['training bf16: no images/s measured']);
  assert.deepEqual(checkFailures({ ...good, training: [{ ...goodTraining[0], error: 'bench-train exited 1' }, goodTraining[1]] }), ['training fp32: bench-train exited 1']);
  assert.deepEqual(checkFailures({ ...good, inputPipeline: { imagesPerSec: 0 } }), ['input pipeline: no images/s measured']);
});
