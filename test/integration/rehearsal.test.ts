/**
 * The rehearsal of the whole ImageNet-LT study: every recipe under recipes/imagenet-lt/ (Table 5
 * at 90 and 200 epochs, Table 7) shrunk by the `--rehearse` rule and run through the commands a
 * user types — `data make rehearsal`, `sweep --rehearse --dry-run`, `sweep --rehearse`,
 * `table --rehearse` 5/6/7 with `--paper`, `plot --rehearse` — spawning the real CLI. Every
 * ImageNet-LT cell the recipes fill must come out filled (Acc with UA and RA in Table 5), in the
 * paper's 90/200-epoch columns next to the paper's numbers, and real tables must not see it.
 * A few minutes on 2 cores (`npm run test:integration`).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadRecords } from '../../src/results/store.js';
import type { ResultTable } from '../../src/results/tables.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend } from '../foundation/helpers.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
// wasm unless LT_BENCH_TEST_BACKEND says otherwise, as every test.
const backend = ['--backend', testBackend];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: packageRoot, env: { ...process.env, CI: 'true' }, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const recipeDir = path.join(packageRoot, 'recipes', 'imagenet-lt');
const leaves = (sub: string) => readdirSync(path.join(recipeDir, sub)).filter((f) => f.endsWith('.yaml')).map((f) => path.join(recipeDir, sub, f));
const table5Recipes = leaves('table5');
const table7Recipes = leaves('table7');
/** Table 5/6 rows the recipes fill: one per method row, at 90 and 200 epochs. */
const table5Rows = table5Recipes.filter((f) => f.endsWith('-e90.yaml')).length;

let dir: string;
let data: string;
let results: string;

before(() => {
  dir = tempDir('ltb-rehearsal-');
  data = path.join(dir, 'imagenet-lt-rehearsal');
  results = path.join(dir, 'results');
});

test('data make rehearsal writes the synthetic ImageNet-LT with the official list names', () => {
  const r = cli(['data', 'make', 'rehearsal', '--out', data]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^wrote: .* \(20 classes, \d+ train images, head\/middle\/tail 8\/9\/3, thresholds head > 10, tail < 2\)$/m);
  for (const f of ['ImageNet_LT_train.txt', 'ImageNet_LT_val.txt', 'ImageNet_LT_test.txt', 'ImageNet_LT_balanced_train.txt']) assert.ok(existsSync(path.join(data, f)), f);
});

interface PlanEntry {
  recipe: string;
  runId: string;
  action: string;
  references: string[];
}
let plan: PlanEntry[];

test('sweep --rehearse --dry-run plans every ImageNet-LT recipe and its balanced reference runs, training nothing', () => {
  const r = cli(['sweep', '--rehearse', '--dry-run', '--json', '--data-root', data, '--output', results]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /rehearsal: using the synthetic ImageNet-LT in /);
  plan = (JSON.parse(r.stdout) as { entries: PlanEntry[] }).entries;
  assert.deepEqual(plan.map((p) => p.recipe).sort(), [...table5Recipes, ...table7Recipes].sort());
  assert.ok(plan.every((p) => p.action === 'train' && /-image-list-[0-9a-f]{12}$/.test(p.runId)), 'fresh rehearsal ids, all to train');
  // Table 5 recipes have reference: auto (balanced runs for UA), Table 7's reference: none.
  for (const p of plan) assert.equal(p.references.length > 0, p.recipe.includes('/table5/'), p.recipe);
  assert.ok(!existsSync(results) || readdirSync(results).length === 0, 'a dry run trains nothing');
});

test('sweep --rehearse trains every recipe (and its references) into rehearsal records', () => {
  const t0 = performance.now();
  const r = cli(['sweep', '--rehearse', '--data-root', data, '--output', results, ...backend]);
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(`# rehearsal sweep: ${seconds.toFixed(0)} s\n`);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, plan.length);
  assert.ok(lines.every((l) => /^(trained|reused) /.test(l)), r.stdout);
});

