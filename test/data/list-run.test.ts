/**
 * Image-list datasets in recipes, end to end: a tiny generated JPEG tree with lists trains
 * through runRecipe, records the pipeline, evaluates again with `lt-bench eval`; bad images stop
 * the run (exit 3, naming the file) or are skipped and counted; recipe errors name the key.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { ImageListBatchSource } from '../../src/data/batch-source.js';
import { libuvPoolSize } from '../../src/data/image-pipeline.js';
import { listSplit, openRunData } from '../../src/data/run-data.js';
import { RecipeError } from '../../src/errors.js';
import { evaluateRun } from '../../src/eval/run-eval.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { readEpochLines } from '../../src/results/record.js';
import { runRecipe } from '../../src/lifecycle/index.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend } from '../foundation/helpers.js';
import { writeImage } from './image-fixtures.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TRAIN_COUNTS = [6, 4, 2];
let dir: string;

/** dir/images/c<k>/<split>_<i>.jpg (16×16), dir/lists/{train,val,test}.txt, dir/recipe.yaml (relative paths). */
before(async () => {
  dir = tempDir('ltb-list-run-');
  const lines: Record<string, string[]> = { train: [], val: [], test: [] };
  for (let c = 0; c < 3; c++) {
    const per = { train: TRAIN_COUNTS[c], val: 2, test: 2 };
    for (const split of ['train', 'val', 'test'] as const) {
      for (let i = 0; i < per[split]; i++) {
        const rel = `c${c}/${split}_${i}.jpg`;
        await writeImage(path.join(dir, 'images', rel), { width: 20, height: 18, seed: c * 60 + i * 7, format: 'jpeg' });
        lines[split].push(`${rel} ${c}`);
      }
    }
  }
  for (const [k, l] of Object.entries(lines)) writeListFile(`lists/${k}.txt`, l);
  // A corrupt JPEG (a valid header, then garbage) and a train list with it.
  writeFileSync(path.join(dir, 'images', 'c1', 'broken.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 7)]));
  writeListFile('lists/train-broken.txt', [...lines.train, 'c1/broken.jpg 1']);
  writeRecipe('recipe.yaml', {});
});

function writeListFile(rel: string, lines: string[]): void {
  const f = path.join(dir, rel);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, `${lines.join('\n')}\n`);
}

function writeRecipe(rel: string, dataset: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, rel);
  const recipe = {
    name: 'tiny-list',
    dataset: { name: 'image-list', numClasses: 3, root: 'images', lists: { train: 'lists/train.txt', val: 'lists/val.txt', test: 'lists/test.txt' }, transform: { size: 16 }, workers: 1, prefetch: 2, ...dataset },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 2, batchSize: 4, optimizer: { lr: 0.05 } },
    eval: { thresholds: { head: 5, tail: 3 }, batchSize: 8 },
    output: path.join(dir, 'results'),
    ...extra,
  };
  writeFileSync(file, stringify(recipe));
  return file;
}

test('recipe: image-list paths resolve relative to the recipe file; the lists are the split', () => {
  const { recipe } = loadRecipe(path.join(dir, 'recipe.yaml'));
  assert.equal(recipe.dataset.root, path.join(dir, 'images'));
  assert.equal(recipe.dataset.lists!.train, path.join(dir, 'lists', 'train.txt'));
  assert.equal(recipe.dataset.profile, 'none');
  const { split, files } = listSplit(recipe);
  assert.deepEqual(split.classCounts, TRAIN_COUNTS);
  // head: count > 5; tail: count < 3
  assert.deepEqual(split.groups, ['head', 'middle', 'tail']);
  assert.deepEqual([split.indices.train.length, split.indices.val.length, split.indices.test.length], [12, 6, 6]);
  assert.deepEqual(files.map((f) => path.basename(f.path)), ['train.txt', 'val.txt', 'test.txt']);
});

test('recipe errors: a profile on imagenet-lt, image-list without numClasses, accumulate not dividing the batch (exit 2)', () => {
  const base = { backbone: { name: 'resnet8' }, method: { name: 'softmax' }, train: { epochs: 1, batchSize: 8 } };
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, stringify({ ...base, dataset: { name: 'imagenet-lt', profile: 'exponential' } }));
  assert.throws(() => loadRecipe(bad), (e: unknown) => e instanceof RecipeError && e.keyPath === 'dataset.profile' && e.message.startsWith(`${bad}: dataset.profile:`));
  const r = cli(['validate', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /dataset\.profile: imagenet-lt is split by its lists/);

  writeFileSync(bad, stringify({ ...base, dataset: { name: 'image-list', lists: { train: 'a.txt', test: 'b.txt' }, valSource: 'test' } }));
  assert.throws(() => loadRecipe(bad), (e: unknown) => e instanceof RecipeError && e.keyPath === 'dataset.numClasses');
  writeFileSync(bad, stringify({ ...base, dataset: { name: 'cifar10', lists: { train: 'a.txt' } } }));
  assert.throws(() => loadRecipe(bad), (e: unknown) => e instanceof RecipeError && e.keyPath === 'dataset.lists');
  writeFileSync(bad, stringify({ ...base, dataset: { name: 'imagenet-lt' }, train: { epochs: 1, batchSize: 8, accumulate: 3 } }));
  assert.throws(() => loadRecipe(bad), (e: unknown) => e instanceof RecipeError && e.keyPath === 'train.accumulate' && /3 does not divide train\.batchSize 8/.test(e.message));
});

