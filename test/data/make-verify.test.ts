import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../../src/rng.js';
import { balancedTwin, makeClassFolderLongTail, makeImageNetLt, writeLongTailLists } from '../../src/data/make-lists.js';
import { gitBlobId, type DatasetManifest } from '../../src/data/manifests.js';
import { labelCounts } from '../../src/data/sources/image-list.js';
import { verifyLists } from '../../src/data/verify.js';
import { writeImageNetLike } from './image-fixtures.js';

const CLASSES = ['n01', 'n02', 'n03'];

/** A 3-class ImageNet-LT-like manifest: train 6/3/1, val 2/class, test 2/class, balanced 4/class. */
function tinyManifest(): DatasetManifest {
  return {
    name: 'tiny-lt',
    title: 'tiny',
    numClasses: 3,
    groupThresholds: { head: 4, tail: 2 },
    groups: { head: 1, middle: 1, tail: 1 },
    splits: {
      train: { file: 'T_train.txt', lines: 10, perClass: 'classCounts' },
      val: { file: 'T_val.txt', lines: 6, perClass: 2 },
      test: { file: 'T_test.txt', lines: 6, perClass: 2, gitBlobPrefix: '' },
    },
    balancedTwin: { perClass: 4, lines: 12, rule: 'BalFeat', confirmed: false },
    normalization: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    maxCount: 6,
    minCount: 1,
    total: 10,
    provenance: {},
    classCounts: [6, 3, 1],
  };
}

async function fixture(t: { after(fn: () => void): void }) {
  const root = mkdtempSync(path.join(tmpdir(), 'ltb-make-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // 9 train images per class: enough for 6 + 2 val, and for topping up the tail class to 4
  await writeImageNetLike(root, CLASSES, [9, 9, 9], 2);
  return root;
}

test('make imagenet-lt: exact counts, val from train disjoint from LT, test = full val, balanced twin LT-first', async (t) => {
  const root = await fixture(t);
  const m = tinyManifest();
  const lists = await makeImageNetLt({ imagenetRoot: root, seed: 1, manifest: m });
  assert.deepEqual(labelCounts(lists.train, 3), [6, 3, 1]);
  assert.deepEqual(labelCounts(lists.val, 3), [2, 2, 2]);
  assert.deepEqual(labelCounts(lists.test, 3), [2, 2, 2]);
  assert.ok(lists.train.every((e) => e.path.startsWith('train/')));
  assert.ok(lists.val.every((e) => e.path.startsWith('train/')));
  assert.ok(lists.test.every((e) => e.path.startsWith('val/')));
  const trainSet = new Set(lists.train.map((e) => e.path));
  assert.ok(lists.val.every((e) => !trainSet.has(e.path)));
  // balanced: 4 per class; class 0 (6 LT) -> 4 of its LT images; classes 1, 2 keep all LT images, topped up
  assert.deepEqual(labelCounts(lists.balanced, 3), [4, 4, 4]);
  const bal = new Set(lists.balanced.map((e) => e.path));
  assert.ok(lists.balanced.filter((e) => e.label === 0).every((e) => trainSet.has(e.path)));
  assert.ok(lists.train.filter((e) => e.label > 0).every((e) => bal.has(e.path)));
  for (const e of [...lists.val, ...lists.test]) assert.ok(!bal.has(e.path), `${e.path} in balanced`);
  // seeded
  assert.deepEqual(await makeImageNetLt({ imagenetRoot: root, seed: 1, manifest: m }), lists);
  assert.notDeepEqual((await makeImageNetLt({ imagenetRoot: root, seed: 2, manifest: m })).train, lists.train);
});

test('balanced twin refuses to top up from val images when the pool runs out', () => {
  const lt = [{ path: 'a', label: 0 }];
  const pool = [{ path: 'a', label: 0 }, { path: 'b', label: 0 }, { path: 'v', label: 0 }];
  assert.throws(
    () => balancedTwin({ ltTrain: lt, pool, exclude: [{ path: 'v', label: 0 }], numClasses: 1, perClass: 3, rng: new Rng(1) }),
    /class 0 has 1 LT images and only 1 others outside LT val\/test; needs 3/,
  );
});

test('verify: the made lists pass every check; gitBlob is recorded', async (t) => {
  const root = await fixture(t);
  const m = tinyManifest();
  const lists = await makeImageNetLt({ imagenetRoot: root, seed: 3, manifest: m });
  const files = await writeLongTailLists(path.join(root, 'lists'), 'T', lists);
  m.splits.test.gitBlobPrefix = gitBlobId(readFileSync(files.test)).slice(0, 8);
  const report = await verifyLists({
    numClasses: 3,
    root,
    manifest: m,
    lists: { train: files.train, val: files.val, test: files.test, balanced: files.balanced },
  });
  assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok)));
  assert.deepEqual(report.checks.map((c) => c.name), ['parse', 'paths', 'labels', 'duplicates', 'overlap', 'counts', 'balanced', 'images']);
  assert.equal(report.lists.find((l) => l.split === 'test')!.matchesOfficial, true);
  assert.equal(report.lists.find((l) => l.split === 'train')!.matchesOfficial, null);
  assert.deepEqual(report.lists.find((l) => l.split === 'train')!.counts, [6, 3, 1]);
});

