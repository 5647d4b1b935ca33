import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { buildTable5 } from '../../src/results/tables.js';
import { accuracyVsRelativeAccuracy, perClassAccuracyPlot, perClassSeries, scatterPoints, svgToPng, trainingCurvesPlot } from '../../src/results/plots.js';
import { linearScale, logScale, niceLinear } from '../../src/results/svg.js';
import type { EpochLine } from '../../src/results/types.js';
import { fakeRecord } from './fixtures.js';
import { scenarioRecords } from './scenario.js';

test('nice linear ticks and log ticks', () => {
  assert.deepEqual(niceLinear(41.2, 58.8, 6), { domain: [40, 60], ticks: [40, 45, 50, 55, 60] }); // raw step 17.6/6 = 2.93 → 5
  const s = linearScale(0, 100, 0, 200, 5);
  assert.deepEqual(s.ticks, [0, 20, 40, 60, 80, 100]);
  assert.equal(s(50), 100);
  const l = logScale(5, 1280, 0, 100);
  assert.deepEqual(l.ticks, [5, 10, 20, 50, 100, 200, 500, 1000]);
  assert.ok(Math.abs(l(Math.sqrt(4 * 1600)) - 50) < 1e-9); // geometric middle of [5/1.25, 1280·1.25]
});

test('Fig. 4 points come from the Table 5 cells that have both Acc and RA', () => {
  const [t5] = buildTable5(scenarioRecords(), {});
  const points = scatterPoints(t5);
  assert.deepEqual(
    points.map((p) => [p.label, p.family, p.epochs, p.acc.toFixed(2), p.ra.toFixed(2)]),
    [
      ['softmax', 'baseline', '10 epochs', '71.00', '79.80'],
      ['balanced-softmax', 'CR', '10 epochs', '81.00', '87.91'],
    ],
  );
  const fig = accuracyVsRelativeAccuracy(t5);
  assert.match(fig.svg, /<circle [^>]*fill="#0072B2"/); // softmax: baseline circle, first budget colour
  assert.match(fig.svg, />Relative accuracy RA \(%\)</);
  assert.match(fig.svg, />balanced-softmax</);
});

test('per-class series average seeds; the plot renders to a PNG of the requested size', async () => {
  const recs = [
    fakeRecord({ runId: 'a', method: 'focal', epochs: 3, seed: 1, top1: 0, perClass: [90, 50, 10] }),
    fakeRecord({ runId: 'b', method: 'focal', epochs: 3, seed: 2, top1: 0, perClass: [80, 40, 20] }),
    fakeRecord({ runId: 'c', method: 'softmax', epochs: 3, top1: 0, perClass: [99, 30, 0] }),
    fakeRecord({ runId: 'd', method: 'softmax', epochs: 3, top1: 0, balanced: true, perClass: [1, 1, 1] }),
  ];
  const series = perClassSeries(recs);
  assert.deepEqual(series.map((s) => [s.label, s.perClass, s.runs]), [
    ['focal, 3 ep', [85, 45, 15], 2],
    ['softmax, 3 ep', [99, 30, 0], 1],
  ]);
  const fig = perClassAccuracyPlot(series, { thresholds: { head: 50, tail: 10 }, width: 600, height: 400 });
  assert.match(fig.svg, />focal, 3 ep \(2 seeds\)</);
  assert.match(fig.svg, />head &gt; 50</);
  const png = await svgToPng(fig.svg, 1);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 600, 400]);
});

test('training curves draw one line per run in both panels', () => {
  const line = (epoch: number, trainLoss: number, valTop1: number): EpochLine => ({ epoch, lr: 0.1, trainLoss, trainAcc: 0, valTop1, valGroups: { head: null, middle: null, tail: null }, seconds: 1, imagesPerSec: 1, numTensors: 1 });
  const fig = trainingCurvesPlot([
    { label: 'softmax', lines: [line(1, 2, 30), line(2, 1, 50)] },
    { label: 'focal <seed 2>', lines: [line(1, 1.5, 35), line(2, 0.8, 52)] },
  ]);
  assert.equal((fig.svg.match(/<path d="M/g) ?? []).length, 4);
  assert.match(fig.svg, />focal &lt;seed 2&gt;</);
});
