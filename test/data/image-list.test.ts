import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BadImageError, ImageListSource, formatImageList, parseImageList, readImageList } from '../../src/data/sources/image-list.js';
import { scanClassFolder } from '../../src/data/sources/class-folder.js';
import { readListStrict } from '../../src/data/run-data.js';
import { sha256 } from '../../src/recipe/hash.js';
import { writeImage, writeImageNetLike } from './image-fixtures.js';

test('list parsing: "<path> <label>", paths with spaces, CRLF, errors with line numbers', async (t) => {
  const { entries, problems } = parseImageList('train/a/x.JPEG 0\r\n\nmy dir/y 1.png 2\nbroken\nz.png -1\n');
  assert.deepEqual(entries, [
    { path: 'train/a/x.JPEG', label: 0, line: 1 },
    { path: 'my dir/y 1.png', label: 2, line: 3 },
  ]);
  assert.deepEqual(problems.map((p) => p.line), [4, 5]);
  assert.equal(formatImageList(entries), 'train/a/x.JPEG 0\nmy dir/y 1.png 2\n');
  const dir = mkdtempSync(path.join(tmpdir(), 'ltb-list-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'l.txt'), 'a.png 0\nb.png x\n');
  await assert.rejects(readImageList(path.join(dir, 'l.txt')), /l\.txt:2: label "x" is not a non-negative integer/);
  const ok = await readImageList(path.join(dir, 'l.txt'), { strict: false });
  assert.equal(ok.entries.length, 1);
  assert.match(ok.sha256, /^[0-9a-f]{64}$/);
});

test('readListStrict: one parse serves a run\'s planning and its pipeline while the file is unchanged; a changed file is read again', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ltb-list-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'train.txt');
  writeFileSync(file, 'a.png 0\nb.png 1\n');
  const first = readListStrict(file, 2);
  assert.equal(readListStrict(file, 2), first, 'the same parsed list');
  assert.equal(first.sha256, sha256('a.png 0\nb.png 1\n'));
  // The label check still applies to each caller's class count.
  assert.throws(() => readListStrict(file, 1), /train\.txt:2: label 1 is outside 0\.\.0/);
  writeFileSync(file, 'a.png 0\nb.png 1\nc.png 1\n');
  const changed = readListStrict(file, 2);
  assert.notEqual(changed, first);
  assert.deepEqual(changed.entries.map((e) => e.path), ['a.png', 'b.png', 'c.png']);
  assert.equal(changed.sha256, sha256('a.png 0\nb.png 1\nc.png 1\n'));
});

test('class folders: sorted class names as labels, prefix, a flat folder is explained', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'ltb-cf-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  await writeImageNetLike(root, ['n02', 'n01'], [2, 1], 1);
  const idx = await scanClassFolder(path.join(root, 'train'), { prefix: 'train/' });
  assert.deepEqual(idx.classes, ['n01', 'n02']);
  assert.deepEqual(idx.entries.map((e) => `${e.path} ${e.label}`), ['train/n01/n01_0.JPEG 0', 'train/n02/n02_0.JPEG 1', 'train/n02/n02_1.JPEG 1']);
  await writeImage(path.join(root, 'flat', 'ILSVRC2012_val_00000001.JPEG'), { width: 8, height: 8, seed: 0, format: 'jpeg' });
  await assert.rejects(scanClassFolder(path.join(root, 'flat')), /no class folders found.*sort it into class folders/);
  await assert.rejects(scanClassFolder(path.join(root, 'val'), { classes: ['n01'] }), /"n02" is not among the 1 known classes/);
});

test('image-list source: batches in order with labels, workers give the same pixels as the calling thread, prefetch', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'ltb-src-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  await writeImageNetLike(root, ['n01', 'n02', 'n03'], [3, 2, 1], 2);
  const train = (await scanClassFolder(path.join(root, 'train'), { prefix: 'train/' })).entries;
  const test_ = (await scanClassFolder(path.join(root, 'val'), { prefix: 'val/' })).entries;
  writeFileSync(path.join(root, 'train.txt'), formatImageList(train));
  writeFileSync(path.join(root, 'test.txt'), formatImageList(test_));
  const common = { root, numClasses: 3, lists: { train: path.join(root, 'train.txt'), test: path.join(root, 'test.txt') }, transform: { size: 16 } };
  const inline = await ImageListSource.open({ ...common, workers: 0 });
  const pooled = await ImageListSource.open({ ...common, workers: 2, prefetch: 3 });
  t.after(() => pooled.close());
  const order = Int32Array.from([5, 0, 3, 1, 4, 2]);
  const collect = async (s: ImageListSource) => {
    const out = [];
    for await (const b of s.batches('train', order, 4, { seed: 7, epoch: 1 })) out.push(b);
    return out;
  };
  const a = await collect(inline);
  const b = await collect(pooled);
  assert.deepEqual(a.map((x) => Array.from(x.y)), [[2, 0, 1, 0], [1, 0]]);
  assert.equal(a[0].x.length, 4 * 16 * 16 * 3);
  assert.deepEqual(a.map((x) => x.x), b.map((x) => x.x));
  assert.equal(pooled.stats().images, 6);
  assert.ok(pooled.stats().imagesPerSecond > 0);
  // test mode: centre crop, no randomness -> same for any seed
  const t1 = (await collect2(pooled, 1))[0].x;
  const t2 = (await collect2(pooled, 2))[0].x;
  assert.deepEqual(t1, t2);
  assert.equal(pooled.files().length, 2);
});

async function collect2(s: ImageListSource, seed: number) {
  const out = [];
  for await (const b of s.batches('test', Int32Array.from([0, 1, 2]), 8, { seed })) out.push(b);
  return out;
}

test('a corrupt or missing image is an error naming the file, or counted when skipping', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'ltb-bad-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  await writeImage(path.join(root, 'good.jpg'), { width: 20, height: 20, seed: 1, format: 'jpeg' });
  writeFileSync(path.join(root, 'bad.jpg'), Buffer.from('not a jpeg at all'));
  writeFileSync(path.join(root, 'l.txt'), 'good.jpg 0\nbad.jpg 1\nmissing.jpg 1\n');
  const opts = { root, numClasses: 2, lists: { train: path.join(root, 'l.txt'), test: path.join(root, 'l.txt') }, transform: { size: 8 }, workers: 1 };
  const strict = await ImageListSource.open(opts);
  t.after(() => strict.close());
  await assert.rejects(
    (async () => {
      for await (const _ of strict.batches('train', Int32Array.from([0, 1, 2]), 3)) void _;
    })(),
    (e: unknown) => e instanceof BadImageError && e.file === path.join(root, 'bad.jpg'),
  );
  const skip = await ImageListSource.open({ ...opts, badImages: 'skip' });
  t.after(() => skip.close());
  const batches = [];
  for await (const b of skip.batches('train', Int32Array.from([0, 1, 2]), 3)) batches.push(b);
  assert.equal(batches[0].n, 1);
  assert.deepEqual(Array.from(batches[0].y), [0]);
  assert.equal(batches[0].x.length, 8 * 8 * 3);
  assert.equal(skip.stats().skipped, 2);
  await assert.rejects(
    ImageListSource.open({ ...opts, numClasses: 1 }),
    /l\.txt:2: label 1 is outside 0\.\.0/,
  );
});
