/**
 * Data-pipeline benchmark: JPEG decode + random-resized-crop + resize to 224 + flip, images per
 * CPU-second (the per-core rate) through sharp, beside the same pipeline in PIL
 * (/usr/bin/python3, Debian python3-pil; scripts/bench-data.py).
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/bench-data.js [--images 32] [--seconds 1] [--rounds 3] [--workers N] [--out file.json]
 *   node dist/scripts/bench-data.js --scaling 1,2,4,8 [--images 64] [--rounds 3] [--out file.json]
 *
 * --scaling measures only the worker pool, at each worker count: wall images/s (median of
 * --rounds passes over 6× the images, after a warm-up pass), and its ratio to N × the one-worker
 * rate (the target is ≥ 0.8 up to the machine's cores). The script re-runs itself with
 * UV_THREADPOOL_SIZE ≥ the largest count when the pool is smaller, as the CLI launcher does.
 *
 * Generates 500×375 JPEGs (ImageNet's typical size; smooth content plus noise, quality 90, about
 * ImageNet's file sizes) in a temp folder. Every stage runs one image at a time on one thread with
 * the files in memory, and is timed by CPU time (process.cpuUsage: all threads of the process, so
 * libuv's and libvips' too), which stays meaningful on a machine shared with other work, unlike wall
 * time. The sharp stages and the PIL script take turns for --rounds rounds (so both see the same
 * load); each figure is the median over rounds.
 *
 * sharp stages (lt-bench's functions, default options unless named):
 *   pipeline          decodeGeometric, train: RRC params, sharp decodes the crop region, Pillow's
 *                     bilinear resize in WebAssembly with the flip folded in; the uint8 RGB out
 *                     (the same work as PIL's `pipeline`, and bit-identical output)
 *   pipelineLibvips   the same with resampler 'libvips' (extract + resize + flop inside sharp, the
 *                     earlier implementation)
 *   full              transformImage: pipeline + colour jitter 0.4 + normalisation to float32
 *   fullBefore        the same as lt-bench did it before (libvips resize, jitter + normalisation in JS)
 * and the profile of `pipeline`, stage by stage (msPerImage = CPU ms per image):
 *   callOverhead      sharp on a 1×1 raw image: JS options → C++, libuv + libvips thread hand-offs
 *   tinyJpeg          sharp decoding a 16×16 JPEG: + JPEG loader set-up
 *   decode            sharp decoding the whole 500×375 JPEG to raw RGB
 *   decodeRegion      sharp decoding only the RRC region (what `pipeline` asks of sharp)
 *   resize            the WebAssembly Pillow resize of an already decoded region, incl. copies
 *   resizeJs          the same resize in plain JS (the reference implementation)
 *   jitterNormalize   WebAssembly colour jitter + normalisation of a 224² image
 *   jitterNormalizeJs the JS version
 * PIL: decode (open + convert('RGB')) and pipeline. Then the worker pool (ImageListSource, files
 * from disk, full train transform, --workers threads), wall and CPU rates.
 * Prints one JSON object (and writes it to --out).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Rng } from '../src/rng.js';
import {
  decodeGeometric,
  jitterNormalizeInto,
  jitterNormalizeJs,
  randomResizedCropBox,
  resolveTransform,
  sampleJitter,
  transformImage,
  type CropBox,
} from '../src/data/image-pipeline.js';
import { planBilinearResize, resampleRGBReference, resampleRGBView, resampleUsesWasm, type ResizePlan } from '../src/data/image-resample.js';
import { libuvPoolSize } from '../src/data/image-pipeline.js';
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

interface Rate {
  wall: number;
  perCpuSecond: number;
}

/** Runs fn over the inputs, round after round, for `seconds` of wall time; images per wall / CPU second. */
async function timeStage<T>(inputs: T[], seconds: number, fn: (x: T, i: number) => unknown): Promise<Rate> {
  for (let i = 0; i < Math.min(4, inputs.length); i++) await fn(inputs[i], i); // warm-up
  let n = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (;;) {
    for (const x of inputs) await fn(x, n++);
    const el = (performance.now() - t0) / 1000;
    if (el >= seconds) {
      const cpu = process.cpuUsage(c0);
      return { wall: n / el, perCpuSecond: n / ((cpu.user + cpu.system) / 1e6) };
    }
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function summarise(runs: Rate[]): { perCpuSecond: number; msPerImage: number; wall: number; rounds: number[] } {
  const cpu = median(runs.map((r) => r.perCpuSecond));
  return {
    perCpuSecond: +cpu.toFixed(1),
    msPerImage: +(1000 / cpu).toFixed(3),
    wall: +median(runs.map((r) => r.wall)).toFixed(1),
    rounds: runs.map((r) => +r.perCpuSecond.toFixed(1)),
  };
}

/** Wall and CPU images/s of an ImageListSource with `workers` threads over the JPEGs in `dir` (list.txt), after a warm-up pass. */
async function poolRate(dir: string, nImages: number, workers: number): Promise<{ images: number; wall: number; perCpuSecond: number }> {
  const src = await ImageListSource.open({ root: dir, numClasses: 1, lists: { train: path.join(dir, 'list.txt'), test: path.join(dir, 'list.txt') }, workers, prefetch: 4 });
  try {
    // one untimed pass first: worker start-up (isolates, module loading, JIT) is not per-image cost
    for await (const b of src.batches('train', Int32Array.from({ length: nImages }, (_, i) => i), 32, { seed: 2 })) void b;
    const order = Int32Array.from({ length: nImages * 6 }, (_, i) => i % nImages);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let n = 0;
    for await (const b of src.batches('train', order, 32, { seed: 1 })) n += b.n;
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    return { images: n, wall: n / wall, perCpuSecond: n / ((cpu.user + cpu.system) / 1e6) };
  } finally {
    await src.close();
  }
}

function writeList(dir: string): void {
  writeFileSync(path.join(dir, 'list.txt'), formatImageList(readdirSync(dir).filter((f) => f.endsWith('.jpg')).map((f) => ({ path: f, label: 0 }))));
}

/** --scaling: the pool's wall rate against the worker count. */
async function scaling(counts: number[], nImages: number, rounds: number, outFile: string | null): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ltb-bench-data-'));
  try {
    await makeJpegs(dir, nImages);
    writeList(dir);
    const load0 = loadavg().map((x) => +x.toFixed(2));
    const rows: Array<{ workers: number; imagesPerSecond: number; rounds: number[]; perCpuSecond: number; ratioToLinear?: number }> = [];
    for (const workers of counts) {
      const runs = [];
      for (let r = 0; r < rounds; r++) runs.push(await poolRate(dir, nImages, workers));
      rows.push({ workers, imagesPerSecond: +median(runs.map((x) => x.wall)).toFixed(1), rounds: runs.map((x) => +x.wall.toFixed(1)), perCpuSecond: +median(runs.map((x) => x.perCpuSecond)).toFixed(1) });
    }
    const one = rows.find((r) => r.workers === 1)?.imagesPerSecond;
    for (const r of rows) if (one) r.ratioToLinear = +(r.imagesPerSecond / (r.workers * one)).toFixed(2);
    const out = {
      date: new Date().toISOString(),
      machine: { cores: availableParallelism(), loadavgBefore: load0, loadavgAfter: loadavg().map((x) => +x.toFixed(2)), node: process.version, sharp: sharp.versions.sharp, libuvPool: libuvPoolSize() },
      images: { count: nImages, width: 500, height: 375, passes: 6 },
      method: `ImageListSource, files from disk, the full train transform at 224; wall images/s, median of ${rounds} rounds; ratioToLinear = rate / (workers × the one-worker rate), target ≥ 0.8 up to the cores`,
      scaling: rows,
    };
    const json = JSON.stringify(out, null, 2);
    if (outFile) writeFileSync(outFile, json + '\n');
    console.log(json);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const outIdx = process.argv.indexOf('--out');
  const outFile = outIdx >= 0 ? process.argv[outIdx + 1] : null;
  const scaleIdx = process.argv.indexOf('--scaling');
  if (scaleIdx >= 0) {
    const counts = process.argv[scaleIdx + 1].split(',').map(Number);
    if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--scaling ${process.argv[scaleIdx + 1]}: expected worker counts ≥ 1, e.g. 1,2,4`);
    const need = Math.max(...counts);
    if (libuvPoolSize() < need) {
      // The pool is read at the first asynchronous I/O, long past: run again with it sized.
      const r = spawnSync(process.execPath, process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, UV_THREADPOOL_SIZE: String(need) } });
      process.exit(r.status ?? 1);
    }
    return scaling(counts, arg('images', 64), arg('rounds', 3), outFile);
  }
  const nImages = arg('images', 32);
  const seconds = arg('seconds', 1);
  const rounds = arg('rounds', 3);
  const workers = arg('workers', Math.max(1, availableParallelism() - 1));
  const dir = mkdtempSync(path.join(tmpdir(), 'ltb-bench-data-'));
  try {
    const files = await makeJpegs(dir, nImages);
    const blobs = files.map((f) => readFileSync(f));
    const meanKiB = blobs.reduce((a, b) => a + b.length, 0) / blobs.length / 1024;
    // as the pool's worker threads set them
    sharp.concurrency(1);
    sharp.cache(false);
    const t = resolveTransform({ size: 224 });
    const tVips = resolveTransform({ size: 224, resampler: 'libvips' });
    const tiny = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    const onePixel = Buffer.alloc(3);
    // one RRC region (and flip) per image, decoded once for the resize-only stages
    const boxes: Array<{ box: CropBox; flip: boolean }> = blobs.map((_, i) => {
      const rng = new Rng(1000 + i);
      return { box: randomResizedCropBox(500, 375, rng, t.scale, t.ratio), flip: rng.next() < t.flip };
    });
    const decoded: Array<{ plan: ResizePlan; raw: Buffer; flip: boolean }> = [];
    for (let i = 0; i < blobs.length; i++) {
      const { box, flip } = boxes[i];
      const plan = planBilinearResize(box.width, box.height, 224, 224);
      decoded.push({ plan, flip, raw: await sharp(blobs[i]).extract(box).raw().toBuffer() });
    }
    const rgb224 = blobs.map((_, i) => Uint8Array.from(resampleRGBView(decoded[i].plan, decoded[i].raw, decoded[i].flip)));
    const f32 = new Float32Array(224 * 224 * 3);
    const jplan = (i: number) => sampleJitter(t.jitter, new Rng(i));

    const stages: Record<string, (x: Buffer, i: number) => unknown> = {
      pipeline: (b, i) => decodeGeometric(b, 'train', t, new Rng(i)),
      pipelineLibvips: (b, i) => decodeGeometric(b, 'train', tVips, new Rng(i)),
      full: (b, i) => transformImage(b, 'train', t, i, f32, 0),
      // transformImage as it was before the WebAssembly kernels: libvips resize + flop, JS jitter
      fullBefore: async (b, i) => {
        const rng = new Rng(i);
        const { rgb } = await decodeGeometric(b, 'train', tVips, rng);
        jitterNormalizeJs(rgb, sampleJitter(t.jitter, rng), t.mean, t.std, f32, 0);
      },
      callOverhead: () => sharp(onePixel, { raw: { width: 1, height: 1, channels: 3 } }).raw().toBuffer(),
      tinyJpeg: () => sharp(tiny).raw().toBuffer(),
      decode: (b) => sharp(b).raw().toBuffer(),
      decodeRegion: (b, i) => sharp(b).extract(boxes[i % blobs.length].box).raw().toBuffer(),
      resize: (_, i) => {
        const d = decoded[i % blobs.length];
        return resampleRGBView(d.plan, d.raw, d.flip);
      },
      resizeJs: (_, i) => {
        const d = decoded[i % blobs.length];
        return resampleRGBReference(d.plan, d.raw, d.flip);
      },
      jitterNormalize: (_, i) => jitterNormalizeInto(rgb224[i % blobs.length], jplan(i), t.mean, t.std, f32, 0),
      jitterNormalizeJs: (_, i) => jitterNormalizeJs(rgb224[i % blobs.length], jplan(i), t.mean, t.std, f32, 0),
    };
    const sharpRuns: Record<string, Rate[]> = Object.fromEntries(Object.keys(stages).map((k) => [k, []]));
    const pilRuns: Record<string, Rate[]> = { decode: [], pipeline: [] };
    let pilInfo: Record<string, unknown> = {};
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'bench-data.py');
    for (let r = 0; r < rounds; r++) {
      for (const [name, fn] of Object.entries(stages)) {
        // the fast in-JS stages need less time to be measured well
        const s = name.startsWith('resize') || name.startsWith('jitter') ? seconds / 2 : seconds;
        sharpRuns[name].push(await timeStage(blobs, s, fn));
      }
      try {
        const p = JSON.parse(execFileSync('/usr/bin/python3', [script, dir, String(seconds)], { encoding: 'utf8' }));
        pilRuns.decode.push(p.decode);
        pilRuns.pipeline.push(p.pipeline);
        pilInfo = { version: p.pil };
      } catch (e) {
        pilInfo = { error: `PIL benchmark failed (install python3-pil): ${(e as Error).message.split('\n')[0]}` };
      }
    }
    const sharpOut = Object.fromEntries(Object.entries(sharpRuns).map(([k, v]) => [k, summarise(v)]));
    const pilOut = pilRuns.pipeline.length ? { ...pilInfo, decode: summarise(pilRuns.decode), pipeline: summarise(pilRuns.pipeline) } : pilInfo;

    // The worker pool, files from disk, full train transform.
    writeList(dir);
    const pool = await poolRate(dir, nImages, workers);

    const pipe = sharpOut.pipeline.perCpuSecond;
    const pilPipe = (pilOut as { pipeline?: { perCpuSecond: number } }).pipeline?.perCpuSecond;
    const out = {
      date: new Date().toISOString(),
      machine: { cores: availableParallelism(), loadavg: loadavg().map((x) => +x.toFixed(2)), node: process.version, sharp: sharp.versions.sharp, vips: sharp.versions.vips, wasmKernels: resampleUsesWasm() },
      images: { count: nImages, width: 500, height: 375, meanKiB: +meanKiB.toFixed(1) },
      method: `single thread, images in memory; CPU time of the whole process (all threads); median of ${rounds} rounds of ${seconds} s per stage, sharp and PIL taking turns`,
      sharp: sharpOut,
      pil: pilOut,
      ratioSharpToPilPerCore: pilPipe ? +(pipe / pilPipe).toFixed(2) : null,
      pool: {
        workers,
        images: pool.images,
        imagesPerSecond: +pool.wall.toFixed(1),
        perCpuSecond: +pool.perCpuSecond.toFixed(1),
        note: 'after a warm-up pass; the wall rate depends on the free cores of a shared machine; perCpuSecond counts every thread (main thread batching too)',
      },
    };
    const json = JSON.stringify(out, null, 2);
    if (outFile) writeFileSync(outFile, json + '\n');
    console.log(json);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
