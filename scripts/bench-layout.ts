/**
 * Layout benchmark (not a test): how many times one training step on the `torch` backend copies a
 * tensor to change its layout, and how many bytes. tfjs is NHWC at its API; the addon hands ATen
 * NCHW views of the same memory (src/backends/torch, native/torch/src/ops.cc), and counts every
 * permuted view it has to make contiguous (`takeLayoutCopies`), per kernel.
 *
 *   npm run build:torch && npx tsc -p tsconfig.json && node dist/scripts/bench-layout.js [--model resnet32] [--batch 128] [--steps 3] [--autograd native|tape] [--out file.json]
 *
 * The step is lt-bench's: the backbone and a linear head in training mode, softmax cross-entropy,
 * the gradients from libtorch's autograd (`--autograd native`, what training on torch uses) or
 * tfjs's tape (`tape`), and the SGD update (v ← v − lr·g). The first step is a warm-up; the counts
 * are per step over the next `--steps`. Prints one JSON document. The counter sees the addon's own
 * kernels only: under native autograd the backward pass runs inside libtorch, whose copies (a
 * filter gradient laid out as its HWIO parameter, for one) it does not count.
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { TorchBackend } from '../src/backends/torch/backend.js';
import { LtModel } from '../src/models/model.js';
import { nativeVariableGrads } from '../src/backends/torch/autograd.js';

function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const model = argValue('model', 'resnet32');
  const batch = Number(argValue('batch', '128'));
  const steps = Number(argValue('steps', '3'));
  const out = process.argv.includes('--out') ? argValue('out', '') : null;
  const autograd = argValue('autograd', 'native');
  if (autograd !== 'native' && autograd !== 'tape') throw new Error(`--autograd: native or tape, not ${autograd}`);
  const choice = await selectBackend('torch');
  const backend = tf.backend();
  if (!(backend instanceof TorchBackend)) throw new Error(`bench-layout needs the torch backend (got ${choice.name})`);
  const imagenet = model.startsWith('resnext') || model === 'resnet50' || model === 'resnet10';
  const [h, c, classes] = imagenet ? [224, 3, 1000] : [32, 3, 10];
  const net = new LtModel({ backbone: model, head: 'linear', inChannels: c, numClasses: classes, seed: 0 });
  const vars = [...net.store.optimisable().values()];
  const x = tf.randomNormal([batch, h, h, c], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 2) as tf.Tensor1D, classes);
  const step = () =>
    tf.tidy(() => {
      const f = () => tf.losses.softmaxCrossEntropy(y, net.forward(x, true).logits) as tf.Scalar;
      const { grads } = autograd === 'native' ? nativeVariableGrads(f, vars) : tf.variableGrads(f, vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
      net.store.applyUpdates();
    });
  step();
  backend.addon.takeLayoutCopies();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - t0) / steps;
  const taken = backend.addon.takeLayoutCopies();
  const perStep = Object.fromEntries(Object.entries(taken.copies).map(([op, n]) => [op, n / steps]));
  const mbPerStep = Object.fromEntries(Object.entries(taken.bytes).map(([op, n]) => [op, +(n / steps / 2 ** 20).toFixed(3)]));
  const result = {
    date: new Date().toISOString(),
    model,
    batch,
    input: [h, h, c],
    steps,
    backend: choice.name,
    autograd,
    msPerStep: +ms.toFixed(1),
    layoutCopiesPerStep: perStep,
    layoutCopiesTotalPerStep: Object.values(perStep).reduce((a, b) => a + b, 0),
    layoutCopyMBPerStep: mbPerStep,
    layoutCopyMBTotalPerStep: +Object.values(mbPerStep).reduce((a, b) => a + b, 0).toFixed(2),
    inputMB: +((batch * h * h * c * 4) / 2 ** 20).toFixed(2),
  };
  const json = JSON.stringify(result, null, 2);
  if (out) writeFileSync(out, `${json}\n`);
  console.log(json);
  net.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
