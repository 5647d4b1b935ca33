/**
 * Data-pipeline benchmark: JPEG decode + random-resized-crop + resize to 224 + flip, images/s per
 * core through sharp, beside the same pipeline in PIL (/usr/bin/python3, Debian python3-pil).
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/bench-data.js [--images 64] [--seconds 2] [--workers N]
 *
 * Generates 500×375 JPEGs (ImageNet's typical size; smooth content plus noise, quality 90, about
 * ImageNet's file sizes) in a temp folder, and times, one image at a time on one thread with the
 * files already in memory:
 *   decode        sharp: decode to raw RGB            | PIL: open + convert('RGB')
 *   pipeline      + RRC params, crop, resize 224 (linear / bilinear), flip, raw RGB out
 *   full          (sharp only) + colour jitter 0.4 + ImageNet normalisation to float32 (lt-bench's train transform)
 * and variants that show what limits sharp:
 *   pipelineWithMetadata  the pipeline asking libvips metadata() for the size (lt-bench parses the header bytes)
 *   pipelineShrink   crop in the JPEG's DCT domain: when the crop is ≥ 2× the output, let libvips
 *                    shrink on load by resizing the whole image first (approximates PIL's draft mode)
 * Then the worker pool (ImageListSource, files from disk) with --workers threads.
 * "perCpuSecond" divides by process CPU time: the per-core figure, robust to a shared machine.
 * Prints one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Rng } from '../src/rng.js';
import {
  decodeGeometric,
  randomResizedCropBox,
  resolveTransform,
  transformImage,
} from '../src/data/image-pipeline.js';
import { ImageListSource, formatImageList } from '../src/data/sources/image-list.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function makeJpegs(dir: string, n: number): Promise<string[]> {
  const rng = new Rng(123);
  const W = 500;
  const H = 375;
  const files: string[] = [];
  for (let k = 0; k < n; k++) {
    const px = Buffer.alloc(W * H * 3);
    const fx = 0.01 + rng.next() * 0.05;
    const fy = 0.01 + rng.next() * 0.05;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < 3; c++) {
          const v = 128 + 90 * Math.sin(fx * x * (c + 1) + fy * y + k) + 30 * Math.cos(0.2 * x * y * fx * fy) + (rng.next() - 0.5) * 40;
          px[(y * W + x) * 3 + c] = Math.max(0, Math.min(255, v));
        }
    const f = path.join(dir, `img_${String(k).padStart(4, '0')}.jpg`);
    writeFileSync(f, await sharp(px, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    files.push(f);
  }
  return files;
}

async function timeStage(blobs: Buffer[], seconds: number, fn: (b: Buffer, i: number) => Promise<unknown>) {
  const best = { wall: 0, perCpuSecond: 0 };
  for (let rep = 0; rep < 3; rep++) {
    let n = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (;;) {
      for (const b of blobs) await fn(b, n++);
      const el = (performance.now() - t0) / 1000;
      if (el >= seconds) {
        const cpu = process.cpuUsage(c0);
        best.wall = Math.max(best.wall, n / el);
        best.perCpuSecond = Math.max(best.perCpuSecond, n / ((cpu.user + cpu.system) / 1e6));
        break;
      }
    }
  }
  return { wall: +best.wall.toFixed(1), perCpuSecond: +best.perCpuSecond.toFixed(1) };
}

async function main() {
  const nImages = arg('images', 64);
  const seconds = arg('seconds', 2);
  const workers = arg('workers', Math.max(1, availableParallelism() - 1));
  const dir = mkdtempSync(path.join(tmpdir(), 'ltb-bench-data-'));
  try {
    const files = await makeJpegs(dir, nImages);
    const blobs = files.map((f) => readFileSync(f));
    const meanKiB = blobs.reduce((a, b) => a + b.length, 0) / blobs.length / 1024;
    sharp.concurrency(1);
    sharp.cache(false);
    const t = resolveTransform({ size: 224 });
    const rng = new Rng(0);
    const out: Record<string, unknown> = {
      machine: { cores: availableParallelism(), node: process.version, sharp: sharp.versions.sharp, vips: sharp.versions.vips },
      images: { count: nImages, width: 500, height: 375, meanKiB: +meanKiB.toFixed(1) },
      note: 'single thread, images in memory; perCpuSecond = images per CPU-second of the process (per-core rate)',
    };
    const s: Record<string, unknown> = {};
    s.decode = await timeStage(blobs, seconds, (b) => sharp(b).raw().toBuffer());
    s.pipeline = await timeStage(blobs, seconds, (b) => decodeGeometric(b, 'train', t, rng));
    s.pipelineWithMetadata = await timeStage(blobs, seconds, async (b) => {
      const img = sharp(b);
      const m = await img.metadata();
      const box = randomResizedCropBox(m.width!, m.height!, rng);
      let p = img.extract(box).resize(224, 224, { fit: 'fill', kernel: 'linear' });
      if (rng.next() < 0.5) p = p.flop();
      return p.raw().toBuffer();
    });
    s.pipelineShrink = await timeStage(blobs, seconds, async (b) => {
      const box = randomResizedCropBox(500, 375, rng);
      const k = Math.floor(Math.min(box.width, box.height) / 224);
      const flip = rng.next() < 0.5;
      if (k < 2) {
        let p = sharp(b).extract(box).resize(224, 224, { fit: 'fill', kernel: 'linear' });
        if (flip) p = p.flop();
        return p.raw().toBuffer();
      }
      // whole-image resize by 1/k first: libvips decodes the JPEG at 1/k (DCT scaling), then crop + resize
      const small = await sharp(b).resize(Math.round(500 / k), Math.round(375 / k), { fit: 'fill', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
      const sb = { left: Math.floor(box.left / k), top: Math.floor(box.top / k), width: Math.min(Math.floor(box.width / k), small.info.width - Math.floor(box.left / k)), height: Math.min(Math.floor(box.height / k), small.info.height - Math.floor(box.top / k)) };
      let p = sharp(small.data, { raw: { width: small.info.width, height: small.info.height, channels: 3 } }).extract(sb).resize(224, 224, { fit: 'fill', kernel: 'linear' });
      if (flip) p = p.flop();
      return p.raw().toBuffer();
    });
    const buf = new Float32Array(224 * 224 * 3);
    s.full = await timeStage(blobs, seconds, (b, i) => transformImage(b, 'train', t, i, buf, 0));
    out.sharp = s;

    let pil: unknown;
    try {
      const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'bench-data.py');
      pil = JSON.parse(execFileSync('/usr/bin/python3', [script, dir, String(seconds)], { encoding: 'utf8' }));
    } catch (e) {
      pil = { error: `PIL benchmark failed (install python3-pil): ${(e as Error).message.split('\n')[0]}` };
    }
    out.pil = pil;

    // The worker pool, files from disk, full train transform.
    writeFileSync(path.join(dir, 'list.txt'), formatImageList(readdirSync(dir).filter((f) => f.endsWith('.jpg')).map((f) => ({ path: f, label: 0 }))));
    const src = await ImageListSource.open({ root: dir, numClasses: 1, lists: { train: path.join(dir, 'list.txt'), test: path.join(dir, 'list.txt') }, workers, prefetch: 4 });
    const order = Int32Array.from({ length: nImages * 4 }, (_, i) => i % nImages);
    const t0 = performance.now();
    let n = 0;
    for await (const b of src.batches('train', order, 32, { seed: 1 })) n += b.n;
    const wall = (performance.now() - t0) / 1000;
    await src.close();
    out.pool = {
      workers,
      uvThreadpool: Number(process.env.UV_THREADPOOL_SIZE) || 4,
      imagesPerSecond: +(n / wall).toFixed(1),
      perWorker: +(n / wall / Math.min(workers, availableParallelism())).toFixed(1),
    };
    const p = pil as { pipeline?: { perCpuSecond: number } };
    if (p.pipeline) out.ratioSharpToPilPerCore = +((s.pipeline as { perCpuSecond: number }).perCpuSecond / p.pipeline.perCpuSecond).toFixed(2);
    console.log(JSON.stringify(out, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
