/**
 * A tiny data root in ImageNet-LT's real format: image folders (train/<wnid>/<wnid>_<i>.JPEG,
 * val/<wnid>/…, tiny JPEGs) and the four list files under their official names
 * (ImageNet_LT_{train,val,test,balanced_train}.txt, `<relative path> <label>` lines), with a
 * reduced class count. Labels stay within the manifest's 1,000 classes, so recipes for
 * `dataset.name: imagenet-lt` plan and read it as they would the real one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeImage } from '../data/image-fixtures.js';

export interface ImageNetLtRoot {
  root: string;
  /** LT train counts per class (class k has label k). */
  trainCounts: number[];
}

/** Writes the root; `trainCounts` default to a 4-class long tail (8, 4, 2, 1). */
export async function writeImageNetLtRoot(root: string, trainCounts = [8, 4, 2, 1], perClassEval = 2): Promise<ImageNetLtRoot> {
  const wnid = (c: number) => `n${String(1440764 + c).padStart(8, '0')}`;
  const total = trainCounts.reduce((a, b) => a + b, 0);
  const balancedPer = Math.floor(total / trainCounts.length);
  const lists: Record<string, string[]> = { train: [], val: [], test: [], balanced_train: [] };
  const image = async (rel: string, seed: number) => writeImage(path.join(root, rel), { width: 12, height: 10, seed, format: 'jpeg' });
  for (let c = 0; c < trainCounts.length; c++) {
    // The balanced twin keeps the LT images first and tops up from other train images of the class.
    const pool = Math.max(trainCounts[c], balancedPer);
    for (let i = 0; i < pool; i++) {
      const rel = `train/${wnid(c)}/${wnid(c)}_${i}.JPEG`;
      await image(rel, c * 31 + i);
      if (i < trainCounts[c]) lists.train.push(`${rel} ${c}`);
      if (i < balancedPer) lists.balanced_train.push(`${rel} ${c}`);
    }
    for (const split of ['val', 'test'] as const) {
      for (let i = 0; i < perClassEval; i++) {
        const rel = `val/${wnid(c)}/ILSVRC2012_${split}_${c}_${i}.JPEG`;
        await image(rel, 200 + c * 7 + i);
        lists[split].push(`${rel} ${c}`);
      }
    }
  }
  mkdirSync(root, { recursive: true });
  for (const [name, lines] of Object.entries(lists)) writeFileSync(path.join(root, `ImageNet_LT_${name}.txt`), `${lines.join('\n')}\n`);
  return { root, trainCounts };
}
