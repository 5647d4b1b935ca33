import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { calibrationFromSamples, calibrationMetrics, confidenceBin } from '../../src/eval/calibration-metrics.js';
import { selectBackend } from '../../src/backend.js';
import { testBackend } from '../foundation/helpers.js';

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('confidence bins are (i/15, (i+1)/15], with 0 in the first and 1 in the last', () => {
  assert.equal(confidenceBin(0), 0);
  assert.equal(confidenceBin(1 / 15), 0);
  assert.equal(confidenceBin(1 / 15 + 1e-9), 1);
  assert.equal(confidenceBin(2 / 15), 1);
  assert.equal(confidenceBin(0.75), 11);
  assert.equal(confidenceBin(0.9), 13);
  assert.equal(confidenceBin(14 / 15), 13);
  assert.equal(confidenceBin(1), 14);
  for (let k = 1; k <= 15; k++) assert.equal(confidenceBin(k / 15), k - 1, `edge ${k}/15 belongs to the bin below it`);
});

// Four samples, two classes. Logits (ln 3, 0): confidence 0.75, predicts class 0; (0, ln 9):
// confidence 0.9, predicts class 1. Labels 0, 1, 1, 1: bin 11 (0.733, 0.8] holds samples 1–2
// (confidence 0.75, accuracy 0.5), bin 13 (0.867, 0.933] samples 3–4 (0.9, 1.0).
// ECE = 2/4·|0.5 − 0.75| + 2/4·|1 − 0.9| = 0.175 → 17.5 %.
// NLL = (−ln 0.75 − ln 0.25 − 2 ln 0.9) / 4 = 0.4711744.
const handNll = (-Math.log(0.75) - Math.log(0.25) - 2 * Math.log(0.9)) / 4;

test('ECE, NLL and reliability bins of the hand example, from per-sample values', () => {
  const m = calibrationFromSamples([0.75, 0.75, 0.9, 0.9], [true, false, true, true], [-Math.log(0.75), -Math.log(0.25), -Math.log(0.9), -Math.log(0.9)]);
  close(m.ece, 17.5, 1e-9);
  close(m.nll, handNll, 1e-12);
  close(handNll, 0.4711744, 1e-7);
  assert.equal(m.reliability.length, 15);
  assert.deepEqual(
    m.reliability.map((b) => b.count),
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0],
  );
  close(m.reliability[11].confidence!, 75, 1e-9);
  close(m.reliability[11].accuracy!, 50, 1e-9);
  close(m.reliability[13].confidence!, 90, 1e-9);
  close(m.reliability[13].accuracy!, 100, 1e-9);
  close(m.reliability[11].lo, 11 / 15, 1e-12);
  close(m.reliability[11].hi, 12 / 15, 1e-12);
  assert.equal(m.reliability[0].confidence, null);
  assert.equal(m.reliability[0].accuracy, null);
  // ECE is the count-weighted gap of the populated bins.
  const fromBins = m.reliability.reduce((s, b) => s + (b.count / 4) * (b.count ? Math.abs(b.accuracy! - b.confidence!) : 0), 0);
  close(fromBins, m.ece, 1e-9);
});

test('a perfectly calibrated set has ECE 0; an always-wrong confident one has ECE = its confidence', () => {
  // Ten samples at confidence 0.7, seven right.
  const conf = new Array(10).fill(0.7);
  const right = conf.map((_, i) => i < 7);
  close(calibrationFromSamples(conf, right, new Array(10).fill(0)).ece, 0, 1e-9);
  close(calibrationFromSamples([0.95, 0.95], [false, false], [3, 3]).ece, 95, 1e-9);
});

test('calibrationMetrics: softmax of predicted logits, the true class\'s −log p, on the tfjs backend', async () => {
  await selectBackend(testBackend);
  const before = tf.memory().numTensors;
  const logits = tf.tensor2d([
    [Math.log(3), 0],
    [Math.log(3), 0],
    [0, Math.log(9)],
    [0, Math.log(9)],
  ]);
  const m = calibrationMetrics(logits, Int32Array.from([0, 1, 1, 1]));
  logits.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  close(m.ece, 17.5, 1e-4);
  close(m.nll, handNll, 1e-5);
  assert.equal(m.reliability[11].count, 2);
  assert.equal(m.reliability[13].count, 2);
  // Three classes: softmax(1, 2, 3) = (0.0900, 0.2447, 0.6652); label 0 → wrong, NLL = −ln 0.0900.
  const z = tf.tensor2d([[1, 2, 3]]);
  const one = calibrationMetrics(z, Int32Array.from([0]));
  z.dispose();
  const p = [1, 2, 3].map((v) => Math.exp(v) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
  close(one.nll, -Math.log(p[0]), 1e-5);
  close(one.ece, 100 * p[2], 1e-4);
  assert.equal(one.reliability[confidenceBin(p[2])].accuracy, 0);
});
