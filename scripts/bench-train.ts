/**
 * Training-throughput benchmark (not a test): one CIFAR ResNet-32 training step (batch 128,
 * 32×32×3, softmax cross-entropy, SGD momentum 0.9 + weight decay 5e-4) on tfjs backends and on
 * PyTorch (Debian python3-torch, `/usr/bin/python3`), side by side.
 *
 *   node dist/scripts/bench-train.js [--backends torch:2,torch:2@raw,wasm:2,wasm:1,cpu] [--threads 2] [--batch 128]
 *   node dist/scripts/bench-train.js --model resnext50|resnet50|resnet10 [--batch 8] ...   (224 px, 1000 classes)
 *                                    [--rounds 4] [--steps 3] [--warmup 2] [--no-pytorch]
 *                                    [--device cpu|cuda] [--precision fp32|bf16] [--python /usr/bin/python3]
 *
 * Two tfjs ResNet-32s: `lt` = lt-bench's own (src/models/backbones/resnet-cifar.ts, batch norm
 * through batchNormTrain) and `raw` = the raw-op one below (also batchNormTrain: one kernel each way
 * on torch). The ImageNet models (`--model resnext50|resnet50|resnet10`) are lt-bench's own
 * backbones (src/models/backbones/resnet-imagenet.ts) + its linear head, against the
 * torchvision-equivalent torch.nn models in bench-train.py. Every engine runs in its own child process (the wasm thread count is fixed per process, and
 * peak RSS is per process). After `--warmup` steps each, the parent alternates rounds of
 * `--steps` steps over the engines, so load changes on this shared machine hit all of them alike,
 * and reports medians over all timed steps. Prints one JSON document on stdout:
 *   { load: {before, after}, entries: [{backend, model, batch, threads, imagesPerSec,
 *     msPerStepMedian, peakRssMB}], ratios: {"<backend>/pytorch": x} }
 * Progress goes to stderr.
 *
 * `--device cuda` puts the torch backend and PyTorch on the GPU (each step ends by reading the loss,
 * which synchronises); `--precision bf16` runs both under autocast (the addon's `setAutocast`,
 * PyTorch's `torch.autocast`). `--python` names the interpreter whose PyTorch is the reference.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/rng.js';
import { batchNormTrain } from '../src/backends/batch-norm-train.js';
import { ParamStore } from '../src/models/params.js';
import { getBackbone } from '../src/models/backbones/registry.js';
import { LinearHead } from '../src/models/classifiers.js';
import { nativeVariableGrads } from '../src/backends/torch/autograd.js';
import { Sgd } from '../src/train/sgd.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

function argValue(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

// ---------------------------------------------------------------------------------------------
// The tfjs ResNet-32 (raw ops; mirrors scripts/bench-train.py)
// ---------------------------------------------------------------------------------------------

interface BnParams { gamma: tf.Variable; beta: tf.Variable; runMean: tf.Variable; runVar: tf.Variable }
interface Block { conv1: tf.Variable; bn1: BnParams; conv2: tf.Variable; bn2: BnParams; stride: number; padChannels: number }
interface ResNet { stem: tf.Variable; stemBn: BnParams; blocks: Block[]; fcW: tf.Variable; fcB: tf.Variable }

function kaiming(rng: Rng, shape: [number, number, number, number]): tf.Variable {
  const fanIn = shape[0] * shape[1] * shape[2];
  const std = Math.sqrt(2 / fanIn);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
  return tf.variable(tf.tensor4d(v, shape));
}

function bnParams(c: number): BnParams {
  return {
    gamma: tf.variable(tf.ones([c])), beta: tf.variable(tf.zeros([c])),
    runMean: tf.variable(tf.zeros([c]), false), runVar: tf.variable(tf.ones([c]), false),
  };
}

export function buildResNetCifar(n: number, numClasses: number, seed: number): ResNet {
  const rng = new Rng(seed);
  const blocks: Block[] = [];
  let cin = 16;
  for (const [planes, stride] of [[16, 1], [32, 2], [64, 2]] as const) {
    for (let i = 0; i < n; i++) {
      const s = i === 0 ? stride : 1;
      blocks.push({
        conv1: kaiming(rng, [3, 3, cin, planes]), bn1: bnParams(planes),
        conv2: kaiming(rng, [3, 3, planes, planes]), bn2: bnParams(planes),
        stride: s, padChannels: s !== 1 || cin !== planes ? (planes - cin) / 2 : 0,
      });
      cin = planes;
    }
  }
  const fc = new Float32Array(64 * numClasses);
  const bound = 1 / Math.sqrt(64);
  for (let i = 0; i < fc.length; i++) fc[i] = (2 * rng.next() - 1) * bound;
  return {
    stem: kaiming(rng, [3, 3, 3, 16]), stemBn: bnParams(16), blocks,
    fcW: tf.variable(tf.tensor2d(fc, [64, numClasses])), fcB: tf.variable(tf.zeros([numClasses])),
  };
}

const PAD1: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];

/** Forward pass in training mode; batch statistics are pushed to `stats` (kept) for the running update. */
function forward(net: ResNet, x: tf.Tensor4D, stats: Array<[BnParams, tf.Tensor, tf.Tensor]>): tf.Tensor2D {
  // one kernel each way on torch; tf.moments + tf.batchNorm elsewhere
  const bn = (h: tf.Tensor4D, p: BnParams): tf.Tensor4D => {
    const { y, mean, variance } = batchNormTrain(h, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D, 1e-5);
    stats.push([p, tf.keep(mean), tf.keep(variance)]);
    return y;
  };
  let h = tf.relu(bn(tf.conv2d(x, net.stem as tf.Tensor4D, 1, PAD1), net.stemBn));
  for (const b of net.blocks) {
    let out = tf.relu(bn(tf.conv2d(h, b.conv1 as tf.Tensor4D, b.stride, PAD1), b.bn1));
    out = bn(tf.conv2d(out, b.conv2 as tf.Tensor4D, 1, PAD1), b.bn2);
    let short: tf.Tensor4D = h;
    if (b.stride !== 1 || b.padChannels > 0) {
      // option A: stride-2 subsampling (a 1×1 average pool: differentiable, unlike stridedSlice)
      // and zero channels on both sides
      short = tf.avgPool(h, 1, b.stride, 'valid') as tf.Tensor4D;
      short = tf.pad(short, [[0, 0], [0, 0], [0, 0], [b.padChannels, b.padChannels]]) as tf.Tensor4D;
    }
    h = tf.relu(tf.add(out, short)) as tf.Tensor4D;
  }
  const pooled = tf.reshape(tf.mean(h, [1, 2]), [h.shape[0], h.shape[3]]) as tf.Tensor2D;
  return tf.add(tf.matMul(pooled, net.fcW as tf.Tensor2D), net.fcB) as tf.Tensor2D;
}

