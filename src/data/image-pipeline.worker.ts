/**
 * Worker thread of the image pipeline: decodes and augments chunks of images (see
 * image-pipeline.ts) and sends back float32 NHWC pixels, transferred without a copy.
 */
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { processChunk, type ChunkRequest } from './image-pipeline.js';

// One libvips thread per pipeline: the parallelism comes from the workers, and a training set is
// read once per epoch, so libvips' operation cache only costs memory.
sharp.concurrency(1);
sharp.cache(false);

parentPort!.on('message', async (req: ChunkRequest) => {
  const r = await processChunk(req);
  parentPort!.postMessage(r, [r.pixels.buffer as ArrayBuffer]);
});
