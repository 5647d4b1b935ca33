/**
 * The run lifecycle: what planRecipe plans is what runRecipe runs (same run ids, same order of
 * dependencies), and the modules import each other without a cycle (runner ↔ stages was one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { planRecipe, planRun, referenceRecipes, runRecipe } from '../../src/lifecycle/index.js';
import { listRuns } from '../../src/results/runs.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend, tinyRecipe } from '../foundation/helpers.js';

test('a two-stage recipe with references: the planned runs are the runs trained, stage 2 after its stage 1', async () => {
  const out = tempDir('ltb-lifecycle-');
  const recipe = tinyRecipe({
    method: { name: 'decouple-crt', params: { stage1Sampler: 'CB' } },
    train: { epochs: 1, batchSize: 16, optimizer: { lr: 0.05 } },
    stage2: { epochs: 1 },
    reference: 'auto',
    output: out,
  });
  const plan = planRecipe(recipe);
  assert.deepEqual(plan.runs.map((r) => r.action), ['train', 'train', 'train', 'train', 'train']);
  const started: string[] = [];
  const result = await runRecipe(recipe, { backend: testBackend, reporter: { runStart: (i) => started.push(i.runId) } });
  assert.deepEqual(new Set(listRuns(out).map((r) => r.runId)), new Set(plan.runs.map((r) => r.runId)));
  // Single-stage runs report runStart with their id; stage 2 with its own: every run started once, in plan order.
  assert.deepEqual(started, plan.runs.map((r) => r.runId));
  assert.equal(result.record.runId, plan.main.runId);
  assert.equal(result.stage1!.record.runId, plan.runs[0].runId);
  assert.deepEqual(
    [result.record.reference!.vanillaBalancedRunId, result.record.reference!.methodBalancedRunId],
    [plan.references!.vanilla, plan.references!.method],
  );
  const refStage2 = result.references!.method.record;
  assert.equal(refStage2.stage2!.stage1RunId, plan.runs[3].runId, 'A_b: stage 2 on the balanced twin, on its own balanced stage 1');
  assert.equal(refStage2.dataset.balanced, true);

  const again = planRecipe(recipe);
  assert.deepEqual(again.runs.map((r) => r.action), ['reuse', 'reuse', 'reuse', 'reuse', 'reuse']);
  const forced = planRecipe(recipe, { force: true });
  assert.deepEqual(forced.runs.map((r) => r.action), ['reuse', 'train', 'reuse', 'reuse', 'reuse'], '--force retrains the recipe\'s own run only');
});

test("ESQL's reference pins λ from the LT run: planned and trained ids agree; a two-stage ESQL recipe pins nothing", async () => {
  const out = tempDir('ltb-lifecycle-esql-');
  const recipe = tinyRecipe({ method: { name: 'esql' }, train: { epochs: 1, batchSize: 16, optimizer: { lr: 0.05 } }, reference: 'auto', output: out });
  const plan = planRecipe(recipe);
  const result = await runRecipe(recipe, { backend: testBackend });
  assert.equal(result.references!.method.record.runId, plan.references!.method);
  assert.equal(result.references!.method.record.method.params.lambda, result.record.method.resolved!.lambda, 'the pinned λ is the LT run\'s');
  assert.notEqual(plan.references!.method, planRun(referenceRecipes(recipe, {}).method).runId, 'pinning changes the reference');

  // Stage-2 records carry no derived values: the reference of a two-stage ESQL recipe is unpinned, as it always was.
  const staged = tinyRecipe({ method: { name: 'esql' }, stage2: { strategy: 'crt', epochs: 1 }, reference: 'auto', output: out });
  assert.equal(planRecipe(staged).references!.method, planRun(referenceRecipes(staged, {}).method).runId);
});

/** Static imports of the compiled sources: file → the files it imports. */
function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (f.endsWith('.js')) {
        const src = readFileSync(f, 'utf8');
        const deps = [...src.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => path.resolve(path.dirname(f), m[1]));
        graph.set(f, deps);
      }
    }
  };
  walk(root);
  return graph;
}

test('no import cycle through the runner, the lifecycle or the stages', () => {
  const src = path.join(packageRoot, 'dist', 'src');
  const graph = importGraph(src);
  const watched = (f: string) => /\/(runner\.js|lifecycle\/|stages\/|sweep\.js)/.test(f);
  const cycles: string[] = [];
  for (const start of [...graph.keys()].filter(watched)) {
    // Depth-first from `start`: reaching `start` again is a cycle.
    const seen = new Set<string>();
    const stack: Array<{ f: string; trail: string[] }> = [{ f: start, trail: [start] }];
    while (stack.length > 0) {
      const { f, trail } = stack.pop()!;
      for (const d of graph.get(f) ?? []) {
        if (d === start) cycles.push([...trail, d].map((x) => path.relative(src, x)).join(' → '));
        else if (!seen.has(d)) {
          seen.add(d);
          stack.push({ f: d, trail: [...trail, d] });
        }
      }
    }
  }
  assert.deepEqual(cycles, []);
});
