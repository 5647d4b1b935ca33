import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baselineFromRecords, checkRecords, formatCheck, parseBaseline, stringifyBaseline } from '../../src/results/regression.js';
import { fakeRecord } from './fixtures.js';

function records() {
  const named = (r: ReturnType<typeof fakeRecord>, name: string) => ({ ...r, name });
  return [
    named(fakeRecord({ runId: 'v', method: 'softmax', epochs: 4, balanced: true, top1: 80 }), 'ci/softmax-balanced'),
    named(fakeRecord({ runId: 's1', method: 'softmax', epochs: 4, seed: 1, top1: 60, groups: [70, 50, 20], vanilla: 'v' }), 'ci/softmax'),
    named(fakeRecord({ runId: 's2', method: 'softmax', epochs: 4, seed: 2, top1: 62, groups: [72, 52, 22], vanilla: 'v' }), 'ci/softmax'),
    named(fakeRecord({ runId: 'f4', method: 'focal', epochs: 4, top1: 58, groups: [70, 50, null] }), 'ci/focal'),
    named(fakeRecord({ runId: 'f8', method: 'focal', epochs: 8, top1: 63, groups: [75, 55, null] }), 'ci/focal'),
  ];
}

const BASELINE = `
defaults: { tolerance: 1.0 }
runs:
  ci/softmax:
    top1: 62.5            # measured mean 61 → -1.5: regressed
    head: { expected: 71.5, tolerance: 0.5 }   # 71 → -0.5: ok (at the tolerance)
    ra: { expected: 75, tolerance: 2 }         # mean(75, 77.5) = 76.25 → +1.25: ok
    middle: { expected: 48, direction: both }  # 51 → +3: deviated
  ci/focal@8:
    top1: 61              # 63 → +2: improved (not a failure)
    tail: 10              # no tail classes: missing
  ci/focal:
    top1: 58              # names two budgets: missing (ambiguous)
  ci/gone:
    top1: 50
`;

test('checkRecords: expected / measured / delta, regressions, improvements and missing runs', () => {
  const result = checkRecords(records(), parseBaseline(BASELINE, 'inline'));
  assert.equal(result.ok, false);
  assert.equal(
    formatCheck(result),
    [
      'run         metric  expected  measured  delta   tol  n  status',
      'ci/softmax  top1       62.50     61.00  -1.50  1.00  2  REGRESSED',
      'ci/softmax  head       71.50     71.00  -0.50  0.50  2  OK',
      'ci/softmax  ra         75.00     76.25  +1.25  2.00  2  OK',
      'ci/softmax  middle     48.00     51.00  +3.00  1.00  2  DEVIATED',
      'ci/focal@8  top1       61.00     63.00  +2.00  1.00  1  IMPROVED',
      'ci/focal@8  tail       10.00         —      —  1.00  0  MISSING',
      'ci/focal    top1       58.00         —      —  1.00  0  MISSING',
      'ci/gone     top1       50.00         —      —  1.00  0  MISSING',
      '',
      'ci/focal@8 tail: no tail classes measured',
      'ci/focal top1: runs named ci/focal exist for epochs 4, 8; add `epochs:` to the baseline entry',
      'ci/gone top1: no finished run with this name',
      '',
      'FAILED: 5 of 8 checks regressed or missing',
      '',
    ].join('\n'),
  );
});

test('a clean check passes and suggests refreshing on improvements', () => {
  const result = checkRecords(records(), parseBaseline('runs:\n  ci/softmax:\n    top1: 61.5\n  ci/focal@4:\n    top1: 55\n', 'inline'));
  assert.equal(result.ok, true);
  assert.match(formatCheck(result), /OK: 2 checks within tolerance \(1 improved beyond it: consider refreshing the baseline\)\n$/);
});

test('parseBaseline names the key path of a mistake', () => {
  assert.throws(() => parseBaseline('runs:\n  a:\n    top5: 1\n', 'b.yaml'), /b\.yaml: runs\.a\.top5: unknown metric/);
  assert.throws(() => parseBaseline('runs:\n  a:\n    top1: { expected: 1, tolerance: -1 }\n', 'b.yaml'), /runs\.a\.top1\.tolerance: expected a number ≥ 0/);
  assert.throws(() => parseBaseline('checkpoint: final\nruns: {}\n', 'b.yaml'), /checkpoint: expected last or best/);
});

test('baselineFromRecords round-trips through YAML and passes against its own records', () => {
  const b = baselineFromRecords(records(), { metrics: ['top1', 'head'], tolerance: 0.5 });
  assert.deepEqual(Object.keys(b.runs), ['ci/focal@4', 'ci/focal@8', 'ci/softmax']);
  assert.deepEqual(b.runs['ci/softmax'], { epochs: 4, metrics: { top1: { expected: 61, tolerance: 0.5, direction: 'higher' }, head: { expected: 71, tolerance: 0.5, direction: 'higher' } } });
  const text = stringifyBaseline(b);
  const again = parseBaseline(text, 'generated');
  assert.deepEqual(again, b);
  assert.equal(checkRecords(records(), again).ok, true);
});