function trainStep(net: ResNet, opt: tf.MomentumOptimizer, x: tf.Tensor4D, yOneHot: tf.Tensor2D, weightDecay: number): number {
  const stats: Array<[BnParams, tf.Tensor, tf.Tensor]> = [];
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(yOneHot, forward(net, x, stats)) as tf.Scalar);
    const vars = tf.engine().registeredVariables;
    const decayed: Record<string, tf.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) decayed[name] = tf.add(g, tf.mul(vars[name], weightDecay));
    opt.applyGradients(decayed as unknown as Parameters<typeof opt.applyGradients>[0]);
    for (const [p, mean, variance] of stats) {
      p.runMean.assign(tf.add(tf.mul(p.runMean, 0.9), tf.mul(mean, 0.1)));
      p.runVar.assign(tf.add(tf.mul(p.runVar, 0.9), tf.mul(variance, 0.1)));
    }
    return value;
  });
  for (const [, m, v] of stats) { m.dispose(); v.dispose(); }
  const out = loss.dataSync()[0]; // synchronises, so the step is fully timed
  loss.dispose();
  return out;
}

/** The ImageNet-size models: lt-bench's backbones (src/models/backbones/resnet-imagenet.ts), 224 px, 1000 classes. */
const IMAGENET_MODELS = ['resnext50', 'resnet50', 'resnet10'];
const TORCH_NAMES: Record<string, string> = { resnext50: 'resnext50_32x4d', resnet50: 'resnet50', resnet10: 'resnet10' };

