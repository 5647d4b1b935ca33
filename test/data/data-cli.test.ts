/**
 * `lt-bench data stats|make|verify` as a user types them: JSON shapes, settable held-out sizes,
 * verifying what `data make class-folder` wrote, and one-line errors (exit 3) for missing data.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { packageRoot } from '../../src/version.js';
import { writeImage } from './image-fixtures.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const e: Record<string, string | undefined> = { ...process.env, CI: 'true', ...env };
  for (const [k, v] of Object.entries(e)) if (v === undefined) delete e[k];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: e });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  return lines[0];
}

let dir: string;
const CLASSES = ['ant', 'bee', 'cat'];

/** dir/cf/<class>/img_<i>.png: 40 tiny images per class. */
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ltb-data-cli-'));
  for (let c = 0; c < CLASSES.length; c++)
    for (let i = 0; i < 40; i++) await writeImage(path.join(dir, 'cf', CLASSES[c], `img_${i}.png`), { width: 8, height: 8, seed: c * 40 + i, format: 'png' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const perClass = (file: string) => {
  const counts = new Array<number>(CLASSES.length).fill(0);
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) counts[Number(line.split(' ').pop())]++;
  return counts;
};

test('data make class-folder with 40 images per class: the default 50 test + 20 val is one clear error (exit 3)', () => {
  const r = cli(['data', 'make', 'class-folder', '--root', path.join(dir, 'cf'), '--out', path.join(dir, 'never')]);
  assert.equal(r.code, 3, r.stderr);
  const line = oneLine(r.stderr);
  assert.match(line, new RegExp(`${path.join(dir, 'cf', 'ant')}: 40 images; each class needs 50 test \\+ 20 val \\+ at least 1 train = 71 \\(3 of 3 classes have fewer; the smallest has 40\\)`));
  assert.match(line, /--test-per-class \/ --val-per-class/);
  // A bad value is a usage error.
  assert.equal(cli(['data', 'make', 'class-folder', '--root', path.join(dir, 'cf'), '--out', path.join(dir, 'never'), '--val-per-class', '-1']).code, 2);
  assert.equal(cli(['data', 'make', 'imagenet-lt', '--root', path.join(dir, 'cf'), '--out', path.join(dir, 'never'), '--test-per-class', '5']).code, 2);
});

test('data make class-folder --test-per-class/--val-per-class, then data verify --dataset image-list verifies what it wrote', () => {
  const out = path.join(dir, 'lists');
  const r = cli(['data', 'make', 'class-folder', '--root', path.join(dir, 'cf'), '--out', out, '--test-per-class', '10', '--val-per-class', '5', '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(perClass(path.join(out, 'LT_test.txt')), [10, 10, 10]);
  assert.deepEqual(perClass(path.join(out, 'LT_val.txt')), [5, 5, 5]);
  // The largest class keeps all 40 − 10 − 5 = 25 of its remaining images.
  const train = perClass(path.join(out, 'LT_train.txt'));
  assert.equal(Math.max(...train), 25);
  assert.equal(readFileSync(path.join(out, 'classes.txt'), 'utf8'), 'ant\nbee\ncat\n');

  const lists = ['--train', 'LT_train.txt', '--val', 'LT_val.txt', '--test', 'LT_test.txt', '--balanced', 'LT_balanced_train.txt'].map((a) => (a.startsWith('--') ? a : path.join(out, a)));
  // Classes from the classes.txt beside the lists.
  const v = cli(['data', 'verify', '--dataset', 'image-list', ...lists, '--root', path.join(dir, 'cf'), '--json']);
  assert.equal(v.code, 0, v.stderr);
  const report = JSON.parse(v.stdout) as { ok: boolean; lists: Array<{ split: string; counts: number[] }>; checks: Array<{ name: string; ok: boolean; message: string }> };
  assert.equal(report.ok, true);
  assert.deepEqual(report.checks.map((c) => c.name), ['parse', 'paths', 'labels', 'duplicates', 'overlap', 'balanced', 'images']);
  assert.deepEqual(report.lists.find((l) => l.split === 'test')!.counts, [10, 10, 10]);
  // Every distinct image of the four lists is checked once.
  const distinct = new Set(lists.filter((a) => !a.startsWith('--')).flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => l.split(' ')[0])));
  assert.equal(report.checks.find((c) => c.name === 'images')!.message, `${distinct.size} images present and readable (header check)`);

  // --num-classes that the labels exceed: the labels check fails, exit 3.
  const small = cli(['data', 'verify', '--dataset', 'image-list', '--num-classes', '2', '--train', path.join(out, 'LT_train.txt')]);
  assert.equal(small.code, 3, small.stderr);
  assert.match(small.stdout, /FAIL labels: \d+ labels out of range/);
  assert.match(oneLine(small.stderr), /data verify: labels failed; first: .*LT_train\.txt:\d+: label 2 outside 0\.\.1/);
  // A --root that does not exist is one line, not every image reported missing.
  const noRoot = cli(['data', 'verify', '--dataset', 'image-list', '--train', path.join(out, 'LT_train.txt'), '--root', path.join(dir, 'no-root')]);
  assert.equal(noRoot.code, 3, noRoot.stderr);
  assert.equal(oneLine(noRoot.stderr), `lt-bench: ${path.join(dir, 'no-root')}: no such folder (expected the image root the list paths are relative to)`);
  // No --num-classes and no classes.txt beside the list: a usage error.
  writeFileSync(path.join(dir, 'alone.txt'), 'ant/img_0.png 0\n');
  assert.equal(cli(['data', 'verify', '--dataset', 'image-list', '--train', path.join(dir, 'alone.txt')]).code, 2);
});

test('data stats --dataset imagenet-lt --json: a classCounts array (1000 classes, 115,846 images, groups 385/479/136)', () => {
  const r = cli(['data', 'stats', '--dataset', 'imagenet-lt', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.ok(Array.isArray(s.classCounts), 'classCounts is an array');
  assert.equal(s.classCounts.length, 1000);
  assert.ok(s.classCounts.every((n: unknown) => Number.isInteger(n)));
  assert.equal(s.classCounts.reduce((a: number, b: number) => a + b, 0), 115846);
  assert.deepEqual([Math.max(...s.classCounts), Math.min(...s.classCounts)], [1280, 5]);
  // Groups by the survey's thresholds, counted here from the array itself.
  const head = s.classCounts.filter((n: number) => n > 100).length;
  const tail = s.classCounts.filter((n: number) => n < 20).length;
  assert.deepEqual([head, 1000 - head - tail, tail], [385, 479, 136]);
  assert.deepEqual(s.train.groups, { head: 385, middle: 479, tail: 136 });
  // The array is the manifest's, label for label.
  const manifest = JSON.parse(readFileSync(path.join(packageRoot, 'datasets', 'imagenet-lt', 'manifest.json'), 'utf8'));
  assert.deepEqual(s.classCounts, manifest.classCounts);
  // No per-class field is a string any more: val/test have a constant, train varies (null).
  assert.deepEqual(
    Object.fromEntries(Object.entries(s.splits as Record<string, { perClass: unknown }>).map(([k, v]) => [k, v.perClass])),
    { train: null, val: 20, test: 50 },
  );
  assert.doesNotMatch(r.stdout, /: "classCounts"/);
  // iNaturalist 2018's counts are unknown: null, not a string.
  assert.equal(JSON.parse(cli(['data', 'stats', '--dataset', 'inat2018', '--json']).stdout).classCounts, null);
});

test('data stats --recipe FILE --json: the classCounts array of the split the recipe trains on', () => {
  const lines = (counts: number[], prefix: string) => counts.flatMap((n, c) => Array.from({ length: n }, (_, i) => `${CLASSES[c]}/${prefix}_${i}.png ${c}`)).join('\n') + '\n';
  writeFileSync(path.join(dir, 'r-train.txt'), lines([5, 3, 1], 'img'));
  writeFileSync(path.join(dir, 'r-test.txt'), lines([2, 2, 2], 'test'));
  const recipe = path.join(dir, 'stats.yaml');
  writeFileSync(
    recipe,
    stringify({
      name: 'stats-list',
      dataset: { name: 'image-list', numClasses: 3, root: 'cf', lists: { train: 'r-train.txt', test: 'r-test.txt' }, valSource: 'test' },
      backbone: { name: 'resnet8' },
      method: { name: 'softmax' },
      train: { epochs: 1, batchSize: 4 },
      eval: { thresholds: { head: 4, tail: 2 } },
    }),
  );
  const r = cli(['data', 'stats', '--recipe', recipe, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(s.classCounts, [5, 3, 1]);
  assert.equal(s.total, 9);
  assert.equal(s.imbalanceRatio, 5);
  // head: > 4, tail: < 2
  assert.deepEqual(s.groups, { head: 1, middle: 1, tail: 1 });
  assert.deepEqual(s.sizes, { train: 9, val: 6, test: 6 });
});

test('data stats --dataset cifar10 with no data, data make on a missing root: one line naming the path and what was expected (exit 3)', () => {
  const noData = cli(['data', 'stats', '--dataset', 'cifar10'], { LT_BENCH_DATA: undefined });
  assert.equal(noData.code, 3, noData.stderr);
  assert.match(oneLine(noData.stderr), /cifar10: no dataset location; pass --data-root DIR.*cifar-10-batches-bin/);

  const missing = path.join(dir, 'no-cifar');
  const r = cli(['data', 'stats', '--dataset', 'cifar10', '--data-root', missing]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(oneLine(r.stderr), new RegExp(`--data-root ${missing}: no such directory`));

  // A root that exists but lacks CIFAR's files names the file it looked for.
  const empty = path.join(dir, 'empty-root');
  mkdirSync(empty, { recursive: true });
  const e = cli(['data', 'stats', '--dataset', 'cifar10', '--data-root', empty]);
  assert.equal(e.code, 3, e.stderr);
  assert.match(oneLine(e.stderr), new RegExp(`missing file ${path.join(empty, 'cifar-10-batches-bin', 'data_batch_1.bin')}`));

  const nowhere = path.join(dir, 'nowhere');
  const cf = cli(['data', 'make', 'class-folder', '--root', nowhere, '--out', path.join(dir, 'out')]);
  assert.equal(cf.code, 3, cf.stderr);
  assert.equal(oneLine(cf.stderr), `lt-bench: ${nowhere}: no such folder (expected a class-folder dataset: <root>/<class>/<image>, one folder of images per class)`);
  const inet = cli(['data', 'make', 'imagenet-lt', '--root', nowhere, '--out', path.join(dir, 'out')]);
  assert.equal(inet.code, 3, inet.stderr);
  assert.equal(oneLine(inet.stderr), `lt-bench: ${nowhere}: no such folder (expected the ImageNet-2012 root, holding train/<wnid>/*.JPEG and val/<wnid>/*.JPEG)`);
  // A root that is a file.
  const file = path.join(dir, 'alone.txt');
  writeFileSync(file, 'x\n');
  assert.match(oneLine(cli(['data', 'make', 'class-folder', '--root', file, '--out', path.join(dir, 'out')]).stderr), /alone\.txt: not a folder \(expected a class-folder dataset/);

  // --out that is a file: a usage error, one line.
  const outFile = cli(['data', 'make', 'class-folder', '--root', path.join(dir, 'cf'), '--out', file, '--test-per-class', '1', '--val-per-class', '1']);
  assert.equal(outFile.code, 2, outFile.stderr);
  assert.equal(oneLine(outFile.stderr), `lt-bench: --out ${file}: is a file, not a directory`);

  // With data, --dataset of an in-memory dataset counts its full train set.
  const synth = cli(['data', 'stats', '--dataset', 'synthetic', '--json']);
  assert.equal(synth.code, 0, synth.stderr);
  const s = JSON.parse(synth.stdout);
  assert.equal(s.classCounts.length, s.numClasses);
  assert.equal(s.classCounts.reduce((a: number, b: number) => a + b, 0), s.train.total);
  // An unknown name is a usage error.
  assert.equal(cli(['data', 'stats', '--dataset', 'mnist']).code, 2);
});
