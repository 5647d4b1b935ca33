/**
 * How many threads decode images: the decoding workers default to the cores given − 1
 * (SLURM_CPUS_PER_TASK in a Slurm task), bounded by libuv's pool, which the CLI launcher sizes to
 * the cores given before anything loads; `--workers N` sets dataset.workers for image lists only,
 * outside the run id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { coresGiven, defaultWorkerCount, libuvPoolSize } from '../../src/data/image-pipeline.js';
import { packageRoot } from '../../src/version.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const merged: NodeJS.ProcessEnv = { ...process.env, CI: 'true', ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: merged });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the cores given are SLURM_CPUS_PER_TASK in a Slurm task; workers are one fewer, at least 1, at most the libuv pool', () => {
  assert.equal(coresGiven({ SLURM_CPUS_PER_TASK: '16' }), 16);
  assert.equal(coresGiven({ SLURM_CPUS_PER_TASK: 'x' }), coresGiven({}), 'a malformed value falls back to the CPUs the process may use');
  assert.equal(libuvPoolSize({}), 4, "libuv's default");
  assert.equal(libuvPoolSize({ UV_THREADPOOL_SIZE: '12' }), 12);
  assert.equal(libuvPoolSize({ UV_THREADPOOL_SIZE: '5000' }), 1024, "libuv's maximum");
  assert.equal(defaultWorkerCount({ SLURM_CPUS_PER_TASK: '16', UV_THREADPOOL_SIZE: '16' }), 15);
  assert.equal(defaultWorkerCount({ SLURM_CPUS_PER_TASK: '16' }), 4, 'a pool of 4 runs at most 4 decodes at once');
  assert.equal(defaultWorkerCount({ SLURM_CPUS_PER_TASK: '1', UV_THREADPOOL_SIZE: '4' }), 1);
});

test('the CLI launcher sizes the libuv pool to the cores given before loading anything, and keeps a size the user set', () => {
  const doctor = (env: Record<string, string | undefined>) => {
    const r = cli(['doctor', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).imageDecoding as { cores: number; workers: number; libuvPool: number };
  };
  assert.deepEqual(doctor({ SLURM_CPUS_PER_TASK: '12', UV_THREADPOOL_SIZE: undefined }), { cores: 12, workers: 11, libuvPool: 12 });
  assert.deepEqual(doctor({ SLURM_CPUS_PER_TASK: '2', UV_THREADPOOL_SIZE: undefined }), { cores: 2, workers: 1, libuvPool: 4 }, 'never below libuv\'s default of 4');
  assert.deepEqual(doctor({ SLURM_CPUS_PER_TASK: '12', UV_THREADPOOL_SIZE: '6' }), { cores: 12, workers: 6, libuvPool: 6 });
});

test('--workers sets dataset.workers of an image-list recipe without changing its hash; in-memory recipes are left alone; a bad value is exit 2', () => {
  const imagenet = path.join(packageRoot, 'recipes', 'imagenet-lt', 'table5', 'softmax-e90.yaml');
  const plain = cli(['run', imagenet, '--dry-run']);
  const eight = cli(['run', imagenet, '--dry-run', '--workers', '8']);
  assert.equal(eight.code, 0, eight.stderr);
  const hash = (s: string) => /recipe hash (\w+)/.exec(s)?.[1];
  assert.ok(hash(plain.stdout));
  assert.equal(hash(eight.stdout), hash(plain.stdout), 'the worker count is not part of the run id');
  assert.match(eight.stdout, /^ {2}workers: 8$/m);
  assert.doesNotMatch(plain.stdout, /^ {2}workers:/m);

  const fashion = cli(['run', path.join(packageRoot, 'recipes', 'fashion-lt', 'softmax.yaml'), '--dry-run', '--workers', '3']);
  assert.equal(fashion.code, 0, fashion.stderr);
  assert.doesNotMatch(fashion.stdout, /workers:/, 'in-memory data decodes nothing');

  const sweep = cli(['sweep', imagenet, path.join(packageRoot, 'recipes', 'fashion-lt', 'softmax.yaml'), '--dry-run', '--workers', '2', '--results', path.join(packageRoot, 'no-such-results')]);
  assert.ok(!/only for the image-list datasets/.test(sweep.stderr), `a mixed sweep takes --workers: ${sweep.stderr}`);

  const bad = cli(['run', imagenet, '--dry-run', '--workers', '-1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--workers -1: expected an integer ≥ 0/);
});