// ---------------------------------------------------------------------------------------------
// Worker: one tfjs engine, driven over stdin/stdout
// ---------------------------------------------------------------------------------------------

async function selectBackend(spec: string, device: 'cpu' | 'cuda', precision: string): Promise<string> {
  const [name, threadsText] = spec.split(':');
  const threads = threadsText === undefined ? undefined : Number(threadsText);
  if (name === 'wasm') {
    const { initWasm, wasmThreadsInUse } = await import('../src/backends/wasm-training.js');
    await initWasm(threads);
    return `wasm (${wasmThreadsInUse()} thread${wasmThreadsInUse() === 1 ? '' : 's'})`;
  }
  if (name === 'torch') {
    const torchIndex = '../src/backends/torch/index.js';
    const torch = await import(torchIndex) as { loadTorchBackend: (o?: { threads?: number; device?: string }) => Promise<void>; torchBackendStatus: () => { device?: string } };
    await torch.loadTorchBackend({ threads, device });
    if (precision !== 'fp32') {
      const addon = (tf.backend() as unknown as { addon: { setAutocast?: (mode: number) => void } }).addon;
      if (!addon.setAutocast) throw new Error('--precision: this torch addon predates autocast (npm run build:torch)');
      addon.setAutocast(precision === 'bf16' ? 1 : 2);
    }
    return `torch (${torch.torchBackendStatus().device ?? '?'})`;
  }
  if (device !== 'cpu' || precision !== 'fp32') throw new Error(`--device ${device} --precision ${precision}: only the torch backend does this`);
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  return name;
}

/**
 * A training step closure: `raw` (this file's ResNet-32), `lt` (src/models ResNet-32) or an ImageNet
 * model; `-native` after `lt` or an ImageNet model (`torch:2@lt-native`) takes the gradients from
 * libtorch's autograd (src/backends/torch/autograd.ts) instead of tfjs's tape, and a further `-sgd`
 * (`lt-native-sgd`, `lt-sgd`) steps with lt-bench's Sgd (src/train/sgd.ts: one fused call on torch)
 * instead of tf.train.momentum + a decay term.
 */
const baseModel = (spec: string) => spec.replace(/(-native)?(-sgd)?$/, '');
function makeStep(modelSpec: string, batch: number): (x: tf.Tensor4D, y: tf.Tensor2D) => number {
  const native = /-native(-sgd)?$/.test(modelSpec);
  const ltSgd = modelSpec.endsWith('-sgd');
  const model = baseModel(modelSpec);
  const opt = tf.train.momentum(0.1, 0.9);
  if (model === 'raw') {
    const net = buildResNetCifar(5, 10, 1);
    return (x, y) => trainStep(net, opt, x, y, 5e-4);
  }
  // lt-bench's own models (src/models): ResNet-32 (`lt`) or an ImageNet backbone, + the linear
  // head; batch norm through batchNormTrain, running statistics queued and applied after the step
  const imagenet = IMAGENET_MODELS.includes(model);
  const store = new ParamStore(new Rng(1));
  const backbone = getBackbone(imagenet ? model : 'resnet32').create(store, 3);
  const head = new LinearHead(store, backbone.featureDim, imagenet ? 1000 : 10);
  const vars = [...store.optimisable().values()];
  const byName = new Map(vars.map((v) => [v.name, v]));
  const sgd = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 5e-4 });
  const named = new Map(vars.map((v) => [v.name, v]));
  void batch;
  return (x, y) => {
    const loss = tf.tidy(() => {
      const f = () => tf.losses.softmaxCrossEntropy(y, head.apply(backbone.apply(x, true))) as tf.Scalar;
      const { value, grads } = native ? nativeVariableGrads(f, vars) : tf.variableGrads(f, vars);
      if (ltSgd) {
        sgd.step(named, grads, 0.1);
        return value;
      }
      const decayed: Record<string, tf.Tensor> = {};
      for (const [name, g] of Object.entries(grads)) decayed[name] = tf.add(g, tf.mul(byName.get(name)!, 5e-4));
      opt.applyGradients(decayed as unknown as Parameters<typeof opt.applyGradients>[0]);
      return value;
    });
    store.applyUpdates();
    const out = loss.dataSync()[0];
    loss.dispose();
    return out;
  };
}

