/** `run` with eval.testDistributions, `eval --test-distributions` on an older record, `table --test-distribution`: the built CLI as a user runs it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend, writeYaml } from '../foundation/helpers.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const round2 = (x: number) => Math.round(x * 100) / 100;

test('run, eval --test-distributions and table --test-distribution', () => {
  const dir = tempDir();
  const recipe = (method: string) =>
    writeYaml(dir, `${method}.yaml`, {
      dataset: { name: 'synthetic', imbalanceRatio: 8, valPerClass: 2, synthetic: { numClasses: 4, perClass: 16, testPerClass: 6, size: 6 } },
      backbone: { name: 'resnet8' },
      method: { name: method },
      train: { epochs: 1, batchSize: 8 },
      eval: { thresholds: { head: 8, tail: 3 } },
    });
  // softmax scores two distributions while it runs; balanced-softmax is an "older" record without them.
  const a = cli(['run', recipe('softmax'), '--json', '--output', dir, '--backend', testBackend, '--set', 'eval.testDistributions=[forward-5, uniform]']);
  assert.equal(a.code, 0, a.stderr);
  const ra = JSON.parse(a.stdout);
  const dirA = path.join(dir, ra.runId);
  assert.deepEqual(Object.keys(ra.testDistributions.last), ['forward-5', 'uniform']);
  assert.equal(ra.testDistributions.last.uniform.top1, ra.metrics.last.top1);
  // 6 test images per class; ⌊6·5^(−r/3)⌋ = 6, 3 (3.51), 2 (2.05), 1.
  assert.equal(ra.testDistributions.last['forward-5'].count, 12);
  const plain = cli(['run', recipe('softmax'), '--dry-run', '--output', dir]);
  assert.match(plain.stdout, new RegExp(ra.runId), 'the run id does not depend on eval.testDistributions');

  const b = cli(['run', recipe('balanced-softmax'), '--json', '--output', dir, '--backend', testBackend]);
  assert.equal(b.code, 0, b.stderr);
  const rb = JSON.parse(b.stdout);
  const dirB = path.join(dir, rb.runId);
  assert.equal(rb.testDistributions, undefined);
  const file = path.join(dirB, 'predictions-test-last.csv');
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 1 + 24);
  rmSync(file); // as a record made before the file existed

  const bad = cli(['eval', dirB, '--test-distributions', 'forward-3']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown distribution 'forward-3'/);
  const e = cli(['eval', dirB, '--test-distributions', 'all', '--backend', testBackend]);
  assert.equal(e.code, 0, e.stderr);
  assert.ok(existsSync(file), 'eval wrote the predictions file');
  assert.match(e.stdout, /backward-50: top-1 [\d.]+% over \d+ images/);
  assert.match(e.stdout, /wrote .*predictions-test-last\.csv; added testDistributions\.last/);
  const recB = JSON.parse(readFileSync(path.join(dirB, 'run.json'), 'utf8'));
  assert.equal(Object.keys(recB.testDistributions.last).length, 11);
  assert.equal(recB.testDistributions.last.uniform.top1, recB.metrics.last.top1, 'the re-evaluation reproduces the run');
  assert.equal(recB.status, 'finished');
  // Another distribution later: scored from the stored file, the earlier ones kept.
  const e2 = cli(['eval', dirA, '--test-distributions', 'backward-5', '--json']);
  assert.equal(e2.code, 0, e2.stderr);
  assert.equal(JSON.parse(e2.stdout).wrotePredictions, false);
  const recA = JSON.parse(readFileSync(path.join(dirA, 'run.json'), 'utf8'));
  assert.deepEqual(Object.keys(recA.testDistributions.last), ['forward-5', 'uniform', 'backward-5']);

  // All distributions: rows = methods, columns = distributions (overall accuracy).
  const t = cli(['table', '--results', dir, '--test-distribution', 'all', '--format', 'csv']);
  assert.equal(t.code, 0, t.stderr);
  const lines = t.stdout.trim().split('\n').map((l) => l.split(','));
  const header = lines[0];
  const at = (row: string, col: string) => lines.find((l) => l[header.indexOf('row')] === row && l[header.indexOf('column')] === col);
  assert.equal(Number(at('softmax', 'forward-5')![header.indexOf('mean')]), round2(recA.testDistributions.last['forward-5'].top1));
  assert.equal(Number(at('balanced-softmax', 'backward-50')![header.indexOf('mean')]), round2(recB.testDistributions.last['backward-50'].top1));
  assert.equal(at('softmax', 'backward-50')![header.indexOf('mean')], '', 'softmax was not scored on backward-50');
  assert.equal(at('softmax', 'forward-5')![header.indexOf('table')], 'test-distributions');
  const md = cli(['table', '--results', dir, '--test-distribution', 'all']);
  assert.match(md.stdout, /Test-agnostic accuracy \(%\) on long-tailed test distributions/);
  assert.match(md.stdout, /\| Method \| 1 epoch forward-50 \|/);

  // One distribution's Table 6.
  const t6 = cli(['table', '--results', dir, '--test-distribution', 'forward-5', '--table', '6', '--format', 'csv']);
  assert.equal(t6.code, 0, t6.stderr);
  const l6 = t6.stdout.trim().split('\n').map((l) => l.split(','));
  const head = l6.find((l) => l[header.indexOf('row')] === 'softmax' && l[header.indexOf('column')] === 'Head')!;
  assert.equal(Number(head[header.indexOf('mean')]), round2(recA.testDistributions.last['forward-5'].groups.head));
  const badTable = cli(['table', '--results', dir, '--test-distribution', 'sideways-2']);
  assert.equal(badTable.code, 2);
  assert.match(badTable.stderr, /--test-distribution sideways-2: expected all or one of forward-50/);
});
