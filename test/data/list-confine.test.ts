/**
 * Image-list paths are confined to their root: absolute paths and `..` that leave it are refused
 * (lexically, once per list, before any image is read); symlinks inside the root keep working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DataError } from '../../src/errors.js';
import { ImageListSource, escapesRoot, type ImageList } from '../../src/data/sources/image-list.js';
import { packageRoot } from '../../src/version.js';
import { writeImage } from './image-fixtures.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** dir/root/c0/a.png (inside), dir/outside.png (a valid image outside the root), dir/real/c1/b.png linked as root/c1. */
async function fixture(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ltb-confine-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  await writeImage(path.join(root, 'c0', 'a.png'), { width: 12, height: 10, seed: 1, format: 'png' });
  await writeImage(path.join(dir, 'outside.png'), { width: 12, height: 10, seed: 2, format: 'png' });
  await writeImage(path.join(dir, 'real', 'c1', 'b.png'), { width: 12, height: 10, seed: 3, format: 'png' });
  // The usual ImageNet layout: a folder of the root is a symlink to another disk.
  symlinkSync(path.join(dir, 'real', 'c1'), path.join(root, 'c1'));
  return { dir, root };
}

function list(dir: string, name: string, lines: string[]): string {
  const f = path.join(dir, name);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

test('escapesRoot: absolute paths and ".." above the root escape; ".." that stays inside does not', () => {
  for (const p of ['../../etc/passwd', '/etc/passwd', '..', '../x.png', './../x.png', 'a/../../b.png', 'train/n01/../../../x.png'])
    assert.equal(escapesRoot(p), true, p);
  for (const p of ['train/n01/x.JPEG', 'train/../val/x.png', 'a/b/../../c.png', '..foo/x.png', 'foo../x.png', './x.png', 'my dir/y 1.png'])
    assert.equal(escapesRoot(p), false, p);
});

test('ImageListSource.open refuses a list whose path leaves the root, naming the file, line and path', async (t) => {
  const { dir, root } = await fixture(t);
  const bad = list(dir, 'bad.txt', ['c0/a.png 0', 'c1/b.png 1', '../outside.png 1', '/etc/passwd 0']);
  await assert.rejects(
    ImageListSource.open({ root, numClasses: 2, lists: { test: bad }, workers: 0 }),
    (e: unknown) =>
      e instanceof DataError &&
      e.exitCode === 3 &&
      e.file === bad &&
      e.message.startsWith(`${bad}:3: image path "../outside.png" leaves the image root ${root}`) &&
      /2 such lines in all/.test(e.message),
  );
});

test('a symlinked folder inside the root still decodes; a list already read is used as given (not read again)', async (t) => {
  const { dir, root } = await fixture(t);
  const ok = list(dir, 'ok.txt', ['c0/a.png 0', 'c1/b.png 1', 'c1/../c0/a.png 0']);
  const src = await ImageListSource.open({ root, numClasses: 2, lists: { test: ok }, workers: 0, transform: { size: 8 } });
  try {
    const batches = [];
    for await (const b of src.batches('test', Int32Array.from([0, 1, 2]), 3)) batches.push(b);
    assert.equal(batches.length, 1);
    assert.deepEqual(Array.from(batches[0].y), [0, 1, 0]);
    assert.equal(batches[0].n, 3);
  } finally {
    await src.close();
  }
  // A pre-read list: its file need not exist any more (one parse serves the split and the pipeline),
  // and it is still checked against the root.
  const given: ImageList = { file: path.join(dir, 'gone.txt'), entries: [{ path: 'c1/b.png', label: 1, line: 1 }], problems: [], sha256: '', gitBlob: '' };
  const pre = await ImageListSource.open({ root, numClasses: 2, lists: { test: given }, workers: 0 });
  assert.equal(pre.entries('test').length, 1);
  await pre.close();
  const escaping: ImageList = { ...given, entries: [{ path: '../outside.png', label: 1, line: 7 }] };
  await assert.rejects(ImageListSource.open({ root, numClasses: 2, lists: { test: escaping }, workers: 0 }), /gone\.txt:7: image path "\.\.\/outside\.png" leaves the image root/);
});

test('lt-bench data verify: a path leaving the root fails the paths check (exit 3, naming file:line:path) and is never opened', async (t) => {
  const { dir, root } = await fixture(t);
  const bad = list(dir, 'lists/train.txt', ['c0/a.png 0', '../outside.png 1', `${path.join(dir, 'outside.png')} 1`, 'c1/b.png 1']);
  const r = cli(['data', 'verify', '--dataset', 'image-list', '--num-classes', '2', '--train', bad, '--root', root, '--json']);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`data verify: paths failed; first: ${bad}:2: \\.\\./outside\\.png leaves the image root`));
  const report = JSON.parse(r.stdout) as { checks: Array<{ name: string; ok: boolean; failures: number; message: string; examples: string[] }> };
  const paths = report.checks.find((c) => c.name === 'paths')!;
  assert.equal(paths.ok, false);
  assert.equal(paths.failures, 2);
  assert.match(paths.examples[1], new RegExp(`${bad}:3: ${path.join(dir, 'outside.png')} leaves`));
  // Only the two images inside the root (one through the symlinked c1/) were checked.
  const images = report.checks.find((c) => c.name === 'images')!;
  assert.equal(images.ok, true);
  assert.match(images.message, /^2 images present and readable/);

  const good = list(dir, 'lists/good.txt', ['c0/a.png 0', 'c1/b.png 1']);
  const ok = cli(['data', 'verify', '--dataset', 'image-list', '--num-classes', '2', '--train', good, '--root', root]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ok {3}paths: /);
  assert.match(ok.stdout, /ok {3}images: 2 images present and readable/);
});
