import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Sgd } from '../../src/train/sgd.js';
import { learningRate, type ScheduleSpec } from '../../src/train/schedule.js';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('SGD matches torch.optim.SGD: wd added to the gradient before momentum', async () => {
  await tf.setBackend('cpu');
  const w = tf.variable(tf.tensor1d([1, -2]));
  const vars = new Map([['w', w]]);
  const sgd = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 0.1 });
  // step 1: g' = g + 0.1·w = [0.5+0.1, 0.5−0.2] = [0.6, 0.3]; buf = g'; w = w − 0.5·buf
  sgd.step(vars, { w: tf.tensor1d([0.5, 0.5]) }, 0.5);
  let v = w.dataSync();
  close(v[0], 1 - 0.3);
  close(v[1], -2 - 0.15);
  // step 2: g' = [0.5 + 0.07, 0.5 − 0.215] = [0.57, 0.285]; buf = 0.9·[0.6, 0.3] + g' = [1.11, 0.555]
  sgd.step(vars, { w: tf.tensor1d([0.5, 0.5]) }, 0.5);
  v = w.dataSync();
  close(v[0], 0.7 - 0.555);
  close(v[1], -2.15 - 0.2775);
  sgd.dispose();
});

test('SGD nesterov: w −= lr·(g + μ·buf)', async () => {
  await tf.setBackend('cpu');
  const w = tf.variable(tf.tensor1d([1]));
  const vars = new Map([['w', w]]);
  const sgd = new Sgd({ momentum: 0.5, nesterov: true, weightDecay: 0 });
  sgd.step(vars, { w: tf.tensor1d([2]) }, 0.1); // buf = 2; update = 2 + 1 = 3
  close(w.dataSync()[0], 1 - 0.3);
  sgd.step(vars, { w: tf.tensor1d([2]) }, 0.1); // buf = 1 + 2 = 3; update = 2 + 1.5 = 3.5
  close(w.dataSync()[0], 0.7 - 0.35);
  sgd.dispose();
});

const spec = (s: Partial<ScheduleSpec>): ScheduleSpec => ({ name: 'cosine', warmupEpochs: 0, milestones: [0.6, 0.8], gamma: 0.1, minLr: 0, ...s });

test('cosine over the epoch budget (CosineAnnealingLR with T_max = epochs)', () => {
  close(learningRate(spec({}), 0.1, 0, 200), 0.1);
  close(learningRate(spec({}), 0.1, 100, 200), 0.05);
  close(learningRate(spec({}), 0.1, 199, 200), 0.05 * (1 + Math.cos(Math.PI * 199 / 200)));
  close(learningRate(spec({ minLr: 0.01 }), 0.1, 100, 200), 0.055);
});

test('step milestones are fractions of the budget: 0.6/0.8 of 200 = epochs 120/160, as LDAM-DRW', () => {
  const s = spec({ name: 'step', warmupEpochs: 5, milestones: [0.6, 0.8], gamma: 0.1 });
  close(learningRate(s, 0.1, 0, 200), 0.02); // warm-up (e+1)/5
  close(learningRate(s, 0.1, 4, 200), 0.1);
  close(learningRate(s, 0.1, 119, 200), 0.1);
  close(learningRate(s, 0.1, 120, 200), 0.01);
  close(learningRate(s, 0.1, 160, 200), 0.001);
  // the same recipe at 90 epochs steps at 54 and 72
  close(learningRate(s, 0.1, 53, 90), 0.1);
  close(learningRate(s, 0.1, 54, 90), 0.01);
  close(learningRate(s, 0.1, 72, 90), 0.001);
});

test('linear decay and constant', () => {
  close(learningRate(spec({ name: 'linear' }), 0.1, 45, 90), 0.05);
  close(learningRate(spec({ name: 'constant' }), 0.1, 45, 90), 0.1);
});
