import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  baselineFromRecords,
  baselineFromSeeds,
  checkExact,
  checkRecords,
  formatCheck,
  parseBaseline,
  roundTo,
  sampleStd,
  stringifyBaseline,
  toleranceFromSpread,
} from '../../src/results/regression.js';
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

/** A seeded CI-like record: name ci/<method>, 5 epochs, on wasm with `threads` threads. */
function seeded(method: string, seed: number, top1: number, tail: number, threads = 2, backend = 'wasm') {
  const r = fakeRecord({ runId: `${method}-s${seed}-t${threads}-${backend}`, method, epochs: 5, seed, top1, groups: [90, 50, tail] });
  return { ...r, name: `ci/${method}`, environment: { ...r.environment, backend, threads } };
}

test('sampleStd and toleranceFromSpread: max(3σ, 1), σ the sample std, rounded up to 2 decimals (hand-computed)', () => {
  // mean 84; squared deviations 16+4+0+4+16 = 40; /(5-1) = 10; σ = √10 = 3.16227766…
  assert.ok(Math.abs(sampleStd([80, 82, 84, 86, 88]) - Math.sqrt(10)) < 1e-12);
  assert.equal(toleranceFromSpread([80, 82, 84, 86, 88]), 9.49); // 3σ = 9.48683… → up to 9.49
  // mean 10.4; squared deviations 4·0.16 + 2.56 = 3.2; /4 = 0.8; σ = 0.894427…; 3σ = 2.683281…
  assert.equal(toleranceFromSpread([10, 10, 10, 10, 12]), 2.69);
  // σ = 0.1 → 3σ = 0.3 < 1: the 1-point floor.
  assert.equal(toleranceFromSpread([50, 50.2, 50.1, 50, 50.2]), 1);
  // σ = 1 exactly → 3σ = 3.00, not rounded up a step.
  assert.equal(toleranceFromSpread([0, 1, 2]), 3);
  assert.equal(toleranceFromSpread([0, 1, 2], { sigmas: 2, floor: 2.5 }), 2.5);
  assert.equal(sampleStd([7]), 0);
  assert.equal(roundTo(77.89999999999999, 2), 77.9);
  assert.equal(roundTo(55.575, 2), 55.58);
  assert.equal(roundTo(12.3449, 2), 12.34);
});

function fiveSeeds() {
  const top1 = [80, 82, 84, 86, 88];
  const tail = [40.004, 41.333, 39.5, 40.25, 41];
  return [
    ...top1.map((t, i) => seeded('softmax', i, t, tail[i])),
    ...[0, 1, 2, 3, 4].map((i) => seeded('focal', i, 70 + i / 10, 30)),
    seeded('softmax', 9, 10, 10), // a seed not asked for: ignored
  ];
}

