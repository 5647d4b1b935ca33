import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTable5, buildTable6, buildTable7, buildTables, referenceAccuracy, meanStd, table7Coordinates } from '../../src/results/tables.js';
import { formatTables, toMarkdown, toCsv, toLatex } from '../../src/results/format.js';
import { RecordIndex } from '../../src/results/store.js';
import type { PaperTables } from '../../src/results/paper.js';
import { fakeRecord } from './fixtures.js';
import { scenarioExpected, scenarioRecords } from './scenario.js';

// Hand-checked values of the scenario (see scenario.ts):
// softmax 10 ep: Acc (70, 72) → 71.0 ± 1.414; UA per seed max(A_v) = (90, 88) → 89.0 ± 1.414;
//   RA = (100·70/90, 100·72/88) = (77.78, 81.82) → 79.80 ± 2.857.
// balanced-softmax 10 ep: Acc (80, 82) → 81.0 ± 1.414; only seed 1 has both balanced runs:
//   UA = max(90, 91) = 91, RA = 100·80/91 = 87.91 (flagged §, the seed-2 reference is listed as missing).
// my-method: (79.25, 79.75) → 79.5 ± 0.354, params differ (k=1|2) → ‡.
// softmax 20 ep: two code versions → †; no balanced runs named → UA/RA empty and listed.

test('Table 5 from hand-written records: seeds, UA/RA from balanced runs, missing cells, flags', () => {
  const tables = buildTable5(scenarioRecords(), { expected: scenarioExpected() });
  assert.equal(tables.length, 1);
  assert.equal(toMarkdown(tables[0]), T5);
});

test('Table 6 from hand-written records: head/middle/tail, a group without classes', () => {
  const tables = buildTable6(scenarioRecords(), { expected: scenarioExpected() });
  assert.equal(toMarkdown(tables[0]), T6);
});

test('Table 7 from hand-written records: descriptor, stage1Loss param and joint cells', () => {
  const tables = buildTable7(scenarioRecords(), { expected: scenarioExpected() });
  assert.equal(tables.length, 1);
  assert.equal(toMarkdown(tables[0]), T7);
});

test('formatTables md joins all three tables', () => {
  assert.equal(formatTables(buildTables(scenarioRecords(), { expected: scenarioExpected() }), 'md'), [T5, T6, T7].join('\n'));
});