test('verify: each kind of problem is reported with the file and line', async (t) => {
  const root = await fixture(t);
  const m = tinyManifest();
  const lists = await makeImageNetLt({ imagenetRoot: root, seed: 4, manifest: m });
  const files = await writeLongTailLists(path.join(root, 'lists'), 'T', lists);
  const train = readFileSync(files.train, 'utf8').split('\n').filter(Boolean);
  const used = new Set([...lists.train, ...lists.val].map((e) => e.path));
  const spare = Array.from({ length: 9 }, (_, i) => `train/n01/n01_${i}.JPEG`).find((p) => !used.has(p))!;
  // duplicate line, label out of range, a val image in train, a missing image, a corrupt image, a bad line
  appendFileSync(files.train, `${train[0]}\n${spare} 7\n${lists.val[0].path} ${lists.val[0].label}\ntrain/n09/gone.JPEG 1\nnot-a-line\n`);
  writeFileSync(path.join(root, lists.test[0].path), Buffer.from('garbage'));
  const report = await verifyLists({ numClasses: 3, root, manifest: m, lists: { train: files.train, val: files.val, test: files.test } });
  assert.equal(report.ok, false);
  const by = Object.fromEntries(report.checks.map((c) => [c.name, c]));
  assert.equal(by.parse.failures, 1);
  assert.match(by.parse.examples[0], /T_train\.txt:15: expected "<relative path> <label>"/);
  assert.equal(by.labels.failures, 1);
  assert.match(by.labels.examples[0], /T_train\.txt:12: label 7 outside 0\.\.2/);
  assert.equal(by.duplicates.failures, 1);
  assert.match(by.duplicates.examples[0], /T_train\.txt:11: .* repeats line 1/);
  assert.equal(by.overlap.failures, 1);
  assert.match(by.overlap.examples[0], /T_val\.txt:1: .* is also in the train list/);
  assert.equal(by.counts.ok, false);
  assert.match(by.counts.examples[0], /14 lines, tiny-lt train has 10/);
  assert.equal(by.images.failures, 2);
  assert.match(by.images.examples.join('\n'), /gone\.JPEG: missing/);
  assert.match(by.images.examples.join('\n'), /val_\d_\d\.png: unreadable/);
});

test('Pareto long-tailed split of a class folder: balanced test held out, counts within availability, twin balanced', async (t) => {
  const root = await fixture(t);
  const lists = await makeClassFolderLongTail({ root: path.join(root, 'train'), seed: 5, valPerClass: 1, testPerClass: 2, min: 1, max: 6, balancedPerClass: 3 });
  assert.deepEqual(labelCounts(lists.test, 3), [2, 2, 2]);
  assert.deepEqual(labelCounts(lists.val, 3), [1, 1, 1]);
  assert.deepEqual(labelCounts(lists.train, 3), lists.counts);
  assert.equal(Math.max(...lists.counts), 6);
  assert.equal(Math.min(...lists.counts), 1);
  assert.deepEqual(labelCounts(lists.balanced, 3), [3, 3, 3]);
  const held = new Set([...lists.val, ...lists.test].map((e) => e.path));
  assert.ok([...lists.train, ...lists.balanced].every((e) => !held.has(e.path)));
});
