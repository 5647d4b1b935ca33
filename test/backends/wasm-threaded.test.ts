/**
 * The threaded SIMD wasm build loaded in Node (src/backends/wasm-threaded.ts). The loader relies on
 * internals of @tensorflow/tfjs-backend-wasm 4.22.0; these tests fail loudly when an upgrade
 * changes any of them. (Runs in its own process under node --test, so the thread count is fresh.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { THREADED_WASM_PINNED_VERSION, threadedWasmFiles } from '../../src/backends/wasm-threaded.js';
import { initWasm, wasmThreadsInUse } from '../../src/backends/wasm-training.js';

const require = createRequire(import.meta.url);

test('the pinned bundle still has what the threaded loader uses', () => {
  assert.equal(tfwasm.version_wasm, THREADED_WASM_PINNED_VERSION,
    `@tensorflow/tfjs-backend-wasm is ${tfwasm.version_wasm}; the threaded loader was written for ${THREADED_WASM_PINNED_VERSION}: re-check src/backends/wasm-threaded.ts before upgrading`);
  const files = threadedWasmFiles();
  for (const f of Object.values(files)) assert.ok(fs.existsSync(f), `${f} exists`);
  const { wasmWorkerContents } = require(files.worker) as { wasmWorkerContents: unknown };
  assert.equal(typeof wasmWorkerContents, 'string', 'the worker module exports wasmWorkerContents');
  const worker = wasmWorkerContents as string;
  assert.match(worker, /ENVIRONMENT_IS_NODE/, 'the worker script supports Node worker_threads');
  assert.match(worker, /importScripts\(e\.data\.urlOrBlob\)/, 'workers import the main script from a path');
  const factory = fs.readFileSync(files.factory, 'utf8');
  assert.match(factory, /function _emscripten_num_logical_cores\(\)\{if\(ENVIRONMENT_IS_NODE\)return require\("os"\)\.cpus\(\)\.length/,
    'the thread cap still reads os.cpus() (the loader patches it while the module starts)');
  assert.match(factory, /var pthreadPoolSize=8;/, 'the bundle pre-creates 8 pthread workers');
});

test('initWasm(2) runs the threaded build with 2 threads and matches cpu on a conv gradient', async () => {
  await initWasm(2);
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(wasmThreadsInUse(), 2, 'XNNPACK thread pool has 2 threads');
  const xv = Float32Array.from({ length: 2 * 9 * 9 * 4 }, (_, i) => Math.sin(i * 0.37));
  const fv = Float32Array.from({ length: 3 * 3 * 4 * 5 }, (_, i) => Math.cos(i * 0.11));
  const run = () => tf.tidy(() => {
    const g = tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'))));
    return g([tf.tensor4d(xv, [2, 9, 9, 4]), tf.tensor4d(fv, [3, 3, 4, 5])]).map((t) => t.dataSync().slice());
  });
  const wasm = run();
  await tf.setBackend('cpu');
  const cpu = run();
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < cpu[k].length; i++) {
      assert.ok(Math.abs(wasm[k][i] - cpu[k][i]) <= 1e-6 + 1e-5 * Math.abs(cpu[k][i]), `gradient ${k}[${i}]: ${wasm[k][i]} vs ${cpu[k][i]}`);
    }
  }
});