const T5 = [
    "### Table 5: Acc / UA / RA (%) — fashion-lt · resnet8 · exponential ρ=20, last-epoch checkpoint",
    "",
    "| Method | 10 epochs Acc | 10 epochs UA | 10 epochs RA | 20 epochs Acc | 20 epochs UA | 20 epochs RA |",
    "| :-- | --: | --: | --: | --: | --: | --: |",
    "| ***Baseline*** |  |  |  |  |  |  |",
    "| softmax | 71.0 ± 1.4* | 89.0 ± 1.4* | 79.8 ± 2.9* | 75.5 ± 0.7† |  |  |",
    "| ***Class re-balancing*** |  |  |  |  |  |  |",
    "| focal |  |  |  | 74.0 |  |  |",
    "| balanced-softmax | 81.0 ± 1.4 | 91.0§ | 87.9§ |  |  |  |",
    "| ***Information augmentation*** |  |  |  |  |  |  |",
    "| my-method | 79.5 ± 0.4‡ |  |  |  |  |  |",
    "| ***Module improvement*** |  |  |  |  |  |  |",
    "| decouple-crt (IB) | 78.0 |  |  |  |  |  |",
    "| decouple-crt (CB) | 77.0 |  |  |  |  |  |",
    "| decouple-lws (IB, focal) | 76.5 |  |  |  |  |  |",
    "| decouple-ncm (IB) |  |  |  |  |  |  |",
    "",
    "Several seeds: mean ± sample std. · † records from different code versions · ‡ records trained with different method params · * fewer training seeds than expected · § UA/RA from fewer seeds than Acc (balanced runs missing)",
    "",
    "Missing (10):",
    "",
    "- softmax — 10 epochs: Acc, UA, RA: seeds 3 missing (have 1, 2); run `lt-bench run recipes/test/softmax-e10.yaml --seeds 3`",
    "- softmax — 20 epochs: UA, RA: run sm-20-1 names no vanilla balanced run; run sm-20-2 names no vanilla balanced run",
    "- focal — 10 epochs: Acc, UA, RA: no finished run; run `lt-bench run recipes/test/focal-e10.yaml`",
    "- focal — 20 epochs: UA, RA: run fo-20-1 names no vanilla balanced run",
    "- balanced-softmax — 10 epochs: some seeds of UA, RA: balanced run bal-bs-2 (named by bs-10-2) not found or not finished",
    "- my-method — 10 epochs: UA, RA: run mine-10 names no vanilla balanced run; run mine-10b names no vanilla balanced run",
    "- decouple-crt (IB) — 10 epochs: UA, RA: run crt-sm-10 names no vanilla balanced run",
    "- decouple-crt (CB) — 10 epochs: UA, RA: run crt-cb-10 names no vanilla balanced run",
    "- decouple-lws (IB, focal) — 10 epochs: UA, RA: run lws-fo-10 names no vanilla balanced run",
    "- decouple-ncm (IB) — 10 epochs: Acc, UA, RA: no finished run; run `lt-bench run recipes/test/table7/softmax-ncm-e10.yaml`",
    "",
    "Empty, no run and no recipe known (6): balanced-softmax (20 epochs), my-method (20 epochs), decouple-crt (IB) (20 epochs), decouple-crt (CB) (20 epochs), decouple-lws (IB, focal) (20 epochs), decouple-ncm (IB) (20 epochs).",
    "",
    "Notes:",
    "",
    "- softmax @ 20 epochs Acc: mixes code versions 0.1.0@aaaaaaaaaaaa, 0.2.0@aaaaaaaaaaaa",
    "- my-method @ 10 epochs: records differ in params k=1\\|2",
  ].join('\n') + '\n';

const T6 = [
    "### Table 6: head / middle / tail accuracy (%) — fashion-lt · resnet8 · exponential ρ=20, last-epoch checkpoint",
    "",
    "| Method | 10 epochs Head | 10 epochs Middle | 10 epochs Tail | 20 epochs Head | 20 epochs Middle | 20 epochs Tail |",
    "| :-- | --: | --: | --: | --: | --: | --: |",
    "| ***Baseline*** |  |  |  |  |  |  |",
    "| softmax | 96.0 ± 1.4* | 61.0 ± 1.4* | 21.0 ± 1.4* | 96.0 ± 0.0† | 67.0 ± 1.4† | 31.0 ± 1.4† |",
    "| ***Class re-balancing*** |  |  |  |  |  |  |",
    "| focal |  |  |  | 95.0 | 64.0 | 28.0 |",
    "| balanced-softmax | 90.5 ± 0.7 | 76.0 ± 1.4 | 61.0 ± 1.4 |  |  |  |",
    "| ***Information augmentation*** |  |  |  |  |  |  |",
    "| my-method | 1.0 ± 0.0‡ | 2.0 ± 0.0‡ | 3.0 ± 0.0‡ |  |  |  |",
    "| ***Module improvement*** |  |  |  |  |  |  |",
    "| decouple-crt (IB) | 85.0 | 74.0 | 50.0 |  |  |  |",
    "| decouple-crt (CB) | 88.0 | 70.0 | – |  |  |  |",
    "| decouple-lws (IB, focal) | 84.0 | 72.0 | 48.0 |  |  |  |",
    "| decouple-ncm (IB) |  |  |  |  |  |  |",
    "",
    "Several seeds: mean ± sample std. · † records from different code versions · ‡ records trained with different method params · * fewer training seeds than expected · – no classes in this group",
    "",
    "Missing (3):",
    "",
    "- softmax — 10 epochs: Head, Middle, Tail: seeds 3 missing (have 1, 2); run `lt-bench run recipes/test/softmax-e10.yaml --seeds 3`",
    "- focal — 10 epochs: Head, Middle, Tail: no finished run; run `lt-bench run recipes/test/focal-e10.yaml`",
    "- decouple-ncm (IB) — 10 epochs: Head, Middle, Tail: no finished run; run `lt-bench run recipes/test/table7/softmax-ncm-e10.yaml`",
    "",
    "Empty, no run and no recipe known (6): balanced-softmax (20 epochs), my-method (20 epochs), decouple-crt (IB) (20 epochs), decouple-crt (CB) (20 epochs), decouple-lws (IB, focal) (20 epochs), decouple-ncm (IB) (20 epochs).",
    "",
    "Notes:",
    "",
    "- softmax @ 20 epochs: mixes code versions 0.1.0@aaaaaaaaaaaa, 0.2.0@aaaaaaaaaaaa",
    "- my-method @ 10 epochs: records differ in params k=1\\|2",
  ].join('\n') + '\n';

