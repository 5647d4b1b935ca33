/**
 * The rehearsal rule (src/rehearsal/shrink.ts) on the shipped ImageNet-LT recipes, the records it
 * marks, and how results commands keep rehearsal records apart (src/rehearsal/records.ts).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../src/errors.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { recipeHash } from '../../src/recipe/hash.js';
import type { Recipe } from '../../src/recipe/schema.js';
import { ensureRehearsalDataset, type RehearsalDatasetInfo } from '../../src/rehearsal/dataset.js';
import { rehearsalExpectedCells, selectRecords } from '../../src/rehearsal/records.js';
import { rehearsalEpochs, rehearseRecipe } from '../../src/rehearsal/shrink.js';
import { runRecipe } from '../../src/lifecycle/index.js';
import { planStages } from '../../src/stages/plan.js';
import { packageRoot } from '../../src/version.js';
import { fakeRecord } from '../results/fixtures.js';
import { tempDir, testBackend } from '../foundation/helpers.js';

const recipes = path.join(packageRoot, 'recipes', 'imagenet-lt');
let data: { root: string; info: RehearsalDatasetInfo };
let out: string;

before(async () => {
  const dir = tempDir('ltb-rehearse-');
  data = await ensureRehearsalDataset(path.join(dir, 'data'));
  out = path.join(dir, 'results');
});

function rehearsed(rel: string, sets: string[] = []): Recipe {
  const file = path.join(recipes, rel);
  return rehearseRecipe(loadRecipe(file, { sets }).recipe, data, { file, output: out });
}

test('rehearsalEpochs: max(1, round(epochs / 100))', () => {
  assert.deepEqual([90, 200, 10, 5, 1, 149, 150, 250].map(rehearsalEpochs), [1, 2, 1, 1, 1, 1, 2, 3]);
});

test('the rule on decouple-crt-e90: synthetic ImageNet-LT, 16 px, resnet8, 90 → 1 and stage-2 10 → 1 epochs, scaled thresholds', () => {
  const real = loadRecipe(path.join(recipes, 'table5/decouple-crt-e90.yaml')).recipe;
  const r = rehearsed('table5/decouple-crt-e90.yaml');
  assert.equal(r.dataset.name, 'image-list');
  assert.equal(r.dataset.numClasses, 20);
  assert.equal(r.dataset.root, data.root);
  assert.deepEqual(r.dataset.lists, {
    train: path.join(data.root, 'ImageNet_LT_train.txt'),
    val: path.join(data.root, 'ImageNet_LT_val.txt'),
    test: path.join(data.root, 'ImageNet_LT_test.txt'),
    balancedTrain: path.join(data.root, 'ImageNet_LT_balanced_train.txt'),
  });
  assert.equal(r.dataset.transform!.size, 16);
  assert.equal(r.dataset.profile, 'none');
  assert.equal(r.backbone.name, 'resnet8');
  assert.equal(r.train.epochs, 1);
  assert.equal(r.train.batchSize, 32);
  assert.deepEqual(r.stage2!.epochs, 1);
  assert.deepEqual(r.stage2!.batchSize, 32);
  assert.deepEqual(r.stage2!.schedule, real.stage2!.schedule, 'schedules are fractions of the budget: unchanged');
  assert.deepEqual(r.eval, { thresholds: { head: 10, tail: 2 }, batchSize: 64 });
  // Unchanged: the method, optimiser, schedule, reference; the output is the rehearsal's.
  assert.deepEqual(r.method, real.method);
  assert.deepEqual(r.train.optimizer, real.train.optimizer);
  assert.deepEqual(r.train.schedule, real.train.schedule);
  assert.equal(r.reference, 'auto');
  assert.equal(r.output, out);
  assert.deepEqual(r.rehearsal, { dataset: 'imagenet-lt', backbone: 'resnext50', epochs: 90, dataVersion: data.info.version });
  assert.equal(rehearseRecipe(r, data), r, 'a rehearsal recipe is not shrunk twice');
});

test('the rule on other recipes: 200 → 2, LWS 5 → 1, NCM and τ-norm keep no stage-2 epochs, --set applies first', () => {
  assert.equal(rehearsed('table5/softmax-e200.yaml').train.epochs, 2);
  assert.equal(rehearsed('table7/focal-lws.yaml').stage2!.epochs, 1);
  assert.equal(rehearsed('table5/decouple-ncm-e90.yaml').stage2?.epochs, undefined);
  assert.equal(rehearsed('table5/decouple-tau-norm-e200.yaml').stage2?.epochs, undefined);
  const set = rehearsed('table5/softmax-e90.yaml', ['train.batchSize=16', 'train.epochs=300']);
  assert.deepEqual([set.train.batchSize, set.train.epochs, set.rehearsal!.epochs], [16, 3, 300]);
  // a stage's own epoch count shrinks too: MiSLAS's stage 2 (10), RIDE-EA's router (5)
  assert.equal(rehearsed('table5/mislas-e90.yaml').method.params.stage2Epochs, 1);
  assert.equal(rehearsed('table5/ride-ea-e200.yaml').method.params.routerEpochs, 1);
  assert.equal(rehearsed('table5/ride-ea-e200.yaml', ['method.params.routerEpochs=300']).method.params.routerEpochs, 3);
  assert.equal(rehearsed('table5/mislas-e200.yaml', ['method.params.stage2Epochs=250']).method.params.stage2Epochs, 3);
  // Table 7's joint cell is the Table 5 200-epoch run, as in the real study.
  assert.equal(recipeHash(planStages(rehearsed('table7/softmax-joint.yaml')).stage1), recipeHash(rehearsed('table5/softmax-e200.yaml')));
});

test('the rehearsal key is hashed: a rehearsal run never shares an id with a run of the same shrunk recipe', () => {
  const r = rehearsed('table5/softmax-e90.yaml');
  const { rehearsal: _r, ...plain } = r;
  assert.notEqual(recipeHash(r), recipeHash(plain as Recipe));
  assert.notEqual(recipeHash(r), recipeHash(rehearsed('table5/softmax-e200.yaml')));
});

test('--rehearse refuses recipes of other datasets (exit 2)', () => {
  const file = path.join(packageRoot, 'recipes', 'fashion-lt', 'softmax.yaml');
  assert.throws(() => rehearseRecipe(loadRecipe(file).recipe, data, { file }), (e: unknown) => e instanceof UsageError && e.exitCode === 2 && e.message.startsWith(`${file}: dataset.name is 'fashion-mnist'`));
});

test('records of a rehearsal run, stage 1 and stage 2, say rehearsal: true and the cell they stand for', async () => {
  const r = rehearsed('table5/decouple-ncm-e90.yaml', ['reference=none']);
  const res = await runRecipe(r, { backend: testBackend });
  const of = { dataset: 'imagenet-lt', backbone: 'resnext50', epochs: 90, dataVersion: data.info.version };
  assert.equal(res.record.rehearsal, true);
  assert.deepEqual(res.record.rehearsalOf, of);
  assert.equal(res.record.stage2!.strategy, 'ncm');
  assert.equal(res.stage1!.record.rehearsal, true);
  assert.deepEqual(res.stage1!.record.rehearsalOf, of);
  assert.equal(res.record.epochs, 1);
  assert.deepEqual(res.record.dataset.groupSizes, { head: 8, middle: 9, tail: 3 });
});

const real = fakeRecord({ runId: 'softmax-real', method: 'softmax', epochs: 90, dataset: 'imagenet-lt', top1: 40 });
const rehearsal = { ...fakeRecord({ runId: 'softmax-rh', method: 'softmax', epochs: 1, dataset: 'image-list', top1: 20 }), rehearsal: true as const, rehearsalOf: { dataset: 'imagenet-lt', backbone: 'resnext50', epochs: 90, dataVersion: 1 } };

test('selectRecords: real or rehearsal records, never both; rehearsal ones at their real cell', () => {
  const plain = selectRecords([real, rehearsal], false);
  assert.deepEqual([plain.records.map((r) => r.runId), plain.ignored], [['softmax-real'], 1]);
  const rh = selectRecords([real, rehearsal], true);
  assert.deepEqual([rh.records.map((r) => [r.runId, r.dataset.name, r.epochs]), rh.ignored], [[['softmax-rh', 'imagenet-lt-rehearsal', 90]], 1]);
  const cells = rehearsalExpectedCells([
    { dataset: 'imagenet-lt', backbone: 'resnext50', method: 'softmax', epochs: 90, recipePath: 'a.yaml' },
    { dataset: 'fashion-mnist', method: 'softmax', epochs: 8, recipePath: 'b.yaml' },
  ]);
  assert.deepEqual(cells, [{ dataset: 'imagenet-lt-rehearsal', backbone: 'resnet8', method: 'softmax', epochs: 90, recipePath: 'a.yaml' }]);
});

test('lt-bench table leaves rehearsal records out; table --rehearse shows only them, in the 90-epoch column', () => {
  const dir = tempDir('ltb-rehearse-table-');
  for (const r of [real, rehearsal]) {
    mkdirSync(path.join(dir, r.runId));
    writeFileSync(path.join(dir, r.runId, 'run.json'), JSON.stringify(r));
  }
  const cli = (args: string[]) => spawnSync(process.execPath, [path.join(packageRoot, 'bin', 'lt-bench.js'), ...args], { encoding: 'utf8', cwd: dir });
  const runIds = (stdout: string) => (JSON.parse(stdout).tables as Array<{ section: { dataset: string }; rows: Array<{ cells?: Array<{ runIds: string[] }> }> }>).flatMap((t) => t.rows.flatMap((row) => (row.cells ?? []).flatMap((c) => c.runIds.map((id) => `${t.section.dataset}:${id}`))));
  const plain = cli(['table', '--results', dir, '--table', '5', '--format', 'json']);
  assert.equal(plain.status, 0, plain.stderr);
  assert.deepEqual([...new Set(runIds(plain.stdout))], ['imagenet-lt:softmax-real']);
  assert.match(plain.stderr, /1 rehearsal record\(s\) in .* are left out \(`--rehearse` shows them\)/);
  const rh = cli(['table', '--rehearse', '--results', dir, '--table', '5', '--format', 'json']);
  assert.equal(rh.status, 0, rh.stderr);
  assert.deepEqual([...new Set(runIds(rh.stdout))], ['imagenet-lt-rehearsal:softmax-rh']);
  const t = JSON.parse(rh.stdout).tables[0];
  assert.equal(t.columns[0].group, '90 epochs');
  assert.match(rh.stderr, /1 record\(s\) in .* are not rehearsal runs and are left out/);
});
