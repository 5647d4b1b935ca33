import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { expandRecipeArgs, planSweep, runSweep, sweepJobs } from '../../src/sweep.js';
import { listRuns, removeCheckpoints } from '../../src/results/runs.js';
import { tempDir, testBackend, writeYaml } from './helpers.js';

const tiny = (out: string, extra: Record<string, unknown> = {}) => ({
  dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 12, testPerClass: 4, size: 6 } },
  backbone: { name: 'resnet8' },
  method: { name: 'softmax' },
  train: { epochs: 1, batchSize: 8 },
  eval: { thresholds: { head: 5, tail: 3 } },
  output: out,
  ...extra,
});

test('sweep: globs skip _base, seeds multiply jobs, references are planned once, failures do not stop it', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  writeYaml(dir, 'recipes/_base/b.yaml', { train: { epochs: 1 } });
  writeYaml(dir, 'recipes/s/a-softmax.yaml', tiny(out, { reference: 'auto' }));
  writeYaml(dir, 'recipes/s/b-bs.yaml', tiny(out, { reference: 'auto', method: { name: 'balanced-softmax' } }));
  writeYaml(dir, 'recipes/s/c-broken.yaml', { ...tiny(out), dataset: { name: 'fashion-mnist', root: path.join(dir, 'missing') } });
  const files = await expandRecipeArgs([path.join(dir, 'recipes/**/*.yaml')]);
  assert.deepEqual(files.map((f) => path.basename(f)), ['a-softmax.yaml', 'b-bs.yaml', 'c-broken.yaml']);

  const good = sweepJobs(files.slice(0, 2), { seeds: [0, 1] });
  assert.equal(good.length, 4);
  const plan = planSweep(good, {});
  assert.deepEqual(plan.map((p) => p.action), ['train', 'train', 'train', 'train']);
  // softmax needs one balanced reference per seed; balanced-softmax needs that one plus its own
  assert.equal(plan[0].references.length, 1);
  assert.equal(plan[2].references.length, 2);
  assert.equal(plan[2].references[0], plan[0].references[0], 'the vanilla balanced run is shared');

  const all = [...good, ...sweepJobs([files[2]], {})];
  const outcomes = await runSweep(all, { backend: testBackend });
  assert.equal(outcomes.filter((o) => o.error).length, 1);
  assert.equal(outcomes[4].error!.message.includes('no train-images'), true);
  // 4 LT runs + per seed one balanced softmax run (shared by both methods) and one balanced balanced-softmax run
  assert.equal(listRuns(out).length, 4 + 2 * 2);

  const again = planSweep(good, {});
  assert.deepEqual(again.map((p) => p.action), ['reuse', 'reuse', 'reuse', 'reuse']);
  assert.deepEqual(again.map((p) => p.references.length), [0, 0, 0, 0]);
});

test('runs gc removes checkpoints of finished runs only', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  const file = writeYaml(dir, 'r.yaml', tiny(out));
  await runSweep(sweepJobs([file], {}), { backend: testBackend });
  const [run] = listRuns(out);
  assert.ok(run.checkpointBytes > 0);
  assert.equal(removeCheckpoints(out, { dryRun: true }).length, 2);
  assert.ok(listRuns(out)[0].checkpointBytes > 0, 'dry run removes nothing');
  removeCheckpoints(out, { dryRun: false });
  assert.equal(listRuns(out)[0].checkpointBytes, 0);
  assert.equal(listRuns(out)[0].status, 'finished');
});