const T7 = [
    "### Table 7: stage-1 loss × classifier, accuracy (%) on all / head / middle / tail classes — fashion-lt · resnet8 · exponential ρ=20, 10 epochs, last-epoch checkpoint",
    "",
    "| Stage-1 loss | All Joint | All NCM | All cRT | All LWS | Head Joint | Head NCM | Head cRT | Head LWS | Middle Joint | Middle NCM | Middle cRT | Middle LWS | Tail Joint | Tail NCM | Tail cRT | Tail LWS |",
    "| :-- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    "| softmax | 71.0 ± 1.4* |  | 78.0 |  | 96.0 ± 1.4* |  | 85.0 |  | 61.0 ± 1.4* |  | 74.0 |  | 21.0 ± 1.4* |  | 50.0 |  |",
    "| focal |  |  |  | 76.5 |  |  |  | 84.0 |  |  |  | 72.0 |  |  |  | 48.0 |",
    "| balanced-softmax | 81.0 ± 1.4 |  |  |  | 90.5 ± 0.7 |  |  |  | 76.0 ± 1.4 |  |  |  | 61.0 ± 1.4 |  |  |  |",
    "",
    "Several seeds: mean ± sample std. · * fewer training seeds than expected",
    "",
    "Missing (3):",
    "",
    "- softmax — Joint: all, head, middle, tail: seeds 3 missing (have 1, 2); run `lt-bench run recipes/test/softmax-e10.yaml --seeds 3`",
    "- softmax — NCM: all, head, middle, tail: no finished run; run `lt-bench run recipes/test/table7/softmax-ncm-e10.yaml`",
    "- focal — Joint: all, head, middle, tail: no finished run; run `lt-bench run recipes/test/focal-e10.yaml`",
    "",
    "Empty, no run and no recipe known (6): softmax (LWS), focal (NCM), focal (cRT), balanced-softmax (NCM), balanced-softmax (cRT), balanced-softmax (LWS).",
  ].join('\n') + '\n';

