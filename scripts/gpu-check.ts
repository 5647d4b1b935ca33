/**
 * The measuring half of scripts/gpu-check.sh (which unpacks the GPU bundle, compiles the addon and
 * runs the kernel parity suite, then calls this with what it found). Prints the check's one JSON
 * document on stdout, progress on stderr; exit 1 when a part failed.
 *
 *   LT_TORCH_ADDON=FILE node dist/scripts/gpu-check.js --device cuda|cpu --python PY
 *        [--build FILE.json] [--parity FILE.tap] [--started EPOCH_SECONDS] [--threads N]
 *
 * Training: ResNeXt-50 32x4d, 224 px, batch 64 on CUDA (ResNet-32, 32 px, batch 32 with
 * `--device cpu`), fp32 and bf16, lt-bench's `torch` backend as a training run uses it (native
 * autograd, fused SGD) beside PyTorch eager on the same device (scripts/bench-train.ts,
 * alternating rounds). Input pipeline: the CPU work of a training
 * image after decoding (random-resized crop of a 500×375 RGB image, Pillow's bilinear resize to
 * 224 in WebAssembly, flip, colour jitter, normalisation) on worker threads, one per core given,
 * as images/s. JPEG decoding is not in it: the bundle ships without sharp.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../src/rng.js';
import { jitterNormalizeInto, randomResizedCropBox, resolveTransform, sampleJitter } from '../src/data/image-pipeline.js';
import { planBilinearResize, resampleRGBView } from '../src/data/image-resample.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Counts of a `node --test --test-reporter=tap` run, and the names of the failed tests. */
export function parseTap(text: string): { pass: number; fail: number; skipped: number; failed: string[] } {
  const count = (key: string) => Number(text.match(new RegExp(`^# ${key} (\\d+)$`, 'm'))?.[1] ?? 0);
  const failed = [...text.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1].trim());
  return { pass: count('pass'), fail: count('fail'), skipped: count('skipped'), failed };
}

// ---- input pipeline ---------------------------------------------------------------------------

const SOURCE = { width: 500, height: 375 };

/** One worker: the post-decode train transform, image after image, for `seconds`; images done. */
function augmentLoop(seconds: number, seed: number): number {
  const t = resolveTransform({ size: 224 });
  const rng = new Rng(seed);
  const image = new Uint8Array(SOURCE.width * SOURCE.height * 3);
  for (let i = 0; i < image.length; i++) image[i] = (i * 7 + (i >> 9)) & 255;
  const out = new Float32Array(224 * 224 * 3);
  const end = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    const box = randomResizedCropBox(SOURCE.width, SOURCE.height, rng, t.scale, t.ratio);
    // the crop region, as sharp hands it over when it decodes only that region
    const region = new Uint8Array(box.width * box.height * 3);
    for (let y = 0; y < box.height; y++) {
      const from = ((box.top + y) * SOURCE.width + box.left) * 3;
      region.set(image.subarray(from, from + box.width * 3), y * box.width * 3);
    }
    const rgb = resampleRGBView(planBilinearResize(box.width, box.height, 224, 224), region, rng.next() < t.flip);
    jitterNormalizeInto(rgb, sampleJitter(t.jitter, rng), t.mean, t.std, out, 0);
    n++;
  }
  return n;
}

async function inputPipeline(workers: number, seconds: number): Promise<{ workers: number; seconds: number; imagesPerSec: number; perWorker: number; stage: string }> {
  const counts = await Promise.all(Array.from({ length: workers }, (_, k) => new Promise<number>((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { seconds, seed: k + 1 } });
    w.once('message', (n: number) => resolve(n));
    w.once('error', reject);
  })));
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    workers,
    seconds,
    imagesPerSec: Math.round(total / seconds),
    perWorker: Math.round(total / seconds / workers),
    stage: 'decoded 500x375 RGB -> random-resized crop, bilinear resize to 224, flip, colour jitter, normalise (JPEG decoding excluded: the bundle has no sharp)',
  };
}

// ---- training ---------------------------------------------------------------------------------

export interface TrainResult { precision: string; model: string; batch: number; ltBench: number | null; pytorch: number | null; ratio: number | null; peakRssMB: { ltBench: number | null; pytorch: number | null }; error?: string }

