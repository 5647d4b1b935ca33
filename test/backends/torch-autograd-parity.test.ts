/**
 * Native autograd against the tape, both on the `torch` backend, gradient by gradient
 * (‖Δ‖/‖g‖ ≤ 1e-4): every registered backbone, every registered loss (focal with `detach: true`
 * included, where the detach must change the gradient). Loads the backend on its default device
 * (LT_TORCH_DEVICE), so the GPU check (scripts/gpu-check.sh) runs it on CUDA; it imports only
 * src/ for that reason. The rest of native autograd's tests: torch-autograd.test.ts.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/rng.js';
import { loadTorchBackend, torchBackendStatus } from '../../src/backends/torch/index.js';
import { nativeVariableGrads } from '../../src/backends/torch/autograd.js';
import { listBackbones } from '../../src/models/backbones/registry.js';
import { LtModel } from '../../src/models/model.js';
import { createLoss, lossNames } from '../../src/losses/index.js';

const status = torchBackendStatus();
const skip = status.usable ? false : `torch backend unusable: ${status.reason}`;

function randn(seed: number, n: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

type Grads = Record<string, Float32Array>;

/** Gradients of f with respect to vars by one engine, read back to JS (nothing kept). */
function gradsBy(engine: 'native' | 'tape', f: () => tf.Scalar, vars: tf.Variable[]): { loss: number; grads: Grads } {
  const { value, grads } = engine === 'native' ? nativeVariableGrads(f, vars) : tf.tidy(() => tf.variableGrads(f, vars));
  const out: Grads = {};
  for (const [k, g] of Object.entries(grads)) out[k] = g.dataSync().slice() as Float32Array;
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

function norm(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

/** Per tensor ‖native − tape‖ / ‖tape‖ ≤ tol (absolute 1e-7 for a zero gradient). */
function assertGradsAgree(native: Grads, tape: Grads, what: string, tol = 1e-4): void {
  assert.deepEqual(Object.keys(native).sort(), Object.keys(tape).sort(), `${what}: the same variables get gradients`);
  for (const k of Object.keys(tape)) {
    const a = native[k];
    const b = tape[k];
    assert.equal(a.length, b.length, `${what} ${k}: size`);
    const d = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
    const gn = norm(b);
    const rel = norm(d) / Math.max(gn, 1e-7);
    assert.ok(rel <= tol || norm(d) <= 1e-7, `${what} ${k}: ‖Δ‖/‖g‖ = ${rel} (‖g‖ = ${gn})`);
  }
}

const classCounts = [40, 20, 10, 5, 2];

describe('native autograd gradients equal the tape\'s on torch', { skip }, () => {
  before(async () => {
    await loadTorchBackend({ threads: 2 });
  });

  for (const name of listBackbones()) {
    test(`backbone ${name}: native gradients equal the tape's (‖Δ‖/‖g‖ ≤ 1e-4)`, () => {
      const imageNet = !/^resnet(8|20|32|44|56|110)$/.test(name);
      const [n, hw] = imageNet ? [4, 32] : [4, 8];
      const model = new LtModel({ backbone: name, head: 'linear', inChannels: 3, numClasses: 5, seed: 3 });
      const vars = [...model.store.optimisable().values()];
      const x = tf.tensor4d(randn(11, n * hw * hw * 3), [n, hw, hw, 3]);
      const y = tf.tensor1d([0, 1, 2, 4], 'int32');
      const f = () => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 5), model.forward(x, true).logits) as tf.Scalar;
      const tape = gradsBy('tape', f, vars);
      model.store.discardUpdates();
      const native = gradsBy('native', f, vars);
      model.store.discardUpdates();
      assert.ok(Math.abs(native.loss - tape.loss) <= 1e-5 * Math.abs(tape.loss), `loss ${native.loss} vs ${tape.loss}`);
      assert.equal(Object.keys(tape.grads).length, vars.length, 'every parameter gets a gradient');
      assertGradsAgree(native.grads, tape.grads, name);
      tf.dispose([x, y]);
      model.dispose();
    });
  }

  test('every registered loss (focal with detach: true included): native gradients equal the tape\'s', () => {
    const w = tf.variable(tf.tensor2d(randn(21, 6 * 5, 0.5), [6, 5]), true, 'autograd-loss-w');
    const bias = tf.variable(tf.tensor1d(randn(22, 5, 0.1)), true, 'autograd-loss-b');
    const x = tf.tensor2d(randn(23, 8 * 6), [8, 6]);
    const y = tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 0], 'int32');
    const cases: Array<[string, Record<string, unknown>]> = [...lossNames.map((n): [string, Record<string, unknown>] => [n, {}]), ['focal', { detach: true, gamma: 2 }]];
    for (const [name, params] of cases) {
      const loss = createLoss(name, { classCounts, ...params });
      // a late epoch (LDAM-DRW's re-weighting on) and a fresh seeded generator per engine (ESQL)
      const f = (seed: number) => () => loss(tf.add(tf.matMul(x, w), bias) as tf.Tensor2D, y, { epoch: 9, epochs: 10, rng: new Rng(seed) });
      const tape = gradsBy('tape', f(5), [w, bias]);
      const native = gradsBy('native', f(5), [w, bias]);
      assert.ok(Math.abs(native.loss - tape.loss) <= 1e-5 * Math.abs(tape.loss) + 1e-7, `${name}: loss ${native.loss} vs ${tape.loss}`);
      assertGradsAgree(native.grads, tape.grads, `${name} ${JSON.stringify(params)}`);
    }
    // detach changes the gradient (same value): the native detach really stops it.
    const focal = (detach: boolean) => createLoss('focal', { classCounts, gamma: 2, detach });
    const g = (detach: boolean) => gradsBy('native', () => focal(detach)(tf.add(tf.matMul(x, w), bias) as tf.Tensor2D, y), [w, bias]);
    const [on, off] = [g(true), g(false)];
    assert.ok(Math.abs(on.loss - off.loss) <= 1e-6 * Math.abs(off.loss), 'same loss value');
    const a = on.grads[w.name];
    const b = off.grads[w.name];
    const d = a.map((v, i) => v - b[i]);
    assert.ok(norm(d) / norm(b) > 1e-2, `detach must change the gradient: ‖Δ‖/‖g‖ = ${norm(d) / norm(b)}`);
    tf.dispose([w, bias, x, y]);
  });

});