test('referenceAccuracy: UA = max(A_v, A_b), RA = 100·A_t/UA, and the reasons it cannot be computed', () => {
  const recs = [
    fakeRecord({ runId: 'v', method: 'softmax', epochs: 5, balanced: true, top1: 60 }),
    fakeRecord({ runId: 'b', method: 'paco', epochs: 5, balanced: true, top1: 64, best: 66 }),
    fakeRecord({ runId: 'v-best', method: 'softmax', epochs: 5, balanced: true, top1: 60, best: 61 }),
  ];
  const index = new RecordIndex(recs);
  const both = referenceAccuracy(fakeRecord({ runId: 't', method: 'paco', epochs: 5, top1: 48, vanilla: 'v', methodBalanced: 'b' }), index, 'last');
  assert.equal(both.ua, 64);
  assert.equal(both.ra, 75); // 100 · 48 / 64
  assert.deepEqual(both.used.map((r) => r.runId), ['v', 'b']);
  const vanillaOnly = referenceAccuracy(fakeRecord({ runId: 't', method: 'softmax', epochs: 5, top1: 45, vanilla: 'v' }), index, 'last');
  assert.equal(vanillaOnly.ua, 60);
  assert.equal(vanillaOnly.ra, 75);
  const best = referenceAccuracy(fakeRecord({ runId: 't', method: 'paco', epochs: 5, top1: 40, best: 49.5, vanilla: 'v-best', methodBalanced: 'b' }), index, 'best');
  assert.equal(best.ua, 66);
  assert.equal(best.ra, 75); // 100 · 49.5 / 66
  const noBest = referenceAccuracy(fakeRecord({ runId: 't', method: 'paco', epochs: 5, top1: 40, best: 50, vanilla: 'v', methodBalanced: 'b' }), index, 'best');
  assert.equal(noBest.ua, null);
  assert.deepEqual(noBest.problems, ['balanced run v has no best checkpoint metrics']);
  const gone = referenceAccuracy(fakeRecord({ runId: 't', method: 'paco', epochs: 5, top1: 40, vanilla: 'v', methodBalanced: 'nope' }), index, 'last');
  assert.deepEqual([gone.ua, gone.ra, gone.problems], [null, null, ['balanced run nope (named by t) not found or not finished']]);
  const none = referenceAccuracy(fakeRecord({ runId: 't', method: 'paco', epochs: 5, top1: 40 }), index, 'last');
  assert.deepEqual(none.problems, ['run t names no vanilla balanced run']);
});

test('meanStd uses the sample standard deviation', () => {
  assert.deepEqual(meanStd([]), null);
  assert.deepEqual(meanStd([3]), { mean: 3, std: null, n: 1 });
  const s = meanStd([1, 2, 3, 4])!;
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.std! - Math.sqrt(5 / 3)) < 1e-12);
});

test('--checkpoint best reports best-on-val metrics; a seed run twice keeps the later run', () => {
  const recs = [
    fakeRecord({ runId: 'a', method: 'focal', epochs: 3, seed: 1, top1: 50, best: 55 }),
    { ...fakeRecord({ runId: 'a2', method: 'focal', epochs: 3, seed: 1, top1: 51, best: 57 }), timing: { wallSeconds: 1, trainImagesPerSec: 1, startedAt: '2025-02-01T00:00:00Z', finishedAt: '2025-02-01T00:01:00Z' } },
    fakeRecord({ runId: 'c', method: 'focal', epochs: 3, seed: 2, top1: 52, best: 59 }),
  ];
  const [last] = buildTable5(recs, {});
  const [best] = buildTable5(recs, { checkpoint: 'best' });
  const row = (t: typeof last) => t.rows.find((r) => r.kind === 'row')!;
  const lastRow = row(last);
  const bestRow = row(best);
  assert.ok(lastRow.kind === 'row' && bestRow.kind === 'row');
  assert.deepEqual(lastRow.cells[0].stat, { mean: 51.5, std: Math.SQRT1_2, n: 2 });
  assert.deepEqual(lastRow.cells[0].runIds, ['a2', 'c']);
  assert.deepEqual(bestRow.cells[0].stat, { mean: 58, std: Math.SQRT2, n: 2 });
  assert.match(best.title, /best-on-val checkpoint/);
  assert.deepEqual(last.notes.filter((n) => n.includes('two runs')), ['focal @ 3 epochs: seed 1 has two runs; using a2, ignoring a']);
});

test('table7Coordinates: descriptor, decoupled params, joint fallback', () => {
  assert.deepEqual(table7Coordinates({ method: { name: 'focal', params: {} } }), { stage1Loss: 'focal', classifier: 'joint' });
  assert.deepEqual(table7Coordinates({ method: { name: 'decouple-ncm', params: { stage1Loss: 'esql' } } }), { stage1Loss: 'esql', classifier: 'ncm' });
  assert.equal(table7Coordinates({ method: { name: 'decouple-crt', params: { stage1Loss: 'esql', stage1Sampler: 'class-balanced' } } }), null);
  assert.equal(table7Coordinates({ method: { name: 'decouple-crt', params: {} } }), null);
  assert.deepEqual(table7Coordinates({ method: { name: 'x', params: {} }, table7: { stage1Loss: 'balanced-softmax', classifier: 'lws' } }), { stage1Loss: 'balanced-softmax', classifier: 'lws' });
  assert.equal(table7Coordinates({ method: { name: 'softmax', params: {} }, dataset: { balanced: true } }), null);
});

