import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadRecipe } from '../../src/recipe/load.js';
import { recipeHash } from '../../src/recipe/hash.js';
import { RecipeError } from '../../src/errors.js';
import { recipeJsonSchema } from '../../src/recipe/json-schema.js';
import { tempDir, writeYaml } from './helpers.js';

const base = {
  dataset: { name: 'fashion-mnist', imbalanceRatio: 100 },
  backbone: { name: 'resnet8' },
  method: { name: 'softmax' },
  train: { epochs: 3 },
};

function expectRecipeError(fn: () => unknown, ...fragments: string[]): RecipeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RecipeError, `expected RecipeError, got ${e}`);
    assert.equal(e.exitCode, 2);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return e;
  }
  assert.fail('expected a RecipeError');
}

test('defaults are filled in and the name comes from the path under recipes/', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'recipes/fashion-lt/a.yaml', base);
  const { recipe } = loadRecipe(file);
  assert.equal(recipe.name, 'fashion-lt/a');
  assert.equal(recipe.train.batchSize, 128);
  assert.equal(recipe.train.optimizer.momentum, 0.9);
  assert.equal(recipe.train.optimizer.weightDecay, 5e-4);
  assert.equal(recipe.train.schedule.name, 'cosine');
  assert.equal(recipe.dataset.valPerClass, 20);
  assert.deepEqual(recipe.eval.thresholds, { head: 100, tail: 20 });
  assert.equal(recipe.reference, 'none');
});

test('an unknown key is an error naming the file and the key path', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', { ...base, train: { epochs: 3, optimiser: { lr: 0.1 } } });
  const e = expectRecipeError(() => loadRecipe(file), file, 'train: unknown key \'optimiser\'');
  assert.equal(e.keyPath, 'train');
});

test('a wrong type names the key path and what was expected', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', { ...base, train: { epochs: 'ten' } });
  expectRecipeError(() => loadRecipe(file), `${file}: train.epochs: expected number, got string`);
});

test('a missing required key and a bad enum are both reported', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', { ...base, dataset: { name: 'fashion-mnist', profile: 'pareto' }, train: {} });
  expectRecipeError(() => loadRecipe(file), 'train.epochs: required', "dataset.profile: expected one of 'exponential', 'none', got 'pareto'");
});

test('unknown method, backbone and method params are rejected with the known names', () => {
  const dir = tempDir();
  expectRecipeError(() => loadRecipe(writeYaml(dir, 'm.yaml', { ...base, method: { name: 'softmx' } })), "method.name: unknown method 'softmx'", 'balanced-softmax');
  expectRecipeError(() => loadRecipe(writeYaml(dir, 'b.yaml', { ...base, backbone: { name: 'resnet9' } })), "backbone.name: unknown backbone 'resnet9'", 'resnet32');
  expectRecipeError(() => loadRecipe(writeYaml(dir, 'p.yaml', { ...base, method: { name: 'focal', params: { gama: 2 } } })), "method.params: unknown key 'gama'");
});

test('extends merges bases (objects merge, scalars replace) and errors name the file that set the key', () => {
  const dir = tempDir();
  writeYaml(dir, 'recipes/_base/data.yaml', { dataset: { name: 'fashion-mnist', imbalanceRatio: 50, splitSeed: 3 }, train: { epochs: 7, batchSize: 64 } });
  const leaf = writeYaml(dir, 'recipes/x/leaf.yaml', { extends: '../_base/data.yaml', backbone: { name: 'resnet8' }, method: { name: 'softmax' }, train: { epochs: 2 } });
  const { recipe, chain } = loadRecipe(leaf);
  assert.equal(recipe.dataset.imbalanceRatio, 50);
  assert.equal(recipe.dataset.splitSeed, 3);
  assert.equal(recipe.train.epochs, 2);
  assert.equal(recipe.train.batchSize, 64);
  assert.deepEqual(chain, [path.join(dir, 'recipes/_base/data.yaml'), leaf]);

  const badBase = writeYaml(dir, 'recipes/_base/bad.yaml', { dataset: { name: 'fashion-mnist', ratio: 5 } });
  const leaf2 = writeYaml(dir, 'recipes/x/leaf2.yaml', { extends: '../_base/bad.yaml', backbone: { name: 'resnet8' }, method: { name: 'softmax' }, train: { epochs: 2 } });
  expectRecipeError(() => loadRecipe(leaf2), `${badBase}: dataset: unknown key 'ratio'`);
});

test('extends cycles are detected', () => {
  const dir = tempDir();
  writeYaml(dir, 'a.yaml', { extends: 'b.yaml' });
  writeYaml(dir, 'b.yaml', { extends: 'a.yaml' });
  expectRecipeError(() => loadRecipe(path.join(dir, 'a.yaml')), "'extends' cycle");
});

test('--set overrides parse YAML values and are validated like the file', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', base);
  const { recipe } = loadRecipe(file, { sets: ['train.epochs=9', 'train.optimizer.nesterov=true', 'method.params={}'] });
  assert.equal(recipe.train.epochs, 9);
  assert.equal(recipe.train.optimizer.nesterov, true);
  expectRecipeError(() => loadRecipe(file, { sets: ['train.epoch=3'] }), "--set: train: unknown key 'epoch'");
  expectRecipeError(() => loadRecipe(file, { sets: ['train.epochs'] }), 'expected key.path=value');
});

test('invalid YAML names the file and line', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', 'train:\n  epochs: [1\n');
  expectRecipeError(() => loadRecipe(file), `${file}:`, 'invalid YAML');
});

test('the hash ignores key order, name, output and data root, and changes with anything that changes the run', () => {
  const dir = tempDir();
  const a = loadRecipe(writeYaml(dir, 'a.yaml', base)).recipe;
  const b = loadRecipe(writeYaml(dir, 'b.yaml', { train: { epochs: 3 }, method: { name: 'softmax' }, backbone: { name: 'resnet8' }, dataset: { imbalanceRatio: 100, name: 'fashion-mnist', root: '/elsewhere' }, output: '/tmp/x', name: 'other' })).recipe;
  assert.equal(recipeHash(a), recipeHash(b));
  const c = loadRecipe(writeYaml(dir, 'c.yaml', base), { sets: ['train.seed=1'] }).recipe;
  assert.notEqual(recipeHash(a), recipeHash(c));
});

test('the JSON Schema is generated from the same source and is strict', () => {
  const s = recipeJsonSchema() as any;
  const def = s.definitions.LtBenchRecipe;
  assert.equal(def.additionalProperties, false);
  assert.ok(def.properties.extends);
  assert.deepEqual(def.properties.dataset.properties.profile.enum, ['exponential', 'none']);
  assert.equal(def.properties.train.additionalProperties, false);
});

test('recipes/recipe.schema.json is the generated schema (regenerate with npm run schema)', async () => {
  const { readFileSync } = await import('node:fs');
  const { packageRoot } = await import('../../src/version.js');
  const shipped = JSON.parse(readFileSync(path.join(packageRoot, 'recipes', 'recipe.schema.json'), 'utf8'));
  assert.deepEqual(shipped, recipeJsonSchema());
});
