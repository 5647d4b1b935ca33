/**
 * The engine benchmark behind docs/benchmarks/engine.json (not a test): the `torch` backend's
 * training step against PyTorch's, side by side, in the three settings the engine targets are set
 * for, each measured `--repeats` times (independent runs of scripts/bench-train.ts, which
 * alternates rounds between the engines), reporting every run and the medians.
 *
 *   node dist/scripts/bench-engine.js [--repeats 3] [--threads 2] [--configs resnet32:128,resnet32:8,resnext50:8]
 *        [--out docs/benchmarks/engine.json]
 *
 * Two torch engines run beside PyTorch: what a training run uses (native autograd + lt-bench's Sgd,
 * one fused call: bench-train's `@<model>-native-sgd`) and the tape with the same Sgd
 * (`@<model>-sgd`, LT_TORCH_AUTOGRAD=tape).
 *
 * Targets (images/s ratio to PyTorch; peak RSS ratio): ResNet-32 batch 128 ≥ 1.0 and RSS ≤ 1.25,
 * batch 8 ≥ 0.9, ResNeXt-50 batch 8 ≥ 0.95 and RSS ≤ 1.25. The document records the machine and
 * its load before and after, since the development machine is shared.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

interface Target { minRatio: number; maxRss?: number }
const TARGETS: Record<string, Target> = {
  'resnet32:128': { minRatio: 1.0, maxRss: 1.25 },
  'resnet32:8': { minRatio: 0.9 },
  'resnext50:8': { minRatio: 0.95, maxRss: 1.25 },
};

interface Entry { backend: string; model: string; imagesPerSec: number; peakRssMB: number }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const repeats = Number(argValue('repeats', '3'));
const threads = argValue('threads', '2');
const configs = argValue('configs', Object.keys(TARGETS).join(',')).split(',');
const out = argValue('out', '');
const loadBefore = os.loadavg();
const results = [];
for (const config of configs) {
  const [model, batch] = config.split(':');
  const runs: Array<{ pytorch: { imagesPerSec: number; peakRssMB: number }; engines: Record<string, { ratio: number; rssRatio: number; imagesPerSec: number; peakRssMB: number }> }> = [];
  for (let r = 0; r < repeats; r++) {
    process.stderr.write(`bench-engine: ${config} run ${r + 1}/${repeats}\n`);
    const m = model === 'resnet32' ? 'lt' : model;
    const backends = `torch:${threads}@${m}-native-sgd,torch:${threads}@${m}-sgd`;
    const args = [path.join(here, 'bench-train.js'), '--model', model, '--batch', batch, '--threads', threads, '--backends', backends,
      '--rounds', '3', '--steps', model === 'resnet32' ? '4' : '2', '--warmup', '2'];
    const p = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    if (p.status !== 0) throw new Error(`bench-train exited ${p.status} on ${config}`);
    const doc = JSON.parse(p.stdout) as { entries: Entry[] };
    const ref = doc.entries.find((e) => e.backend === 'pytorch')!;
    const run: Record<string, { ratio: number; rssRatio: number; imagesPerSec: number; peakRssMB: number }> = {};
    for (const e of doc.entries) {
      if (e === ref) continue;
      run[`${e.backend} ${e.model.includes('native autograd') ? 'native' : 'tape'}`] = {
        imagesPerSec: e.imagesPerSec, peakRssMB: e.peakRssMB,
        ratio: Number((e.imagesPerSec / ref.imagesPerSec).toFixed(3)), rssRatio: Number((e.peakRssMB / ref.peakRssMB).toFixed(3)),
      };
    }
    runs.push({ pytorch: { imagesPerSec: ref.imagesPerSec, peakRssMB: ref.peakRssMB }, engines: run });
  }
  const target = TARGETS[config];
  const medians = Object.fromEntries(Object.keys(runs[0].engines).map((k) => {
    const ratio = median(runs.map((r) => r.engines[k].ratio));
    const rssRatio = median(runs.map((r) => r.engines[k].rssRatio));
    return [k, { ratio, rssRatio, meets: target ? ratio >= target.minRatio && (target.maxRss === undefined || rssRatio <= target.maxRss) : null }];
  }));
  results.push({ config: { model, batch: Number(batch) }, target: target ?? null, runs, medians });
}
const doc = {
  command: `node dist/scripts/bench-engine.js ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? null, node: process.version },
  load: { before: loadBefore.map((v) => Number(v.toFixed(2))), after: os.loadavg().map((v) => Number(v.toFixed(2))) },
  threads: Number(threads),
  results,
};
const text = `${JSON.stringify(doc, null, 2)}\n`;
if (out) {
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(`${out}.partial`, text);
  renameSync(`${out}.partial`, out);
}
process.stdout.write(text);
