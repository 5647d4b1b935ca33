/**
 * The study's own path, as a user types it: the paper's ImageNet-LT tables with nothing run yet,
 * and a dry-run sweep of the ImageNet-LT recipes over lists in the real format (references and
 * stage-1 runs planned; every entry an error without a data root, and exit 3). The long-tailed /
 * needs-references decision is one function, asked by run, sweep and the table's expected cells.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { isLongTailed, needsReferences, planRecipe } from '../../src/lifecycle/index.js';
import { expectedCellsFromRecipes } from '../../src/results/expected-cells.js';
import { loadRecipe } from '../../src/recipe/load.js';
import type { Recipe } from '../../src/recipe/schema.js';
import { packageRoot } from '../../src/version.js';
import { tempDir } from '../foundation/helpers.js';
import { fakeRecord } from '../results/fixtures.js';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { writeImageNetLtRoot } from './imagenet-lt-root.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete env.LT_BENCH_DATA;
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: packageRoot, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const e90 = path.join(packageRoot, 'recipes/imagenet-lt/table5/*-e90.yaml');
// The Table 5 methods the repository ships (one -e90 recipe each): the counts below follow them.
const methodsShipped = readdirSync(path.join(packageRoot, 'recipes/imagenet-lt/table5')).filter((f) => f.endsWith('-e90.yaml')).length;
let dataRoot: string;
const tinyThresholds = ['--set', 'eval.thresholds.head=6', '--set', 'eval.thresholds.tail=2'];

before(async () => {
  dataRoot = (await writeImageNetLtRoot(path.join(tempDir('ltb-inlt-'), 'imagenet'))).root;
});

test('one decision: image-list datasets are long-tailed and need references; balanced twins and whole pools do not', () => {
  const base = loadRecipe(path.join(packageRoot, 'recipes/imagenet-lt/table5/softmax-e90.yaml')).recipe;
  assert.equal(base.dataset.profile, 'none', 'image-list recipes never carry a profile');
  assert.equal(isLongTailed(base), true);
  assert.equal(needsReferences(base), true);
  assert.equal(needsReferences({ ...base, reference: 'none' }), false);
  assert.equal(isLongTailed({ ...base, dataset: { ...base.dataset, balanced: true } }), false);
  const fashion = loadRecipe(path.join(packageRoot, 'recipes/quickstart.yaml')).recipe;
  assert.equal(needsReferences(fashion), fashion.reference === 'auto');
  const whole: Recipe = { ...fashion, dataset: { ...fashion.dataset, profile: 'none' } };
  assert.equal(isLongTailed(whole), false);
});

test('expected cells: every ImageNet-LT Table 5 recipe fills a cell, so an empty table names it', async () => {
  const cells = await expectedCellsFromRecipes(path.join(packageRoot, 'recipes'));
  const inlt = cells.filter((c) => c.dataset === 'imagenet-lt' && /table5\//.test(c.recipePath));
  assert.equal(inlt.length, 2 * methodsShipped, `${methodsShipped} methods × 90 and 200 epochs`);
  assert.deepEqual([...new Set(inlt.map((c) => c.epochs))].sort((a, b) => a - b), [90, 200]);
  assert.ok(inlt.every((c) => c.backbone === 'resnext50'));
  assert.ok(cells.some((c) => c.dataset === 'imagenet-lt' && c.table7?.classifier === 'ncm'), 'Table 7 stage-2 recipes too');
});

test('table --paper on an empty results directory prints the ImageNet-LT Tables 5, 6, 7 with the paper values and the recipes to run', () => {
  const empty = tempDir('ltb-empty-results-');
  const r = cli(['table', '--paper', '--results', empty]);
  assert.equal(r.code, 0, r.stderr);
  const titles = r.stdout.split('\n').filter((l) => l.startsWith('### '));
  assert.deepEqual(titles, [
    '### Table 5: Acc / UA / RA (%) — imagenet-lt · resnext50, last-epoch checkpoint',
    '### Table 6: head / middle / tail accuracy (%) — imagenet-lt · resnext50, last-epoch checkpoint',
    // The Table 5 decoupled recipes at 90 epochs expect cells of their own; the paper's Table 7 is at 200.
    '### Table 7: stage-1 loss × classifier, accuracy (%) on all / head / middle / tail classes — imagenet-lt · resnext50, 90 epochs, last-epoch checkpoint',
    '### Table 7: stage-1 loss × classifier, accuracy (%) on all / head / middle / tail classes — imagenet-lt · resnext50, 200 epochs, last-epoch checkpoint',
  ]);
  // Table 7's paper values: Softmax joint / NCM / cRT / LWS on all classes at 200 epochs.
  assert.match(r.stdout, /^\| softmax \| \(46\.8\) \| \(50\.2\) \| \(50\.2\) \| \(50\.8\) \|/m);
  // The survey's Softmax row: 45.5 / 57.3 / 79.4 at 90 epochs, 46.8 / 57.8 / 81.0 at 200.
  assert.match(r.stdout, /^\| softmax \| \(45\.5\) \| \(57\.3\) \| \(79\.4\) \| \(46\.8\) \| \(57\.8\) \| \(81\.0\) \|$/m);
  // The survey's focal setting is the recipe's focal (detach=true): one row, not two.
  assert.match(r.stdout, /^\| focal \(detach=true\) \| \(45\.8\) \| \(57\.3\) \| \(79\.9\) \|/m);
  assert.doesNotMatch(r.stdout, /^\| focal \| \(45\.8\)/m, 'no second, param-less focal row');
  assert.match(r.stdout, /softmax — 90 epochs: Acc, UA, RA: no finished run; run `lt-bench run recipes\/imagenet-lt\/table5\/softmax-e90\.yaml`/);
  assert.match(r.stdout, /decouple-crt \(IB\) — 200 epochs: Acc, UA, RA: no finished run; run `lt-bench run recipes\/imagenet-lt\/table5\/decouple-crt-e200\.yaml`/);
  assert.doesNotMatch(r.stdout, /cifar100|fashion-mnist/, 'tables no record fills are left out');

  const only5 = cli(['table', '--table', '5', '--paper', '--results', empty]);
  assert.deepEqual(only5.stdout.split('\n').filter((l) => l.startsWith('### ')), [titles[0]]);
  const otherDataset = cli(['table', '--table', '5', '--paper', '--dataset', 'fashion-mnist', '--results', empty]);
  assert.equal(otherDataset.stdout, '', '--dataset fashion-mnist: no ImageNet-LT table');
});

test('table without --paper prints no table no record fills; --expected prints them all', () => {
  const empty = tempDir('ltb-empty-results-');
  const none = cli(['table', '--results', empty]);
  assert.equal(none.code, 0);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /no finished long-tailed runs in .*--expected/);
  const all = cli(['table', '--table', '5', '--results', empty, '--expected']);
  const titles = all.stdout.split('\n').filter((l) => l.startsWith('### '));
  assert.ok(titles.some((t) => t.includes('imagenet-lt · resnext50')));
  assert.ok(titles.some((t) => t.includes('cifar100')));
});

test('table from the repository root with one real record prints that study only, not every study the recipes describe', () => {
  const results = tempDir('ltb-one-record-');
  const rec = fakeRecord({ runId: 'sm', method: 'softmax', family: 'baseline', dataset: 'fashion-mnist', epochs: 8, top1: 75.5, groups: [93.6, 57.8, 69] });
  mkdirSync(path.join(results, rec.runId));
  writeFileSync(path.join(results, rec.runId, 'run.json'), JSON.stringify(rec));
  const r = cli(['table', '--results', results]);
  assert.equal(r.code, 0, r.stderr);
  const titles = r.stdout.split('\n').filter((l) => l.startsWith('### '));
  assert.ok(titles.length >= 2, titles.join('\n'));
  assert.ok(titles.every((t) => t.includes('— fashion-mnist · resnet8 · exponential ρ=20,')), titles.join('\n'));
  assert.match(r.stdout, /^\| softmax \| 75\.5 \|/m);
  // The rest of the study (from recipes/fashion-lt/) is listed as missing under that table.
  assert.match(r.stdout, /run `lt-bench run recipes\/fashion-lt\/focal\.yaml`/);
});

test('sweep --dry-run of the ImageNet-LT recipes over real-format lists plans the references and the stage-1 runs', () => {
  const out = tempDir('ltb-inlt-out-');
  // Group thresholds scaled to the tiny lists (8/4/2/1 images): at ImageNet-LT's 100/20 LFME's
  // many-shot subset would be empty here, which is a recipe error (tested in lfme.test.ts).
  const r = cli(['sweep', e90, '--dry-run', '--data-root', dataRoot, '--output', out, '--json', ...tinyThresholds]);
  assert.equal(r.code, 0, r.stderr);
  const { entries, runs, summary } = JSON.parse(r.stdout) as {
    entries: Array<{ name: string; action: string; runId: string; references: string[] }>;
    runs: Array<{ runId: string; role: string; kind: string; dependsOn: string[]; neededBy: string[] }>;
    summary: { toRun: number; references: number; stages: number; errors: number };
  };
  assert.equal(entries.length, methodsShipped);
  assert.ok(entries.every((e) => e.action === 'train'));
  assert.equal(summary.errors, 0);
  // One plain-softmax balanced run shared by every recipe with the survey's schedule, plus each method's own.
  const vanilla = runs.filter((x) => x.role === 'reference-vanilla');
  // One per distinct training recipe (A_v trains with the method's own optimiser and schedule):
  // the survey's, LDAM's steps, ResLT's warm-up + cosine, RIDE's (batch 64, lr 0.025, Nesterov,
  // steps), RSG's steps, SADE's Nesterov cosine.
  assert.equal(vanilla.length, 6, `vanilla references: ${vanilla.map((v) => v.runId).join(', ')}`);
  const shared = vanilla.find((v) => v.neededBy.length >= 17)!;
  assert.ok(shared, 'the plain-softmax balanced run is planned once for all recipes');
  assert.ok(summary.references >= methodsShipped, `references: ${summary.references}`);
  const softmax = entries.find((e) => e.name.endsWith('/softmax-e90'))!;
  assert.deepEqual(softmax.references, [shared.runId], 'softmax: its own balanced run is the vanilla one');
  // A decoupled recipe: stage 2 depends on its stage-1 run; on the balanced twin both stages run too.
  const crt = entries.find((e) => e.name.endsWith('/decouple-crt-e90'))!;
  const crtRun = runs.find((x) => x.runId === crt.runId)!;
  assert.equal(crtRun.kind, 'stage2');
  assert.deepEqual(crtRun.dependsOn, [softmax.runId], 'the IB stage 1 is the softmax run');
  const crtBal = runs.find((x) => crt.references.includes(x.runId) && x.kind === 'stage2')!;
  assert.ok(crtBal, 'the balanced reference of decouple-crt is a stage-2 run');
  assert.deepEqual(crtBal.dependsOn, [shared.runId], 'its balanced stage 1 is plain softmax on the balanced twin');
  const cb = entries.find((e) => e.name.endsWith('/decouple-cb-crt-e90'))!;
  const cbBal = runs.find((x) => cb.references.includes(x.runId) && x.kind === 'stage2')!;
  const cbBalStage1 = runs.find((x) => x.runId === cbBal.dependsOn[0])!;
  assert.equal(cbBalStage1.role, 'reference-stage1', 'a CB stage 1 on the balanced twin is a run of its own');

  const text = cli(['sweep', e90, '--dry-run', '--data-root', dataRoot, '--output', out, ...tinyThresholds]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`^${methodsShipped} run\\(s\\) to train or resume, ${summary.references} reference run\\(s\\), ${summary.stages} stage-1 run\\(s\\), 0 reused; `, 'm'));
});

test('sweep --dry-run without a data root: every entry an error, counted, exit 3', () => {
  const r = cli(['sweep', e90, '--dry-run', '--output', tempDir('ltb-inlt-out-')]);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('error ')).length, methodsShipped);
  assert.match(r.stdout, new RegExp(`^0 run\\(s\\) to train or resume, 0 reference run\\(s\\), 0 stage-1 run\\(s\\), 0 reused, ${methodsShipped} cannot be planned; `, 'm'));
  assert.match(r.stderr, new RegExp(`${methodsShipped} of ${methodsShipped} sweep entries cannot be planned; first: .*balanced-softmax-e90\\.yaml \\(seed 0\\): imagenet-lt: no image root; pass --data-root`));
});

test('planRecipe: a two-stage recipe with references is five runs with their dependencies', () => {
  const recipe = loadRecipe(path.join(packageRoot, 'recipes/imagenet-lt/table5/decouple-cb-crt-e90.yaml')).recipe;
  const plan = planRecipe(recipe, { dataRoot, output: tempDir() });
  assert.deepEqual(plan.runs.map((r) => [r.role, r.kind]), [
    ['stage1', 'train'],
    ['main', 'stage2'],
    ['reference-vanilla', 'train'],
    ['reference-stage1', 'train'],
    ['reference-method', 'stage2'],
  ]);
  const [s1, main, vanilla, refS1, refS2] = plan.runs;
  assert.deepEqual(main.dependsOn, [s1.runId]);
  assert.deepEqual(refS2.dependsOn, [refS1.runId]);
  assert.deepEqual(plan.references, { vanilla: vanilla.runId, method: refS2.runId });
  assert.equal(refS1.recipe.dataset.balanced, true);
  assert.equal(refS1.recipe.train.sampler, 'class-balanced', 'A_b runs the method whole: its CB stage 1 on the balanced twin');
  // Sizes for time estimates: LT train 15 images × 90 epochs, + (val 8 × 90 + test 2 × 8) / 3.
  assert.equal(s1.work.imagePasses, 15 * 90 + (8 * 90 + 2 * 8) / 3);
});
