/**
 * train.epochLength: a class-aware (CB) stage-1 epoch has N samples by default, as the official
 * trainers stop at N/batch steps; 'sampler' keeps the sampler's max n_k × C. The key only enters
 * the hash where it can change the run (the CB sampler).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { recipeHash } from '../../src/recipe/hash.js';
import { validateRecipe } from '../../src/recipe/load.js';
import { runRecipe } from '../../src/lifecycle/index.js';
import type { Reporter } from '../../src/train/reporter.js';

let out: string;
before(async () => {
  await tf.setBackend('cpu');
  out = mkdtempSync(path.join(os.tmpdir(), 'lt-epoch-length-'));
});
after(() => rmSync(out, { recursive: true, force: true }));

// 4 classes, 40 train images each before the LT cut at ratio 10 (valPerClass 4 first: 36 left):
// LT counts 36, 16, 7, 3 → N = 62; the class-aware sampler's own epoch is 36 × 4 = 144.
function recipe(train: Record<string, unknown>) {
  return validateRecipe({
    dataset: { name: 'synthetic', imbalanceRatio: 10, valPerClass: 4, synthetic: { numClasses: 4, perClass: 40, testPerClass: 4, size: 8 } },
    eval: { thresholds: { head: 30, tail: 5 } },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 1, batchSize: 31, ...train },
    reference: 'none',
  });
}

async function stepsOfFirstEpoch(train: Record<string, unknown>): Promise<{ steps: number; counts: number[] }> {
  let steps = -1;
  const reporter: Reporter = { epochStart: (_e, s) => { if (steps < 0) steps = s; } };
  const result = await runRecipe(recipe(train), { output: out, backend: 'wasm', reporter });
  return { steps, counts: result.record.dataset.classCounts };
}

describe('train.epochLength', () => {
  it('hashes only where it changes the run', () => {
    assert.equal(recipeHash(recipe({})), recipeHash(recipe({ epochLength: 'sampler' })), 'instance sampler: N either way');
    assert.equal(recipeHash(recipe({ sampler: 'CB' })), recipeHash(recipe({ sampler: 'class-balanced', epochLength: 'dataset' })));
    assert.notEqual(recipeHash(recipe({ sampler: 'CB' })), recipeHash(recipe({ sampler: 'CB', epochLength: 'sampler' })));
  });

  it("a CB epoch has N samples by default and max n_k × C with 'sampler'", async () => {
    const cut = await stepsOfFirstEpoch({ sampler: 'CB' });
    const n = cut.counts.reduce((a, b) => a + b, 0);
    const full = Math.max(...cut.counts) * cut.counts.length;
    assert.ok(full > 2 * n, `the sampler's epoch (${full}) is much longer than N (${n})`);
    assert.equal(cut.steps, Math.ceil(n / 31));
    const whole = await stepsOfFirstEpoch({ sampler: 'CB', epochLength: 'sampler' });
    assert.equal(whole.steps, Math.ceil(full / 31));
  });
});