async function runWorker(spec: string, batch: number): Promise<void> {
  const [backendSpec, model = 'lt'] = spec.split('@');
  const desc = await selectBackend(backendSpec, deviceArg(), precisionArg());
  const step = makeStep(model, batch);
  const [size, classes] = IMAGENET_MODELS.includes(baseModel(model)) ? [224, 1000] : [32, 10];
  const rng = new Rng(2);
  const xs = new Float32Array(batch * size * size * 3);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.normal();
  const labels = Int32Array.from({ length: batch }, () => rng.int(classes));
  const x = tf.tensor4d(xs, [batch, size, size, 3]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat()) as tf.Tensor2D;
  if (process.argv.includes('--profile')) {
    // One warm-up step, then the per-kernel wall time of one step (stderr), and exit.
    step(x, y);
    const info = await tf.profile(() => { step(x, y); });
    const byKernel = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels) {
      const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += Number(await k.kernelTimeMs);
      e.calls += 1;
      byKernel.set(k.name, e);
    }
    const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((a, [, e]) => a + e.ms, 0);
    process.stderr.write(`${desc}: ${total.toFixed(0)} ms in kernels; peak ${info.peakBytes / 2 ** 20} MiB\n`);
    for (const [name, e] of rows.slice(0, 25)) process.stderr.write(`${name.padEnd(24)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(5)} calls\n`);
    process.exit(0);
  }
  process.stdout.write(JSON.stringify({ ready: true, backend: desc }) + '\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'quit') break;
    if (cmd !== 'run') continue;
    const times: number[] = [];
    let loss = NaN;
    for (let i = 0; i < Number(arg); i++) {
      const t0 = performance.now();
      loss = step(x, y);
      times.push(performance.now() - t0);
    }
    const peakRssMB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(JSON.stringify({ times, peakRssMB, loss, numTensors: tf.memory().numTensors }) + '\n');
  }
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Parent: alternate engines, report medians
// ---------------------------------------------------------------------------------------------

interface Engine { label: string; model: string; threads: number; child: ChildProcessByStdio<Writable, Readable, null>; replies: AsyncIterator<string>; times: number[]; peakRssMB: number }

function startEngine(label: string, model: string, threads: number, cmd: string, args: string[], env: NodeJS.ProcessEnv): Engine {
  const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return { label, model, threads, child, replies, times: [], peakRssMB: 0 };
}

