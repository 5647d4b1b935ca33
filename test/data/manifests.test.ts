import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { countStats, expectedCounts, gitBlobId, loadManifest, manifestStats } from '../../src/data/manifests.js';

test('ImageNet-LT manifest: 115,846 images, max 1,280, min 5, groups 385/479/136, splits 20,000 / 50,000', () => {
  const m = loadManifest('imagenet-lt');
  const s = manifestStats(m);
  assert.equal(s.train!.total, 115846);
  assert.equal(s.train!.max, 1280);
  assert.equal(s.train!.min, 5);
  assert.equal(s.train!.imbalanceRatio, 256);
  assert.deepEqual(s.train!.groups, { head: 385, middle: 479, tail: 136 });
  assert.equal(s.splits.val.lines, 20000);
  assert.equal(s.splits.test.lines, 50000);
  // sorted descending: 1280, 1246, 1173, ..., 101 at rank 385, 100 at 386, 20 at 864, 19 at 865
  const sorted = m.classCounts!.slice().sort((a, b) => b - a);
  assert.deepEqual(sorted.slice(0, 7), [1280, 1246, 1173, 1121, 1053, 819, 787]);
  assert.deepEqual([sorted[384], sorted[385], sorted[863], sorted[864]], [101, 100, 20, 19]);
  assert.deepEqual(expectedCounts(m, 'val'), new Array(1000).fill(20));
  assert.equal(m.splits.train.gitBlobPrefix, 'a063f095');
});

test('Places-LT manifest: 365 classes, 62,500, 4,980 .. 5, groups 131/163/71; iNat2018 stated figures', () => {
  const p = manifestStats(loadManifest('places-lt'));
  assert.equal(p.numClasses, 365);
  assert.equal(p.train!.total, 62500);
  assert.deepEqual([p.train!.max, p.train!.min], [4980, 5]);
  assert.deepEqual(p.train!.groups, { head: 131, middle: 163, tail: 71 });
  assert.deepEqual([p.splits.val.lines, p.splits.test.lines], [7300, 36500]);
  const i = manifestStats(loadManifest('inat2018'));
  assert.equal(i.train, null);
  assert.deepEqual(i.stated, { total: 437513, max: 1000, min: 2, imbalanceRatio: 500 });
  assert.equal(i.splits.test.lines, 24426);
});

test('countStats: thresholds as the survey (head > 100, tail < 20), checksum of the vector', () => {
  const s = countStats([101, 100, 20, 19, 0]);
  assert.deepEqual(s.classGroups, ['head', 'middle', 'middle', 'tail', 'tail']);
  assert.equal(s.imbalanceRatio, 101 / 19);
  assert.equal(s.checksum, countStats([101, 100, 20, 19, 0]).checksum);
  assert.notEqual(s.checksum, countStats([101, 100, 20, 19, 1]).checksum);
});

test('a manifest whose counts disagree with its totals is rejected', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ltb-man-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const m = loadManifest('places-lt');
  m.classCounts![0] += 1;
  const file = path.join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify(m));
  assert.throws(() => loadManifest(file), /classCounts sum to 62501, total says 62500/);
  assert.throws(() => loadManifest('cifar-lt'), /no manifest for "cifar-lt".*imagenet-lt/);
});

test('gitBlobId equals git hash-object', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ltb-blob-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'list.txt');
  const content = Buffer.from('train/n01440764/n01440764_762.JPEG 0\n');
  writeFileSync(file, content);
  let expected: string;
  try {
    expected = execFileSync('git', ['hash-object', file], { encoding: 'utf8' }).trim();
  } catch {
    t.skip('git not available');
    return;
  }
  assert.equal(gitBlobId(content), expected);
});