function train(device: 'cpu' | 'cuda', precision: 'fp32' | 'bf16', python: string, threads: number): TrainResult {
  const [model, batch, rounds, steps, warmup] = device === 'cuda' ? ['resnext50', 64, 3, 5, 3] : ['resnet32', 32, 2, 3, 2];
  // the engine a training run uses: native autograd and lt-bench's fused SGD
  const engine = `torch:${threads}@${model === 'resnet32' ? 'lt' : model}-native-sgd`;
  const args = [path.join(here, 'bench-train.js'), '--model', String(model), '--batch', String(batch), '--backends', engine,
    '--device', device, '--precision', precision, '--python', python, '--threads', String(threads),
    '--rounds', String(rounds), '--steps', String(steps), '--warmup', String(warmup)];
  process.stderr.write(`gpu-check: training ${model} batch ${batch} ${precision} on ${device}\n`);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const base = { precision, model: String(model), batch: Number(batch) };
  if (r.status !== 0) return { ...base, ltBench: null, pytorch: null, ratio: null, peakRssMB: { ltBench: null, pytorch: null }, error: `bench-train exited ${r.status}` };
  const doc = JSON.parse(r.stdout) as { entries: Array<{ backend: string; imagesPerSec: number; peakRssMB: number }> };
  const lt = doc.entries.find((e) => e.backend === 'torch');
  const pt = doc.entries.find((e) => e.backend === 'pytorch');
  return {
    ...base,
    ltBench: lt?.imagesPerSec ?? null,
    pytorch: pt?.imagesPerSec ?? null,
    ratio: lt && pt ? Number((lt.imagesPerSec / pt.imagesPerSec).toFixed(3)) : null,
    peakRssMB: { ltBench: lt?.peakRssMB ?? null, pytorch: pt?.peakRssMB ?? null },
  };
}

/** What failed, one line each; empty when the check passed. */
export function checkFailures(parts: {
  device: string;
  build: Record<string, unknown> | null;
  parity: ReturnType<typeof parseTap> | null;
  backend: object | { error: string };
  training: TrainResult[];
  inputPipeline: { imagesPerSec: number };
}): string[] {
  const failures: string[] = [];
  if (!parts.build) failures.push('no build report');
  if (!parts.parity) failures.push('no kernel parity report');
  else if (parts.parity.fail > 0 || parts.parity.pass === 0) {
    failures.push(`kernel parity: ${parts.parity.fail} failed, ${parts.parity.pass} passed${parts.parity.failed.length ? ` (${parts.parity.failed.join('; ')})` : ''}`);
  }
  if ('error' in parts.backend) failures.push(`torch backend on ${parts.device}: ${parts.backend.error}`);
  else if (parts.training.length === 0) failures.push('no training measured');
  for (const t of parts.training) {
    if (t.error || !(Number(t.ltBench) > 0) || !(Number(t.pytorch) > 0)) failures.push(`training ${t.precision}: ${t.error ?? 'no images/s measured'}`);
  }
  if (!(parts.inputPipeline.imagesPerSec > 0)) failures.push('input pipeline: no images/s measured');
  return failures;
}

// ---- the check --------------------------------------------------------------------------------

async function main(): Promise<void> {
  const device = argValue('device') ?? 'cuda';
  if (device !== 'cpu' && device !== 'cuda') throw new Error(`--device: cpu or cuda, not ${device}`);
  const python = argValue('python') ?? 'python3';
  const threads = Number(argValue('threads') ?? os.availableParallelism());
  const started = Number(argValue('started') ?? Date.now() / 1000);
  const buildFile = argValue('build');
  const parityFile = argValue('parity');
  const build = buildFile && existsSync(buildFile) ? JSON.parse(readFileSync(buildFile, 'utf8')) as Record<string, unknown> : null;
  const parity = parityFile && existsSync(parityFile) ? parseTap(readFileSync(parityFile, 'utf8')) : null;

  const { loadTorchBackend, cudaReport } = await import('../src/backends/torch/index.js');
  const cuda = cudaReport();
  let backend: { device: string; torchVersion: string; threads: number } | { error: string };
  try {
    await loadTorchBackend({ device, threads });
    const tf = await import('@tensorflow/tfjs');
    const b = tf.backend() as unknown as { device: string; torchVersion: string; threads: number };
    backend = { device: b.device, torchVersion: b.torchVersion, threads: b.threads };
  } catch (e) {
    backend = { error: (e as Error).message };
  }
  const training = 'error' in backend ? [] : (['fp32', 'bf16'] as const).map((p) => train(device, p, python, threads));
  process.stderr.write('gpu-check: input pipeline\n');
  const workers = Math.max(1, Math.min(os.availableParallelism(), Number(process.env.SLURM_CPUS_PER_TASK) || os.availableParallelism()));
  const pipeline = await inputPipeline(workers, device === 'cuda' ? 10 : 3);
  const failures = checkFailures({ device, build, parity, backend, training, inputPipeline: pipeline });
  const totalSeconds = Math.round(Date.now() / 1000 - started);
  const doc = {
    ok: failures.length === 0,
    failures,
    device,
    cuda,
    backend,
    build,
    parity,
    training,
    inputPipeline: pipeline,
    machine: { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? null, memoryGB: Math.round(os.totalmem() / 2 ** 30), load: os.loadavg().map((v) => Number(v.toFixed(2))), node: process.version },
    totalSeconds,
    withinEightMinutes: totalSeconds <= 480,
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  process.exitCode = doc.ok ? 0 : 1;
}

if (!isMainThread) {
  const { seconds, seed } = workerData as { seconds: number; seed: number };
  parentPort!.postMessage(augmentLoop(seconds, seed));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