// A two-row excerpt of survey-tables.json is enough to test the comparison.
const PAPER: PaperTables = {
  table5: { Softmax: { type: 'Baseline', '90': { acc: 45.5, ua: 57.3, ra: 79.4 } }, 'Focal loss': { type: 'CR', '90': { acc: 45.8, ua: 57.3, ra: 79.9 } } },
  table6: { Softmax: { '90': { head: 66.5, middle: 39.0, tail: 8.6 } } },
  table7: { Softmax: { all: { joint: 46.8, ncm: 50.2, crt: 50.2, lws: 50.8 } } },
};

function imagenetRecords() {
  return [
    fakeRecord({ runId: 'bal', method: 'softmax', family: 'baseline', dataset: 'imagenet-lt', backbone: 'resnext50', epochs: 90, balanced: true, top1: 57 }),
    fakeRecord({ runId: 'sm', method: 'softmax', family: 'baseline', dataset: 'imagenet-lt', backbone: 'resnext50', epochs: 90, top1: 46, groups: [66, 39.5, 9], vanilla: 'bal' }),
    fakeRecord({ runId: 'fm', method: 'fashion-only', family: 'CR', dataset: 'fashion-lt', epochs: 90, top1: 80 }),
  ];
}

test('--paper adds the paper value and the difference, on ImageNet-LT tables only', () => {
  const tables = buildTables(imagenetRecords(), { paper: PAPER, tables: [5] });
  assert.equal(tables.length, 2);
  const [fashion, imagenet] = tables;
  assert.equal(fashion.paper, false);
  assert.equal(imagenet.paper, true);
  assert.equal(
    toMarkdown(imagenet),
    [
      '### Table 5: Acc / UA / RA (%) — imagenet-lt · resnext50, last-epoch checkpoint',
      '',
      '| Method | 90 epochs Acc | 90 epochs UA | 90 epochs RA | 200 epochs Acc | 200 epochs UA | 200 epochs RA |',
      '| :-- | --: | --: | --: | --: | --: | --: |',
      '| ***Baseline*** |  |  |  |  |  |  |',
      '| softmax | 46.0 (45.5, +0.5) | 57.0 (57.3, -0.3) | 80.7 (79.4, +1.3) |  |  |  |',
      '| ***Class re-balancing*** |  |  |  |  |  |  |',
      '| focal | (45.8) | (57.3) | (79.9) |  |  |  |',
      '',
      'Paper values (ImageNet-LT, ResNeXt-50) and the difference in parentheses: ours (paper, Δ).',
      '',
      'Empty, no run and no recipe known (3): softmax (200 epochs), focal (90 epochs), focal (200 epochs).',
      '',
    ].join('\n'),
  );
});