async function request(e: Engine, line: string | null): Promise<Record<string, unknown>> {
  if (line !== null) e.child.stdin.write(line + '\n');
  for (;;) {
    const r = await e.replies.next();
    if (r.done) throw new Error(`${e.label}: worker exited`);
    const text = r.value.trim();
    if (text.startsWith('{')) return JSON.parse(text) as Record<string, unknown>;
    process.stderr.write(`[${e.label}] ${text}\n`);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function deviceArg(): 'cpu' | 'cuda' {
  const d = argValue('device', 'cpu');
  if (d !== 'cpu' && d !== 'cuda') throw new Error(`--device: cpu or cuda, not ${d}`);
  return d;
}

function precisionArg(): 'fp32' | 'bf16' {
  const p = argValue('precision', 'fp32');
  if (p !== 'fp32' && p !== 'bf16') throw new Error(`--precision: fp32 or bf16, not ${p}`);
  return p;
}

async function runParent(): Promise<void> {
  const threads = Number(argValue('threads', '2'));
  const modelArg = argValue('model', 'resnet32') ?? 'resnet32';
  if (modelArg !== 'resnet32' && !IMAGENET_MODELS.includes(modelArg)) throw new Error(`--model: resnet32 or ${IMAGENET_MODELS.join(', ')}`);
  const imagenet = IMAGENET_MODELS.includes(modelArg);
  const batch = Number(argValue('batch', imagenet ? '8' : '128'));
  const rounds = Number(argValue('rounds', '4'));
  const steps = Number(argValue('steps', '3'));
  const warmup = Number(argValue('warmup', '2'));
  // backend[:threads][@model], model `lt` (src/models ResNet-32, default), `raw` (this file's, with batchNormTrain)
  // or an ImageNet model (added to every spec when --model names one); `lt-native`, `resnext50-native`: native autograd
  const defaultSpecs = imagenet ? `torch:${threads}` : `torch:${threads},torch:${threads}@raw,wasm:${threads}`;
  const specs = (argValue('backends', defaultSpecs) ?? '').split(',').filter(Boolean)
    .map((sp) => (imagenet && !sp.includes('@') ? `${sp}@${modelArg}` : sp));
  const withPytorch = !process.argv.includes('--no-pytorch');
  const device = deviceArg();
  const precision = precisionArg();
  const python = argValue('python', '/usr/bin/python3')!;
  const placement = ['--device', device, '--precision', precision];
  // Same intra-op thread count everywhere (libgomp / MKL read these too).
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const loadBefore = os.loadavg();
  const engines: Engine[] = [];
  if (withPytorch) {
    engines.push(startEngine('pytorch', imagenet ? `${TORCH_NAMES[modelArg]} (torch.nn as torchvision, NCHW, 224 px)` : 'resnet32 (torch.nn, NCHW)', threads, python,
      [path.join(repoRoot, 'scripts', 'bench-train.py'), '--threads', String(threads), '--batch', String(batch), '--model', modelArg, ...placement], env));
  }
  for (const spec of specs) {
    const [backendSpec, modelSpec = 'lt'] = spec.split('@');
    const model = baseModel(modelSpec);
    const t = backendSpec.includes(':') ? Number(backendSpec.split(':')[1]) : threads;
    const modelDesc = (/-native/.test(modelSpec) ? 'native autograd: ' : '') + (modelSpec.endsWith('-sgd') ? 'Sgd: ' : '') + (model === 'raw' ? 'resnet32 (raw ops + batchNormTrain)'
      : IMAGENET_MODELS.includes(model) ? `${TORCH_NAMES[model]} (src/models ${model} + linear head, ${model === 'resnext50' ? 'groupedConv2d + ' : ''}batchNormTrain, 224 px)`
        : 'resnet32 (src/models, batchNormTrain)');
    engines.push(startEngine(backendSpec.split(':')[0], modelDesc, t, process.execPath, [fileURLToPath(import.meta.url), '--worker', spec, '--batch', String(batch), ...placement], env));
  }
  for (const e of engines) {
    const ready = await request(e, null);
    process.stderr.write(`${e.label}: ready ${JSON.stringify(ready)}\n`);
    if (ready.backend !== undefined) e.label = String(ready.backend).split(' ')[0];
    await request(e, `run ${warmup}`);
  }
  for (let r = 0; r < rounds; r++) {
    for (const e of engines) {
      const reply = await request(e, `run ${steps}`);
      e.times.push(...(reply.times as number[]));
      e.peakRssMB = Math.max(e.peakRssMB, reply.peakRssMB as number);
      process.stderr.write(`round ${r + 1}/${rounds} ${e.label}/${e.threads}t ${e.model}: ${(reply.times as number[]).map((t) => t.toFixed(0)).join(' ')} ms\n`);
    }
  }
  for (const e of engines) { e.child.stdin.write('quit\n'); }
  const entries = engines.map((e) => {
    const ms = median(e.times);
    return {
      backend: e.label, model: e.model, batch, threads: e.threads,
      imagesPerSec: Number((batch * 1000 / ms).toFixed(2)), msPerStepMedian: Number(ms.toFixed(1)),
      peakRssMB: Number(e.peakRssMB.toFixed(0)), timedSteps: e.times.length,
    };
  });
  const ratios: Record<string, number> = {};
  const ref = entries.find((e) => e.backend === 'pytorch');
  if (ref) {
    for (const e of entries) {
      if (e !== ref) ratios[`${e.backend}:${e.threads}t ${e.model} / pytorch`] = Number((e.imagesPerSec / ref.imagesPerSec).toFixed(3));
    }
  }
  const doc = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    load: { before: loadBefore.map((v) => Number(v.toFixed(2))), after: os.loadavg().map((v) => Number(v.toFixed(2))) },
    settings: { threads, batch, warmup, rounds, stepsPerRound: steps, device, precision },
    entries, ratios,
  };
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
}

const workerSpec = argValue('worker');
if (workerSpec !== undefined) {
  await runWorker(workerSpec, Number(argValue('batch', '128')));
} else {
  await runParent();
}
