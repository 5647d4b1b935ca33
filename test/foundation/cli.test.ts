/** The built CLI, spawned as a user runs it: exit codes, messages, --json. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend, writeYaml } from './helpers.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('validate: a typo exits 2 naming the file and the key', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', { dataset: { name: 'fashion-mnist' }, backbone: { name: 'resnet8' }, method: { name: 'softmax' }, train: { epochs: 1, bachSize: 8 } });
  const r = cli(['validate', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: train: unknown key 'bachSize'`));
});

const shippedLeaves = readdirSync(path.join(packageRoot, 'recipes'), { recursive: true, encoding: 'utf8' })
  // The ImageNet-LT study's sweep file (recipes/imagenet-lt/study.yaml) is not a recipe.
  .filter((f) => f.endsWith('.yaml') && !f.split(path.sep).includes('_base') && f !== path.join('imagenet-lt', 'study.yaml'))
  .map((f) => path.join(packageRoot, 'recipes', f));

test('validate: every shipped leaf recipe is valid, the ImageNet-LT study included (base pieces under _base/ are partial)', () => {
  assert.ok(shippedLeaves.some((f) => f.includes(`${path.sep}imagenet-lt${path.sep}table5${path.sep}`)));
  assert.ok(shippedLeaves.length >= 100);
  const r = cli(['validate', ...shippedLeaves]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, shippedLeaves.length);
});

test('run: missing data exits 3 and says where it looked and what to do', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', { dataset: { name: 'fashion-mnist' }, backbone: { name: 'resnet8' }, method: { name: 'softmax' }, train: { epochs: 1 } });
  // An empty data root (a root that does not exist at all: test/cli/exit-codes.test.ts).
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  const r = cli(['run', file, '--data-root', empty, '--output', dir]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /no train-images-idx3-ubyte/);
  assert.match(r.stderr, /--data-root/);
});

test('run --json prints run.json; a second run reuses it', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', {
    dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 12, testPerClass: 4, size: 6 } },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 1, batchSize: 8 },
    eval: { thresholds: { head: 5, tail: 3 } },
  });
  const r = cli(['run', file, '--json', '--output', dir, '--backend', testBackend]);
  assert.equal(r.code, 0, r.stderr);
  const rec = JSON.parse(r.stdout);
  assert.equal(rec.status, 'finished');
  assert.equal(rec.environment.backend, testBackend);
  // Both CPU engines use every core by default (wasm: the threaded build), and the record says so.
  if (testBackend === 'wasm' || testBackend === 'torch') assert.equal(rec.environment.threads, os.availableParallelism());
  const again = cli(['run', file, '--output', dir, '--backend', testBackend]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /existing record reused/);
  assert.match(again.stdout, /Acc\s+UA\s+RA\s+Head\s+Middle\s+Tail/);
});

test('run --dry-run prints the resolved recipe with defaults and its hash', () => {
  const r = cli(['run', path.join(packageRoot, 'recipes', 'quickstart.yaml'), '--dry-run', '--set', 'train.epochs=2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /# recipe hash [0-9a-f]{64}/);
  assert.match(r.stdout, /epochs: 2/);
  assert.match(r.stdout, /momentum: 0.9/);
});

test('methods --json lists every method with family, tag and defaults', () => {
  const r = cli(['methods', '--json']);
  assert.equal(r.code, 0);
  const rows = JSON.parse(r.stdout);
  const names = rows.map((m: any) => m.name);
  for (const n of ['softmax', 'balanced-softmax', 'ldam-drw', 'uno-ic']) assert.ok(names.includes(n), n);
  const focal = rows.find((m: any) => m.name === 'focal');
  assert.equal(focal.family, 'CR');
  assert.equal(focal.defaults.gamma, 2);
  assert.deepEqual(focal.tags, ['CSL']);
  assert.deepEqual(focal.table.rows, [{ paper: 'Focal loss', params: {} }]);
  assert.deepEqual(focal.table.splitBy, ['detach']);
  const crt = rows.find((m: any) => m.name === 'decouple-crt');
  assert.deepEqual(crt.stages, ['train', 'classifier:crt']);
  assert.equal(crt.table.rows.length, 4);
});

test('an unknown backend is a usage error (exit 2)', () => {
  const r = cli(['run', path.join(packageRoot, 'recipes', 'quickstart.yaml'), '--backend', 'metal']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /expected one of torch, tensorflow-gpu, tensorflow, wasm, cpu/);
});

test('Ctrl-C saves last and exits 130; the same command then resumes and finishes', async () => {
  const { spawn } = await import('node:child_process');
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', {
    dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 40, testPerClass: 4, size: 6 } },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 40, batchSize: 4 },
    eval: { thresholds: { head: 5, tail: 3 } },
  });
  const args = [bin, 'run', file, '--output', dir, '--backend', testBackend];
  const child = spawn(process.execPath, args, { env: { ...process.env, CI: 'true' } });
  let stderr = '';
  const code: number | null = await new Promise((resolve) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/epoch 1:/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /'last' saved/);
  const resumed = cli(['run', file, '--output', dir, '--backend', testBackend, '--set', 'train.epochs=40']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming at epoch/);
  assert.match(resumed.stdout, /40 epochs/);
});

test('data stats --dataset imagenet-lt works from the manifest alone', () => {
  const r = cli(['data', 'stats', '--dataset', 'imagenet-lt', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.train.total, 115846);
  assert.deepEqual([s.train.max, s.train.min], [1280, 5]);
  assert.deepEqual(s.train.groups, { head: 385, middle: 479, tail: 136 });
  assert.equal(cli(['data', 'stats']).code, 2);
});

test('data verify exits 3 naming the failed checks of a bad list', () => {
  const dir = tempDir();
  const list = writeYaml(dir, 'val.txt', 'train/n01/a.JPEG 0\ntrain/n01/a.JPEG 0\ntrain/n02/b.JPEG 1000\n');
  const r = cli(['data', 'verify', '--dataset', 'imagenet-lt', '--val', list]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /FAIL labels/);
  assert.match(r.stdout, /FAIL duplicates/);
  assert.match(r.stderr, /data verify: .*labels.*failed/);
});