test('an image-list recipe trains end to end through runRecipe and records the pipeline', async () => {
  const { recipe, file } = loadRecipe(path.join(dir, 'recipe.yaml'));
  const logs: string[] = [];
  const r = await runRecipe(recipe, { backend: testBackend, recipePath: file, reporter: { log: (m) => logs.push(m) } });
  const rec = r.record;
  assert.equal(rec.status, 'finished');
  assert.match(rec.runId, /^softmax-image-list-[0-9a-f]{12}$/);
  assert.deepEqual(rec.dataset.classCounts, TRAIN_COUNTS);
  assert.deepEqual(rec.dataset.sizes, { train: 12, val: 6, test: 6 });
  assert.equal(rec.metrics.last!.count, 6);
  // 2 epochs × 12 train images (batches 4/4/4), 2 × 6 val, 6 test for last (+6 for best).
  assert.ok(rec.data, 'run.json has the data block');
  assert.equal(rec.data!.skipped, 0);
  assert.equal(rec.data!.images, 2 * 12 + 2 * 6 + 6 + (rec.metrics.best ? 6 : 0));
  assert.ok(rec.data!.pipelineImagesPerSec > 0);
  assert.equal(rec.data!.workers, 1, "the recipe's dataset.workers");
  assert.equal(rec.data!.libuvPool, libuvPoolSize(), 'the pool that bounded the decodes in flight');
  assert.ok(rec.memory!.activationBytesEstimate > 0 && rec.memory!.microBatch === 4);
  assert.ok(logs.some((l) => l.startsWith('activation memory (estimate)')));
  const lines = readEpochLines(r.dir);
  assert.equal(lines.length, 2);
  assert.equal(lines[0].numTensors, lines[1].numTensors, 'no tensor leak between epochs');
  assert.deepEqual(JSON.parse(readFileSync(path.join(r.dir, 'run.json'), 'utf8')).data, rec.data);
});

test('lt-bench eval: --split test reproduces the run; --list writes eval-<list>.json beside run.json', async () => {
  const { recipe } = loadRecipe(path.join(dir, 'recipe.yaml'));
  const r = await runRecipe(recipe, { backend: testBackend });
  assert.equal(r.reused, true);
  const again = await evaluateRun(r.dir, { split: 'test', backend: testBackend });
  assert.deepEqual(again.metrics, r.record.metrics.last);
  assert.equal(path.basename(again.file), 'eval-split-test.json');

  writeListFile('lists/other.txt', ['c0/val_0.jpg 0', 'c2/val_1.jpg 2', 'c1/train_3.jpg 1']);
  const out = cli(['eval', r.dir, '--list', path.join(dir, 'lists', 'other.txt'), '--root', path.join(dir, 'images'), '--backend', testBackend]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /top-1 .*% over 3 images/);
  // Evaluation progress on stderr (no TTY: a line when it starts and one when it ends).
  assert.match(out.stderr, /^evaluating other\.txt: 3 images$/m);
  assert.match(out.stderr, /^evaluated other\.txt: 3 images in [\d.]+s$/m);
  const written = JSON.parse(readFileSync(path.join(r.dir, 'eval-other.json'), 'utf8'));
  assert.equal(written.metrics.count, 3);
  assert.equal(written.runId, r.record.runId);
  assert.deepEqual(written.metrics.perClass.length, 3);

  assert.equal(cli(['eval', path.join(dir, 'nowhere'), '--split', 'test']).code, 2);
  assert.equal(cli(['eval', r.dir, '--list', path.join(dir, 'lists', 'missing.txt')]).code, 2);
});

