/** With --paper, a survey row that a params variant fills is shown once, not again empty. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadPaperTables } from '../../src/results/paper.js';
import { buildTable5 } from '../../src/results/tables.js';
import { packageRoot } from '../../src/version.js';
import { fakeRecord } from './fixtures.js';

test('the survey\'s focal loss is detach: true: its paper row is the record\'s row, with no empty twin', async () => {
  const paper = await loadPaperTables(path.join(packageRoot, 'results', 'reference', 'survey-tables.json'));
  const focal = fakeRecord({ runId: 'focal-a', method: 'focal', params: { gamma: 3, detach: true }, epochs: 90, dataset: 'imagenet-lt', top1: 45 });
  const [t] = buildTable5([focal], { paper, tables: [5] });
  const rows = t.rows.filter((r): r is Extract<typeof r, { kind: 'row' }> => r.kind === 'row' && r.method === 'focal');
  assert.deepEqual(rows.map((r) => r.label), ['focal (detach=true)']);
  assert.deepEqual([rows[0].cells[0].stat?.mean, rows[0].cells[0].paper], [45, 45.8]);
  // Paper rows nobody fills are still listed (their cells empty beside the paper's value).
  assert.ok(t.rows.some((r) => r.kind === 'row' && r.method === 'ldam-drw' && r.cells[0].stat === null && r.cells[0].paper === 51.1));
});