test('every record is a rehearsal record; the planned references are the balanced runs trained; a second plan reuses all', async () => {
  const { records, problems } = await loadRecords(results);
  assert.deepEqual(problems, []);
  assert.ok(records.every((rec) => rec.rehearsal === true && rec.rehearsalOf?.dataset === 'imagenet-lt' && rec.rehearsalOf.backbone === 'resnext50'));
  assert.deepEqual([...new Set(records.map((rec) => rec.rehearsalOf!.epochs))].sort((a, b) => a - b), [90, 200]);
  assert.deepEqual([...new Set(records.map((rec) => rec.epochs))].sort(), [1, 2]);
  const balanced = new Set(records.filter((rec) => rec.dataset.balanced).map((rec) => rec.runId));
  for (const ref of plan.flatMap((p) => p.references)) assert.ok(balanced.has(ref), `planned reference ${ref} was trained`);
  for (const p of plan) assert.ok(records.some((rec) => rec.runId === p.runId), `planned run ${p.runId} exists`);
  const again = cli(['sweep', '--rehearse', '--dry-run', '--json', '--data-root', data, '--output', results]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual((JSON.parse(again.stdout) as { entries: PlanEntry[] }).entries.map((p) => [p.action, p.references.length]), plan.map(() => ['reuse', 0]));
});

type JsonRow = Extract<ResultTable['rows'][number], { kind: 'row' }>;
function tablesOf(which: '5' | '6' | '7'): ResultTable[] {
  const r = cli(['table', '--rehearse', '--results', results, '--table', which, '--paper', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const tables = (JSON.parse(r.stdout) as { tables: ResultTable[] }).tables;
  assert.ok(tables.every((t) => t.section.dataset === 'imagenet-lt-rehearsal' && t.paper), 'only the rehearsal section, with the paper on');
  return tables;
}
const rowsOf = (t: ResultTable) => t.rows.filter((r): r is JsonRow => r.kind === 'row');
const filled = (r: JsonRow) => r.cells.every((c) => c.stat !== null && !c.notApplicable);

test('table --rehearse --table 5 --paper: every recipe\'s row has Acc, UA and RA at 90 and 200 epochs beside the paper', () => {
  const [t5, ...more] = tablesOf('5');
  assert.equal(more.length, 0);
  assert.deepEqual(t5.columns, ['90 epochs', '200 epochs'].flatMap((group) => ['Acc', 'UA', 'RA'].map((label) => ({ group, label }))));
  const full = rowsOf(t5).filter(filled);
  // Fully filled rows are exactly the Table 5 recipes' (stage-1 and Table 7 rows lack a budget or UA/RA).
  assert.equal(full.length, table5Rows, full.map((r) => r.label).join(', '));
  assert.deepEqual(t5.missing.filter((m) => m.recipes.some((p) => p.includes('imagenet-lt/table5/'))), [], 'no Table 5 recipe is left to run');
  for (const row of full) {
    for (const b of [0, 3]) {
      const [acc, ua, ra] = row.cells.slice(b, b + 3).map((c) => c.stat!.mean);
      assert.ok(acc >= 0 && acc <= 100 && ua > 0 && ua <= 100, `${row.label}: ${acc} ${ua}`);
      // JSON carries two decimals: allow RA's own rounding plus what Acc's and UA's (±0.005 each) move 100·Acc/UA.
      const slack = 0.005 + 100 * (0.005 / ua + (acc * 0.005) / (ua * ua)) + 1e-9;
      assert.ok(Math.abs(ra - (100 * acc) / ua) <= slack, `${row.label}: RA ${ra} = 100·${acc}/${ua}`);
    }
    assert.ok(row.cells.every((c) => c.paper !== undefined), 'cells carry the paper field');
  }
  // Every row of the survey's Table 5 (Softmax … SADE: 23 rows, the 13 of the first methods and the
  // 10 ensemble / representation / augmentation methods) sits beside the paper's numbers.
  const withPaper = full.filter((r) => r.cells.every((c) => typeof c.paper === 'number' && typeof c.delta === 'number'));
  assert.equal(withPaper.length, 23, withPaper.map((r) => r.label).join(', '));
});

test('table --rehearse --table 6 --paper: head, middle and tail accuracy of every Table 5 row at 90 and 200 epochs', () => {
  const [t5] = tablesOf('5');
  const [t6, ...more] = tablesOf('6');
  assert.equal(more.length, 0);
  assert.deepEqual(t6.columns, ['90 epochs', '200 epochs'].flatMap((group) => ['Head', 'Middle', 'Tail'].map((label) => ({ group, label }))));
  const full6 = new Set(rowsOf(t6).filter(filled).map((r) => r.id));
  const paper6 = new Set(rowsOf(t6).filter((r) => filled(r) && r.cells.every((c) => typeof c.paper === 'number')).map((r) => r.id));
  for (const row of rowsOf(t5).filter(filled)) {
    assert.ok(full6.has(row.id), `${row.label} has head/middle/tail at both budgets`);
    // The paper's Table 6 has every row its Table 5 has.
    if (row.cells.every((c) => typeof c.paper === 'number')) assert.ok(paper6.has(row.id), `${row.label} beside the paper's head/middle/tail`);
  }
});

test('table --rehearse --table 7 --paper: the 4 × 4 stage-1 loss × classifier matrix at 200 epochs, all / head / middle / tail, beside the paper', () => {
  const t7 = tablesOf('7').find((t) => t.title.includes('200 epochs'));
  assert.ok(t7);
  const classifiers = ['Joint', 'NCM', 'cRT', 'LWS'];
  const rows = rowsOf(t7);
  assert.deepEqual(rows.map((r) => r.id), ['softmax', 'focal', 'esql', 'balanced-softmax']);
  let cells = 0;
  t7.columns.forEach((col, i) => {
    if (!classifiers.includes(col.label)) return;
    for (const row of rows) {
      const c = row.cells[i];
      assert.ok(c.stat !== null && typeof c.paper === 'number', `${row.id} ${col.group} ${col.label}`);
      cells++;
    }
  });
  assert.equal(cells, 4 * 4 * 4);
});

test('a real table leaves the rehearsal out; table --rehearse renders the 90/200-epoch columns in Markdown', () => {
  const plain = cli(['table', '--results', results, '--format', 'json']);
  assert.equal(plain.code, 0, plain.stderr);
  const tables = (JSON.parse(plain.stdout) as { tables: ResultTable[] }).tables;
  assert.equal(tables.flatMap((t) => rowsOf(t).flatMap((r) => r.cells.flatMap((c) => c.runIds))).length, 0);
  assert.match(plain.stderr, /rehearsal record\(s\) in .* are left out/);
  const md = cli(['table', '--rehearse', '--results', results, '--table', '5', '--paper']);
  assert.equal(md.code, 0, md.stderr);
  assert.match(md.stdout, /Table 5: Acc \/ UA \/ RA \(%\) — imagenet-lt-rehearsal · resnet8/);
  assert.match(md.stdout, /\| Method \| 90 epochs Acc \| 90 epochs UA \| 90 epochs RA \| 200 epochs Acc \| 200 epochs UA \| 200 epochs RA \|/);
});

test('plot --rehearse --paper draws Fig. 4, per-class accuracy and training curves of the rehearsal', () => {
  const figures = path.join(dir, 'figures');
  const r = cli(['plot', '--rehearse', '--results', results, '--out', figures, '--paper']);
  assert.equal(r.code, 0, r.stderr);
  const files = readdirSync(figures).sort();
  for (const pattern of [/^fig4-imagenet-lt-rehearsal-resnet8-.*\.png$/, /^per-class-imagenet-lt-rehearsal-resnet8-90-epochs\.svg$/, /^per-class-imagenet-lt-rehearsal-resnet8-200-epochs\.png$/, /^curves-imagenet-lt-rehearsal-resnet8-200-epochs\.svg$/]) {
    assert.ok(files.some((f) => pattern.test(f)), `${pattern} in ${files.join(', ')}`);
  }
});
