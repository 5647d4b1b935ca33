/**
 * The torch backend's fused SGD step (one native call for every parameter) against src/train/sgd.ts
 * op by op on the same backend: identical parameters and momentum buffers (coupled L2 before
 * momentum, Nesterov, per-group lr and weight decay, a parameter without a gradient skipped), and no
 * tensor left behind. Skipped, with the reason, when the addon is not built.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/rng.js';
import { loadTorchBackend, torchBackendStatus } from '../../src/backends/torch/index.js';
import { Sgd, type SgdOptions } from '../../src/train/sgd.js';

const status = torchBackendStatus();
const skip = status.usable ? false : `torch backend unusable: ${status.reason}`;

function randn(seed: number, n: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}
type Mem = tf.MemoryInfo & { nativeTensors: number };

const shapes: Record<string, number[]> = { 'conv1.weight': [3, 3, 2, 4], 'bn1.weight': [4], 'fc.weight': [4, 3], 'fc.bias': [3] };

/** Three steps of `opts` from the same start; returns every parameter and buffer, read back. */
function threeSteps(opts: SgdOptions): Map<string, number[]> {
  const vars = new Map(Object.entries(shapes).map(([k, s], i) => [k, tf.tidy(() => tf.variable(tf.tensor(randn(i, s.reduce((a, b) => a * b, 1)), s)))]));
  const sgd = new Sgd(opts);
  for (let step = 0; step < 3; step++) {
    const grads: Record<string, tf.Tensor> = {};
    let i = 0;
    for (const [k, s] of Object.entries(shapes)) {
      // fc.bias gets no gradient on step 2 (a parameter the loss did not reach): skipped
      if (!(k === 'fc.bias' && step === 1)) grads[k] = tf.tensor(randn(100 + 10 * step + i, s.reduce((a, b) => a * b, 1), 0.1), s);
      i++;
    }
    sgd.step(vars, grads, 0.1 / (step + 1));
    tf.dispose(Object.values(grads));
  }
  const out = new Map<string, number[]>();
  for (const [k, v] of vars) out.set(k, Array.from(v.dataSync()));
  for (const [k, b] of sgd.buffers) out.set(`sgd.${k}`, Array.from(b.dataSync()));
  sgd.dispose();
  for (const v of vars.values()) v.dispose();
  return out;
}

describe('fused SGD on torch', { skip }, () => {
  before(async () => {
    await loadTorchBackend({ threads: 2, device: 'cpu' });
  });

  const groups: SgdOptions['groups'] = [{ names: (n) => n.startsWith('bn'), weightDecay: 0 }, { names: (n) => n.startsWith('fc.'), lrFactor: 0.5 }];
  const cases: Array<[string, SgdOptions]> = [
    ['plain SGD', { momentum: 0, nesterov: false, weightDecay: 0 }],
    ['momentum + weight decay', { momentum: 0.9, nesterov: false, weightDecay: 5e-4 }],
    ['Nesterov + groups (no decay on bn, half lr on fc)', { momentum: 0.9, nesterov: true, weightDecay: 2e-4, groups }],
  ];
  for (const [what, opts] of cases) {
    test(`${what}: the fused step equals sgd.ts op by op, bit for bit, and leaves nothing behind`, () => {
      // count the fused calls (and that they do not decline): one per step
      const backend = tf.backend() as unknown as { fusedSgdStep: (...a: unknown[]) => unknown };
      const original = backend.fusedSgdStep;
      let calls = 0;
      backend.fusedSgdStep = (...a: unknown[]) => {
        const r = original.apply(backend, a);
        if (r !== null) calls++;
        return r;
      };
      const before = tf.memory() as Mem;
      let fused: Map<string, number[]>;
      try {
        fused = threeSteps(opts);
      } finally {
        backend.fusedSgdStep = original;
      }
      assert.equal(calls, 3, 'one fused call per step');
      const after = tf.memory() as Mem;
      assert.equal(after.numTensors, before.numTensors, 'tfjs tensors');
      assert.equal(after.nativeTensors, before.nativeTensors, 'native tensors');
      const ref = threeSteps({ ...opts, fused: false });
      assert.equal(calls, 3, 'fused: false steps op by op');
      assert.deepEqual([...fused.keys()].sort(), [...ref.keys()].sort(), 'the same momentum buffers (checkpointed as sgd.<name>)');
      for (const [k, r] of ref) assert.deepEqual(fused.get(k), r, k);
      // the step moved the parameters (the comparison is not between two untouched starts)
      assert.notDeepEqual(fused.get('conv1.weight'), Array.from(randn(0, 72)));
    });
  }
});