test('Table 6 and 7 with --paper: paper rows from table6, Table 7 at 200 epochs only', () => {
  const recs = [
    ...imagenetRecords(),
    fakeRecord({ runId: 'crt', method: 'decouple-crt', family: 'MI', params: { stage1Sampler: 'instance' }, dataset: 'imagenet-lt', backbone: 'resnext50', epochs: 200, top1: 50, groups: [65, 45, 25], table7: { stage1Loss: 'softmax', classifier: 'crt' } }),
  ];
  const [t6] = buildTable6(recs, { paper: PAPER }).filter((t) => t.paper);
  const softmax = t6.rows.find((r) => r.kind === 'row' && r.method === 'softmax');
  assert.ok(softmax && softmax.kind === 'row');
  assert.deepEqual(softmax.cells.slice(0, 3).map((c) => [c.stat?.mean, c.paper, c.delta]), [[66, 66.5, -0.5], [39.5, 39, 0.5], [9, 8.6, 9 - 8.6]]);
  const t7 = buildTable7(recs, { paper: PAPER }).filter((t) => t.paper);
  assert.equal(t7.length, 1);
  assert.match(t7[0].title, /200 epochs/);
  const row = t7[0].rows[0];
  assert.ok(row.kind === 'row' && row.label === 'softmax');
  // Columns: All × (Joint, NCM, cRT, LWS), then Head ×4, ...
  assert.deepEqual(row.cells.slice(0, 4).map((c) => [c.stat?.mean ?? null, c.paper, c.delta]), [[null, 46.8, null], [null, 50.2, null], [50, 50.2, 50 - 50.2], [null, 50.8, null]]);
});

function smallTables() {
  const recs = [
    fakeRecord({ runId: 'v1', method: 'softmax', family: 'baseline', epochs: 4, seed: 1, balanced: true, top1: 80 }),
    fakeRecord({ runId: 's1', method: 'softmax', family: 'baseline', epochs: 4, seed: 1, top1: 60, groups: [70, 50, 20], vanilla: 'v1' }),
    fakeRecord({ runId: 's2', method: 'softmax', family: 'baseline', epochs: 4, seed: 2, top1: 64, groups: [72, 52, null], vanilla: 'v1', ltBench: '0.2.0' }),
  ];
  return buildTables(recs, { tables: [5] });
}

test('CSV: one line per cell, numbers to two decimals, flags and runs', () => {
  assert.equal(
    toCsv(smallTables()),
    [
      'table,dataset,backbone,profile,imbalance_ratio,checkpoint,family,row,column_group,column,mean,std,n,paper,delta,flags,runs',
      '5,fashion-lt,resnet8,exponential,20,last,baseline,softmax,4 epochs,Acc,62,2.83,2,,,mixed-versions,s1 s2',
      '5,fashion-lt,resnet8,exponential,20,last,baseline,softmax,4 epochs,UA,80,0,2,,,mixed-versions,s1 s2 v1',
      '5,fashion-lt,resnet8,exponential,20,last,baseline,softmax,4 epochs,RA,77.5,3.54,2,,,mixed-versions,s1 s2 v1',
      '',
    ].join('\n'),
  );
});

test('CSV and JSON round float noise to two decimals (82.47500000000001 → 82.48)', () => {
  // (82.475 + 82.47500000000002) / 2 and the std of two equal values are float noise of the mean.
  const recs = [
    fakeRecord({ runId: 'a', method: 'softmax', family: 'baseline', epochs: 4, seed: 1, top1: 82.47500000000001 }),
    fakeRecord({ runId: 'b', method: 'softmax', family: 'baseline', epochs: 4, seed: 2, top1: 82.47500000000001 }),
  ];
  const tables = buildTables(recs, { tables: [5] });
  assert.equal(tables[0].rows[1].kind === 'row' && tables[0].rows[1].cells[0].stat?.mean, 82.47500000000001, 'the data keeps full precision');
  const csv = formatTables(tables, 'csv').split('\n')[1];
  assert.match(csv, /,Acc,82\.48,0,2,/);
  const json = formatTables(tables, 'json');
  assert.doesNotMatch(json, /82\.4750/);
  const acc = (JSON.parse(json) as { tables: Array<{ rows: Array<{ cells?: Array<{ stat: { mean: number } | null }> }> }> }).tables[0].rows[1].cells![0];
  assert.equal(acc.stat!.mean, 82.48);
});

