/**
 * Per-call CPU time of the wasm backend's training batch-norm kernels (LtBatchNormTrain forward,
 * LtBatchNormTrainGrad backward), the JavaScript loops against the WebAssembly SIMD kernels
 * (src/backends/wasm-batch-norm.ts), at the activation shapes of a ResNet-32 at batch 128.
 * CPU time (process.cpuUsage, user + system), not wall time, so that a busy machine does not skew
 * it; the median of `--reps` calls after two warm-up calls. Single-threaded wasm backend (the
 * kernels run on the main thread either way).
 *   node dist/scripts/bench-wasm-batch-norm.js [--reps 15]
 */
import * as tf from '@tensorflow/tfjs';
import { initWasm } from '../src/backends/wasm-training.js';
import { setBatchNormSimd } from '../src/backends/wasm-batch-norm.js';
import { Rng } from '../src/rng.js';

const repsArg = process.argv.indexOf('--reps');
const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 15;

function cpuMs(f: () => void): number {
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];

async function main(): Promise<void> {
  await initWasm(1);
  const shapes: Array<[number, number, number, number]> = [[128, 32, 32, 16], [128, 16, 16, 32], [128, 8, 8, 64]];
  const rng = new Rng(1);
  for (const shape of shapes) {
    const n = tf.util.sizeFromShape(shape);
    const C = shape[3];
    const rand = (k: number) => Float32Array.from({ length: k }, () => rng.normal());
    const x = tf.tensor4d(rand(n), shape);
    const dy = tf.tensor4d(rand(n), shape);
    const gamma = tf.tensor1d(rand(C).map((v) => 1 + 0.1 * v));
    const beta = tf.tensor1d(rand(C).map((v) => 0.1 * v));
    const [y, mean, , invstd] = tf.engine().runKernel('LtBatchNormTrain', { x, gamma, beta }, { varianceEpsilon: 1e-5 }) as tf.Tensor[];
    y.dispose();
    const fwd = () => (tf.engine().runKernel('LtBatchNormTrain', { x, gamma, beta }, { varianceEpsilon: 1e-5 }) as tf.Tensor[]).forEach((t) => t.dispose());
    const bwd = () => (tf.engine().runKernel('LtBatchNormTrainGrad', { dy, x, gamma, mean, invstd }, {}) as tf.Tensor[]).forEach((t) => t.dispose());
    const row: string[] = [];
    for (const simd of [false, true]) {
      setBatchNormSimd(simd);
      for (const [name, f] of [['fwd', fwd], ['bwd', bwd]] as const) {
        f();
        f();
        const t = Array.from({ length: reps }, () => cpuMs(f));
        row.push(`${simd ? 'simd' : 'js'} ${name} ${median(t).toFixed(2)} ms (${((median(t) * 1e6) / n).toFixed(2)} ns/elt)`);
      }
    }
    process.stdout.write(`[${shape}]  ${row.join('  ')}\n`);
    [x, dy, gamma, beta, mean, invstd].forEach((t) => t.dispose());
  }
  setBatchNormSimd(true);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
