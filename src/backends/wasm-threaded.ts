/**
 * The threaded SIMD build of @tensorflow/tfjs-backend-wasm 4.22.0, loaded in Node.
 *
 * The package never uses it in Node (its `WASM_HAS_MULTITHREAD_SUPPORT` flag is hard-wired to
 * false there, tfjs issue #3830): its loader serves the pthread worker script and the main script
 * to the workers as Blob URLs, which Node's worker_threads cannot load. This module instantiates
 * the same Emscripten factory itself, with the worker script written to a temporary file and the
 * factory's own file as the script the workers import, and then registers a `wasm` backend built
 * from it, exactly as the package's `base.ts` does.
 *
 * One more trap: the C++ side caps the thread pool at `emscripten_num_logical_cores() / 2`
 * (it assumes hyper-threading), which in Node is `os.cpus().length / 2`, i.e. 1 thread on a
 * 2-core machine. While the module initialises, `os.cpus()` is made to report 2 × the requested
 * thread count so the pool gets exactly the threads asked for.
 *
 * All of this depends on the bundle's internals (file names under `wasm-out/`, the worker
 * contents export, the `tfjs` namespace the loader attaches, the core-count cap), hence the pinned
 * version and `test/backends/wasm-threaded.test.ts`, which fails loudly if any of it changes.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);
// `os` through require: its exports object is patched for a moment (see above).
const os = require('node:os') as typeof import('node:os');

/** The version whose internals this loader was written against. */
export const THREADED_WASM_PINNED_VERSION = '4.22.0';

/** Files of the installed package that the threaded loader needs. */
export function threadedWasmFiles(): { factory: string; worker: string; binary: string } {
  const root = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  return {
    factory: path.join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js'),
    worker: path.join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js'),
    binary: path.join(root, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm'),
  };
}

/** Writes the pthread worker script (exported by the package as a string) to a temp file once. */
function workerScriptFile(contents: string): string {
  // The loader escapes newlines the same way before making its Blob: the script holds "\n"
  // inside string literals that a template literal turned into real newlines.
  const text = contents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `lt-bench-tfjs-wasm-threaded-${hash}.worker.cjs`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return file;
}

interface WasmModule {
  cwrap: (name: string, ret: string | null, args: string[]) => (...a: number[]) => number;
  tfjs?: Record<string, unknown>;
  PThread?: unknown;
}

async function instantiateThreaded(threads: number): Promise<WasmModule> {
  const files = threadedWasmFiles();
  for (const f of Object.values(files)) {
    if (!fs.existsSync(f)) throw new Error(`threaded wasm: ${f} is missing (is @tensorflow/tfjs-backend-wasm ${THREADED_WASM_PINNED_VERSION} installed?)`);
  }
  const factory = require(files.factory) as (config: object) => Promise<WasmModule>;
  const { wasmWorkerContents } = require(files.worker) as { wasmWorkerContents?: unknown };
  if (typeof factory !== 'function' || typeof wasmWorkerContents !== 'string') {
    throw new Error('threaded wasm: the bundle layout changed (factory or wasmWorkerContents not found)');
  }
  const workerFile = workerScriptFile(wasmWorkerContents);
  const realCpus = os.cpus;
  const fakeCount = 2 * threads;
  os.cpus = () => {
    const cpus = realCpus();
    return Array.from({ length: fakeCount }, (_, i) => cpus[i % cpus.length]);
  };
  let module: WasmModule;
  try {
    module = await factory({
      locateFile: (p: string, prefix: string) =>
        p.endsWith('.worker.js') ? workerFile : p.endsWith('.wasm') ? files.binary : prefix + p,
      // Workers `importScripts` this (read + indirect eval in Node): the factory file itself.
      mainScriptUrlOrBlob: files.factory,
    });
  } finally {
    os.cpus = realCpus;
  }
  // The namespace the package's loader attaches (backend_wasm.ts, init()).
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

let stockFactory: { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number } | undefined;

/** Puts the package's own (single-threaded in Node) `wasm` factory back, if it was replaced. */
export function restoreStockWasmBackend(): void {
  if (stockFactory === undefined) return;
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', stockFactory.factory, stockFactory.priority);
  tfwasm.setThreadsCount(1);
}

/**
 * Replaces the registered `wasm` backend factory by one that loads the threaded SIMD build with
 * `threads` threads. Call before `wasm` is first initialised; `tf.setBackend('wasm')` then
 * resolves false (and tfjs logs why) if the threaded build cannot start.
 */
export function registerThreadedWasmBackend(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > 8) {
    throw new Error(`threaded wasm: threads must be an integer in 1..8 (the bundle pre-creates 8 workers), got ${threads}`);
  }
  if (tfwasm.version_wasm !== THREADED_WASM_PINNED_VERSION) {
    throw new Error(`threaded wasm: written for @tensorflow/tfjs-backend-wasm ${THREADED_WASM_PINNED_VERSION}, found ${tfwasm.version_wasm}`);
  }
  if (tf.engine().registry['wasm'] !== undefined) {
    throw new Error('threaded wasm: the wasm backend is already initialised; choose threads before the first use');
  }
  stockFactory ??= tf.engine().registryFactory['wasm'];
  tf.removeBackend('wasm');
  tfwasm.setThreadsCount(threads);
  tf.registerBackend('wasm', async () => {
    const module = await instantiateThreaded(threads);
    const backend = new tfwasm.BackendWasm(module as unknown as ConstructorParameters<typeof tfwasm.BackendWasm>[0]);
    // The constructor started the XNNPACK pool threads; Emscripten ref()s a worker while it runs a
    // pthread, and pool threads never finish, so the process would never exit on its own.
    const pthread = module.PThread as { runningWorkers?: Array<{ unref?: () => void }> } | undefined;
    for (const w of pthread?.runningWorkers ?? []) w.unref?.();
    return backend;
  }, 2);
}