test('baselineFromSeeds: expected = the first seed, tolerance from the spread, rule/seeds/environment recorded; round-trips', () => {
  const b = baselineFromSeeds(fiveSeeds(), { seeds: [0, 1, 2, 3, 4], metrics: ['top1', 'tail'] });
  assert.deepEqual(b.rule, { sigmas: 3, floor: 1 });
  assert.deepEqual(b.seeds, [0, 1, 2, 3, 4]);
  assert.equal(b.expectedSeed, 0);
  assert.equal(b.precision, 2);
  assert.deepEqual(b.environment, { backend: 'wasm', threads: 2, ltBench: '0.1.0', gitCommit: 'aaaaaaaaaaaaaaaa' });
  assert.deepEqual(b.runs['ci/softmax'].metrics.top1, { expected: 80, tolerance: 9.49, direction: 'higher', spread: { values: [80, 82, 84, 86, 88], mean: 84, std: 3.16 } });
  // tail: mean 40.4174; squared deviations 0.17090 + 0.83832 + 0.84162 + 0.02802 + 0.33942 = 2.21828;
  // /4 = 0.55457; σ = 0.74470; 3σ = 2.23409 → up to 2.24; values at 2 decimals.
  assert.deepEqual(b.runs['ci/softmax'].metrics.tail, { expected: 40, tolerance: 2.24, direction: 'higher', spread: { values: [40, 41.33, 39.5, 40.25, 41], mean: 40.42, std: 0.74 } });
  // focal's spread is tiny (σ = 0.158): the 1-point floor.
  assert.equal(b.runs['ci/focal'].metrics.top1?.tolerance, 1);
  const text = stringifyBaseline(b, ['lt-bench sweep a.yaml --seeds 0,1,2,3,4 --output r']);
  assert.match(text, /^# Generated: expected = the seed-0 value; tolerance = max\(3σ, 1 point\),$/m);
  assert.match(text, /^#   lt-bench sweep a\.yaml --seeds 0,1,2,3,4 --output r$/m);
  assert.deepEqual(parseBaseline(text, 'generated'), b);
  // The seed-0 records pass their own baseline, exactly and within tolerance.
  const seed0 = fiveSeeds().filter((r) => r.seeds.train === 0);
  assert.equal(checkRecords(seed0, b).ok, true);
  assert.equal(checkExact(seed0, b).ok, true);
});

test('baselineFromSeeds refuses a missing seed, fewer than 2 seeds and mixed environments', () => {
  assert.throws(() => baselineFromSeeds(fiveSeeds(), { seeds: [0, 1, 5] }), /ci\/focal \(5 epochs\): no finished record of seed 5/);
  assert.throws(() => baselineFromSeeds(fiveSeeds(), { seeds: [0] }), /at least 2 seeds/);
  const mixed = fiveSeeds().map((r) => (r.name === 'ci/focal' ? { ...r, environment: { ...r.environment, threads: 8 } } : r));
  assert.throws(() => baselineFromSeeds(mixed, { seeds: [0, 1, 2, 3, 4] }), /seed-0 runs ran on different backends or thread counts \(wasm with 8 threads; wasm with 2 threads\)/);
});

const EXACT = `
checkpoint: last
seeds: [0, 1, 2, 3, 4]
expectedSeed: 0
precision: 2
environment: { backend: wasm, threads: 2 }
runs:
  ci/softmax:
    top1: { expected: 70.12, tolerance: 3 }
    tail: { expected: 40.01, tolerance: 3 }
`;

test('checkExact: the expected seed reproduced at the recorded precision; one step off is a mismatch; other seeds ignored', () => {
  const b = parseBaseline(EXACT, 'exact.yaml');
  // 70.1249 rounds to 70.12 (exact); tail 40.0 is 0.01 below 40.01: a mismatch even though within tolerance.
  const records = [seeded('softmax', 0, 70.1249, 40), seeded('softmax', 1, 10, 10)];
  const r = checkExact(records, b);
  assert.equal(r.ok, false);
  assert.deepEqual(r.notComparable, []);
  assert.deepEqual(
    r.lines.map((l) => [l.metric, l.measured, l.status, l.n]),
    [
      ['top1', 70.12, 'ok', 1],
      ['tail', 40, 'mismatch', 1],
    ],
  );
  assert.match(formatCheck(r), /^FAILED: 1 of 2 values differ from the baseline's or are missing$/m);
  // The tolerance check on the same records passes (the 0.01 drop is within 3 points).
  assert.equal(checkRecords([records[0]], b).ok, true);
  const exact = checkExact([seeded('softmax', 0, 70.115, 40.005)], b);
  assert.equal(exact.ok, true);
  assert.match(formatCheck(exact), /^EXACT: 2 values reproduced exactly$/m);
  // No seed-0 record: missing, not passing.
  const none = checkExact([seeded('softmax', 1, 70.12, 40.01)], b);
  assert.equal(none.ok, false);
  assert.equal(none.lines[0].reason, 'no finished run with this name and seed 0');
});

test('checkExact: records from another backend or thread count are not comparable, never a mismatch', () => {
  const b = parseBaseline(EXACT, 'exact.yaml');
  const threads = checkExact([seeded('softmax', 0, 70.12, 40.01, 8)], b);
  assert.deepEqual(threads.notComparable, ['ci/softmax (run softmax-s0-t8-wasm) ran on wasm with 8 threads; the baseline on wasm with 2 threads']);
  assert.match(formatCheck(threads), /^NOT COMPARABLE: exact reproduction is only expected on the baseline's backend and thread count/m);
  const backend = checkExact([seeded('softmax', 0, 70.12, 40.01, 2, 'torch')], b);
  assert.match(backend.notComparable?.[0] ?? '', /ran on torch with 2 threads; the baseline on wasm with 2 threads/);
  // A baseline without seed/environment (hand-written, or from --update without --seeds) cannot check exactly.
  assert.throws(() => checkExact([], parseBaseline('runs:\n  a:\n    top1: 1\n', 'b.yaml')), /needs a baseline made by `check --update --seeds/);
  assert.throws(() => parseBaseline('environment: { threads: 2 }\nruns: {}\n', 'b.yaml'), /b\.yaml: environment\.backend: expected the backend name/);
  assert.throws(() => parseBaseline('runs:\n  a:\n    top1: { expected: 1, values: [1, x], mean: 1, std: 0 }\n', 'b.yaml'), /runs\.a\.top1\.values: expected a list of numbers/);
});
