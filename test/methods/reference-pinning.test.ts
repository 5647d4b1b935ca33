/**
 * The balanced reference run (UA) of ESQL keeps the LT run's λ: derived from the balanced counts,
 * every class would tie at the threshold.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import path from 'node:path';
import { esqlThreshold } from '../../src/losses/esql.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { referenceRecipes } from '../../src/lifecycle/index.js';
import { packageRoot } from '../../src/version.js';

const recipeFile = path.join(packageRoot, 'recipes', 'fashion-lt', 'esql.yaml');

describe('reference recipes', () => {
  it('a derived λ on the balanced twin marks every class as tail (why it is pinned)', () => {
    const balanced = new Array(10).fill(1484);
    assert.equal(esqlThreshold(balanced).tailClasses.length, 10);
  });

  it('esql: the balanced run takes the LT run\'s λ; an explicit λ or another method is left alone', () => {
    const { recipe } = loadRecipe(recipeFile);
    const refs = referenceRecipes(recipe, { lambda: 0.0112, tailClasses: [7, 8, 9] });
    assert.equal(refs.method.dataset.balanced, true);
    assert.deepEqual(refs.method.method.params, { ...recipe.method.params, lambda: 0.0112 });
    assert.deepEqual(refs.vanilla.method, { name: 'softmax', params: {} });

    const explicit = loadRecipe(recipeFile, { sets: ['method.params.lambda=0.05'] }).recipe;
    assert.equal(referenceRecipes(explicit, { lambda: 0.0112 }).method.method.params.lambda, 0.05);

    const softmax = loadRecipe(path.join(packageRoot, 'recipes', 'fashion-lt', 'softmax.yaml')).recipe;
    assert.deepEqual(referenceRecipes(softmax, { lambda: 0.0112 }).method.method.params, softmax.method.params);
  });
});
