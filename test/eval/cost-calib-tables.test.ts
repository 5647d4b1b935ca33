/** Table 5's extra columns (ECE, NLL, params, MACs) and the reliability figure, from hand-written records. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTable5 } from '../../src/results/tables.js';
import { parseExtraColumns } from '../../src/results/extra-columns.js';
import { poolBins, reliabilityDiagram, reliabilitySeries } from '../../src/results/reliability-plot.js';
import type { ReliabilityBin, RunRecord } from '../../src/results/types.js';
import { fakeRecord } from '../results/fixtures.js';

function bins(filled: Record<number, [number, number, number]>): ReliabilityBin[] {
  return Array.from({ length: 15 }, (_, i) => {
    const f = filled[i];
    return { lo: i / 15, hi: (i + 1) / 15, count: f ? f[0] : 0, confidence: f ? f[1] : null, accuracy: f ? f[2] : null };
  });
}

function withCalibration(r: RunRecord, ece: number, nll: number, rel: ReliabilityBin[], params?: number, macs?: number): RunRecord {
  r.metrics.last = { ...r.metrics.last!, ece, nll, reliability: rel };
  if (params !== undefined) r.cost = { params: { train: params + 1000, test: params, buffers: 10 }, macs: { train: 2 * macs!, test: macs! }, input: [28, 28, 1], trainForward: 'model' };
  return r;
}

const records = [
  withCalibration(fakeRecord({ runId: 'sm-0', method: 'softmax', epochs: 8, seed: 0, top1: 70 }), 10, 0.9, bins({ 14: [60, 96, 80], 10: [40, 70, 60] }), 78_000, 12_000_000),
  withCalibration(fakeRecord({ runId: 'sm-1', method: 'softmax', epochs: 8, seed: 1, top1: 72 }), 14, 1.1, bins({ 14: [40, 96, 90], 11: [60, 75, 50] }), 78_000, 12_000_000),
  // An older record: no calibration, no cost.
  fakeRecord({ runId: 'bs-0', method: 'balanced-softmax', epochs: 8, seed: 0, top1: 80 }),
];

test('parseExtraColumns: a comma list, duplicates once, an unknown name is an error naming it', () => {
  assert.deepEqual(parseExtraColumns('ece, nll,params,ece'), ['ece', 'nll', 'params']);
  assert.deepEqual(parseExtraColumns(''), []);
  assert.throws(() => parseExtraColumns('ece,flops'), /unknown column 'flops': expected ece, nll, params, macs, params-train, macs-train/);
});

test('Table 5 --columns: mean ± std over seeds of ECE and NLL, params and MACs in millions; a record lacking them is listed with the command that adds them', () => {
  const [t] = buildTable5(records, { extraColumns: ['ece', 'nll', 'params', 'macs', 'macs-train'] });
  assert.deepEqual(t.columns.map((c) => c.label), ['Acc', 'UA', 'RA', 'ECE (%)', 'NLL', 'Params (M)', 'MACs (M)', 'Train MACs (M)']);
  assert.match(t.title, /Acc \/ UA \/ RA \(%\), ECE \(%\), NLL, Params \(M\), MACs \(M\), Train MACs \(M\)/);
  const sm = t.rows.find((r) => r.kind === 'row' && r.method === 'softmax');
  assert.ok(sm && sm.kind === 'row');
  assert.equal(sm.cells[3].stat!.mean, 12);
  assert.ok(Math.abs(sm.cells[3].stat!.std! - Math.SQRT2 * 2) < 1e-12);
  assert.ok(Math.abs(sm.cells[4].stat!.mean - 1.0) < 1e-12);
  assert.equal(sm.cells[5].stat!.mean, 0.078);
  assert.equal(sm.cells[6].stat!.mean, 12);
  assert.equal(sm.cells[7].stat!.mean, 24);
  assert.equal(sm.cells[6].stat!.std, null, 'identical seeds: no ± 0');
  assert.equal(sm.cells[3].decimals, 2);
  assert.equal(sm.cells[5].decimals, 3);
  const bs = t.rows.find((r) => r.kind === 'row' && r.method === 'balanced-softmax');
  assert.ok(bs && bs.kind === 'row');
  assert.equal(bs.cells[0].stat!.mean, 80);
  assert.equal(bs.cells[3].stat, null);
  const lacking = t.missing.filter((m) => m.row === bs.label && /ECE|Params/.test(m.where));
  assert.ok(lacking.some((m) => /bs-0 recorded before calibration metrics; `lt-bench eval <run-dir> --split test` adds them/.test(m.reason)));
  assert.ok(lacking.some((m) => /bs-0 recorded before parameters\/MACs/.test(m.reason)));
  // Without --columns the table is as before.
  const [plain] = buildTable5(records);
  assert.deepEqual(plain.columns.map((c) => c.label), ['Acc', 'UA', 'RA']);
  assert.match(plain.title, /^Table 5: Acc \/ UA \/ RA \(%\) — /);
});

test('reliability bins of several seeds pool by count; the figure has a panel per row with its mean ECE', () => {
  const pooled = poolBins([records[0].metrics.last!.reliability!, records[1].metrics.last!.reliability!]);
  assert.equal(pooled[14].count, 100);
  assert.equal(pooled[14].confidence, 96);
  assert.equal(pooled[14].accuracy, (60 * 80 + 40 * 90) / 100);
  assert.equal(pooled[10].count, 40);
  assert.equal(pooled[11].accuracy, 50);
  assert.equal(pooled[0].accuracy, null);
  const series = reliabilitySeries(records);
  assert.equal(series.length, 1, 'the record without bins has no panel');
  assert.equal(series[0].runs, 2);
  const fig = reliabilityDiagram(series, { title: 'Reliability' });
  assert.match(fig.svg, /ECE 12\.00%/);
  assert.match(fig.svg, /softmax, 8 ep \(2 seeds\)/);
  // Three populated bins: three accuracy bars, three gap boxes, three share strips.
  assert.equal((fig.svg.match(/fill-opacity="0.75"/g) ?? []).length, 3);
  assert.equal((fig.svg.match(/fill="#D55E00"/g) ?? []).length, 3);
});
