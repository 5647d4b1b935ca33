/**
 * train.precision: part of the run id only when not fp32; refused (exit 2, nothing created) where
 * the backend cannot do it; a bf16 run on the torch backend trains and says so in run.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { torchBackendStatus } from '../../src/backends/torch/index.js';
import type { BackendChoice } from '../../src/backend.js';
import { runRecipe } from '../../src/lifecycle/index.js';
import { recipeHash } from '../../src/recipe/hash.js';
import { precisionRefusal } from '../../src/train/precision.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, tinyRecipe } from '../foundation/helpers.js';

const choice = (name: BackendChoice['name'], device = 'cpu') => ({ name, tfjsName: name, device, probes: [] }) as BackendChoice;

test('fp32 hashes as if the key were absent; bf16 and fp16 are runs of their own', () => {
  const fp32 = tinyRecipe();
  assert.equal(fp32.train.precision, 'fp32');
  const { precision: _p, ...withoutKey } = fp32.train;
  assert.equal(recipeHash({ ...fp32, train: withoutKey as typeof fp32.train }), recipeHash(fp32));
  const hashes = new Set(['fp32', 'bf16', 'fp16'].map((p) => recipeHash(tinyRecipe({ train: { precision: p } }))));
  assert.equal(hashes.size, 3);
});

test('refusals: reduced precision needs the torch backend, and fp16 needs CUDA', () => {
  assert.equal(precisionRefusal('fp32', choice('wasm')), null);
  assert.match(precisionRefusal('bf16', choice('wasm'))!, /bf16 needs the torch backend .*this run's backend is wasm/);
  assert.match(precisionRefusal('fp16', choice('cpu'))!, /fp16 needs the torch backend/);
});

test('lt-bench run refuses bf16 on wasm with exit 2, naming the recipe and the key, and creates no run', () => {
  const out = tempDir('ltb-precision-');
  const r = spawnSync(process.execPath, [path.join(packageRoot, 'bin', 'lt-bench.js'), 'run', path.join(packageRoot, 'recipes', 'quickstart.yaml'), '--set', 'train.precision=bf16', '--backend', 'wasm', '--results', out], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /quickstart\.yaml: train\.precision: bf16 needs the torch backend/);
  assert.deepEqual(existsSync(out) ? readdirSync(out) : [], [], 'nothing written');
});

const torch = torchBackendStatus();
test('a bf16 run on torch trains, records its precision and is refused fp16 on the CPU', { skip: torch.usable ? false : `torch backend unusable: ${torch.reason}` }, async () => {
  const out = tempDir('ltb-bf16-');
  const r = await runRecipe(tinyRecipe({ train: { epochs: 1, precision: 'bf16' }, output: out }), { backend: 'torch' });
  assert.equal(r.record.status, 'finished');
  assert.equal(r.record.precision, 'bf16');
  assert.ok(r.record.metrics.last!.top1 >= 0);
  const fp32 = await runRecipe(tinyRecipe({ train: { epochs: 1 }, output: out }), { backend: 'torch' });
  assert.equal(fp32.record.precision, undefined, 'fp32 records stay as they were');
  assert.notEqual(fp32.record.runId, r.record.runId);
  if (!torch.device?.startsWith('cuda')) {
    await assert.rejects(runRecipe(tinyRecipe({ train: { epochs: 1, precision: 'fp16' }, output: out }), { backend: 'torch' }), /train\.precision: fp16 needs CUDA/);
  }
});