test('LaTeX: booktabs table with column groups, family rows and footnote comments', () => {
  assert.equal(
    toLatex(smallTables()[0]),
    [
      '% Table 5: Acc / UA / RA (%) — fashion-lt · resnet8 · exponential ρ=20, last-epoch checkpoint',
      '\\begin{table}[t]',
      '  \\centering',
      '  \\caption{Table 5: Acc / UA / RA (\\%) --- fashion-lt · resnet8 · exponential $\\rho$=20, last-epoch checkpoint}',
      '  \\begin{tabular}{lrrr}',
      '    \\toprule',
      '    & \\multicolumn{3}{c}{4 epochs} \\\\',
      '    \\cmidrule(lr){2-4}',
      '    Method & Acc & UA & RA \\\\',
      '    \\midrule',
      '    \\multicolumn{4}{l}{\\textit{Baseline}} \\\\',
      '    softmax & 62.0 $\\pm$ 2.8\\textsuperscript{\\dag} & 80.0 $\\pm$ 0.0\\textsuperscript{\\dag} & 77.5 $\\pm$ 3.5\\textsuperscript{\\dag} \\\\',
      '    \\bottomrule',
      '  \\end{tabular}',
      '\\end{table}',
      '% \\dag records from different code versions',
      '% note: softmax @ 4 epochs Acc: mixes code versions 0.1.0@aaaaaaaaaaaa, 0.2.0@aaaaaaaaaaaa',
      '% note: softmax @ 4 epochs UA/RA: mixes code versions 0.1.0@aaaaaaaaaaaa, 0.2.0@aaaaaaaaaaaa',
      '',
    ].join('\n'),
  );
});

test('JSON: the table data, parseable, numbers to two decimals', () => {
  const tables = smallTables();
  const parsed = JSON.parse(formatTables(tables, 'json')) as { tables: unknown };
  const round = (_k: string, v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v);
  assert.deepEqual(parsed.tables, JSON.parse(JSON.stringify(tables, round)));
  assert.match(formatTables(tables, 'json'), /"std": 2\.83,/);
});

test('a cell never shows a number no record holds: no records, no numbers', () => {
  const tables = buildTables([], { expected: [{ dataset: 'fashion-lt', method: 'focal', epochs: 5, recipePath: 'r/focal.yaml' }] });
  const md = formatTables(tables, 'md');
  assert.doesNotMatch(md.split('\n').filter((l) => l.startsWith('| focal')).join(''), /\d/);
  assert.match(md, /focal — 5 epochs: Acc, UA, RA: no finished run; run `lt-bench run r\/focal.yaml`/);
});

test('cells validated on the test set (valSource: test) are flagged ¶', () => {
  const rec = fakeRecord({ runId: 'c1', method: 'softmax', epochs: 2, top1: 40, dataset: 'cifar100' });
  rec.dataset.valSource = 'test';
  const other = fakeRecord({ runId: 'f1', method: 'softmax', epochs: 2, top1: 50 });
  const md = formatTables(buildTable5([rec, other]), 'md');
  assert.match(md, /\| softmax \| 40\.0¶ \|/);
  assert.match(md, /¶ validated on the test set/);
  assert.match(md, /\| softmax \| 50\.0 \|/, 'the other dataset is not flagged');
});

test('a capped split (dataset.maxPerClass) is a table of its own', () => {
  const full = fakeRecord({ runId: 'f', method: 'softmax', epochs: 8, top1: 70 });
  const small = fakeRecord({ runId: 's', method: 'softmax', epochs: 8, top1: 40 });
  small.dataset.maxPerClass = 600;
  const tables = buildTable5([full, small]);
  assert.equal(tables.length, 2);
  const md = formatTables(tables, 'md');
  assert.match(md, /n_max=600/);
  assert.match(md, /\| softmax \| 70\.0 \|/);
  assert.match(md, /\| softmax \| 40\.0 \|/);
});

test('a run with another training sampler is a row of its own, labelled with the survey abbreviation', () => {
  const plain = fakeRecord({ runId: 'p', method: 'softmax', epochs: 8, top1: 70 });
  const cb = fakeRecord({ runId: 'c', method: 'softmax', epochs: 8, top1: 80 });
  cb.sampler = 'class-balanced';
  const ib = fakeRecord({ runId: 'i', method: 'softmax', epochs: 8, top1: 72, seed: 2 });
  ib.sampler = 'instance'; // the default sampler named explicitly: the plain row
  const md = formatTables(buildTable5([plain, cb, ib]), 'md');
  assert.match(md, /\| softmax \| 71\.0 ± 1\.4 \|/);
  assert.match(md, /\| softmax \(CB\) \| 80\.0 \|/);
});

