/**
 * The rehearsal dataset (src/rehearsal/dataset.ts): the reduced manifest keeps ImageNet-LT's
 * shape (hand-computed below), the folder has ImageNet-LT's real formats, generation is
 * deterministic (stable run ids), and an existing folder is reused or refused, never overwritten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { DataError, UsageError } from '../../src/errors.js';
import { countStats, loadManifest } from '../../src/data/manifests.js';
import { parseImageList, labelCounts } from '../../src/data/sources/image-list.js';
import { apportion, ensureRehearsalDataset, rehearsalManifest } from '../../src/rehearsal/dataset.js';
import { sha256 } from '../../src/recipe/hash.js';
import { tempDir } from '../foundation/helpers.js';

const imagenet = loadManifest('imagenet-lt');

test('apportion: largest remainders (20 classes over 385/479/136 → 7.7/9.58/2.72 → 8/9/3)', () => {
  assert.deepEqual(apportion(20, [385, 479, 136]), [8, 9, 3]);
  // 3.85 / 4.79 / 1.36: floors 3/4/1, the two largest remainders (.85, .79) get one more
  assert.deepEqual(apportion(10, [385, 479, 136]), [4, 5, 1]);
  assert.deepEqual(apportion(3, [1, 1, 1]), [1, 1, 1]);
});

test('rehearsalManifest: 20 classes, counts and thresholds × 1/10, the group proportions and extremes kept', () => {
  const { manifest: m, sourceLabels } = rehearsalManifest(imagenet);
  assert.equal(m.numClasses, 20);
  assert.deepEqual(m.groupThresholds, { head: 10, tail: 2 });
  assert.deepEqual(m.groups, { head: 8, middle: 9, tail: 3 });
  const counts = m.classCounts!;
  const s = countStats(counts, m.groupThresholds);
  // The largest class (1280) is picked: 128. Every tail count (5..19 × 0.1) is 1, the only count < 2.
  assert.equal(Math.max(...counts), 128);
  assert.deepEqual(counts.filter((_, i) => s.classGroups[i] === 'tail'), [1, 1, 1]);
  // Group extremes: the smallest head class (101 → 10.1) stays head (11); the middle spans 100 → 10 .. 20 → 2.
  const head = counts.filter((_, i) => s.classGroups[i] === 'head');
  const middle = counts.filter((_, i) => s.classGroups[i] === 'middle');
  assert.equal(Math.min(...head), 11);
  assert.deepEqual([Math.max(...middle), Math.min(...middle)], [10, 2]);
  // Classes stand for real ImageNet-LT labels, in label order, each with its own group.
  assert.deepEqual([...sourceLabels].sort((a, b) => a - b), sourceLabels);
  const real = countStats(imagenet.classCounts!, imagenet.groupThresholds).classGroups;
  assert.deepEqual(sourceLabels.map((l) => real[l]), s.classGroups);
  assert.deepEqual(sourceLabels.map((l, i) => Math.abs(imagenet.classCounts![l] * 0.1 - counts[i]) <= 1 || s.classGroups[i] === 'tail'), new Array(20).fill(true));
  // Val 20 → 2, test 50 → 5 per class; the balanced twin: the LT total over the classes (as 115,846 / 1000 → 115).
  assert.equal(m.splits.val.perClass, 2);
  assert.equal(m.splits.test.perClass, 5);
  assert.equal(m.balancedTwin!.perClass, Math.floor(s.total / 20));
  assert.throws(() => rehearsalManifest(imagenet, { classes: 3 }), (e: unknown) => e instanceof UsageError && /leave a group empty \(1\/2\/0\)/.test(e.message));
  assert.throws(() => rehearsalManifest(imagenet, { scale: 0.01 }), (e: unknown) => e instanceof UsageError && /no count for the tail group/.test(e.message));
});

test('the generated folder has ImageNet-LT\'s real formats and the manifest\'s counts', async () => {
  const dir = path.join(tempDir('ltb-rehearsal-data-'), 'imagenet-lt');
  const { info, root, created } = await ensureRehearsalDataset(dir);
  assert.equal(created, true);
  const m = info.manifest;
  const read = (f: string) => {
    const { entries, problems } = parseImageList(readFileSync(path.join(root, f), 'utf8'));
    assert.deepEqual(problems, []);
    return entries;
  };
  const train = read('ImageNet_LT_train.txt');
  const val = read('ImageNet_LT_val.txt');
  const test_ = read('ImageNet_LT_test.txt');
  const balanced = read('ImageNet_LT_balanced_train.txt');
  // `train/<wnid>/<wnid>_<i>.JPEG <label>` and `val/<wnid>/ILSVRC2012_val_<8 digits>.JPEG <label>`, as the official lists.
  const firstLine = readFileSync(path.join(root, 'ImageNet_LT_train.txt'), 'utf8').split('\n')[0];
  assert.match(firstLine, /^train\/(n\d{8})\/\1_\d+\.JPEG \d+$/);
  for (const e of [...train, ...val, ...balanced]) assert.match(e.path, /^train\/(n\d{8})\/\1_\d+\.JPEG$/);
  for (const e of test_) assert.match(e.path, /^val\/n\d{8}\/ILSVRC2012_val_\d{8}\.JPEG$/);
  assert.deepEqual(labelCounts(train, 20), m.classCounts);
  assert.deepEqual(labelCounts(val, 20), new Array(20).fill(2));
  assert.deepEqual(labelCounts(test_, 20), new Array(20).fill(5));
  assert.deepEqual(labelCounts(balanced, 20), new Array(20).fill(m.balancedTwin!.perClass));
  // val is held out from train; the twin never uses a val image.
  const trainPaths = new Set(train.map((e) => e.path));
  const valPaths = new Set(val.map((e) => e.path));
  assert.equal(val.filter((e) => trainPaths.has(e.path)).length, 0);
  assert.equal(balanced.filter((e) => valPaths.has(e.path)).length, 0);
  // Class folders sort in label order, as ImageNet's WordNet ids.
  const classes = readFileSync(path.join(root, 'classes.txt'), 'utf8').trim().split('\n');
  assert.deepEqual(classes, info.sourceLabels.map((l) => `n${String(l).padStart(8, '0')}`));
  assert.ok(train.every((e) => e.path.startsWith(`train/${classes[e.label]}/`)));
  // Every listed image exists and is a tiny RGB JPEG.
  for (const e of [...train, ...val, ...test_, ...balanced]) assert.ok(existsSync(path.join(root, e.path)), e.path);
  const meta = await sharp(path.join(root, train[0].path)).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.equal(meta.channels, 3);
  assert.ok(meta.width! >= 16 && meta.width! <= 24 && meta.height! >= 16 && meta.height! <= 24);
});

test('generation is deterministic; a folder is reused with the same settings and refused otherwise (exit 3)', async () => {
  const base = tempDir('ltb-rehearsal-det-');
  const a = await ensureRehearsalDataset(path.join(base, 'a'));
  const b = await ensureRehearsalDataset(path.join(base, 'b'));
  for (const f of ['ImageNet_LT_train.txt', 'ImageNet_LT_val.txt', 'ImageNet_LT_test.txt', 'ImageNet_LT_balanced_train.txt']) {
    assert.equal(sha256(readFileSync(path.join(a.root, f))), sha256(readFileSync(path.join(b.root, f))), f);
  }
  const img = 'train/n00000029/n00000029_1.JPEG';
  assert.deepEqual(readFileSync(path.join(a.root, img)), readFileSync(path.join(b.root, img)));

  const again = await ensureRehearsalDataset(path.join(base, 'a'));
  assert.equal(again.created, false);
  await assert.rejects(ensureRehearsalDataset(path.join(base, 'a'), { seed: 1 }), (e: unknown) => e instanceof DataError && e.exitCode === 3 && /made with other settings/.test(e.message));
  const other = path.join(base, 'other');
  mkdirSync(other);
  writeFileSync(path.join(other, 'keep.txt'), 'mine');
  await assert.rejects(ensureRehearsalDataset(other), (e: unknown) => e instanceof DataError && /not a rehearsal dataset/.test(e.message));
  assert.equal(readFileSync(path.join(other, 'keep.txt'), 'utf8'), 'mine', 'never overwritten');
  // An empty folder is filled.
  const empty = path.join(base, 'empty');
  mkdirSync(empty);
  assert.equal((await ensureRehearsalDataset(empty)).created, true);
});