test('a list path leaving the root: run and eval --list refuse it with exit 3 naming list, line and path, before any image is read', async () => {
  // A valid image just outside the root: on a list line, it must not be trained or evaluated on.
  await writeImage(path.join(dir, 'outside.jpg'), { width: 20, height: 18, seed: 3, format: 'jpeg' });
  writeListFile('lists/train-escape.txt', ['c0/train_0.jpg 0', 'c1/train_0.jpg 1', 'c2/train_0.jpg 2', '../outside.jpg 0']);
  const output = path.join(dir, 'results-escape');
  const file = writeRecipe('escape.yaml', { lists: { train: 'lists/train-escape.txt', val: 'lists/val.txt', test: 'lists/test.txt' } }, { output, train: { epochs: 1, batchSize: 4, optimizer: { lr: 0.05 } } });
  const r = cli(['run', file, '--backend', testBackend, '--quiet']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`lists/train-escape\\.txt:4: image path "\\.\\./outside\\.jpg" leaves the image root ${path.join(dir, 'images')}`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  // The results directory may exist (the run's lock lives there), but holds no run and no lock.
  assert.deepEqual(existsSync(output) ? readdirSync(output) : [], [], 'refused before a run directory was made');

  const { recipe } = loadRecipe(path.join(dir, 'recipe.yaml'));
  const trained = await runRecipe(recipe, { backend: testBackend });
  assert.equal(trained.reused, true);
  writeListFile('lists/eval-escape.txt', ['c0/val_0.jpg 0', `${path.join(dir, 'outside.jpg')} 1`]);
  const e = cli(['eval', trained.dir, '--list', path.join(dir, 'lists', 'eval-escape.txt'), '--root', path.join(dir, 'images'), '--backend', testBackend]);
  assert.equal(e.code, 3, e.stderr);
  assert.match(e.stderr, new RegExp(`eval-escape\\.txt:2: image path "${path.join(dir, 'outside.jpg')}" leaves the image root`));
  assert.equal(existsSync(path.join(trained.dir, 'eval-eval-escape.json')), false);
});

test('a corrupt image stops the run with exit 3 naming the file; badImages: skip counts it', () => {
  const file = writeRecipe('broken.yaml', { lists: { train: 'lists/train-broken.txt', val: 'lists/val.txt', test: 'lists/test.txt' } }, { train: { epochs: 1, batchSize: 4, optimizer: { lr: 0.05 } } });
  const r = cli(['run', file, '--backend', testBackend, '--quiet']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /cannot decode image .*images\/c1\/broken\.jpg/);
  assert.match(r.stderr, /badImages: skip/);

  const ok = cli(['run', file, '--backend', testBackend, '--json', '--set', 'dataset.badImages=skip']);
  assert.equal(ok.code, 0, ok.stderr);
  const rec = JSON.parse(ok.stdout);
  assert.equal(rec.status, 'finished');
  assert.equal(rec.data.skipped, 1);
  assert.deepEqual(rec.data.skippedFiles, [path.join(dir, 'images', 'c1', 'broken.jpg')]);
  assert.equal(rec.dataset.sizes.train, 13);
});

test('ImageListBatchSource: a resumed epoch (firstStep) draws the same augmented batches', async () => {
  const { recipe } = loadRecipe(path.join(dir, 'recipe.yaml'), { sets: ['dataset.workers=0'] });
  const data = await openRunData(recipe);
  try {
    const order = Int32Array.from([5, 0, 11, 3, 7, 1, 9, 2]);
    const all: Float32Array[] = [];
    for await (const b of data.sources.train.epoch(order, 3, { mode: 'train', seed: 4, epoch: 1 })) all.push(b.x);
    const resumed: Float32Array[] = [];
    for await (const b of data.sources.train.epoch(order, 3, { mode: 'train', seed: 4, epoch: 1, firstStep: 1 })) resumed.push(b.x);
    assert.equal(all.length, 3);
    assert.equal(resumed.length, 2);
    assert.deepEqual(resumed[0], all[1]);
    assert.deepEqual(resumed[1], all[2]);
    assert.ok(data.sources.train instanceof ImageListBatchSource);
    assert.notDeepEqual(all[0], all[1]);
  } finally {
    await data.close();
  }
});

test('stage 2 (crt) runs on an image-list stage-1 run, and lt-bench eval reproduces its metrics', async () => {
  const { recipe } = loadRecipe(path.join(dir, 'recipe.yaml'), { sets: ['stage2.strategy=crt', 'stage2.epochs=1'] });
  const r = await runRecipe(recipe, { backend: testBackend });
  assert.equal(r.record.status, 'finished');
  assert.equal(r.stage1!.reused, true, 'stage 1 is the run trained above');
  assert.equal(r.record.stage2!.strategy, 'crt');
  assert.ok(r.record.data!.images > 0);
  const again = await evaluateRun(r.dir, { split: 'test', backend: testBackend });
  assert.deepEqual(again.metrics, r.record.metrics.last);
});
