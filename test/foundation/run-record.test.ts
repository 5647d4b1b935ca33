/**
 * End to end on the synthetic source: the record layout, reuse, --force, resume after an
 * interrupt (identical to an uninterrupted run), flat tensor counts, UA/RA references.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runRecipe } from '../../src/lifecycle/index.js';
import { readEpochLines } from '../../src/results/record.js';
import type { Reporter } from '../../src/train/reporter.js';
import { testBackend, tinyRecipe } from './helpers.js';

const opts = { backend: testBackend };

test('a run writes its record: resolved recipe, run.json, epochs.jsonl, per-class.csv, per-sample test predictions, last/ and best/', async () => {
  const recipe = tinyRecipe();
  const r = await runRecipe(recipe, opts);
  assert.equal(r.reused, false);
  const files = readdirSync(r.dir).sort();
  assert.deepEqual(files, ['best', 'epochs.jsonl', 'last', 'log.txt', 'per-class.csv', 'predictions-test-best.csv', 'predictions-test-last.csv', 'recipe.resolved.yaml', 'run.json']);
  assert.deepEqual(readdirSync(path.dirname(r.dir)), [path.basename(r.dir)], 'the run lock is gone after the run');
  const rec = JSON.parse(readFileSync(path.join(r.dir, 'run.json'), 'utf8'));
  assert.equal(rec.status, 'finished');
  assert.equal(rec.runId, path.basename(r.dir));
  assert.equal(rec.environment.backend, testBackend);
  assert.deepEqual(rec.dataset.classCounts, [36, 16, 7, 3]); // floor(36 · 10^(−i/3)) after 4 val/class
  assert.deepEqual(rec.dataset.groups, ['head', 'middle', 'tail', 'tail']);
  assert.deepEqual(rec.dataset.sizes, { train: 62, val: 16, test: 32 });
  assert.match(rec.dataset.splitChecksum, /^[0-9a-f]{64}$/);
  assert.deepEqual(rec.seeds, { train: 0, split: 0 });
  assert.equal(rec.metrics.last.perClass.length, 4);
  assert.ok(rec.metrics.last.top1 >= 0 && rec.metrics.last.top1 <= 100);
  assert.ok(rec.parameterCount > 0);
  assert.ok(rec.timing.trainImagesPerSec > 0);
  const lines = readEpochLines(r.dir);
  assert.deepEqual(lines.map((l) => l.epoch), [1, 2]);
  // No tensor leaks: the live tensor count is the same after epoch 2 as after epoch 1.
  assert.equal(lines[1].numTensors, lines[0].numTensors);
  const csv = readFileSync(path.join(r.dir, 'per-class.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'class,name,train_count,group,acc_last,acc_best');
  assert.equal(csv.length, 5);
  assert.match(readFileSync(path.join(r.dir, 'recipe.resolved.yaml'), 'utf8'), /weightDecay: 0.0005/);
});

test('a second run of the same recipe reuses the record; --force trains into a new id', async () => {
  const recipe = tinyRecipe({ train: { epochs: 1 } });
  const a = await runRecipe(recipe, opts);
  const before = readFileSync(path.join(a.dir, 'run.json'), 'utf8');
  const b = await runRecipe(recipe, opts);
  assert.equal(b.reused, true);
  assert.equal(b.dir, a.dir);
  assert.equal(readFileSync(path.join(a.dir, 'run.json'), 'utf8'), before, 'the record is untouched');
  const c = await runRecipe(recipe, { ...opts, force: true });
  assert.equal(c.reused, false);
  assert.equal(c.dir, `${a.dir}-r2`);
  assert.equal(readFileSync(path.join(a.dir, 'run.json'), 'utf8'), before);
});

test('a run interrupted mid-epoch resumes from last and ends exactly as an uninterrupted one', async () => {
  const straight = await runRecipe(tinyRecipe({ train: { epochs: 2 } }), opts);

  const recipe = tinyRecipe({ train: { epochs: 2 } });
  const signal = { interrupted: false };
  let steps = 0;
  const reporter: Reporter = {
    step: () => {
      steps++;
      if (steps === 6) signal.interrupted = true; // epoch 2 (4 steps an epoch), step 2
    },
  };
  await assert.rejects(runRecipe(recipe, { ...opts, signal, reporter }), (e: any) => e.exitCode === 130);
  const dir = path.join(recipe.output, path.basename(straight.dir));
  const partial = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8'));
  assert.equal(partial.status, 'interrupted');
  assert.ok(existsSync(path.join(dir, 'last', 'checkpoint.json')));
  const meta = JSON.parse(readFileSync(path.join(dir, 'last', 'checkpoint.json'), 'utf8')).meta;
  assert.deepEqual([meta.epoch, meta.step], [1, 2]);

  const resumed = await runRecipe(recipe, opts);
  assert.equal(resumed.reused, false);
  assert.equal(resumed.record.status, 'finished');
  assert.deepEqual(resumed.record.metrics.last!.perClass, straight.record.metrics.last!.perClass);
  const a = readEpochLines(straight.dir);
  const b = readEpochLines(dir);
  assert.deepEqual(b.map((l) => l.epoch), [1, 2]);
  assert.equal(b[1].trainLoss.toFixed(5), a[1].trainLoss.toFixed(5));
});

test('reference: auto trains the balanced twins once and computes UA/RA from them', async () => {
  const recipe = tinyRecipe({ method: { name: 'balanced-softmax' }, train: { epochs: 1 }, reference: 'auto' });
  const r = await runRecipe(recipe, opts);
  assert.ok(r.references);
  const { vanilla, method } = r.references!;
  assert.notEqual(vanilla.record.runId, method.record.runId);
  assert.equal(vanilla.record.method.name, 'softmax');
  assert.equal(method.record.method.name, 'balanced-softmax');
  for (const ref of [vanilla, method]) {
    assert.equal(ref.record.dataset.balanced, true);
    assert.deepEqual(ref.record.dataset.classCounts, [15, 15, 15, 15]); // floor(62 / 4)
    assert.deepEqual(ref.record.dataset.groups, r.record.dataset.groups);
  }
  const ua = Math.max(vanilla.record.metrics.last!.top1, method.record.metrics.last!.top1);
  assert.equal(r.record.reference!.ua, ua);
  assert.equal(r.record.reference!.ra, (100 * r.record.metrics.last!.top1) / ua);
  const again = await runRecipe(recipe, opts);
  assert.equal(again.references!.vanilla.reused, true);
  assert.equal(again.references!.method.reused, true);
});

test('checkpoints: a crash between the two renames leaves the older checkpoint, which is put back', async () => {
  const { mkdtempSync, renameSync } = await import('node:fs');
  const os = await import('node:os');
  const tf = await import('@tensorflow/tfjs');
  const { saveCheckpoint, checkpointExists, loadCheckpoint } = await import('../../src/train/checkpoint.js');
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'ck-')), 'last');
  const t = tf.tensor1d([1, 2, 3]);
  saveCheckpoint(dir, new Map([['w', t]]), { epoch: 3 });
  renameSync(dir, `${dir}.old-12345`); // as if killed after the first rename
  assert.ok(checkpointExists(dir));
  const ck = loadCheckpoint<{ epoch: number }>(dir);
  assert.equal(ck.meta.epoch, 3);
  assert.deepEqual(Array.from(ck.tensors.get('w')!.data), [1, 2, 3]);
  t.dispose();
});