test('a run whose post-hoc step read the unlabelled test images flags its cell transductive (◊)', () => {
  const plain = fakeRecord({ runId: 'p', method: 'uno-ic', epochs: 5, top1: 40 });
  const trans = fakeRecord({ runId: 't', method: 'softmax', epochs: 5, top1: 41 });
  trans.method.calibration = { last: { postHoc: { aggregate: { reads: 'test-unlabelled' } }, transductive: true }, best: null };
  const [t] = buildTable5([plain, trans], {});
  const flagsOf = (label: string) => {
    const row = t.rows.find((r) => r.kind === 'row' && r.label === label);
    assert.ok(row && row.kind === 'row', label);
    return row.cells[0].flags;
  };
  assert.deepEqual(flagsOf('softmax'), ['transductive']);
  assert.deepEqual(flagsOf('uno-ic'), []);
  assert.match(formatTables([t], 'md'), /41\.0+ ?◊/);
});

test('a bf16 / fp16 record flags its cell other-precision (°), with a note saying which precisions it holds', () => {
  const fp32 = fakeRecord({ runId: 'a', method: 'softmax', epochs: 5, top1: 40 });
  const bf16 = fakeRecord({ runId: 'b', method: 'focal', epochs: 5, top1: 41 });
  bf16.precision = 'bf16';
  const mixedA = fakeRecord({ runId: 'c', method: 'lade', epochs: 5, top1: 42, seed: 0 });
  const mixedB = fakeRecord({ runId: 'd', method: 'lade', epochs: 5, top1: 43, seed: 1 });
  mixedB.precision = 'fp16';
  const [t] = buildTable5([fp32, bf16, mixedA, mixedB], {});
  const flagsOf = (label: string) => {
    const row = t.rows.find((r) => r.kind === 'row' && r.label === label);
    assert.ok(row && row.kind === 'row', label);
    return row.cells[0].flags;
  };
  assert.deepEqual(flagsOf('softmax'), []);
  assert.deepEqual(flagsOf('focal'), ['other-precision']);
  assert.deepEqual(flagsOf('lade'), ['other-precision']);
  assert.ok(t.notes.some((n) => /focal.*trained in bf16;/.test(n)), t.notes.join('\n'));
  assert.ok(t.notes.some((n) => /lade.*trained in fp16 and fp32 \(mixed\)/.test(n)), t.notes.join('\n'));
  assert.match(formatTables([t], 'md'), /41\.0 ?°/);
});

test("SADE runs with the test-time aggregation are a row of their own (◊), not averaged into SADE's Table 5 cell", () => {
  const mean = fakeRecord({ runId: 's0', method: 'sade', epochs: 8, top1: 84 });
  const tta = fakeRecord({ runId: 's1', method: 'sade', epochs: 8, top1: 86 });
  tta.method.params = { testTimeAggregation: true };
  tta.method.calibration = { last: { postHoc: { 'test-time-aggregation': { weights: [0.3, 0.3, 0.4] } }, transductive: true }, best: null };
  const [t] = buildTable5([mean, tta], {});
  const rows = t.rows.filter((r) => r.kind === 'row' && r.method === 'sade');
  assert.equal(rows.length, 2, rows.map((r) => r.label).join(', '));
  const cells = rows.map((r) => (r.kind === 'row' ? { label: r.label, mean: r.cells[0].stat?.mean, flags: r.cells[0].flags } : null));
  assert.deepEqual(cells[0], { label: 'sade', mean: 84, flags: [] });
  assert.equal(cells[1]!.mean, 86);
  assert.match(cells[1]!.label, /testTimeAggregation/);
  assert.deepEqual(cells[1]!.flags, ['transductive']);
});
