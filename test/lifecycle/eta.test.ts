/**
 * Time left: the whole sweep's from the plan's run sizes and a measured rate, the run's from its
 * epochs; progress while the test set is evaluated. Hand-computed values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { SweepRun } from '../../src/sweep.js';
import { SweepEta } from '../../src/sweep.js';
import { formatDuration, runSecondsLeft } from '../../src/train/eta.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend, writeYaml } from '../foundation/helpers.js';

function run(runId: string, imagePasses: number, action: 'train' | 'reuse', wallSeconds = 0): SweepRun {
  return {
    runId,
    action,
    work: { trainImages: 0, epochs: 0, evalImages: 0, imagePasses },
    record: action === 'reuse' ? ({ timing: { wallSeconds } } as SweepRun['record']) : null,
  } as SweepRun;
}

test('formatDuration and runSecondsLeft', () => {
  assert.equal(formatDuration(NaN), '?');
  assert.equal(formatDuration(20), '<1m');
  assert.equal(formatDuration(15 * 60), '15m');
  assert.equal(formatDuration(2 * 3600 + 5 * 60), '2h05m');
  // Epochs of 10 s and 14 s: mean 12 s × (10 − 2) epochs to go = 96 s.
  assert.equal(runSecondsLeft([10, 14], 2, 10), 96);
  assert.ok(Number.isNaN(runSecondsLeft([], 0, 10)));
});

test('SweepEta: plan sizes over a rate from reused records, then the first epoch, then finished jobs', () => {
  // Reused C: 1,000 image passes in 10 s → 100 passes/s; A + B = 90,000 passes left → 900 s.
  const eta = new SweepEta([run('A', 60_000, 'train'), run('B', 30_000, 'train'), run('C', 1_000, 'reuse', 10)]);
  assert.deepEqual(eta.left(), { runs: 2, imagePasses: 90_000, seconds: 900 });
  assert.equal(eta.describe(), '2 run(s) left (90k image passes), about 15m left');
  // The first epoch trains at 300 images/s → 300 s.
  assert.equal(eta.epoch({ imagesPerSec: 300 }), false, 'a rate was known already');
  assert.equal(eta.left().seconds, 300);
  // A finished in 300 s: measured 60,000 / 300 = 200 passes/s; B's 30,000 → 150 s.
  eta.jobEnded(['A'], 300, true);
  assert.deepEqual(eta.left(), { runs: 1, imagePasses: 30_000, seconds: 150 });
  // A failed job leaves the plan without counting toward the rate.
  eta.jobEnded(['B'], 5, false);
  assert.deepEqual(eta.left(), { runs: 0, imagePasses: 0, seconds: 0 });

  const fresh = new SweepEta([run('A', 6_000, 'train')]);
  assert.equal(fresh.describe(), '1 run(s) left (6k image passes), time left known after the first epoch');
  assert.equal(fresh.epoch({ imagesPerSec: 20 }), true, 'the first epoch makes the rate known');
  assert.equal(fresh.describe(), '1 run(s) left (6k image passes), about 5m left');
});

test('sweep through the CLI: whole-sweep ETA, whole-run ETA per epoch, test-set evaluation progress', () => {
  const dir = tempDir('ltb-eta-');
  const yaml = {
    dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 12, testPerClass: 4, size: 6 } },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 2, batchSize: 8 },
    eval: { thresholds: { head: 5, tail: 3 } },
    output: path.join(dir, 'results'),
  };
  const file = writeYaml(dir, 'r.yaml', yaml);
  const r = spawnSync(process.execPath, [path.join(packageRoot, 'bin', 'lt-bench.js'), 'sweep', file, '--backend', testBackend], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n');
  assert.ok(lines.some((l) => /^\[1\/1\] train .* sweep: 1 run\(s\) left \(\d+ image passes\), time left known after the first epoch$/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^sweep: 1 run\(s\) left \(\d+ image passes\), about (<1m|\d+m) left \(from the first epoch's \d+ img\/s\)$/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^epoch 1: .*, run about (<1m|\d+m) left$/.test(l)), 'the run ETA after epoch 1 of 2');
  assert.ok(lines.some((l) => /^epoch 2: .* img\/s [\d.]+s$/.test(l)), 'no ETA after the last epoch');
  // 3 classes × 4 test images.
  assert.ok(lines.includes('evaluating test (last): 12 images'), r.stderr);
  assert.ok(lines.some((l) => /^evaluated test \(last\): 12 images in [\d.]+s$/.test(l)));

  // A dry run next to a finished record estimates the time from that record's speed.
  const longer = writeYaml(dir, 'r3.yaml', { ...yaml, train: { epochs: 3, batchSize: 8 } });
  const dry = spawnSync(process.execPath, [path.join(packageRoot, 'bin', 'lt-bench.js'), 'sweep', file, longer, '--dry-run'], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /^1 run\(s\) to train or resume, 0 reference run\(s\), 0 stage-1 run\(s\), 1 reused; \d+ image passes, about (<1m|\d+m) at the reused runs' speed$/m);
});
