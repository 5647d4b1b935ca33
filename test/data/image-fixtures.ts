/** Generates small image trees and lists in the real formats for the data tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** An RGB image whose pixel (x, y) is (x*8 + seed, y*8, 200 - seed) mod 256 (JPEG) or solid (PNG). */
export async function writeImage(file: string, opts: { width: number; height: number; seed: number; format: 'jpeg' | 'png'; solid?: [number, number, number] }) {
  const { width, height, seed } = opts;
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const s = opts.solid;
      px[i] = s ? s[0] : (x * 8 + seed) % 256;
      px[i + 1] = s ? s[1] : (y * 8) % 256;
      px[i + 2] = s ? s[2] : (200 - seed + 256) % 256;
    }
  mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp(px, { raw: { width, height, channels: 3 } });
  writeFileSync(file, await (opts.format === 'jpeg' ? img.jpeg({ quality: 90 }) : img.png()).toBuffer());
}

/** root/train/<wnid>/<wnid>_<i>.JPEG (perClassTrain[c] each) and root/val/<wnid>/val_<c>_<i>.png. */
export async function writeImageNetLike(root: string, classes: string[], perClassTrain: number[], perClassVal: number) {
  for (let c = 0; c < classes.length; c++) {
    for (let i = 0; i < perClassTrain[c]; i++)
      await writeImage(path.join(root, 'train', classes[c], `${classes[c]}_${i}.JPEG`), { width: 40, height: 30, seed: c * 10 + i, format: 'jpeg' });
    for (let i = 0; i < perClassVal; i++)
      await writeImage(path.join(root, 'val', classes[c], `val_${c}_${i}.png`), { width: 30, height: 40, seed: c + i, format: 'png' });
  }
}
