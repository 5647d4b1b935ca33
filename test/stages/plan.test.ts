/**
 * Planning two-stage recipes: presets and their spelled-out form are one run, an instance-sampled
 * stage 1 is exactly the plain recipe (so every stage-2 variant and the joint row share it),
 * strategy defaults, aliases and the errors for contradictory keys.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { validateRecipe } from '../../src/recipe/load.js';
import { recipeHash } from '../../src/recipe/hash.js';
import { isStagedRecipe, planStages, stagedRunDescriptor } from '../../src/stages/plan.js';
import { DEFAULT_TAU_GRID } from '../../src/stages/presets.js';

function recipe(extra: Record<string, unknown> = {}) {
  return validateRecipe({
    dataset: { name: 'synthetic', imbalanceRatio: 10, valPerClass: 4, synthetic: { numClasses: 4, perClass: 32 } },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 2, batchSize: 16 },
    ...extra,
  });
}

describe('planStages', () => {
  it('recognises two-stage recipes', () => {
    assert.equal(isStagedRecipe(recipe()), false);
    assert.equal(isStagedRecipe(recipe({ method: { name: 'decouple-ncm' } })), true);
    assert.equal(isStagedRecipe(recipe({ stage2: { strategy: 'crt' } })), true);
    assert.equal(isStagedRecipe(recipe({ train: { epochs: 2, sampler: 'CB' } })), false, 'a sampler alone is single-stage');
  });

  it('an instance-sampled stage 1 is the plain recipe of the stage-1 method', () => {
    const plain = recipe();
    for (const r of [recipe({ method: { name: 'decouple-crt' } }), recipe({ stage2: { strategy: 'lws' } }), recipe({ method: { name: 'decouple-tau-norm', params: { stage1Sampler: 'IB' } } })]) {
      const plan = planStages(r);
      assert.equal(recipeHash(plan.stage1), recipeHash(plain));
      assert.equal(plan.stage1.train.sampler, undefined);
      assert.equal(plan.stage1.stage2, undefined);
      assert.equal(plan.stage1.reference, 'none');
    }
  });

  it('a preset and its spelled-out form are the same run', () => {
    const preset = planStages(recipe({ method: { name: 'decouple-crt', params: { stage1Sampler: 'CB' } } }));
    const spelled = planStages(recipe({ train: { epochs: 2, batchSize: 16, sampler: 'CB' }, stage2: { strategy: 'crt', epochs: 10 } }));
    assert.equal(preset.hash, spelled.hash);
    assert.equal(recipeHash(preset.stage1), recipeHash(spelled.stage1));
    assert.equal(preset.stage1Sampler, 'class-balanced');
    assert.equal(preset.stage1.train.sampler, 'class-balanced', 'stage 1 samples with train.sampler');
    // ... and differ from the instance-sampled one.
    assert.notEqual(preset.hash, planStages(recipe({ method: { name: 'decouple-crt' } })).hash);
  });

  it('fills stage-2 defaults per strategy', () => {
    const crt = planStages(recipe({ method: { name: 'decouple-crt' } })).stage2!;
    assert.equal(crt.epochs, 10);
    assert.equal(crt.sampler, 'class-balanced');
    assert.equal(crt.batchSize, 16);
    assert.equal(crt.optimizer.lr, 0.1);
    assert.equal(crt.schedule.name, 'cosine');
    assert.equal(crt.from, 'last');
    assert.equal(crt.backboneMode, 'train');
    assert.equal(planStages(recipe({ method: { name: 'decouple-lws' } })).stage2!.epochs, 5);
    const tau = planStages(recipe({ method: { name: 'decouple-tau-norm' } })).stage2!;
    assert.equal(tau.epochs, 0);
    assert.deepEqual(tau.tauGrid, DEFAULT_TAU_GRID);
    assert.equal(DEFAULT_TAU_GRID.length, 21);
    assert.equal(DEFAULT_TAU_GRID[20], 2);
    assert.equal(planStages(recipe({ method: { name: 'decouple-ncm' } })).stage2!.epochs, 0);
    const own = planStages(recipe({ stage2: { strategy: 'crt', epochs: 3, batchSize: 8, optimizer: { lr: 0.02 } } })).stage2!;
    assert.deepEqual([own.epochs, own.batchSize, own.optimizer.lr], [3, 8, 0.02]);
  });

  it('joint is stage 1 alone', () => {
    const plan = planStages(recipe({ stage2: { strategy: 'joint' } }));
    assert.equal(plan.stage2, null);
    assert.equal(recipeHash(plan.stage1), recipeHash(recipe()));
  });

  it('rejects contradictory or meaningless keys', () => {
    assert.throws(() => planStages(recipe({ stage2: { epochs: 3 } })), /stage2.strategy: required/);
    assert.throws(() => planStages(recipe({ method: { name: 'decouple-crt' }, stage2: { strategy: 'lws' } })), /contradicts method decouple-crt/);
    assert.throws(() => planStages(recipe({ method: { name: 'decouple-crt', params: { stage1Sampler: 'CB' } }, train: { epochs: 2, sampler: 'SR' } })), /contradicts method.params.stage1Sampler/);
    assert.throws(() => planStages(recipe({ method: { name: 'decouple-ncm' }, stage2: { epochs: 3 } })), /ncm does not train/);
    assert.throws(() => planStages(recipe({ stage2: { strategy: 'crt', tauGrid: [1] } })), /only for strategy tau-norm/);
    assert.throws(() => recipe({ stage2: { strategy: 'crt', epoch: 3 } }), /unknown key 'epoch'/);
    assert.throws(() => recipe({ method: { name: 'decouple-crt', params: { stage1Sampler: 'XB' } } }), /stage1Sampler: expected one of/);
  });

  it('describes the record a recipe will produce (for expected table cells)', () => {
    assert.deepEqual(stagedRunDescriptor(recipe({ method: { name: 'focal' }, stage2: { strategy: 'lws' } })), {
      method: 'decouple-lws',
      params: { stage1Loss: 'focal', stage1Sampler: 'instance', stage1Params: { gamma: 2, detach: false } },
      table7: { stage1Loss: 'focal', classifier: 'lws' },
    });
    const cb = stagedRunDescriptor(recipe({ method: { name: 'decouple-crt', params: { stage1Sampler: 'CB' } } }))!;
    assert.deepEqual([cb.method, cb.params.stage1Sampler, cb.table7], ['decouple-crt', 'class-balanced', undefined]);
    assert.equal(stagedRunDescriptor(recipe({ stage2: { strategy: 'joint' } })), null);
    assert.equal(stagedRunDescriptor(recipe()), null);
  });

  it('accepts the survey sampler aliases', () => {
    for (const [alias, name] of [['IB', 'instance'], ['CB', 'class-balanced'], ['SR', 'square-root'], ['PB', 'progressive']]) {
      assert.equal(recipe({ stage2: { strategy: 'crt', sampler: alias } }).stage2!.sampler, name);
      assert.equal(recipe({ method: { name: 'decouple-crt', params: { stage1Sampler: alias } } }).method.params.stage1Sampler, name);
    }
  });
});
